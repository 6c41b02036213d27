package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
)

func TestSlack429TwiceStillPostsOnce(t *testing.T) {
	e := start(t)
	e.slack.FailNext("chat.postMessage", 2, http.StatusTooManyRequests, 7)
	e.postWebhook(incidentEvent("EVT-RL", "incident.triggered", "PINC101", "triggered", time.Now()), pdSecret)
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.settled()
	if n := len(e.slack.Threads(channel)); n != 1 {
		t.Fatalf("threads = %d", n)
	}
	if n := e.slack.Calls("chat.postMessage"); n != 3 {
		t.Fatalf("chat.postMessage calls = %d, want 3 (two 429s, one success)", n)
	}
	if w := time.Duration(e.waited.n.Load()); w < 14*time.Second {
		t.Fatalf("waited %s in total, want at least 2×Retry-After (14s)", w)
	}
}

// Slack failing longer than one handling's retry budget: the event stays
// pending in Redis and is retried until the post lands, once.
func TestSlackOutageKeepsEventPendingUntilItLands(t *testing.T) {
	e := start(t)
	e.slack.FailNext("chat.postMessage", 12, http.StatusInternalServerError, 0)
	e.postWebhook(incidentEvent("EVT-5XX", "incident.triggered", "PINC102", "triggered", time.Now()), pdSecret)
	e.eventually("thread after outage", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.settled()
	if n := len(e.slack.Threads(channel)); n != 1 {
		t.Fatalf("threads = %d", n)
	}
	if n := e.slack.Calls("chat.postMessage"); n != 13 {
		t.Fatalf("chat.postMessage calls = %d, want 13", n)
	}
	if !strings.Contains(e.logs.String(), "will retry") {
		t.Fatalf("no retry logged")
	}
}

func TestFinalSlackErrorDeadLetters(t *testing.T) {
	e := start(t)
	// A channel Slack does not know: channel_not_found is final.
	_, _ = e.app.Store.Update(context.Background(), "PINC103", func(r *incident.Record) (bool, error) {
		r.Channel = "C0GONE"
		return true, nil
	})
	e.postWebhook(incidentEvent("EVT-GONE", "incident.triggered", "PINC103", "triggered", time.Now()), pdSecret)
	e.eventually("dead letter", func() bool { d, _ := e.app.Queue.Dead(context.Background()); return len(d) == 1 })
	d, _ := e.app.Queue.Dead(context.Background())
	if !strings.Contains(d[0], "channel_not_found") {
		t.Fatalf("dead letter = %q", d[0])
	}
	// The look for an earlier post (conversations.history) meets the error
	// first; nothing is tried again.
	if n := e.slack.Calls("chat.postMessage") + e.slack.Calls("conversations.history"); n != 1 {
		t.Fatalf("a final error was retried: %d calls", n)
	}
}

// A worker posted the parent and crashed before recording its ts: the next
// attempt finds the parent by its metadata instead of posting a second one.
func TestParentPostedBeforeCrashIsFoundNotReposted(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	_, err := e.app.Store.Update(ctx, "PINC104", func(r *incident.Record) (bool, error) {
		r.ParentPending, r.Channel, r.FirstSeenAt = true, channel, time.Now()
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"channel": {channel}, "text": {"[TRIGGERED] #4092 Checkout"},
		"metadata": {`{"event_type":"opsgate_incident","event_payload":{"incident_id":"PINC104"}}`}}
	req, _ := http.NewRequest(http.MethodPost, e.slack.APIURL()+"chat.postMessage", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+slackToken)
	if code, body := do(t, req); code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("seed: %d %s", code, body)
	}
	e.postWebhook(incidentEvent("EVT-CR", "incident.triggered", "PINC104", "triggered", time.Now()), pdSecret)
	e.settled()
	e.eventually("parent edited with the real content", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 1 && th[0].Edits == 1
	})
	if n := len(e.slack.Threads(channel)); n != 1 {
		t.Fatalf("threads = %d, want the one posted before the crash", n)
	}
	if !strings.Contains(blocksText(e.slack.Threads(channel)[0]), "checkout-api") {
		t.Fatal("recovered parent not brought up to date")
	}
}

