package e2e

import (
	"context"
	"fmt"
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
		tk, err := e.kbStore().Get(ctx, "PKB0001")
		return err == nil && tk.Source == "opsgate"
	})
	tk, _ := e.kbStore().Get(ctx, "PKB0001")
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
	// /triage search, in the incident channel
	_, body := e.postSlack("/slack/commands", slashForm("search database connection pool exhausted", e.slack.ResponseURL("s1")), time.Now(), signingSecret)
	if text := slackResponse(t, body); !strings.Contains(text, "Searching") {
		t.Fatalf("search answer: %s", text)
	}
	e.eventually("the matches", func() bool { return strings.Contains(e.answers(), "INC-3121") })
	if !strings.Contains(e.answers(), "% similar") {
		t.Fatalf("search answer: %s", e.answers())
	}
	assertNothingPlanted(t, e)
}

// /triage search masks what the thread masks (personal data too) and
// answers only in incident channels, or to approvers anywhere.
func TestSearchIsMaskedAndAnsweredOnlyWhereIncidentsAre(t *testing.T) {
	e := startWith(t, writeConfig(t, "approvers:\n  users: [U0ALICE]\n"))
	if err := e.app.KB.Add(context.Background(), kb.Ticket{ID: "INC-9", Title: "login failures for alice@example.com from 10.20.30.40, call +1 415 555 0100",
		Resolution: "blocked 10.20.30.40; told alice@example.com", Created: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	search := func(user, ch, id string) {
		form := slashFormAs(user, "search login failures", e.slack.ResponseURL(id))
		form.Set("channel_id", ch)
		e.postSlack("/slack/commands", form, time.Now(), signingSecret)
	}
	search("U0BOB", "C0OTHER", "bob-other")     // not an approver, not an incident channel
	search("U0ALICE", "C0OTHER", "alice-other") // an approver: anywhere
	search("U0BOB", channel, "bob-incidents")   // anyone, in an incident channel
	e.eventually("three answers", func() bool { return len(e.slack.ResponseURLPosts()) == 3 })
	answers := map[string]string{}
	for _, p := range e.slack.ResponseURLPosts() {
		answers[p.Token] = fmt.Sprint(p.Body["text"])
	}
	if !strings.Contains(answers["bob-other"], "answers in the channels opsgate posts incidents to") || strings.Contains(answers["bob-other"], "INC-9") {
		t.Fatalf("a non-approver got an answer elsewhere: %q", answers["bob-other"])
	}
	for _, id := range []string{"alice-other", "bob-incidents"} {
		a := answers[id]
		if !strings.Contains(a, "INC-9") || !strings.Contains(a, "[EMAIL_ADDRESS_1]") || !strings.Contains(a, "[IP_ADDRESS_1]") {
			t.Fatalf("%s: %q", id, a)
		}
		for _, v := range []string{"alice@example.com", "10.20.30.40", "415 555 0100"} {
			if strings.Contains(a, v) {
				t.Fatalf("%s: %q reached Slack: %q", id, v, a)
			}
		}
	}
}

func plantedResolve(at time.Time) []byte {
	b := incidentEvent("EVT-K2", "incident.resolved", "PKB0001", "resolved", at)
	return []byte(strings.Replace(string(b), `"title":"Checkout API 5xx rate above 5%"`, `"title":"Checkout API 5xx rate above 5% from 10.20.30.40"`, 1))
}
