package e2e

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/render"
)

func clickWithTrigger(e *env, user, action, value, trigger string) (int, string) {
	payload := `{"type":"block_actions","user":{"id":"` + user + `","username":"u","name":"u","team_id":"T1"},"api_app_id":"A1","token":"x",` +
		`"container":{"type":"message","message_ts":"1","channel_id":"` + channel + `","is_ephemeral":false},"trigger_id":"` + trigger + `",` +
		`"team":{"id":"T1","domain":"acme"},"channel":{"id":"` + channel + `","name":"incidents"},"response_url":"` + e.slack.ResponseURL("mod-"+user) + `",` +
		`"actions":[{"action_id":"` + action + `","block_id":"proposal_actions","type":"button","value":"` + value + `","text":{"type":"plain_text","text":"x"},"action_ts":"9.9"}]}`
	return e.postSlack("/slack/interactions", url.Values{"payload": {payload}}, time.Now(), signingSecret)
}

func submitView(e *env, user, viewID, callback, meta, reason string) (int, string) {
	return submitField(e, user, viewID, callback, meta, render.BlockReason, render.ActionReason, reason)
}

// submitField submits a modal whose one input (block, action) holds value.
func submitField(e *env, user, viewID, callback, meta, block, action, value string) (int, string) {
	return submitState(e, user, viewID, callback, meta, map[string]any{block: map[string]any{action: map[string]any{"type": "plain_text_input", "value": value}}})
}

// submitState submits a modal with the given state values (as Slack sends
// them: block id → action id → element state).
func submitState(e *env, user, viewID, callback, meta string, values map[string]any) (int, string) {
	v := map[string]any{"type": "view_submission", "user": map[string]any{"id": user, "team_id": "T1"}, "team": map[string]any{"id": "T1"},
		"api_app_id": "A1", "token": "x", "trigger_id": e.slack.Trigger(user), // each submission its own request
		"view": map[string]any{"id": viewID, "type": "modal", "callback_id": callback, "private_metadata": meta,
			"state": map[string]any{"values": values}}}
	b, _ := json.Marshal(v)
	return e.postSlack("/slack/interactions", url.Values{"payload": {string(b)}}, time.Now(), signingSecret)
}

// Reject opens a modal asking why; the submitted reason rejects the
// proposal (masked in the thread), once however often it is submitted; a
// reason too short or a tampered form is answered next to the field.
func TestRejectAsksForAReason(t *testing.T) {
	f := newActions(t, "U0ALICE", "")
	e := startWith(t, f.file)
	value := openProposal(t, e, "PMOD001", "flush-cache key=sessions")
	if code, _ := clickWithTrigger(e, "U0ALICE", render.ActionReject, value, e.slack.Trigger("U0ALICE")); code != 200 {
		t.Fatalf("click: %d", code)
	}
	views := e.slack.Views()
	if len(views) != 1 || views[0].CallbackID != render.CallbackRejectReason {
		t.Fatalf("views %+v", views)
	}
	id, hash, _ := strings.Cut(value, "|")
	if views[0].PrivateMetadata != id+"|"+hash+"|"+channel {
		t.Fatalf("metadata %q", views[0].PrivateMetadata)
	}
	e.settled()
	if strings.Contains(e.slack.Transcript(channel), "rejected") {
		t.Fatal("rejected before a reason was given")
	}
	if code, body := submitView(e, "U0ALICE", views[0].ID, render.CallbackRejectReason, views[0].PrivateMetadata, "no"); code != 200 || !strings.Contains(body, `"response_action":"errors"`) {
		t.Fatalf("short reason: %d %s", code, body)
	}
	if _, body := submitView(e, "U0ALICE", views[0].ID, render.CallbackRejectReason, "PMOD001-zzz|x|C0INCIDENT", "a fine reason"); !strings.Contains(body, "no longer valid") {
		t.Fatalf("tampered form: %s", body)
	}
	for range 2 { // a double submit
		if code, body := submitView(e, "U0ALICE", views[0].ID, render.CallbackRejectReason, views[0].PrivateMetadata, "wrong cache, see 10.77.1.2"); code != 200 || body != "" {
			t.Fatalf("submit: %d %q", code, body)
		}
	}
	e.eventually("the rejection", func() bool { return strings.Contains(e.slack.Transcript(channel), "wrong cache") })
	e.settled()
	if tr := e.slack.Transcript(channel); strings.Contains(tr, "10.77.1.2") || !strings.Contains(tr, "[IP_ADDRESS_") {
		t.Fatalf("the reason was not masked:\n%s", tr)
	}
	counts := e.auditActions()
	if n := counts["reject"] + counts["rejected"]; n != 1 {
		t.Fatalf("%d rejections audited", counts["reject"]+counts["rejected"])
	}
	// An expired trigger: the modal cannot open, Reject rejects at once (as before).
	value2 := openProposalAgain(t, e, "flush-cache key=carts")
	if code, _ := clickWithTrigger(e, "U0ALICE", render.ActionReject, value2, "1.2.expired"); code != 200 {
		t.Fatal(code)
	}
	e.eventually("the immediate rejection", func() bool { return strings.Count(e.slack.Transcript(channel), "ejected by") >= 2 })
}

func openProposalAgain(t *testing.T, e *env, proposal string) string {
	t.Helper()
	e.proposeAs("U0CAROL", "PMOD001 "+proposal)
	action, _, _ := strings.Cut(proposal, " ")
	var value string
	e.eventually("the second proposal", func() bool {
		value = e.buttonFor("proposal_approve", strings.TrimPrefix(proposal, action+" "))
		return value != ""
	})
	e.settled()
	return value
}
