package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
	"github.com/opsgate/opsgate/integrations/fakes/fakeobs"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
	"github.com/opsgate/opsgate/knowledge/kb"
	"github.com/opsgate/opsgate/test/redistest"
)

// Every kind of input carries planted values — the webhook (title,
// service, agent), PagerDuty's alerts and their logs, the handler's logs,
// the knowledge base, the model's answer, an action's output and its
// verification, a rejection's reason, a /triage propose argument and a
// PagerDuty note — and no request to Slack (post, edit, ephemeral,
// response_url answer) carries one. Reveals, unmasked by design, are not
// asked for here.
func TestNoPlantedValueReachesSlackFromAnyInput(t *testing.T) {
	now := time.Now().UTC()
	leak := "db-7.corp.example.com 10.20.30.40 alice@example.com password=hunter2pass AKIAQD7VELNZKUMQGHP3"
	loki := fakeobs.NewLoki()
	t.Cleanup(loki.Close)
	for i := 0; i < 5; i++ {
		loki.Push(fakeobs.Entry{Labels: map[string]string{"app": "checkout-api"}, Time: now.Add(-time.Duration(60-i) * time.Second),
			Line: fmt.Sprintf("ERROR [db] refused %s attempt %d", leak, i)})
	}
	dir := t.TempDir()
	act := filepath.Join(dir, "act")
	_ = os.WriteFile(act, []byte("#!/bin/sh\necho \"flushed $1 on "+leak+" aws_secret_access_key=Zx9kk2LmQ8w7eR4tPq\"\n"), 0o755)
	check := filepath.Join(dir, "check")
	_ = os.WriteFile(check, []byte("#!/bin/sh\necho \"still failing on "+leak+"\"\nexit 1\n"), 0o755)
	gm := fakegemini.New(geminiKey)
	t.Cleanup(gm.Close)
	gm.Script(fakegemini.Reply{Text: `{"summary":"refusals from ` + leak + `","root_cause":"xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx leaked",
		"confidence":0.7,"insufficient_evidence":false,"evidence":[{"claim":"refused by ` + leak + `","citations":["L1"]}],
		"proposed_actions":[{"action_id":"flush-cache","params":{"key":"sessions"},"reason":"stale on ` + leak + `"}]}`})
	cfg := writeConfig(t, fmt.Sprintf(`approvers:
  users: [U0ALICE, U0BOB]
handlers:
  - name: checkout
    match: {service: "checkout"}
    logs:
      - name: loki
        loki: {url: %q, query: '{app="checkout-api"}'}
actions:
  - id: flush-cache
    risk: low
    params: {key: {pattern: '[a-z:]+'}}
    run: {command: {argv: [%q, "{{.key}}"]}}
    undo: {command: {argv: [%q, "undo-{{.key}}"]}}
    verify: {command: {argv: [%q]}, within: 1s}
    approvals: {required: 1}
`, loki.URL, act, act, check))
	e := startWith(t, cfg, withPagerDutyAPI, withGemini(gm), func(c *config.Env) { c.PagerDutyFromEmail = "opsgate@acme.example" })
	e.slack.AddUser("U0BOB", "bob")
	if err := e.app.KB.Add(context.Background(), kb.Ticket{ID: "INC-77", Title: "Checkout down: unreachable db refused " + leak,
		Body: "refused connections " + leak, RootCause: "pool leak on " + leak, Resolution: "restarted " + leak, Created: now.Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PSAN001", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "login failures for alice@example.com from 10.20.30.40", Severity: "critical",
			Body: map[string]any{"details": map[string]any{"log": "ERROR [auth] denied " + leak + "\nERROR [auth] denied " + leak}}},
		fakepagerduty.Alert{ID: "A2", Summary: "aws_secret_access_key=Zx9kk2LmQ8w7eR4tPq key AKIAQD7VELNZKUMQGHP3", Severity: "warning"})
	e.postWebhook(plantedEvent("EVT-E1", "incident.triggered", "triggered", now), pdSecret)
	var value string
	e.eventually("the analysis' proposal", func() bool { value = e.buttonFor("proposal_approve", "flush-cache"); return value != "" })
	e.postWebhook(plantedEvent("EVT-E2", "incident.acknowledged", "acknowledged", now.Add(time.Second)), pdSecret)
	// The approval runs the action; its output and failed verification
	// are posted; opsgate proposes the undo.
	click(e, "U0ALICE", "proposal_approve", value, "1700000300.000")
	e.eventually("the undo proposal", func() bool { return e.buttonFor("proposal_approve", "undo of") != "" })
	// A human proposal refused for a planted value, then one rejected
	// with a planted reason.
	e.proposeAs("U0BOB", "PSAN001 flush-cache key=hunter2pass")
	e.proposeAs("U0BOB", "PSAN001 flush-cache key=carts")
	var carts string
	e.eventually("the second proposal", func() bool { carts = e.buttonFor("proposal_approve", "key=carts"); return carts != "" })
	id, _, _ := strings.Cut(carts, "|")
	e.postSlack("/slack/commands", slashFormAs("U0ALICE", "reject "+id+" wrong cache, see "+leak, e.slack.ResponseURL("rej")), time.Now(), signingSecret)
	e.eventually("the rejection", func() bool { return strings.Contains(e.slack.Transcript(channel), "rejected by") })
	// A note written in PagerDuty (free text) is announced, never quoted.
	note := []byte(`{"event":{"id":"EVT-E3","event_type":"incident.annotated","resource_type":"incident","occurred_at":"` + now.Add(2*time.Second).Format(time.RFC3339) +
		`","agent":null,"client":null,"data":{"incident":{"id":"PSAN001","type":"incident_reference"},"id":"N1","type":"incident_note","content":"` + leak + `"}}}`)
	e.postWebhook(note, pdSecret)
	// A search whose text carries values (its query is embedded).
	e.postSlack("/slack/commands", slashForm("search refused "+leak, e.slack.ResponseURL("search")), time.Now(), signingSecret)
	e.eventually("the search answer", func() bool { return strings.Contains(e.answers(), "Best matches") })
	e.settled()

	transcript := e.slack.Transcript(channel)
	for _, want := range []string{"Log excerpt", "Similar past incidents", "Root-cause analysis", "*SUCCEEDED*", "Verification failed", "Note added", "rejected by"} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the thread lacks %q — the input it plants in was not exercised:\n%s", want, transcript)
		}
	}
	if !strings.Contains(e.answers(), "Not proposed") {
		t.Errorf("no refusal answered: %s", e.answers())
	}
	assertNothingPlanted(t, e)
	assertNothingPlantedInRedis(t, e)
	var notes strings.Builder // PagerDuty notes: the thread link, the analysis, the action's outcome
	for _, n := range e.pd.Notes() {
		notes.WriteString(n.Content + "\n")
	}
	for _, want := range []string{"opsgate Slack thread", "opsgate analysis", "Root cause:", "Evidence:", "SUCCEEDED"} {
		if !strings.Contains(notes.String(), want) {
			t.Fatalf("PagerDuty notes lack %q: %q", want, notes.String())
		}
	}
	for _, s := range planted {
		if strings.Contains(notes.String(), s) {
			t.Fatalf("a planted value reached a PagerDuty note: %q", s)
		}
	}
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range planted {
		if strings.Contains(notes.String(), s) || strings.Contains(string(metrics), s) {
			t.Fatalf("%q reached PagerDuty notes or /metrics", s)
		}
	}
	for _, s := range planted { // logs are an egress too
		if strings.Contains(e.logs.String(), s) {
			i := strings.Index(e.logs.String(), s)
			t.Fatalf("%q reached the logs: %s", s, e.logs.String()[max(0, i-300):min(len(e.logs.String()), i+100)])
		}
	}
	if len(gm.Embedded()) < 3 { // the ticket, the incident's similar search, the search
		t.Fatalf("embedded %d texts", len(gm.Embedded()))
	}
	for _, p := range append(gm.Prompts(), gm.Embedded()...) {
		for _, s := range planted {
			if strings.Contains(p, s) {
				t.Fatalf("%q reached the model (generate or embed): %.300s", s, p)
			}
		}
	}
}

// assertNothingPlantedInRedis reads the whole database as someone with
// Redis access would (every key, every type, and its DUMP) and fails on
// any planted value in plaintext.
func assertNothingPlantedInRedis(t *testing.T, e *env) {
	t.Helper()
	all, err := redistest.Dump(context.Background(), e.redis.Client())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 5 {
		t.Fatalf("only %d keys in Redis: the run stored nothing to look at", len(all))
	}
	t.Logf("scanned %d Redis keys (every type and DUMP) for %d planted values", len(all), len(planted))
	for k, text := range all {
		for _, s := range planted {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("%q in plaintext in Redis key %s: …%s…", s, k, text[max(0, i-120):min(len(text), i+60)])
			}
		}
	}
}
