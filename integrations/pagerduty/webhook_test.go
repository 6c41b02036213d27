package pagerduty

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// From go-pagerduty's own test vector (API-FACTS: verified with webhookv3).
const vectorSecret = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"
const vectorBody = `{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated","resource_type":"incident","occurred_at":"2021-04-26T17:36:27.458Z","agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,"status":"triggered","title":"A little bump in the road","service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","self":"https://api.pagerduty.com/services/PF9KMXH","summary":"API Service","type":"service_reference"},"assignees":[{"html_url":"https://acme.pagerduty.com/users/PTUXL6G","id":"PTUXL6G","self":"https://api.pagerduty.com/users/PTUXL6G","summary":"User 123","type":"user_reference"}],"escalation_policy":{"html_url":"https://acme.pagerduty.com/escalation_policies/PUS0KTE","id":"PUS0KTE","self":"https://api.pagerduty.com/escalation_policies/PUS0KTE","summary":"Default","type":"escalation_policy_reference"},"teams":[{"html_url":"https://acme.pagerduty.com/teams/PFCVPS0","id":"PFCVPS0","self":"https://api.pagerduty.com/teams/PFCVPS0","summary":"Engineering","type":"team_reference"}],"priority":{"html_url":"https://acme.pagerduty.com/account/incident_priorities","id":"PSO75BM","self":"https://api.pagerduty.com/priorities/PSO75BM","summary":"P1","type":"priority_reference"},"urgency":"high","conference_bridge":{"conference_number":1000,"conference_url":"https://example.com"},"resolve_reason":null}}}`
const vectorSig = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"

func hdr(sig string) http.Header {
	h := http.Header{}
	if sig != "" {
		h.Set(SignatureHeader, sig)
	}
	return h
}

func TestVerifyKnownVector(t *testing.T) {
	if got := Sign([]byte(vectorBody), vectorSecret); got != vectorSig {
		t.Fatalf("Sign = %s", got)
	}
	if err := Verify(hdr(vectorSig), []byte(vectorBody), []string{"other", vectorSecret}); err != nil {
		t.Fatalf("rotation list: %v", err)
	}
	for name, c := range map[string]struct {
		sig     string
		secrets []string
	}{
		"wrong secret":     {vectorSig, []string{"nope"}},
		"no header":        {"", []string{vectorSecret}},
		"only v0":          {"v0=abc", []string{vectorSecret}},
		"tampered":         {"v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476ce", []string{vectorSecret}},
		"empty secret set": {vectorSig, []string{""}},
	} {
		if err := Verify(hdr(c.sig), []byte(vectorBody), c.secrets); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := Verify(hdr(vectorSig), []byte(vectorBody), nil); !errors.Is(err, ErrNoSecrets) {
		t.Errorf("no secrets: %v", err)
	}
}

func TestParseEventVector(t *testing.T) {
	ev, err := ParseEvent([]byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "01BWDWL3NYY7LUFPZCC28QUCMK" || ev.EventType != "incident.priority_updated" || ev.Incident == nil ||
		ev.Incident.ID != "PGR0VU2" || ev.Incident.Priority.Summary != "P1" || ev.Agent.Summary != "Tenex Engineer" ||
		!ev.OccurredAt.Equal(time.Date(2021, 4, 26, 17, 36, 27, 458e6, time.UTC)) {
		t.Fatalf("event = %+v", ev)
	}
	note := `{"event":{"id":"N1","event_type":"incident.annotated","resource_type":"incident","occurred_at":"2026-01-01T00:00:00Z","agent":null,"client":null,"data":{"incident":{"id":"PGR0VU2","type":"incident_reference"},"id":"PNOTE1","content":"rolled back","trimmed":false,"type":"incident_note"}}}`
	ev, err = ParseEvent([]byte(note))
	if err != nil || ev.Note == nil || ev.IncidentID() != "PGR0VU2" {
		t.Fatalf("note: %+v %v", ev, err)
	}
}

func TestParseEventErrorsDoNotEchoInput(t *testing.T) {
	for _, body := range []string{
		`{"event":{"id":"x","event_type":"incident.triggered","occurred_at":"SECRET-VALUE"}}`,
		`{"event":{"id":"SECRET VALUE with spaces","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z"}}`,
		`{"event":{"id":"E","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident","id":"SECRET/VALUE"}}}`,
		`{"event":{"id":"E","event_type":"incident.triggered","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident","id":5}}}`,
		`{"event":"SECRET-VALUE"}`,
		`{"event":{}} {"event":{}}`,
		`SECRET-VALUE`,
	} {
		_, err := ParseEvent([]byte(body))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", body, err)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error echoes input: %v", err)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(vectorBody))
	f.Add([]byte(`{"event":{"id":"N1","event_type":"incident.annotated","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_note","incident":{"id":"P1"}}}}`))
	f.Add([]byte(`{"event":null}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"event":{"id":"N1","event_type":"incident.responder.added","occurred_at":"2026-01-01T00:00:00Z","data":{"type":"incident_responder","number":"7","incident":{"id":"P1"}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEvent(body)
		// The webhook path's header agrees with the full event whenever
		// the full event parses; a header is refused only if the event is.
		h, herr := ParseHeader(body)
		if herr != nil && err == nil {
			t.Fatalf("header refused (%v) an event that parses", herr)
		}
		if herr != nil && !errors.Is(herr, ErrMalformed) {
			t.Fatalf("header error does not wrap ErrMalformed: %v", herr)
		}
		if err == nil {
			want := Header{ID: ev.ID, EventType: ev.EventType, OccurredAt: ev.OccurredAt, IncidentID: ev.IncidentID()}
			if !reflect.DeepEqual(*h, want) {
				t.Fatalf("header %+v, event %+v", *h, want)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if !ValidID(ev.ID) || ev.EventType == "" || ev.OccurredAt.IsZero() {
			t.Fatalf("accepted an event without id/type/time: %+v", ev)
		}
		if id := ev.IncidentID(); id != "" && !ValidID(id) {
			t.Fatalf("accepted invalid incident id %q", id)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(vectorBody), vectorSig)
	f.Add([]byte("x"), "v1=00,v1=zz")
	f.Add([]byte(""), "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		err := Verify(hdr(sig), body, []string{vectorSecret})
		if err == nil {
			// Only a correct HMAC may pass.
			if !strings.Contains(sig, strings.TrimPrefix(Sign(body, vectorSecret), "v1=")) {
				t.Fatalf("accepted a signature that is not the HMAC: %q", sig)
			}
		} else if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error type: %v", err)
		}
	})
}
