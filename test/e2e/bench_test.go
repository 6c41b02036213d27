package e2e

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkWebhookToThread measures the whole path per incident: signed
// webhook over HTTP → queue → worker → incident record → parent posted to
// the (fake) Slack Web API over HTTP, with 3 workers on real redis-server.
func BenchmarkWebhookToThread(b *testing.B) {
	e := start(b)
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := incidentEvent(fmt.Sprintf("EVT-B%d", i), "incident.triggered", fmt.Sprintf("PBENCH%d", i), "triggered", now)
		if code, resp := e.postWebhook(body, pdSecret); code != 202 {
			b.Fatalf("%d %s", code, resp)
		}
	}
	e.eventually("all threads", func() bool { return len(e.slack.Threads(channel)) == b.N })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "incidents/s")
}

// BenchmarkTriggerLatency: one incident at a time, from the webhook POST to
// the parent message existing in Slack (ns/op is the latency).
func BenchmarkTriggerLatency(b *testing.B) {
	e := start(b)
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := incidentEvent(fmt.Sprintf("EVT-L%d", i), "incident.triggered", fmt.Sprintf("PLAT%d", i), "triggered", now)
		if code, resp := e.postWebhook(body, pdSecret); code != 202 {
			b.Fatalf("%d %s", code, resp)
		}
		e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == i+1 })
	}
}
