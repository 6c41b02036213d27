package pagerduty_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

type sleeps struct{ d []time.Duration }

func (s *sleeps) sleep(_ context.Context, d time.Duration) error { s.d = append(s.d, d); return nil }

func newClient(t *testing.T, token string) (*pagerduty.Client, *fakepagerduty.Server, *sleeps) {
	t.Helper()
	fake := fakepagerduty.New("pd-token-123")
	t.Cleanup(fake.Close)
	fake.AddIncident(fakepagerduty.Incident{ID: "PINC001", IncidentNumber: 7, Title: "Checkout 5xx", Status: "triggered", Urgency: "high",
		CreatedAt: "2026-11-20T10:00:00Z", Service: map[string]any{"id": "PSVC1", "summary": "checkout-api"},
		Priority: map[string]any{"id": "PPRI1", "summary": "P1"}},
		fakepagerduty.Alert{ID: "PAL1", Summary: "HTTP 5xx > 5%", Severity: "critical", Status: "triggered"},
		fakepagerduty.Alert{ID: "PAL2", Summary: "Latency p99 > 2s", Severity: "warning", Status: "triggered"})
	sl := &sleeps{}
	c := pagerduty.NewClient(fake.URL, token, retry.Policy{Attempts: 4, Base: time.Second, Max: 4 * time.Second, Sleep: sl.sleep})
	return c, fake, sl
}

func TestGetIncidentAndAlerts(t *testing.T) {
	c, _, _ := newClient(t, "pd-token-123")
	inc, err := c.GetIncident(context.Background(), "PINC001")
	if err != nil {
		t.Fatal(err)
	}
	if inc.Title != "Checkout 5xx" || inc.Number != 7 || inc.Service.Summary != "checkout-api" || inc.Priority == nil || inc.Priority.Summary != "P1" {
		t.Fatalf("incident = %+v", inc)
	}
	if inc.CreatedAt.IsZero() {
		t.Fatal("created_at not parsed")
	}
	alerts, err := c.ListAlerts(context.Background(), "PINC001", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Summary != "HTTP 5xx > 5%" || alerts[0].Severity != "critical" {
		t.Fatalf("alerts = %+v", alerts)
	}
}

func TestNotFoundIsSentinelAndNotRetried(t *testing.T) {
	c, fake, sl := newClient(t, "pd-token-123")
	_, err := c.GetIncident(context.Background(), "PNOPE99")
	if !errors.Is(err, pagerduty.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if fake.Requests("GET /incidents/{id}") != 1 || len(sl.d) != 0 {
		t.Fatalf("retried a 404: requests=%d sleeps=%v", fake.Requests("GET /incidents/{id}"), sl.d)
	}
}

func TestBadTokenIsFinalAndErrorHasNoToken(t *testing.T) {
	c, fake, _ := newClient(t, "wrong-token-secret-value")
	_, err := c.GetIncident(context.Background(), "PINC001")
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), "wrong-token-secret-value") {
		t.Fatalf("error leaks token: %v", err)
	}
	if fake.Requests("GET /incidents/{id}") != 1 {
		t.Fatalf("retried a 401")
	}
}

func TestRetriesOn429And5xx(t *testing.T) {
	c, fake, sl := newClient(t, "pd-token-123")
	fake.FailNext("GET /incidents/{id}", 1, 429, 3)
	fake.FailNext("GET /incidents/{id}", 1, 503, 0)
	if _, err := c.GetIncident(context.Background(), "PINC001"); err != nil {
		t.Fatal(err)
	}
	if got := fake.Requests("GET /incidents/{id}"); got != 3 {
		t.Fatalf("requests = %d, want 3", got)
	}
	if len(sl.d) != 2 {
		t.Fatalf("sleeps = %v", sl.d)
	}
}

// The known go-pagerduty trap: a retry must re-send the whole body. Each retry
// here re-invokes the library call, so every POST carries the full note.
// A write is retried only on 429 (PagerDuty did nothing); after a 5xx it
// may have been applied, so it is not sent again.
func TestRetryResendsFullBody(t *testing.T) {
	c, fake, _ := newClient(t, "pd-token-123")
	fake.FailNext("POST /incidents/{id}/notes", 1, 500, 0)
	if err := c.AddNote(context.Background(), "PINC001", "bot@example.com", "x"); err == nil || len(fake.Bodies) != 1 {
		t.Fatalf("a write was retried after a 500: %v, %d bodies", err, len(fake.Bodies))
	}
	fake.Bodies = nil
	fake.FailNext("POST /incidents/{id}/notes", 2, 429, 0)
	if err := c.AddNote(context.Background(), "PINC001", "bot@example.com", "Slack thread: https://example.slack.com/archives/C1/p1"); err != nil {
		t.Fatal(err)
	}
	if len(fake.Bodies) != 3 {
		t.Fatalf("bodies = %d, want 3", len(fake.Bodies))
	}
	for i, b := range fake.Bodies {
		if !strings.Contains(string(b), `"content":"Slack thread: https://example.slack.com/archives/C1/p1"`) {
			t.Fatalf("attempt %d sent body %q", i+1, b)
		}
	}
	notes := fake.Notes()
	if len(notes) != 1 || notes[0].From != "bot@example.com" {
		t.Fatalf("notes = %+v", notes)
	}
}

