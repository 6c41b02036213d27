package e2e

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/fakeobs"
)

// Each metric source the handler reads becomes a chart in the thread: one
// message with every PNG (files v2, in the thread), alt text carrying the
// numbers, series labels masked, once per incident however often the
// trigger is delivered.
func TestMetricChartsInTheThread(t *testing.T) {
	now := time.Now().UTC()
	prom := fakeobs.NewPrometheus()
	t.Cleanup(prom.Close)
	for _, host := range []string{"db-7.corp.example.com", "db-8.corp.example.com"} {
		prom.Register(`sum by (instance) (rate(http_5xx{service="checkout-api"}[1m]))`, fakeobs.Series{Labels: map[string]string{"instance": host},
			Value: func(ts time.Time) float64 {
				if ts.Before(now.Add(-3 * time.Minute)) {
					return 2
				}
				return 55
			}})
	}
	prom.Register(`max(pg_connections)`, fakeobs.Series{Value: func(time.Time) float64 { return 120 }})
	cfg := writeConfig(t, fmt.Sprintf(`handlers:
  - name: checkout
    match: {service: "^checkout-api$"}
    before: 15m
    metrics:
      - name: 5xx
        prometheus: {url: %q, query: 'sum by (instance) (rate(http_5xx{service="{{.Service}}"}[1m]))', threshold: 10}
      - name: db connections
        prometheus: {url: %q, query: 'max(pg_connections)'}
`, prom.URL, prom.URL))
	e := startWith(t, cfg)
	body := incidentEvent("EVT-CH1", "incident.triggered", "PCHART1", "triggered", now)
	e.postWebhook(body, pdSecret)
	e.eventually("the charts", func() bool { return len(e.slack.Files()) == 2 })
	e.settled()
	e.postWebhook(body, pdSecret) // redelivered
	e.settled()
	files := e.slack.Files()
	if len(files) != 2 {
		t.Fatalf("%d files after a redelivery, want 2", len(files))
	}
	th := e.slack.Threads(channel)[0]
	messages := 0
	for _, r := range e.slack.Replies(channel, th.TS) {
		if strings.Contains(r.Text, "[files: ") {
			messages++
			if !strings.Contains(r.Text, "PCHART1-chart-1.png, PCHART1-chart-2.png") || !strings.Contains(r.Text, "Metrics around the incident") {
				t.Errorf("charts message %q", r.Text)
			}
		}
	}
	if messages != 1 {
		t.Fatalf("%d chart messages, want one with both", messages)
	}
	for _, f := range files {
		if f.Channel != channel || f.ThreadTS != th.TS {
			t.Errorf("%s shared in %s/%s, not the thread", f.Name, f.Channel, f.ThreadTS)
		}
		img, err := png.Decode(bytes.NewReader(f.Content))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 400 {
			t.Errorf("%s is %dx%d", f.Name, b.Dx(), b.Dy())
		}
		for _, raw := range []string{"db-7.corp", "db-8.corp"} {
			if strings.Contains(f.AltText+f.Title, raw) {
				t.Errorf("%s names %s unmasked: %q", f.Name, raw, f.AltText)
			}
		}
	}
	alt := map[string]string{}
	for _, f := range files {
		alt[f.Title] = f.AltText
	}
	if a := alt["5xx"]; !strings.Contains(a, "Chart of 5xx.") || !strings.Contains(a, "baseline 2, now 55") || !strings.Contains(a, "[HOSTNAME_") {
		t.Errorf("5xx chart alt %q", a)
	}
	if a := alt["db connections"]; !strings.Contains(a, "baseline 120, now 120") {
		t.Errorf("db chart alt %q", a)
	}
	assertNothingPlanted(t, e)
}
