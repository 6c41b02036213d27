package writeback_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/bot/writeback"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	"github.com/opsgate/opsgate/test/redistest"
)

func newNotes(t *testing.T) (*writeback.Notes, *fakepagerduty.Server) {
	t.Helper()
	fake := fakepagerduty.New("pd-token")
	t.Cleanup(fake.Close)
	fake.AddIncident(fakepagerduty.Incident{ID: "PINC001", IncidentNumber: 7, Title: "Checkout 5xx", Status: "triggered", Urgency: "high",
		CreatedAt: "2026-11-20T10:00:00Z", Service: map[string]any{"id": "PSVC1", "summary": "checkout-api"}})
	pd := pagerduty.NewClient(fake.URL, "pd-token", retry.Policy{Attempts: 1, Base: time.Millisecond})
	rdb := redistest.Start(t).Client()
	mask := func(s string) string { return strings.ReplaceAll(s, "10.1.2.3", "[IP_ADDRESS_1]") }
	noWait := func(context.Context, time.Duration) error { return nil }
	return &writeback.Notes{PagerDuty: pd, Redis: rdb, Mask: mask, Retry: retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: noWait}}, fake
}

// Eight writers racing with one note (the trigger and a change on two
// replicas, a redelivery) write it once.
func TestRacingWritersNoteOnce(t *testing.T) {
	n, fake := newNotes(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			errs <- n.AddNote(context.Background(), "PINC001", "bot@acme.example", "opsgate Slack thread: https://x/p1")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := fake.Notes(); len(got) != 1 || got[0].Content != "opsgate Slack thread: https://x/p1" {
		t.Fatalf("notes = %+v, want exactly one", got)
	}
	if err := n.AddNote(context.Background(), "PINC001", "bot@acme.example", "second note"); err != nil {
		t.Fatal(err)
	}
	if got := len(fake.Notes()); got != 2 {
		t.Fatalf("a different note was not written: %d notes", got)
	}
}

// A worker that wrote the note and died before recording it: the next one
// finds the note in PagerDuty (as the guard masked it) and does not write it
// again.
func TestNoteWrittenBeforeACrashIsNotRepeated(t *testing.T) {
	n, fake := newNotes(t)
	ctx := context.Background()
	if err := n.AddNote(ctx, "PINC001", "bot@acme.example", "host 10.1.2.3 down\n"); err != nil {
		t.Fatal(err)
	}
	if err := n.AddNote(ctx, "PINC001", "bot@acme.example", "host 10.1.2.3 down"); err != nil {
		t.Fatal(err)
	}
	got := fake.Notes()
	if len(got) != 1 || strings.Contains(got[0].Content, "10.1.2.3") || !strings.Contains(got[0].Content, "[IP_ADDRESS_1]") {
		t.Fatalf("notes = %+v, want one masked note", got)
	}
}

// PagerDuty failing to list the notes is an error (the step is retried),
// never a blind write.
func TestListFailureWritesNothing(t *testing.T) {
	n, fake := newNotes(t)
	fake.FailNext("GET /incidents/{id}/notes", 10, 500, 0) // more than the attempts
	if err := n.AddNote(context.Background(), "PINC001", "bot@acme.example", "x"); err == nil {
		t.Fatal("AddNote succeeded though the notes could not be listed")
	}
	if len(fake.Notes()) != 0 {
		t.Fatalf("a note was written blind: %+v", fake.Notes())
	}
}

// A write that failed after PagerDuty took it (a 5xx here) is retried by
// listing first: the note is there once.
func TestRetryLooksBeforeWritingAgain(t *testing.T) {
	n, fake := newNotes(t)
	fake.FailNext("POST /incidents/{id}/notes", 1, 502, 0)
	if err := n.AddNote(context.Background(), "PINC001", "bot@acme.example", "after a 502"); err != nil {
		t.Fatal(err)
	}
	if got := fake.Notes(); len(got) != 1 {
		t.Fatalf("notes = %+v", got)
	}
}