func TestGiveUpAfterAttempts(t *testing.T) {
	c, fake, _ := newClient(t, "pd-token-123")
	fake.FailNext("GET /incidents/{id}/alerts", 10, 502, 0)
	_, err := c.ListAlerts(context.Background(), "PINC001", 5)
	if !errors.Is(err, retry.ErrBudgetExhausted) {
		t.Fatalf("err = %v", err)
	}
	if got := fake.Requests("GET /incidents/{id}/alerts"); got != 4 {
		t.Fatalf("requests = %d, want 4", got)
	}
}

func TestAlertLogLinesFromBody(t *testing.T) {
	fake := fakepagerduty.New("tok")
	t.Cleanup(fake.Close)
	fake.AddIncident(fakepagerduty.Incident{ID: "PLOG1", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "s", Body: map[string]any{"details": map[string]any{
			"log":    "line one\r\nline two\n\nline three",
			"region": "eu-west-1",
			"nested": map[string]any{"stacktrace": "java.lang.Error: x\n\tat A.b(A.java:1)"},
		}}})
	c := pagerduty.NewClient(fake.URL, "tok", retry.Policy{Attempts: 1})
	alerts, err := c.ListAlerts(context.Background(), "PLOG1", 10)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(alerts[0].LogLines, "|")
	if got != "line one|line two|line three|java.lang.Error: x|\tat A.b(A.java:1)" {
		t.Fatalf("log lines = %q", got)
	}
}

// Reassign and escalate: the fake holds the change to what PagerDuty
// checks (From, an existing user or policy, a level of the incident's
// policy, not both an assignee and a policy).
func TestUpdateReassignsAndEscalates(t *testing.T) {
	c, fake, _ := newClient(t, "pd-token-123")
	ctx := context.Background()
	fake.AddUser(fakepagerduty.User{ID: "PALICE1", Name: "Alice", Email: "alice@acme.example"})
	fake.AddUser(fakepagerduty.User{ID: "PBOB001", Name: "Bob", Email: "bob@acme.example"})
	fake.AddPolicy(fakepagerduty.Policy{ID: "PEP0001", Name: "Checkout", Levels: []string{"Alice", "Bob", "Engineering manager"}})
	fake.AddPolicy(fakepagerduty.Policy{ID: "PEP0002", Name: "Databases", Levels: []string{"DBA on call"}})
	fake.AddIncident(fakepagerduty.Incident{ID: "PINC002", Title: "x", Status: "triggered", EscalationPolicy: map[string]any{"id": "PEP0001", "summary": "Checkout"}})
	pols, err := c.Policies(ctx)
	if err != nil || len(pols) != 2 || pols[0].Name != "Checkout" || len(pols[0].Levels) != 3 {
		t.Fatalf("policies %+v %v", pols, err)
	}
	p, err := c.IncidentPolicy(ctx, "PINC002")
	if err != nil || p.ID != "PEP0001" || p.Levels[2] != "Engineering manager" {
		t.Fatalf("incident policy %+v %v", p, err)
	}
	for _, ch := range []pagerduty.Change{{Level: 4}, {AssignTo: "PNOUSER"}, {Policy: "PEP0404"}, {}} {
		if err := c.Update(ctx, "PINC002", "alice@acme.example", ch); err == nil {
			t.Errorf("%+v accepted", ch)
		}
	}
	if err := c.Update(ctx, "PINC002", "alice@acme.example", pagerduty.Change{Level: 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "PINC002", "alice@acme.example", pagerduty.Change{AssignTo: "PBOB001"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "PINC002", "alice@acme.example", pagerduty.Change{Policy: "PEP0002"}); err != nil {
		t.Fatal(err)
	}
	got := fake.StatusChanges()
	want := []fakepagerduty.StatusChange{{IncidentID: "PINC002", From: "alice@acme.example", Level: 2},
		{IncidentID: "PINC002", From: "alice@acme.example", Assignee: "PBOB001"}, {IncidentID: "PINC002", From: "alice@acme.example", Policy: "PEP0002"}}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("changes %+v", got)
	}
	fake.AddUser(fakepagerduty.User{ID: "PWATCH1", Name: "W", Email: "watcher@acme.example", Role: "observer"})
	if err := c.Update(ctx, "PINC002", "watcher@acme.example", pagerduty.Change{Level: 1}); !errors.Is(err, pagerduty.ErrForbidden) {
		t.Fatalf("observer: %v", err)
	}
}
