package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
)

func verdict(e *env, user, incidentID, action string) (int, string) {
	return verdictAt(e, user, incidentID, action, "1700000001.000")
}

// verdictAt clicks with a given action_ts (Slack's id of one click).
func verdictAt(e *env, user, incidentID, action, actionTs string) (int, string) {
	payload := `{"type":"block_actions","user":{"id":"` + user + `","username":"u","name":"u","team_id":"T1"},"api_app_id":"A1","token":"x",` +
		`"container":{"type":"message","message_ts":"1","channel_id":"` + channel + `","is_ephemeral":false},"trigger_id":"1.2",` +
		`"team":{"id":"T1","domain":"acme"},"channel":{"id":"` + channel + `","name":"incidents"},"response_url":"` + e.slack.ResponseURL("vd-"+user) + `",` +
		`"actions":[{"action_id":"` + action + `","block_id":"rca_verdict","type":"button","value":"` + incidentID + `","text":{"type":"plain_text","text":"x"},"action_ts":"` + actionTs + `"}]}`
	return e.postSlack("/slack/interactions", url.Values{"payload": {payload}}, time.Now(), signingSecret)
}

func TestRCAVerdictsGoIntoTheKnowledgeBase(t *testing.T) {
	gm := fakegemini.New(geminiKey)
	t.Cleanup(gm.Close)
	gm.Script(fakegemini.Reply{Text: `{"summary":"DB refused connections","root_cause":"db-primary hit max_connections","category":"database","confidence":0.7,
		"insufficient_evidence":false,"evidence":[{"claim":"refusals","citations":["L3","L4"]}]}`})
	e := start(t, withPagerDutyAPI, withGemini(gm))
	e.slack.AddUser("U0BOB", "bob")
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PVER001", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "db errors", Severity: "critical", Body: map[string]any{"details": map[string]any{"log": alertLog()}}})
	now := time.Now().Add(-time.Hour)
	e.postWebhook(incidentEvent("EVT-V1", "incident.triggered", "PVER001", "triggered", now), pdSecret)
	e.eventually("RCA reply", func() bool { return strings.Contains(e.slack.Transcript(channel), "Root-cause analysis") })
	if !strings.Contains(e.slack.Transcript(channel), "Helpful") {
		t.Fatalf("no verdict buttons:\n%s", e.slack.Transcript(channel))
	}
	verdict(e, "U0ALICE", "PVER001", "rca_verdict_up")
	verdict(e, "U0ALICE", "PVER001", "rca_verdict_up") // the same click redelivered
	verdict(e, "U0BOB", "PVER001", "rca_verdict_down")
	if code, _ := verdict(e, "U0BOB", "not an id!", "rca_verdict_down"); code != 200 {
		t.Fatalf("malformed value: %d", code) // acknowledged, ignored
	}
	e.eventually("answers", func() bool { return len(e.slack.ResponseURLPosts()) == 2 })
	e.settled()
	posts := e.slack.ResponseURLPosts()
	if len(posts) != 2 || !strings.Contains(posts[1].Body["text"].(string), "(1 :+1:, 1 :-1:)") {
		t.Fatalf("answers: %+v", posts)
	}
	// A third responder confirms: more 👍 than 👎, so the model's root
	// cause becomes the ticket's (a split verdict would leave it a note).
	verdict(e, "U0CAROL", "PVER001", "rca_verdict_up")
	e.eventually("the third answer", func() bool { return len(e.slack.ResponseURLPosts()) == 3 })
	e.postWebhook(incidentEvent("EVT-V2", "incident.resolved", "PVER001", "resolved", now.Add(10*time.Minute)), pdSecret)
	ctx := context.Background()
	e.eventually("learned", func() bool {
		tk, err := e.kbStore().Get(ctx, "PVER001")
		return err == nil && tk.Source == "opsgate"
	})
	tk, _ := e.kbStore().Get(ctx, "PVER001")
	if tk.RootCause != "db-primary hit max_connections" || tk.Category != "database" || !strings.Contains(tk.Body, "confirmed by 2 responder(s)") || !strings.Contains(tk.Body, "2 👍 1 👎") {
		t.Fatalf("learned ticket: %+v", tk)
	}
}

// Up, down, up again within seconds: the last click wins.
func TestVerdictChangeOfMindIsKept(t *testing.T) {
	e := start(t)
	for i, action := range []string{"rca_verdict_up", "rca_verdict_down", "rca_verdict_up"} {
		verdictAt(e, "U0ALICE", "PVER002", action, fmt.Sprintf("17000000%02d.000", i))
		e.eventually("answer", func() bool { return len(e.slack.ResponseURLPosts()) == i+1 })
	}
	e.settled()
	v, err := e.app.Redis.HGet(context.Background(), "opsgate:rca:verdict:PVER002", "U0ALICE").Result()
	if err != nil || v != "up" {
		t.Fatalf("%q %v", v, err)
	}
}
