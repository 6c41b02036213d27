package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/config"
)

const appToken = "xapp-1-A0FAKE-1-socketmodetoken"

// Socket Mode: two replicas connect out to Slack (no public endpoint);
// a slash command, a click and an App Home event arrive as envelopes,
// each handled once and acknowledged (a slash command's answer in its
// ack); a redelivered envelope is acknowledged without being handled
// again; after Slack's refresh "disconnect" both reconnect and work goes on.
func TestSocketModeReceivesCommandsClicksAndEvents(t *testing.T) {
	f := newActions(t, "U0ALICE", "")
	e := startWith(t, f.file, func(c *config.Env) { c.SlackAppToken = appToken })
	e.slack.EnableSocketMode(appToken)
	// Only the app-level token opens a connection, as at Slack.
	for tok, want := range map[string]string{slackToken: "not_allowed_token_type", "xapp-1-wrong": "invalid_auth"} {
		api := slack.New(slackToken, slack.OptionAppLevelToken(tok), slack.OptionAPIURL(e.slack.APIURL()))
		if _, _, err := api.StartSocketModeContext(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("apps.connections.open with %q: %v, want %s", tok[:5], err, want)
		}
	}
	r := e.replica()
	for _, x := range []*env{e, r} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			if err := x.app.RunSocketMode(ctx); err != nil {
				t.Logf("socket mode: %v", err)
			}
			close(done)
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
	e.eventually("two connections", func() bool { return e.slack.SocketConnections() == 2 })
	value := openProposal(t, e, "PSOCK01", "flush-cache key=sessions")

	// A slash command: answered in the ack.
	slash := map[string]any{"token": "x", "team_id": "T1", "channel_id": channel, "user_id": "U0ALICE", "command": "/triage",
		"text": "PSOCK01", "response_url": e.slack.ResponseURL("sock"), "trigger_id": "1.2", "api_app_id": "A1"}
	if !e.slack.SendEnvelope("env-1", "slash_commands", slash, 0) {
		t.Fatal("no connection took the envelope")
	}
	e.eventually("the slash command's ack", func() bool { _, ok := e.slack.Ack("env-1"); return ok })
	if ack, _ := e.slack.Ack("env-1"); !strings.Contains(string(ack), "being handled in") {
		t.Fatalf("ack %s", ack)
	}
	// A click (Approve), sent twice as Slack redelivers: one approval, one run.
	var click map[string]any
	_ = json.Unmarshal([]byte(`{"type":"block_actions","user":{"id":"U0ALICE","team_id":"T1"},"api_app_id":"A1","team":{"id":"T1"},`+
		`"channel":{"id":"`+channel+`"},"container":{"type":"message","channel_id":"`+channel+`"},"trigger_id":"1.3","response_url":"`+e.slack.ResponseURL("sock-click")+`",`+
		`"actions":[{"action_id":"proposal_approve","block_id":"b","type":"button","value":"`+value+`","action_ts":"5.5"}]}`), &click)
	e.slack.SendEnvelope("env-2", "interactive", click, 0)
	e.eventually("the click's ack", func() bool { _, ok := e.slack.Ack("env-2"); return ok })
	e.slack.SendEnvelope("env-2", "interactive", click, 1)
	e.eventually("the execution", func() bool { return strings.Contains(e.slack.Transcript(channel), "SUCCEEDED") })
	e.settled()
	if n := len(f.ran()); n != 1 {
		t.Fatalf("ran %d times", n)
	}
	// Slack refreshes the connections: both replicas reconnect, and an App Home event is handled.
	e.slack.DisconnectAll()
	e.eventually("two connections again", func() bool { return e.slack.SocketConnections() == 2 })
	home := map[string]any{"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "EvSock1", "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}}
	e.slack.SendEnvelope("env-3", "events_api", home, 0)
	e.eventually("the Home tab", func() bool { return e.slack.Home("U0ALICE") != nil })
	if d := e.slack.Deliveries("env-2"); d != 2 {
		t.Fatalf("deliveries %d", d)
	}
}
