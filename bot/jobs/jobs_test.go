package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/queue"
)

// recorder is an Enqueuer that keeps what it was given.
type recorder struct {
	kinds    []string
	payloads [][]byte
	seen     map[string]bool
}

func (r *recorder) Enqueue(_ context.Context, dedupe string, _ time.Duration, kind string, payload []byte) (string, bool, error) {
	if dedupe != "" {
		if r.seen == nil {
			r.seen = map[string]bool{}
		}
		if r.seen[dedupe] {
			return "", true, nil
		}
		r.seen[dedupe] = true
	}
	r.kinds, r.payloads = append(r.kinds, kind), append(r.payloads, payload)
	return "1-0", false, nil
}

func TestSubmitValidatesAndDeduplicates(t *testing.T) {
	q := &recorder{}
	ctx := context.Background()
	good := jobs.Reveal{IncidentID: "Q1ABC", UserID: "U1", ChannelID: "C1"}
	if dup, err := jobs.Submit(ctx, q, good, "reveal:U1:Q1ABC", time.Second); err != nil || dup {
		t.Fatal(dup, err)
	}
	if dup, err := jobs.Submit(ctx, q, good, "reveal:U1:Q1ABC", time.Second); err != nil || !dup {
		t.Fatal("a second submission within the window was not reported as a duplicate", dup, err)
	}
	for _, bad := range []jobs.Job{
		jobs.Reveal{IncidentID: "not an id!", UserID: "U1"},
		jobs.Reveal{IncidentID: "Q1ABC"},
		jobs.Decision{ProposalID: "Q1ABC", UserID: "U1"},
		jobs.Propose{IncidentID: "Q1ABC", UserID: "U1"},
		jobs.Settled{ProposalID: "q1abc-0123456789"},
		jobs.Triage{IncidentID: ""},
		jobs.Verdict{IncidentID: "Q1ABC"},
	} {
		if _, err := jobs.Submit(ctx, q, bad, "", 0); err == nil {
			t.Errorf("%s %+v was queued", bad.Kind(), bad)
		}
	}
	if len(q.kinds) != 1 || q.kinds[0] != "reveal" {
		t.Fatalf("queued %v", q.kinds)
	}
	var back jobs.Reveal
	if err := json.Unmarshal(q.payloads[0], &back); err != nil || back != good {
		t.Fatalf("payload %s", q.payloads[0])
	}
}

func TestMuxHandsEachKindToItsHandler(t *testing.T) {
	var got []jobs.Decision
	var m jobs.Mux
	m.Register(jobs.KindDecision, jobs.Typed(func(_ context.Context, d jobs.Decision) error { got = append(got, d); return nil }))
	m.Register(jobs.KindPagerDuty, func(context.Context, []byte) error { return errors.New("retry me") })
	ctx := context.Background()
	payload, _ := json.Marshal(jobs.Decision{ProposalID: "Q1ABC-0123456789", UserID: "U1", Approve: true})
	if err := m.Handle(ctx, queue.Entry{Kind: "decision", Payload: payload}); err != nil || len(got) != 1 || !got[0].Approve {
		t.Fatal(err, got)
	}
	// Malformed and invalid payloads, and unknown kinds, are permanent:
	// the queue dead-letters them instead of retrying forever.
	for name, e := range map[string]queue.Entry{
		"not json":      {Kind: "decision", Payload: []byte("{")},
		"invalid":       {Kind: "decision", Payload: []byte(`{"proposal_id":"x","user_id":"U1"}`)},
		"unknown kind":  {Kind: "nope", Payload: []byte("{}")},
		"missing field": {Kind: "decision", Payload: []byte(`{"proposal_id":"Q1ABC-0123456789"}`)},
	} {
		err := m.Handle(ctx, e)
		if !errors.Is(err, queue.ErrPermanent) {
			t.Errorf("%s: %v is not permanent", name, err)
		}
	}
	if len(got) != 1 {
		t.Fatalf("a bad payload reached the handler: %v", got)
	}
	// A handler's own error passes through as it is (retried).
	if err := m.Handle(ctx, queue.Entry{Kind: "pagerduty", Payload: []byte("{}")}); err == nil || errors.Is(err, queue.ErrPermanent) {
		t.Fatal(err)
	}
}

func TestRegisteringAKindTwicePanics(t *testing.T) {
	var m jobs.Mux
	m.Register(jobs.KindReveal, func(context.Context, []byte) error { return nil })
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	m.Register(jobs.KindReveal, func(context.Context, []byte) error { return nil })
}

func TestProposalIDs(t *testing.T) {
	id := jobs.ProposalID("Q1DEMO4092", "0123456789abcdef")
	if id != "Q1DEMO4092-0123456789" {
		t.Fatal(id)
	}
	if inc, ok := jobs.ParseProposalID(id); !ok || inc != "Q1DEMO4092" {
		t.Fatal(inc, ok)
	}
	for _, bad := range []string{"", "-0123456789", "Q1-012345678", "Q1-0123456789a", "Q1-012345678G", "q1-0123456789",
		"Q1-0123456789\n", "Q-1-0123456789", "Q1 -0123456789", strings.Repeat("A", 65) + "-0123456789", "Q1-0123ABCDEF"} {
		if _, ok := jobs.ParseProposalID(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseProposalID(f *testing.F) {
	for _, s := range []string{"Q1DEMO4092-0123456789", "Q1-abcdefabcd", "-", "A-", "é-0123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		inc, ok := jobs.ParseProposalID(s)
		if !ok {
			return
		}
		// What parses is exactly what ProposalID forms.
		if jobs.ProposalID(inc, s[len(inc)+1:]) != s || !jobs.ValidProposalID(s) {
			t.Fatalf("%q parsed as %q but does not round-trip", s, inc)
		}
		if (jobs.Decision{ProposalID: s, UserID: "U1"}).Validate() != nil {
			t.Fatal("a parsed id fails Decision.Validate")
		}
	})
}

func TestIncidentActionAndUpdateValidation(t *testing.T) {
	ok := []jobs.Job{
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "acknowledged"},
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "reassign", TriggerID: "1.2.3"},
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "reassign", Assignee: "U0BOB"},
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "reassign", Policy: "PEP0001"},
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "escalate", Level: 2},
		jobs.DraftUpdate{IncidentID: "PX1", UserID: "U1", TriggerID: "1.2"},
		jobs.ProposeUpdate{IncidentID: "PX1", UserID: "U1", Text: strings.Repeat("x", jobs.MinUpdate)},
	}
	bad := []jobs.Job{
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "snooze"},
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "reassign"}, // a picker without a trigger
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "reassign", Assignee: "U0BOB", Policy: "PEP0001"},
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "reassign", Assignee: "bob"},
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "reassign", Policy: "../x"},
		jobs.IncidentAction{IncidentID: "PX1", UserID: "U1", Status: "escalate", Level: jobs.MaxLevel + 1},
		jobs.DraftUpdate{IncidentID: "PX1", UserID: "U1"},
		jobs.ProposeUpdate{IncidentID: "PX1", UserID: "U1", Text: strings.Repeat("x", jobs.MaxUpdate+1)},
	}
	for _, j := range ok {
		if err := j.Validate(); err != nil {
			t.Errorf("%+v: %v", j, err)
		}
	}
	for _, j := range bad {
		if j.Validate() == nil {
			t.Errorf("%+v accepted", j)
		}
	}
}