func TestAlertsFetchedFromPagerDutyWhenTokenSet(t *testing.T) {
	e := start(t, withPagerDutyAPI)
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PINC105", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "5xx ratio 7.2% on checkout-api <!channel>", Severity: "critical"},
		fakepagerduty.Alert{ID: "A2", Summary: "p99 latency 2.4s", Severity: "warning"})
	e.pd.FailNext("GET /incidents/{id}/alerts", 1, 503, 0)
	e.postWebhook(incidentEvent("EVT-AL", "incident.triggered", "PINC105", "triggered", time.Now()), pdSecret)
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.settled()
	th := e.slack.Threads(channel)[0]
	text := blocksText(th)
	if !strings.Contains(text, "*Alerts* (2)") || !strings.Contains(text, "p99 latency 2.4s") {
		t.Fatalf("alerts missing:\n%s", text)
	}
	if strings.Contains(string(th.Blocks), "<!channel>") {
		t.Fatal("untrusted alert text was not escaped")
	}
}

func slackResponse(t *testing.T, body string) string {
	t.Helper()
	var r struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("not a Slack response: %s", body)
	}
	if r.ResponseType != "ephemeral" {
		t.Fatalf("response_type = %q", r.ResponseType)
	}
	return r.Text
}

func TestTriageHelpAndUsage(t *testing.T) {
	e := start(t)
	for text, want := range map[string]string{"help": "/triage <incident id", "": "/triage help", "what is this": "expected one incident", "nope": "not a PagerDuty incident id"} {
		code, body := e.postSlack("/slack/commands", slashForm(text, e.slack.ResponseURL("r-"+text)), time.Now(), signingSecret)
		if code != 200 || !strings.Contains(slackResponse(t, body), want) {
			t.Errorf("/triage %q: %d %s", text, code, body)
		}
	}
}

func TestTriageLinksExistingThread(t *testing.T) {
	e := start(t)
	e.postWebhook(incidentEvent("EVT-L", "incident.triggered", "PINC201", "triggered", time.Now()), pdSecret)
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.settled()
	code, body := e.postSlack("/slack/commands", slashForm("https://acme.pagerduty.com/incidents/PINC201", e.slack.ResponseURL("r1")), time.Now(), signingSecret)
	text := slackResponse(t, body)
	if code != 200 || !strings.Contains(text, "https://fake.slack.test/archives/"+channel) {
		t.Fatalf("%d %s", code, text)
	}
}

func TestTriageWithoutTokenExplains(t *testing.T) {
	e := start(t)
	_, body := e.postSlack("/slack/commands", slashForm("PUNKNOWN1", e.slack.ResponseURL("r1")), time.Now(), signingSecret)
	if text := slackResponse(t, body); !strings.Contains(text, "no PagerDuty API token") {
		t.Fatalf("%s", text)
	}
}

func TestTriageOpensThreadFromPagerDuty(t *testing.T) {
	e := start(t, withPagerDutyAPI)
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PINC202", IncidentNumber: 77, Title: "Disk full on db-3", Status: "acknowledged", Urgency: "low",
		HTMLURL: "https://acme.pagerduty.com/incidents/PINC202", CreatedAt: time.Now().UTC().Format(time.RFC3339),
		Service: map[string]any{"id": "PSVC9", "summary": "postgres"}},
		fakepagerduty.Alert{ID: "A9", Summary: "disk 99%", Severity: "warning", Body: map[string]any{"details": map[string]any{"log": alertLog()}}})
	code, body := e.postSlack("/slack/commands", slashForm("PINC202", e.slack.ResponseURL("r-open")), time.Now(), signingSecret)
	if code != 200 || !strings.Contains(slackResponse(t, body), "Opening the thread") {
		t.Fatalf("%d %s", code, body)
	}
	e.eventually("response_url answer", func() bool { return len(e.slack.ResponseURLPosts()) == 1 })
	th := e.slack.Threads(channel)
	if len(th) != 1 || !strings.Contains(blocksText(th[0]), "#77 Disk full on db-3") || !strings.Contains(blocksText(th[0]), "Acknowledged") {
		t.Fatalf("%s", e.slack.Transcript(channel))
	}
	resp := e.slack.ResponseURLPosts()[0]
	if !strings.Contains(fmt.Sprint(resp.Body["text"]), "archives/"+channel) {
		t.Fatalf("response = %v", resp.Body)
	}
	// The thread /triage opened gets the excerpt and the analysis too.
	e.eventually("excerpt and RCA replies", func() bool {
		t := e.slack.Transcript(channel)
		return strings.Contains(t, "Log excerpt") && strings.Contains(t, "Root-cause analysis")
	})
	// Unknown incident: PagerDuty says 404, the user is told.
	e.postSlack("/slack/commands", slashForm("PNOPE0001", e.slack.ResponseURL("r-404")), time.Now(), signingSecret)
	e.eventually("404 answer", func() bool { return len(e.slack.ResponseURLPosts()) == 2 })
	if got := fmt.Sprint(e.slack.ResponseURLPosts()[1].Body["text"]); !strings.Contains(got, "PagerDuty has no incident PNOPE0001") {
		t.Fatalf("404 answer = %q", got)
	}
}

