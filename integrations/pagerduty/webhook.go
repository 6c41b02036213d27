// Package pagerduty holds opsgate's side of PagerDuty: verifying and parsing
// webhook v3 deliveries, and a small REST client with its own retry.
package pagerduty

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty/webhookv3"
)

// SignatureHeader carries the v1= HMAC signatures of a webhook v3 delivery.
const SignatureHeader = "X-PagerDuty-Signature"

// Sentinel errors callers branch on (HTTP status mapping lives in the server).
var (
	ErrBadSignature = errors.New("pagerduty webhook: no valid signature")
	ErrMalformed    = errors.New("pagerduty webhook: malformed payload")
	ErrNoSecrets    = errors.New("pagerduty webhook: no secrets configured")
)

// Verify checks body against the X-PagerDuty-Signature header with each of
// the secrets (several during rotation) using go-pagerduty's webhookv3. It
// returns ErrBadSignature when none matches or the header is missing or
// malformed.
func Verify(header http.Header, body []byte, secrets []string) error {
	if len(secrets) == 0 {
		return ErrNoSecrets
	}
	if len(body) == 0 {
		return fmt.Errorf("%w: empty body", ErrMalformed)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		r := &http.Request{Header: header, Body: io.NopCloser(bytes.NewReader(body))}
		err := webhookv3.VerifySignature(r, s)
		if err == nil {
			return nil
		}
		if errors.Is(err, webhookv3.ErrMalformedHeader) {
			return fmt.Errorf("%w: signature header missing or malformed", ErrBadSignature)
		}
	}
	return ErrBadSignature
}

// Sign returns the X-PagerDuty-Signature header value for body, as PagerDuty
// computes it. Used by the demo and the tests to act as PagerDuty.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Reference is PagerDuty's {id, type, summary, html_url} object.
type Reference struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url"`
}

// IncidentData is the data of incident.* events whose data.type is "incident".
type IncidentData struct {
	ID               string      `json:"id"`
	Type             string      `json:"type"`
	HTMLURL          string      `json:"html_url"`
	Number           int         `json:"number"`
	Status           string      `json:"status"`
	IncidentKey      string      `json:"incident_key"`
	CreatedAt        time.Time   `json:"created_at"`
	Title            string      `json:"title"`
	Service          Reference   `json:"service"`
	Assignees        []Reference `json:"assignees"`
	EscalationPolicy Reference   `json:"escalation_policy"`
	Teams            []Reference `json:"teams"`
	Priority         *Reference  `json:"priority"`
	Urgency          string      `json:"urgency"`
	ResolveReason    any         `json:"resolve_reason"`
}

// NoteData is the data of incident.annotated events.
type NoteData struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Incident Reference `json:"incident"`
	Content  string    `json:"content"`
}

// Event is one webhook v3 event. Data is kept raw; Incident and Note are
// decoded from it when data.type says so.
type Event struct {
	ID           string          `json:"id"`
	EventType    string          `json:"event_type"`
	ResourceType string          `json:"resource_type"`
	OccurredAt   time.Time       `json:"occurred_at"`
	Agent        *Reference      `json:"agent"`
	Data         json.RawMessage `json:"data"`

	Incident *IncidentData `json:"-"`
	Note     *NoteData     `json:"-"`
}

// IncidentID is the id of the incident the event is about, or "".
func (e *Event) IncidentID() string {
	switch {
	case e.Incident != nil:
		return e.Incident.ID
	case e.Note != nil:
		return e.Note.Incident.ID
	}
	return ""
}

// IsPing reports PagerDuty's test delivery.
func (e *Event) IsPing() bool { return e.EventType == "pagey.ping" }

