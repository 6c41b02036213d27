package collect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/opsgate/opsgate/bot/collect"
)

// FuzzAnswers feeds arbitrary bodies to the Loki, Elasticsearch and
// Prometheus parsers: no panic, and never more than the caps allow.
func FuzzAnswers(f *testing.F) {
	f.Add(`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["1795200000000000000","x"]]}]}}`)
	f.Add(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1795200000.5,"1"],[1795200015,"NaN"]]}]}}`)
	f.Add(`{"took":1,"timed_out":false,"hits":{"hits":[{"_source":{"@timestamp":"2026-11-20T10:00:00Z","message":{"nested":1}}}]}}`)
	f.Add(`{"status":"success","data":{"resultType":"streams","result":[{"values":[["x","y"]]}]}}`)
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body.Load().(string))) }))
	f.Cleanup(srv.Close)
	c, err := collect.New([]collect.Handler{{MaxLines: 5, MaxBytes: 200,
		Logs:    []collect.Source{{Loki: &collect.Loki{URL: srv.URL, Query: `{a="b"}`}}, {Elasticsearch: &collect.Elastic{URL: srv.URL, Index: "i", Query: "q"}}},
		Metrics: []collect.Source{{Prometheus: &collect.Prometheus{URL: srv.URL, Query: "up"}}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b string) {
		body.Store(b)
		res, _ := c.Collect(context.Background(), collect.Incident{Service: "s", Start: t0})
		per := map[string]int{}
		size := map[string]int{}
		for _, l := range res.Lines {
			per[l.Source]++
			size[l.Source] += len(l.Text)
		}
		for src, n := range per {
			if n > 5 || size[src] > 200 {
				t.Fatalf("%s: %d lines, %d bytes", src, n, size[src])
			}
		}
		if len(res.Sources) != 3 {
			t.Fatalf("%d statuses", len(res.Sources))
		}
	})
}
