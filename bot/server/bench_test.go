package server_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/bot/server"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	"github.com/opsgate/opsgate/test/redistest"
)

const secret = "bench-secret"

func body(i int64) []byte {
	return []byte(fmt.Sprintf(`{"event":{"id":"EVT%d","event_type":"incident.triggered","resource_type":"incident","occurred_at":%q,"agent":null,"client":null,"data":{"id":"PINC%d","type":"incident","html_url":"https://acme.pagerduty.com/incidents/PINC%d","number":%d,"status":"triggered","title":"Checkout API 5xx rate above 5%%","service":{"id":"PSVC1","summary":"checkout-api"},"assignees":[],"escalation_policy":{"id":"PEP1"},"teams":[],"priority":null,"urgency":"high"}}}`,
		i, time.Now().UTC().Format(time.RFC3339), i, i, i))
}

// BenchmarkWebhook measures the full webhook path on a real redis-server:
// body limit, HMAC verification, parsing, staleness check, SET NX dedupe
// and XADD (one Lua call), and the 202 answer.
func BenchmarkWebhook(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client()
	q := queue.New(rdb, seal.Ephemeral())
	s := &server.Server{Queue: q, Incidents: incident.NewStore(rdb, time.Hour, nil), Redis: rdb, WebhookSecrets: []string{"old", secret},
		MaxAge: 49 * time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := s.Handler()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bd := body(n.Add(1))
			req := httptest.NewRequest(http.MethodPost, "/webhooks/pagerduty", bytes.NewReader(bd))
			req.Header.Set(pagerduty.SignatureHeader, pagerduty.Sign(bd, secret))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				b.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
}
