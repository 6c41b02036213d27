package enrich_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/tmplstate"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	"github.com/opsgate/opsgate/knowledge/kb"
	"github.com/opsgate/opsgate/test/redistest"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestStoreKeepsTheFirstRecordAndAnalysis(t *testing.T) {
	s := enrich.NewStore(redistest.Start(t).Client(), time.Hour)
	ctx := context.Background()
	if _, err := s.Get(ctx, "P1"); !errors.Is(err, enrich.ErrNotFound) {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Put(ctx, "P1", &enrich.Record{Metrics: []string{string(rune('a' + i))}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	first, err := s.Get(ctx, "P1")
	if err != nil || len(first.Metrics) != 1 {
		t.Fatal(first, err)
	}
	again, _ := s.Put(ctx, "P1", &enrich.Record{Metrics: []string{"late"}})
	if again.Metrics[0] != first.Metrics[0] {
		t.Fatal("a later gathering replaced the first")
	}
	got, won, err := s.SetAnalysis(ctx, "P1", rca.Analysis{Summary: "first"})
	if err != nil || !won || got.Analysis.Summary != "first" || got.Metrics[0] != first.Metrics[0] {
		t.Fatal(got, won, err)
	}
	got, won, _ = s.SetAnalysis(ctx, "P1", rca.Analysis{Summary: "second"})
	if won || got.Analysis.Summary != "first" {
		t.Fatal("a second analysis replaced the first")
	}
}

type alerts struct{ err error }

func (a alerts) ListAlerts(context.Context, string, uint) ([]pagerduty.Alert, error) {
	if a.err != nil {
		return nil, a.err
	}
	return []pagerduty.Alert{{Summary: "pool exhausted at 10.9.8.7", Severity: "critical",
		LogLines: []string{"ERROR [db] connection to 10.9.8.7 refused user=alice@corp.example.com", "ERROR [db] connection to 10.9.8.7 refused user=alice@corp.example.com"}}}, nil
}

type collector struct{ got collect.Incident }

func (c *collector) Collect(_ context.Context, in collect.Incident) (collect.Result, bool) {
	c.got = in
	return collect.Result{Handler: "checkout", Lines: []collect.Line{{Time: t0, Text: "WARN [http] slow answer from 10.9.8.7"}},
		Metrics: []string{"5xx rate: baseline 0.4, now 28"}, Sources: []collect.Status{{Source: "loki", Kind: "loki"}},
		Actions: []collect.Action{{ID: "restart", Params: map[string]string{"service": "checkout-api"}}},
		Scope:   catalog.Scope{Targets: []string{"checkout-db"}}}, true
}

type knowledge struct{ q kb.Query }

func (k *knowledge) Search(q kb.Query, _ int) []kb.Result {
	k.q = q
	return []kb.Result{{Summary: kb.Summary{ID: "INC-1", Title: "db refused"}, Similarity: 0.7},
		{Summary: kb.Summary{ID: "INC-2", Title: "noise"}, Similarity: 0.1}}
}

func TestGatherMasksBeforeMiningAndKeepsWhatItFound(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	vault := view.NewVault(rdb, redact.Default(), time.Hour)
	col, k := &collector{}, &knowledge{}
	g := &enrich.Gatherer{Alerts: alerts{}, Collector: col, Masker: vault, Templates: tmplstate.New(rdb, time.Hour), Knowledge: k}
	snap := &incident.Snapshot{ID: "P1", Title: "checkout 5xx", ServiceID: "PSVC", ServiceName: "checkout-api", Urgency: "high", CreatedAt: t0}
	r, err := g.Gather(context.Background(), snap, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if col.got.Service != "checkout-api" || !col.got.Start.Equal(t0) || col.got.ID != "P1" {
		t.Fatalf("the handler got %+v", col.got)
	}
	if len(r.Alerts) != 1 || r.AlertTotal != 1 || len(r.Metrics) != 1 || len(r.Sources) != 1 || len(r.Suggested) != 1 || r.Scope == nil || r.Scope.Targets[0] != "checkout-db" {
		t.Fatalf("%+v", r)
	}
	if len(r.Similar) != 1 || r.Similar[0].ID != "INC-1" {
		t.Fatalf("similar %+v (below 15%% must be dropped)", r.Similar)
	}
	if k.q.Title != "checkout 5xx" || !strings.Contains(k.q.Body, "pool exhausted") || k.q.Exclude != "P1" {
		t.Fatalf("query %+v", k.q)
	}
	// Excerpt lines and templates were masked before mining: the alert's
	// raw values appear nowhere in the excerpt; the vault holds them.
	if r.Excerpt == nil || len(r.Excerpt.Entries) == 0 {
		t.Fatal("no excerpt")
	}
	for _, e := range r.Excerpt.Entries {
		for _, s := range []string{e.Text, e.Template} {
			if strings.Contains(s, "10.9.8.7") || strings.Contains(s, "alice@") {
				t.Fatalf("raw value in the excerpt: %q", s)
			}
		}
	}
	m, _ := vault.Reveal(context.Background(), "P1")
	if m["[IP_ADDRESS_1]"] != "10.9.8.7" {
		t.Fatalf("vault %v", m)
	}
	// The service's templates are remembered: the same lines are not new
	// the next time.
	again, _ := g.Gather(context.Background(), snap, t0)
	for _, e := range again.Excerpt.Entries {
		if e.New {
			t.Fatalf("%q is new again", e.Text)
		}
	}
}

func TestGatherGoesOnWithoutAlertsOrSources(t *testing.T) {
	g := &enrich.Gatherer{Alerts: alerts{err: errors.New("PagerDuty down")}}
	r, err := g.Gather(context.Background(), &incident.Snapshot{ID: "P1"}, t0)
	if err != nil || r.Excerpt != nil || len(r.Alerts) != 0 || r.HasLogs() || r.Analyzable() {
		t.Fatal(r, err)
	}
}
