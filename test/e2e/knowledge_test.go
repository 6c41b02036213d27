package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/knowledge/kb"
)

func TestSimilarIncidentsLearningLoopAndSearch(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	err := e.app.KB.Add(ctx,
		kb.Ticket{ID: "INC-3121", Title: "Checkout API 5xx: database connection pool exhausted", Body: "5xx rate above 5% on checkout-api; HikariPool timeouts",
			Resolution: "Failed over to the replica and raised max_connections to 400", URL: "https://tickets.example.com/INC-3121",
			Created: time.Now().Add(-30 * 24 * time.Hour), Source: "jsonl"},
		kb.Ticket{ID: "RB-12", Title: "Runbook: rotate the CDN certificate", Body: "TLS expiry", Source: "markdown"},
	)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-time.Hour)
	e.postWebhook(incidentEvent("EVT-K1", "incident.triggered", "PKB0001", "triggered", now), pdSecret)
	e.eventually("similar reply", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 1 && len(e.slack.Replies(channel, th[0].TS)) >= 1
	})
	reply := blocksText(e.slack.Replies(channel, e.slack.Threads(channel)[0].TS)[0])
	for _, want := range []string{"Similar past incidents", "https://tickets.example.com/INC-3121", "INC-3121", "resolved: Failed over to the replica"} {
		if !strings.Contains(reply, want) {
			t.Fatalf("similar reply lacks %q:\n%s", want, reply)
		}
	}
	if strings.Contains(reply, "RB-12") {
		t.Fatalf("an unrelated runbook listed:\n%s", reply)
	}
	// Resolving writes the incident back; the next similar incident finds it.
	e.postWebhook(plantedResolve(now.Add(10*time.Minute)), pdSecret)
	e.eventually("learned", func() bool {
		tk, err := kb.NewStore(e.app.Redis).Get(ctx, "PKB0001")
		return err == nil && tk.Source == "opsgate"
	})
	tk, _ := kb.NewStore(e.app.Redis).Get(ctx, "PKB0001")
	if !strings.Contains(tk.Resolution, "Resolved by Alice Oncall") || strings.Contains(tk.Title, "10.20.30.40") || !strings.Contains(tk.Title, "[IP_ADDRESS_1]") {
		t.Fatalf("learned ticket = %+v", tk)
	}
	e.postWebhook(incidentEvent("EVT-K3", "incident.triggered", "PKB0002", "triggered", now.Add(20*time.Minute)), pdSecret)
	e.eventually("second similar reply", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 2 && len(e.slack.Replies(channel, th[1].TS)) >= 1
	})
	second := blocksText(e.slack.Replies(channel, e.slack.Threads(channel)[1].TS)[0])
	if !strings.Contains(second, "PKB0001") {
		t.Fatalf("the resolved incident was not found next time:\n%s", second)
	}
	// /triage search
	_, body := e.postSlack("/slack/commands", slashForm("search database connection pool exhausted", e.slack.ResponseURL("s1")), time.Now(), signingSecret)
	if text := slackResponse(t, body); !strings.Contains(text, "INC-3121") || !strings.Contains(text, "similar") {
		t.Fatalf("search answer: %s", text)
	}
	assertNothingPlanted(t, e)
}

func plantedResolve(at time.Time) []byte {
	b := incidentEvent("EVT-K2", "incident.resolved", "PKB0001", "resolved", at)
	return []byte(strings.Replace(string(b), `"title":"Checkout API 5xx rate above 5%"`, `"title":"Checkout API 5xx rate above 5% from 10.20.30.40"`, 1))
}