var (
	idPattern        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	eventTypePattern = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)*$`)
)

// ValidID reports whether s has the shape of a PagerDuty object id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// ParseEvent decodes a webhook v3 body ({"event": {...}}) and checks the
// fields opsgate relies on. Errors wrap ErrMalformed and never quote the body.
func ParseEvent(body []byte) (*Event, error) {
	var env struct {
		Event *Event `json:"event"`
	}
	// Unmarshal, not a Decoder: it refuses anything after the object (a
	// Decoder's More() let a stray "}" through).
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, jsonProblem(err))
	}
	e := env.Event
	if e == nil {
		return nil, fmt.Errorf("%w: missing \"event\" object", ErrMalformed)
	}
	if err := checkEnvelope(e.ID, e.EventType, e.OccurredAt); err != nil {
		return nil, err
	}
	if e.IsPing() || len(e.Data) == 0 || string(e.Data) == "null" {
		return e, nil
	}
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(e.Data, &kind); err != nil {
		return nil, fmt.Errorf("%w: event.data: %s", ErrMalformed, jsonProblem(err))
	}
	switch kind.Type {
	case "incident":
		var d IncidentData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, fmt.Errorf("%w: event.data: %s", ErrMalformed, jsonProblem(err))
		}
		if !ValidID(d.ID) {
			return nil, fmt.Errorf("%w: event.data.id missing or invalid", ErrMalformed)
		}
		e.Incident = &d
	case "incident_note":
		var d NoteData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, fmt.Errorf("%w: event.data: %s", ErrMalformed, jsonProblem(err))
		}
		if !ValidID(d.Incident.ID) {
			return nil, fmt.Errorf("%w: event.data.incident.id missing or invalid", ErrMalformed)
		}
		e.Note = &d
	}
	return e, nil
}

// Header is what the webhook endpoint needs of an event to accept it:
// who it is, when it happened, which incident it is about.
type Header struct {
	ID         string
	EventType  string
	OccurredAt time.Time
	IncidentID string // "" when the data names none
}

// IsPing reports PagerDuty's test delivery.
func (h *Header) IsPing() bool { return h.EventType == "pagey.ping" }

// ParseHeader checks a webhook v3 body as the endpoint must before it
// answers: strict JSON, the event's id, type and time, and the incident id
// where the data carries one — in one decoding pass that skips the rest
// (it runs for every delivery; ParseEvent decodes everything, in the
// worker). A body ParseEvent accepts always passes, with the same values;
// data whose other fields have the wrong types passes here and is
// dead-lettered by the worker with ParseEvent's error, where it can be
// read — answering PagerDuty 4xx would only make it drop the event.
func ParseHeader(body []byte) (*Header, error) {
	var env struct {
		Event *struct {
			ID         string    `json:"id"`
			EventType  string    `json:"event_type"`
			OccurredAt time.Time `json:"occurred_at"`
			Data       *struct {
				Type string `json:"type"`
				// Raw: read only for the types that have them, as ParseEvent does.
				ID       json.RawMessage `json:"id"`
				Incident json.RawMessage `json:"incident"`
			} `json:"data"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, jsonProblem(err))
	}
	e := env.Event
	if e == nil {
		return nil, fmt.Errorf("%w: missing \"event\" object", ErrMalformed)
	}
	h := &Header{ID: e.ID, EventType: e.EventType, OccurredAt: e.OccurredAt}
	if err := checkEnvelope(h.ID, h.EventType, h.OccurredAt); err != nil {
		return nil, err
	}
	if d := e.Data; d != nil && !h.IsPing() {
		switch d.Type {
		case "incident":
			var id string
			if d.ID != nil && json.Unmarshal(d.ID, &id) != nil || !ValidID(id) {
				return nil, fmt.Errorf("%w: event.data.id missing or invalid", ErrMalformed)
			}
			h.IncidentID = id
		case "incident_note":
			var ref struct {
				ID string `json:"id"`
			}
			if d.Incident != nil && json.Unmarshal(d.Incident, &ref) != nil || !ValidID(ref.ID) {
				return nil, fmt.Errorf("%w: event.data.incident.id missing or invalid", ErrMalformed)
			}
			h.IncidentID = ref.ID
		}
	}
	return h, nil
}

// checkEnvelope checks the event fields every delivery must carry (both
// ParseEvent and ParseHeader: the same rules, so they agree).
func checkEnvelope(id, eventType string, occurredAt time.Time) error {
	switch {
	case !ValidID(id):
		return fmt.Errorf("%w: event.id missing or invalid", ErrMalformed)
	case len(eventType) > 100 || !eventTypePattern.MatchString(eventType):
		return fmt.Errorf("%w: event.event_type missing or invalid", ErrMalformed)
	case occurredAt.IsZero():
		return fmt.Errorf("%w: event.occurred_at missing", ErrMalformed)
	}
	return nil
}

// jsonProblem describes a decoding error without echoing input bytes.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type (want %s)", te.Field, te.Type)
	case errors.As(err, &pe):
		return "a timestamp is not RFC 3339"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return strings.SplitN(err.Error(), ":", 2)[0]
}