func TestSlackEndpointsRejectBadInput(t *testing.T) {
	e := start(t)
	form := slashForm("help", e.slack.ResponseURL("r"))
	cases := []struct {
		name, path string
		body       []byte
		ts         time.Time
		secret     string
		want       int
	}{
		{"forged command", "/slack/commands", []byte(form.Encode()), time.Now(), "wrong-secret", 401},
		{"stale command", "/slack/commands", []byte(form.Encode()), time.Now().Add(-10 * time.Minute), signingSecret, 401},
		{"oversized command", "/slack/commands", bytes.Repeat([]byte("a"), 70<<10), time.Now(), signingSecret, 413},
		{"command without user", "/slack/commands", []byte("command=%2Ftriage&text=help"), time.Now(), signingSecret, 400},
		{"forged interaction", "/slack/interactions", []byte("payload=%7B%7D"), time.Now(), "wrong-secret", 401},
		{"interaction not JSON", "/slack/interactions", []byte("payload=%7Bnope"), time.Now(), signingSecret, 400},
		{"interaction without payload", "/slack/interactions", []byte("x=1"), time.Now(), signingSecret, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.http.URL+c.path, bytes.NewReader(c.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			stamp, sig := slackSign(c.body, c.ts, c.secret)
			req.Header.Set("X-Slack-Request-Timestamp", stamp)
			req.Header.Set("X-Slack-Signature", sig)
			code, body := do(t, req)
			if code != c.want {
				t.Fatalf("status %d, want %d: %s", code, c.want, body)
			}
			if strings.Contains(body, signingSecret) {
				t.Fatal("response contains the signing secret")
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/slack/commands", strings.NewReader(form.Encode()))
	if code, _ := do(t, req); code != 401 {
		t.Fatalf("unsigned command: %d", code)
	}
}

func TestSlackReplayIsNotActedOnTwice(t *testing.T) {
	e := start(t, withPagerDutyAPI)
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PINC301", Title: "Replay", Status: "triggered"})
	body := []byte(slashForm("PINC301", e.slack.ResponseURL("r-replay")).Encode())
	ts := time.Now()
	send := func() string {
		req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/slack/commands", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		stamp, sig := slackSign(body, ts, signingSecret)
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", sig)
		_, b := do(t, req)
		return b
	}
	if first := send(); !strings.Contains(first, "Opening the thread") {
		t.Fatalf("first: %s", first)
	}
	if second := send(); !strings.Contains(second, "already handled") {
		t.Fatalf("replay: %s", second)
	}
	e.eventually("answer", func() bool { return len(e.slack.ResponseURLPosts()) == 1 })
	e.settled()
	if n := len(e.slack.ResponseURLPosts()); n != 1 {
		t.Fatalf("acted %d times", n)
	}
}

func TestInteractionAcknowledged(t *testing.T) {
	e := start(t)
	payload := `{"type":"block_actions","user":{"id":"U0ALICE","username":"alice","name":"alice","team_id":"T1"},"api_app_id":"A1","token":"x",` +
		`"container":{"type":"message","message_ts":"1700000000.000100","channel_id":"C0INCIDENT","is_ephemeral":false},"trigger_id":"1.2",` +
		`"team":{"id":"T1","domain":"acme"},"channel":{"id":"C0INCIDENT","name":"incidents"},"response_url":"https://hooks.slack.com/actions/x",` +
		`"actions":[{"action_id":"open_pagerduty","block_id":"incident_actions","type":"button","value":"PINC1","text":{"type":"plain_text","text":"Open in PagerDuty"},"action_ts":"1700000001.000"}]}`
	code, body := e.postSlack("/slack/interactions", url.Values{"payload": {payload}}, time.Now(), signingSecret)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
}

func TestThreadLinkNotedOnPagerDutyIncident(t *testing.T) {
	e := start(t, withPagerDutyAPI, func(c *config.Env) { c.PagerDutyFromEmail = "opsgate@example.com" })
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PINC401", Title: "x", Status: "triggered"})
	e.pd.FailNext("POST /incidents/{id}/notes", 1, 500, 0)
	e.postWebhook(incidentEvent("EVT-NOTE", "incident.triggered", "PINC401", "triggered", time.Now()), pdSecret)
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.settled()
	notes := e.pd.Notes()
	if len(notes) != 1 || notes[0].From != "opsgate@example.com" || !strings.Contains(notes[0].Content, "https://fake.slack.test/archives/"+channel) {
		t.Fatalf("notes = %+v", notes)
	}
}
