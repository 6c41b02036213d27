package learn_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/learn"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/knowledge/kb"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

func TestOneVerdictPerResponder(t *testing.T) {
	rdb := redistest.Start(t).Client()
	fs, client := testutil.Slack(t, nil)
	v := &learn.Verdicts{Redis: rdb, Responder: client}
	ctx := context.Background()
	for _, j := range []jobs.Verdict{
		{IncidentID: "P1", UserID: "U1", Up: true}, {IncidentID: "P1", UserID: "U1", Up: true}, // a double click
		{IncidentID: "P1", UserID: "U2", Up: true}, {IncidentID: "P1", UserID: "U2", Up: false, ResponseURL: fs.ResponseURL("v")}, // a change of mind
	} {
		if err := v.Handle(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if up, down, err := v.Count(ctx, "P1"); err != nil || up != 1 || down != 1 {
		t.Fatal(up, down, err)
	}
	if ttl := rdb.TTL(ctx, learn.VerdictKey("P1")).Val(); ttl <= 0 || ttl > learn.VerdictTTL {
		t.Fatal(ttl)
	}
	posts := fs.ResponseURLPosts()
	if len(posts) != 1 || !strings.Contains(posts[0].Body["text"].(string), "(1 :+1:, 1 :-1:)") {
		t.Fatalf("%+v", posts)
	}
}

func TestTicketTakesARootCauseOnlyWhenRespondersDidNotRejectIt(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rec := &incident.Record{Snapshot: incident.Snapshot{ID: "P1", Title: "db down", ServiceName: "checkout", Alerts: []incident.Alert{{Summary: "5xx"}}},
		Thread:   incident.Thread{Permalink: "https://slack/p1"},
		Timeline: []incident.Change{{Type: "incident.resolved", Agent: "Ann", OccurredAt: at}}}
	c := &enrich.Record{Excerpt: &excerpt.Excerpt{Entries: []excerpt.Entry{{Template: "ERROR pool <*>", Level: "ERROR"}, {Template: "INFO ok", Level: "INFO"}}}}
	model := &rca.Analysis{Source: "gemini", RootCause: "pool leak", Category: "capacity", Confidence: 0.8}
	for name, tc := range map[string]struct {
		a        *rca.Analysis
		up, down int
		want     string
	}{
		"no analysis":       {nil, 0, 0, ""},
		"model, no votes":   {model, 0, 0, ""},
		"model, confirmed":  {model, 2, 1, "pool leak"},
		"model, split":      {model, 1, 1, ""},
		"model, rejected":   {model, 0, 1, ""},
		"hypothesis, none":  {&rca.Analysis{Source: "gemini", RootCause: "maybe", Hypothesis: true}, 0, 0, ""},
		"hypothesis, liked": {&rca.Analysis{Source: "gemini", RootCause: "maybe", Hypothesis: true}, 1, 0, "maybe"},
		"extractive":        {&rca.Analysis{Source: "extractive", RootCause: "copied"}, 3, 0, ""},
	} {
		c.Analysis = tc.a
		tk := learn.Ticket(rec, c, tc.up, tc.down)
		if tk.RootCause != tc.want {
			t.Errorf("%s: root cause %q", name, tk.RootCause)
		}
		if tc.a != nil && tc.want == "" && tc.a.Source != "extractive" && !strings.Contains(tk.Body, "model-generated, not confirmed") {
			t.Errorf("%s: an unconfirmed model root cause is not labelled: %s", name, tk.Body)
		}
		if tk.Resolution != "Resolved by Ann — thread: https://slack/p1" || !tk.Resolved.Equal(at) || !strings.Contains(tk.Body, "ERROR pool <*>") || strings.Contains(tk.Body, "INFO ok") {
			t.Errorf("%s: %+v", name, tk)
		}
	}
}

type kbRecorder struct{ got []kb.Ticket }

func (k *kbRecorder) Add(_ context.Context, ts ...kb.Ticket) error {
	k.got = append(k.got, ts...)
	return nil
}

type contexts map[string]*enrich.Record

func (c contexts) Get(_ context.Context, id string) (*enrich.Record, error) {
	if r, ok := c[id]; ok {
		return r, nil
	}
	return nil, enrich.ErrNotFound
}

func TestLearnWritesTheMaskedView(t *testing.T) {
	rdb := redistest.Start(t).Client()
	k := &kbRecorder{}
	l := &learn.Learner{Knowledge: k, Masker: view.NewVault(rdb, redact.Default(), time.Hour), Verdicts: &learn.Verdicts{Redis: rdb},
		Contexts: contexts{"P1": {Analysis: &rca.Analysis{Source: "gemini", Summary: "10.9.9.9 refused", RootCause: "bob@corp.example.com leaked"}}}}
	rec := &incident.Record{Snapshot: incident.Snapshot{ID: "P1", Title: "db 10.9.9.9 down", Status: incident.StatusResolved}}
	if err := l.Learn(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if err := l.Learn(context.Background(), &incident.Record{Snapshot: incident.Snapshot{ID: "P2"}}); err != nil {
		t.Fatal("an incident without context cannot be learned:", err)
	}
	b, _ := json.Marshal(k.got)
	if len(k.got) != 2 || strings.Contains(string(b), "10.9.9.9") || strings.Contains(string(b), "bob@") {
		t.Fatalf("%s", b)
	}
}
