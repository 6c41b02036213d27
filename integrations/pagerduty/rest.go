package pagerduty

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/opsgate/opsgate/bot/retry"
)

// ErrNotFound is returned when PagerDuty answers 404 for an incident.
var ErrNotFound = errors.New("pagerduty: not found")

// Alert is the part of a PagerDuty alert opsgate shows.
type Alert struct {
	ID        string `json:"id"`
	Summary   string `json:"summary"`
	Severity  string `json:"severity"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
	// LogLines are log lines carried in the alert body's details (fields
	// such as "log", "logs", "message", "stacktrace", or any multi-line
	// text). Untrusted.
	LogLines []string `json:"-"`
}

// Bounds on log lines taken from one alert body.
const (
	maxAlertLogLines = 10000
	maxAlertLogBytes = 1 << 20
)

// logLines collects multi-line or log-named string fields of an alert body.
func logLines(body map[string]any) []string {
	var out []string
	size := 0
	var walk func(key string, v any, depth int)
	walk = func(key string, v any, depth int) {
		if depth > 4 || len(out) >= maxAlertLogLines || size >= maxAlertLogBytes {
			return
		}
		switch x := v.(type) {
		case string:
			k := strings.ToLower(key)
			if !strings.Contains(x, "\n") && !strings.Contains(k, "log") && k != "message" && !strings.Contains(k, "stack") && k != "output" && k != "excerpt" {
				return
			}
			for _, l := range strings.Split(x, "\n") {
				l = strings.TrimRight(l, "\r")
				if l == "" {
					continue
				}
				if len(out) >= maxAlertLogLines || size+len(l) > maxAlertLogBytes {
					return
				}
				out = append(out, l)
				size += len(l)
			}
		case []any:
			for _, e := range x {
				walk(key, e, depth+1)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(k, x[k], depth+1)
			}
		}
	}
	walk("", body["details"], 0)
	walk("", body["cef_details"], 0)
	return out
}

// Client reads incidents and alerts through go-pagerduty. go-pagerduty
// v1.8.0 does not retry; every retry here re-invokes the library call, which
// builds a fresh request (and body), so no drained body is ever re-sent.
type Client struct {
	api    *pd.Client
	policy retry.Policy
	// Observe is told each call's outcome after its retries (ok,
	// not_found, error); nil: nobody.
	Observe func(op, outcome string)
}

// NewClient points go-pagerduty at baseURL ("" = PagerDuty's API) with token.
func NewClient(baseURL, token string, policy retry.Policy) *Client {
	opts := []pd.ClientOptions{}
	if baseURL != "" {
		opts = append(opts, pd.WithAPIEndpoint(baseURL))
	}
	if policy.Attempts == 0 {
		policy = retry.Policy{Attempts: 4, Base: 500 * time.Millisecond, Max: 5 * time.Second, Budget: 15 * time.Second, Jitter: true}
	}
	return &Client{api: pd.NewClient(token, opts...), policy: policy}
}

// Classify decides whether a go-pagerduty error is worth retrying: 429 and
// 5xx and network errors are; other API errors are not.
func Classify(err error) retry.Verdict {
	var ae pd.APIError
	if errors.As(err, &ae) {
		return retry.Verdict{Retry: ae.Temporary()}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return retry.Verdict{Retry: true}
	}
	// go-pagerduty flattens transport errors with %v; treat them as transient.
	return retry.Verdict{Retry: !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)}
}

// classifyWrite retries a write (a note, a status update, an incident
// change) only when PagerDuty said no before doing anything: 429. After a
// timeout or a 5xx the write may have been applied; sent again, people
// would see it twice (the queue's redelivery, which looks first where it
// can, is the retry).
func classifyWrite(err error) retry.Verdict {
	var ae pd.APIError
	return retry.Verdict{Retry: errors.As(err, &ae) && ae.StatusCode == 429}
}

func (c *Client) call(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return c.do(ctx, what, Classify, fn)
}

// write is call for requests that change something.
func (c *Client) write(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return c.do(ctx, what, classifyWrite, fn)
}

func (c *Client) do(ctx context.Context, what string, classify func(error) retry.Verdict, fn func(ctx context.Context) error) error {
	err := retry.Do(ctx, c.policy, classify, fn)
	observe := func(outcome string) {
		if c.Observe != nil {
			c.Observe(what, outcome)
		}
	}
	if err == nil {
		observe("ok")
		return nil
	}
	var ae pd.APIError
	if errors.As(err, &ae) && ae.NotFound() {
		observe("not_found")
		return fmt.Errorf("pagerduty %s: %w", what, ErrNotFound)
	}
	observe("error")
	return fmt.Errorf("pagerduty %s: %w", what, err)
}

// GetIncident fetches one incident and maps it to the webhook's shape.
func (c *Client) GetIncident(ctx context.Context, id string) (*IncidentData, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("pagerduty get incident: invalid id")
	}
	var inc *pd.Incident
	err := c.call(ctx, "get incident", func(ctx context.Context) error {
		var err error
		inc, err = c.api.GetIncidentWithContext(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	d := &IncidentData{
		ID: inc.ID, Type: "incident", HTMLURL: inc.HTMLURL, Number: int(inc.IncidentNumber),
		Status: inc.Status, IncidentKey: inc.IncidentKey, Title: inc.Title, Urgency: inc.Urgency,
		Service:          Reference{ID: inc.Service.ID, Type: inc.Service.Type, Summary: inc.Service.Summary, HTMLURL: inc.Service.HTMLURL},
		EscalationPolicy: Reference{ID: inc.EscalationPolicy.ID, Summary: inc.EscalationPolicy.Summary},
	}
	if t, err := time.Parse(time.RFC3339, inc.CreatedAt); err == nil {
		d.CreatedAt = t
	}
	if inc.Priority != nil && inc.Priority.ID != "" {
		name := inc.Priority.Summary
		if name == "" {
			name = inc.Priority.Name
		}
		d.Priority = &Reference{ID: inc.Priority.ID, Summary: name}
	}
	for _, a := range inc.Assignments {
		d.Assignees = append(d.Assignees, Reference{ID: a.Assignee.ID, Summary: a.Assignee.Summary, HTMLURL: a.Assignee.HTMLURL})
	}
	for _, t := range inc.Teams {
		d.Teams = append(d.Teams, Reference{ID: t.ID, Summary: t.Summary})
	}
	return d, nil
}

// ListAlerts returns up to limit alerts of an incident (one page).
func (c *Client) ListAlerts(ctx context.Context, incidentID string, limit uint) ([]Alert, error) {
	if !ValidID(incidentID) {
		return nil, fmt.Errorf("pagerduty list alerts: invalid id")
	}
	var resp *pd.ListAlertsResponse
	err := c.call(ctx, "list alerts", func(ctx context.Context) error {
		var err error
		resp, err = c.api.ListIncidentAlertsWithContext(ctx, incidentID, pd.ListIncidentAlertsOptions{Limit: limit})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Alert, 0, len(resp.Alerts))
	for _, a := range resp.Alerts {
		out = append(out, Alert{ID: a.ID, Summary: a.Summary, Severity: a.Severity, Status: a.Status, CreatedAt: a.CreatedAt, LogLines: logLines(a.Body)})
	}
	return out, nil
}

// AddNote posts a note on an incident as the user with email from.
func (c *Client) AddNote(ctx context.Context, incidentID, from, content string) error {
	if !ValidID(incidentID) {
		return fmt.Errorf("pagerduty add note: invalid id")
	}
	return c.write(ctx, "add note", func(ctx context.Context) error {
		note := pd.IncidentNote{Content: content}
		note.User.Summary = from
		_, err := c.api.CreateIncidentNoteWithContext(ctx, incidentID, note)
		return err
	})
}

// ListNotes returns the text of an incident's notes (PagerDuty does not
// page this list).
func (c *Client) ListNotes(ctx context.Context, incidentID string) ([]string, error) {
	if !ValidID(incidentID) {
		return nil, fmt.Errorf("pagerduty list notes: invalid id")
	}
	var out []string
	err := c.call(ctx, "list notes", func(ctx context.Context) error {
		notes, err := c.api.ListIncidentNotesWithContext(ctx, incidentID)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, n := range notes {
			out = append(out, n.Content)
		}
		return nil
	})
	return out, err
}

// ErrNoUser: no PagerDuty user has that e-mail address.
var ErrNoUser = errors.New("no PagerDuty user with that e-mail")

// ErrForbidden: PagerDuty refused the change for that user (403).
var ErrForbidden = errors.New("PagerDuty refused: the user may not change this incident")

// forbidden turns PagerDuty's 403 for a change made as a user into
// ErrForbidden; other errors pass unchanged.
func forbidden(what string, err error) error {
	var ae pd.APIError
	if errors.As(err, &ae) && ae.StatusCode == 403 {
		return fmt.Errorf("pagerduty %s: %w", what, ErrForbidden)
	}
	return err
}

// ReadOnlyRole reports PagerDuty roles that may not change incidents.
// PagerDuty attributes a change made with an account API key to the From
// user, but does not promise to hold it to that user's role: opsgate
// checks the role itself.
func ReadOnlyRole(role string) bool {
	switch role {
	case "observer", "read_only_user", "read_only_limited_user", "restricted_access":
		return true
	}
	return false
}

// UserByEmail finds the PagerDuty user whose e-mail is email (exactly,
// ignoring case: GET /users?query= matches substrings of names too) and
// returns their id and role.
func (c *Client) UserByEmail(ctx context.Context, email string) (string, string, error) {
	var resp *pd.ListUsersResponse
	err := c.call(ctx, "find user", func(ctx context.Context) error {
		var err error
		resp, err = c.api.ListUsersWithContext(ctx, pd.ListUsersOptions{Query: email, Limit: 100})
		return err
	})
	if err != nil {
		return "", "", err
	}
	for _, u := range resp.Users {
		if strings.EqualFold(u.Email, email) && ValidID(u.ID) {
			return u.ID, u.Role, nil
		}
	}
	return "", "", ErrNoUser
}

// SetStatus acknowledges or resolves an incident as the user with e-mail
// from (PagerDuty records them as the actor and checks their permission).
func (c *Client) SetStatus(ctx context.Context, incidentID, from, status string) error {
	if status != "acknowledged" && status != "resolved" {
		return fmt.Errorf("pagerduty set status: %q is not acknowledged or resolved", status)
	}
	return c.Update(ctx, incidentID, from, Change{Status: status})
}

// Change is one update of an incident; exactly the set fields change.
type Change struct {
	Status   string // acknowledged | resolved
	AssignTo string // a user id: the incident is reassigned to them
	Policy   string // an escalation policy id: reassigned to it
	Level    int    // > 0: escalated (or de-escalated) to this level of its policy
}

// Update changes an incident as the user with e-mail from (PUT
// /incidents/{id}, PagerDuty checks their permission and records them).
func (c *Client) Update(ctx context.Context, incidentID, from string, ch Change) error {
	if !ValidID(incidentID) {
		return fmt.Errorf("pagerduty update: invalid id")
	}
	o := pd.ManageIncidentsOptions{ID: incidentID, Status: ch.Status}
	if ch.AssignTo != "" {
		if !ValidID(ch.AssignTo) {
			return fmt.Errorf("pagerduty update: invalid user id")
		}
		o.Assignments = []pd.Assignee{{Assignee: pd.APIObject{ID: ch.AssignTo, Type: "user_reference"}}}
	}
	if ch.Policy != "" {
		if !ValidID(ch.Policy) {
			return fmt.Errorf("pagerduty update: invalid escalation policy id")
		}
		o.EscalationPolicy = &pd.APIReference{ID: ch.Policy, Type: "escalation_policy_reference"}
	}
	if ch.Level > 0 {
		o.EscalationLevel = uint(ch.Level)
	}
	err := c.write(ctx, "update incident", func(ctx context.Context) error {
		_, err := c.api.ManageIncidentsWithContext(ctx, from, []pd.ManageIncidentsOptions{o})
		return err
	})
	return forbidden("update incident", err)
}

// Policy is an escalation policy, with a name per level (its rules'
// targets) for a picker.
type Policy struct {
	ID     string
	Name   string
	Levels []string
}

// Policies lists escalation policies (the first 100, by name).
func (c *Client) Policies(ctx context.Context) ([]Policy, error) {
	var resp *pd.ListEscalationPoliciesResponse
	err := c.call(ctx, "list escalation policies", func(ctx context.Context) error {
		var err error
		resp, err = c.api.ListEscalationPoliciesWithContext(ctx, pd.ListEscalationPoliciesOptions{Limit: 100, SortBy: "name"})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Policy, 0, len(resp.EscalationPolicies))
	for _, p := range resp.EscalationPolicies {
		if ValidID(p.ID) {
			out = append(out, policyOf(p))
		}
	}
	return out, nil
}

// IncidentPolicy is the escalation policy an incident follows now.
func (c *Client) IncidentPolicy(ctx context.Context, incidentID string) (Policy, error) {
	inc, err := c.GetIncident(ctx, incidentID)
	if err != nil {
		return Policy{}, err
	}
	if !ValidID(inc.EscalationPolicy.ID) {
		return Policy{}, fmt.Errorf("pagerduty: incident %s has no escalation policy", incidentID)
	}
	var p *pd.EscalationPolicy
	err = c.call(ctx, "get escalation policy", func(ctx context.Context) error {
		var err error
		p, err = c.api.GetEscalationPolicyWithContext(ctx, inc.EscalationPolicy.ID, &pd.GetEscalationPolicyOptions{})
		return err
	})
	if err != nil {
		return Policy{}, err
	}
	return policyOf(*p), nil
}

func policyOf(p pd.EscalationPolicy) Policy {
	out := Policy{ID: p.ID, Name: cmp.Or(p.Name, p.Summary)}
	for _, r := range p.EscalationRules {
		var names []string
		for _, t := range r.Targets {
			names = append(names, t.Summary)
		}
		out.Levels = append(out.Levels, strings.Join(names, ", "))
	}
	return out
}

// StatusUpdate publishes a status update on an incident (PagerDuty sends
// it to the incident's subscribers) as the user with e-mail from.
func (c *Client) StatusUpdate(ctx context.Context, incidentID, from, message string) error {
	if !ValidID(incidentID) {
		return fmt.Errorf("pagerduty status update: invalid id")
	}
	err := c.write(ctx, "status update", func(ctx context.Context) error {
		_, err := c.api.CreateIncidentStatusUpdate(ctx, incidentID, from, message)
		return err
	})
	return forbidden("status update", err)
}

// Resolved is a resolved incident with its notes, for the knowledge base.
type Resolved struct {
	Incident   IncidentData
	Service    string
	Created    time.Time
	ResolvedAt time.Time
	Notes      []string
}

// ResolvedSince lists incidents created since the given time that are
// resolved now, with their notes (pages of 100; each call retried).
func (c *Client) ResolvedSince(ctx context.Context, since time.Time, each func(Resolved) error) error {
	opts := pd.ListIncidentsOptions{Limit: 100, Since: since.UTC().Format(time.RFC3339), Statuses: []string{"resolved"}}
	for page := 0; page < 1000; page++ {
		var resp *pd.ListIncidentsResponse
		err := c.call(ctx, "list incidents", func(ctx context.Context) error {
			var err error
			resp, err = c.api.ListIncidentsWithContext(ctx, opts)
			return err
		})
		if err != nil {
			return err
		}
		for _, inc := range resp.Incidents {
			var notes []pd.IncidentNote
			if err := c.call(ctx, "list notes", func(ctx context.Context) error {
				var err error
				notes, err = c.api.ListIncidentNotesWithContext(ctx, inc.ID)
				return err
			}); err != nil {
				return err
			}
			r := Resolved{Incident: IncidentData{ID: inc.ID, HTMLURL: inc.HTMLURL, Number: int(inc.IncidentNumber), Status: inc.Status, Title: inc.Title,
				Urgency: inc.Urgency, Service: Reference{ID: inc.Service.ID, Summary: inc.Service.Summary}}, Service: inc.Service.Summary}
			r.Created, _ = time.Parse(time.RFC3339, inc.CreatedAt)
			r.ResolvedAt, _ = time.Parse(time.RFC3339, inc.LastStatusChangeAt)
			if inc.Description != "" && inc.Description != inc.Title {
				r.Notes = append(r.Notes, inc.Description)
			}
			for _, n := range notes {
				r.Notes = append(r.Notes, n.Content)
			}
			if err := each(r); err != nil {
				return err
			}
		}
		if !resp.More {
			return nil
		}
		opts.Offset += opts.Limit
	}
	return nil
}
