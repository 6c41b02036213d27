package collect_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/integrations/fakes/fakeobs"
)

// BenchmarkLoki5000: one handler run fetching and parsing 5000 Loki entries
// (Loki's per-query maximum) from the fake over loopback HTTP.
func BenchmarkLoki5000(b *testing.B) {
	loki := fakeobs.NewLoki()
	defer loki.Close()
	for i := 0; i < 5000; i++ {
		loki.Push(fakeobs.Entry{Labels: map[string]string{"app": "svc"}, Time: t0.Add(-time.Duration(i) * 100 * time.Millisecond),
			Line: fmt.Sprintf("2026-11-20 10:00:00.000 ERROR [db] connection refused to db-%d.corp.example.com attempt %d", i%7, i)})
	}
	c, err := collect.New([]collect.Handler{{MaxBytes: 4 << 20, Logs: []collect.Source{{Loki: &collect.Loki{URL: loki.URL, Query: `{app="svc"}`, Limit: 5000}}}}})
	if err != nil {
		b.Fatal(err)
	}
	c.Now = fixedNow
	b.ReportAllocs()
	for b.Loop() {
		res, _ := c.Collect(context.Background(), collect.Incident{Service: "svc", Start: t0})
		if len(res.Lines) != 5000 {
			b.Fatalf("%d lines: %+v", len(res.Lines), res.Sources)
		}
	}
}
