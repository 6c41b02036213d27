package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
)

// Planted secrets and personal data: none may reach Slack, in any message,
// edit, ephemeral or response.
var planted = []string{
	"10.20.30.40", "db-7.corp.example.com", "alice@example.com", "hunter2pass", "AKIAQD7VELNZKUMQGHP3",
	"xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "Zx9kk2LmQ8w7eR4tPq",
}

func plantedEvent(eventID, eventType, status string, at time.Time) []byte {
	body := incidentEvent(eventID, eventType, "PSAN001", status, at)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	d := m["event"].(map[string]any)["data"].(map[string]any)
	d["title"] = "Checkout down: 10.20.30.40 unreachable from db-7.corp.example.com (password=hunter2pass)"
	d["service"].(map[string]any)["summary"] = "checkout on db-7.corp.example.com"
	if eventType == "incident.acknowledged" {
		// An agent name is not redacted by the thread (responders are named);
		// a token pasted there is caught by the last-line guard.
		m["event"].(map[string]any)["agent"].(map[string]any)["summary"] = "Bob xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
	}
	b, _ := json.Marshal(m)
	return b
}

func assertNothingPlanted(t *testing.T, e *env) {
	t.Helper()
	for _, sent := range e.slack.Sent() {
		for _, p := range planted {
			if strings.Contains(sent, p) {
				t.Fatalf("%q reached Slack in %.300s", p, sent)
			}
		}
	}
}

func writeConfig(t *testing.T, doc string) *config.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opsgate.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSecretsNeverReachSlack(t *testing.T) {
	e := startWith(t, writeConfig(t, "approvers:\n  users: [U0ALICE]\n"), withPagerDutyAPI)
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PSAN001", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "login failures for alice@example.com from 10.20.30.40", Severity: "critical"},
		fakepagerduty.Alert{ID: "A2", Summary: "aws_secret_access_key=Zx9kk2LmQ8w7eR4tPq key AKIAQD7VELNZKUMQGHP3", Severity: "warning"})
	now := time.Now().Add(-time.Minute)
	e.postWebhook(plantedEvent("EVT-S1", "incident.triggered", "triggered", now), pdSecret)
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.postWebhook(plantedEvent("EVT-S2", "incident.acknowledged", "acknowledged", now.Add(time.Second)), pdSecret)
	e.eventually("ack reply", func() bool { return len(e.slack.Replies(channel, e.slack.Threads(channel)[0].TS)) == 1 })
	e.settled()
	assertNothingPlanted(t, e)

	parent := e.slack.Threads(channel)[0]
	text := blocksText(parent)
	for _, want := range []string{"[IP_ADDRESS_1]", "[HOSTNAME_1]", "[PASSWORD_1]", "[EMAIL_ADDRESS_1]", "[AWS_ACCESS_KEY_1]", "sensitive value(s) masked", "[Reveal]"} {
		if !strings.Contains(text, want) {
			t.Errorf("parent lacks %q:\n%s", want, text)
		}
	}
	// The same IP is the same placeholder in the title and in an alert.
	if strings.Count(text, "[IP_ADDRESS_1]") < 2 || strings.Contains(text, "[IP_ADDRESS_2]") {
		t.Errorf("placeholders not consistent:\n%s", text)
	}
	// The guard caught the token in the agent name and counted it.
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `opsgate_redaction_guard_hits_total{kind="SLACK_TOKEN"}`) {
		t.Errorf("guard hit not counted")
	}
	// The vault holds the values, for approvers only.
	m, err := e.app.Vault.Reveal(context.Background(), "PSAN001")
	if err != nil || m["[IP_ADDRESS_1]"] != "10.20.30.40" || m["[PASSWORD_1]"] != "hunter2pass" {
		t.Fatalf("vault = %v, %v", m, err)
	}
	if ttl := e.app.Redis.PTTL(context.Background(), "opsgate:redact:PSAN001").Val(); ttl <= 0 {
		t.Fatalf("vault has no TTL")
	}
}

func reveal(e *env, user string) (int, string) {
	payload := `{"type":"block_actions","user":{"id":"` + user + `","username":"u","name":"u","team_id":"T1"},"api_app_id":"A1","token":"x",` +
		`"container":{"type":"message","message_ts":"1","channel_id":"` + channel + `","is_ephemeral":false},"trigger_id":"1.2",` +
		`"team":{"id":"T1","domain":"acme"},"channel":{"id":"` + channel + `","name":"incidents"},"response_url":"` + e.slack.ResponseURL("rv-"+user) + `",` +
		`"actions":[{"action_id":"reveal_masked","block_id":"incident_actions","type":"button","value":"PSAN001","text":{"type":"plain_text","text":"Reveal"},"action_ts":"1700000001.000"}]}`
	return e.postSlack("/slack/interactions", url.Values{"payload": {payload}}, time.Now(), signingSecret)
}

func TestRevealOnlyForApproversAndAudited(t *testing.T) {
	e := startWith(t, writeConfig(t, "approvers:\n  users: [U0ALICE]\n  groups: [S0SRE]\n"))
	e.slack.AddUser("U0BOB", "bob")
	e.slack.AddUser("U0CAROL", "carol")
	e.slack.AddUserGroup("S0SRE", "U0CAROL")
	e.postWebhook(plantedEvent("EVT-R1", "incident.triggered", "triggered", time.Now()), pdSecret)
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.settled()

	if code, _ := reveal(e, "U0BOB"); code != 200 {
		t.Fatalf("interaction: %d", code)
	}
	e.eventually("denial", func() bool { return len(e.slack.Ephemerals()) == 1 })
	if eph := e.slack.Ephemerals()[0]; eph.User != "U0BOB" || !strings.Contains(eph.Text, "Only configured approvers") {
		t.Fatalf("denial = %+v", eph)
	}
	reveal(e, "U0ALICE")
	reveal(e, "U0ALICE") // double click
	reveal(e, "U0CAROL") // approver through a user group
	e.eventually("reveals", func() bool { return len(e.slack.Ephemerals()) == 3 })
	e.settled()
	eph := e.slack.Ephemerals()
	if len(eph) != 3 {
		t.Fatalf("ephemerals = %d, want 3 (double click counted once)", len(eph))
	}
	for _, x := range eph[1:] {
		if !strings.Contains(string(x.Blocks), "10.20.30.40") || !strings.Contains(string(x.Blocks), "[IP_ADDRESS_1]") {
			t.Fatalf("reveal to %s lacks values: %s", x.User, x.Blocks)
		}
	}
	entries, err := e.app.Audit.Entries(context.Background(), 0, -1)
	if err != nil || len(entries) != 3 {
		t.Fatalf("audit entries = %d, %v", len(entries), err)
	}
	if entries[0].Action != "reveal_denied" || entries[0].Actor != "U0BOB" || entries[1].Action != "reveal" || entries[2].Actor != "U0CAROL" {
		t.Fatalf("audit = %+v", entries)
	}
	for _, en := range entries {
		b, _ := json.Marshal(en)
		if strings.Contains(string(b), "10.20.30.40") || strings.Contains(string(b), "hunter2pass") {
			t.Fatalf("audit entry holds a secret value: %s", b)
		}
	}
	if r, err := e.app.Audit.Verify(context.Background(), nil); err != nil || r.Entries != 3 {
		t.Fatalf("audit chain: %+v %v", r, err)
	}
}
