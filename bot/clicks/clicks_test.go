package clicks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
)

func callback(trigger string) *slack.InteractionCallback {
	cb := &slack.InteractionCallback{TriggerID: trigger, ResponseURL: "https://hooks.slack.test/r"}
	cb.User.ID, cb.Channel.ID = "U0ALICE", "C0INC"
	return cb
}

func TestClicksBecomeOneJobEach(t *testing.T) {
	cases := []struct {
		action, value, ts string
		kind              jobs.Kind
		key               string
	}{
		{render.ActionAcknowledge, "PINC1", "1.1", jobs.KindIncident, "incident:acknowledged:U0ALICE:PINC1"},
		{render.ActionReassign, "PINC1", "1.1", jobs.KindIncident, "picker:T1"},
		{render.ActionEscalate, "PINC1", "1.1", jobs.KindIncident, "picker:T1"},
		{render.ActionDraftUpdate, "PINC1", "1.1", jobs.KindDraftUpdate, "draft:T1"},
		{render.ActionReveal, "PINC1", "1.1", jobs.KindReveal, "reveal:U0ALICE:PINC1"},
		{render.ActionVerdictUp, "PINC1", "1.1", jobs.KindVerdict, "verdict:U0ALICE:PINC1:1.1"},
		{render.ActionApprove, "PINC1-0123456789|abc", "1.2", jobs.KindDecision, "decision:U0ALICE:PINC1-0123456789:1.2"},
		{render.ActionReject, "PINC1-0123456789|abc", "", jobs.KindDecision, ""},
	}
	for _, c := range cases {
		req, ok := Click(callback("T1"), &slack.BlockAction{ActionID: c.action, Value: c.value, ActionTs: c.ts})
		if !ok || req.Job.Kind() != c.kind || req.Key != c.key || req.Job.Validate() != nil {
			t.Errorf("%s: %+v ok=%v", c.action, req, ok)
		}
	}
	if r, _ := Click(callback("T1"), &slack.BlockAction{ActionID: render.ActionReassign, Value: "PINC1"}); r.Job.(jobs.IncidentAction).TriggerID != "T1" {
		t.Fatal("a picker click lost its trigger")
	}
	for _, a := range []slack.BlockAction{{ActionID: "open_pagerduty", Value: "PINC1"}, {ActionID: render.ActionAcknowledge, Value: "../etc"},
		{ActionID: render.ActionApprove, Value: "not-a-proposal|x"}, {ActionID: render.ActionApprove, Value: "PINC1-0123456789|" + strings.Repeat("h", 65)}} {
		if req, ok := Click(callback("T1"), &a); ok {
			t.Errorf("%+v accepted as %+v", a, req)
		}
	}
}

func submission(callbackID, meta string, values map[string]map[string]slack.BlockAction) *slack.InteractionCallback {
	cb := callback("")
	cb.View.ID, cb.View.CallbackID, cb.View.PrivateMetadata = "V1", callbackID, meta
	cb.View.State = &slack.ViewState{Values: values}
	return cb
}

func TestSubmissionsAreCheckedAndKeyedByView(t *testing.T) {
	text := func(block, s string) map[string]map[string]slack.BlockAction {
		return map[string]map[string]slack.BlockAction{block: {render.ActionUpdate: {Value: s}}}
	}
	ok := []*slack.InteractionCallback{
		submission(render.CallbackRejectReason, "PINC1-0123456789|abc|C0INC", map[string]map[string]slack.BlockAction{render.BlockReason: {render.ActionReason: {Value: "wrong cache"}}}),
		submission(render.CallbackUpdate, "PINC1|C0INC", text(render.BlockUpdate, strings.Repeat("u", 40))),
		submission(render.CallbackUpdate, "PINC1|", text(render.BlockUpdate, strings.Repeat("u", 2000))),
		submission(render.CallbackReassign, "PINC1|C0INC", map[string]map[string]slack.BlockAction{render.BlockAssignee: {render.ActionAssignee: {SelectedUser: "U0BOB"}}}),
		submission(render.CallbackEscalate, "PINC1|C0INC", map[string]map[string]slack.BlockAction{render.BlockLevel: {render.ActionLevel: {SelectedOption: slack.OptionBlockObject{Value: "2"}}}}),
	}
	for _, cb := range ok {
		req, mine, err := Submission(cb)
		if !mine || err != nil || req.Job.Validate() != nil || !strings.HasSuffix(req.Key, ":U0ALICE:V1") {
			t.Errorf("%s: %+v %v %v", cb.View.CallbackID, req, mine, err)
		}
	}
	bad := map[string]*slack.InteractionCallback{
		"Say why":                submission(render.CallbackRejectReason, "PINC1-0123456789|abc|C0INC", nil),
		"no longer valid":        submission(render.CallbackRejectReason, "x|y", map[string]map[string]slack.BlockAction{render.BlockReason: {render.ActionReason: {Value: "wrong cache"}}}),
		"20 to 2000 characters":  submission(render.CallbackUpdate, "PINC1|C0INC", text(render.BlockUpdate, strings.Repeat("u", jobs.MaxUpdate+1))),
		"click Draft update":     submission(render.CallbackUpdate, "PINC1|general", text(render.BlockUpdate, strings.Repeat("u", 40))),
		"one of them":            submission(render.CallbackReassign, "PINC1|C0INC", nil),
		"Choose a level":         submission(render.CallbackEscalate, "PINC1|C0INC", map[string]map[string]slack.BlockAction{render.BlockLevel: {render.ActionLevel: {SelectedOption: slack.OptionBlockObject{Value: "99"}}}}),
		"cannot be used":         submission(render.CallbackReassign, "PINC1|C0INC", map[string]map[string]slack.BlockAction{render.BlockAssignee: {render.ActionAssignee: {SelectedUser: "bob"}}}),
		"button on the incident": submission(render.CallbackEscalate, "../x|C0INC", nil),
	}
	for want, cb := range bad {
		_, mine, err := Submission(cb)
		var fe *FieldError
		if !mine || !errors.As(err, &fe) || !strings.Contains(strings.ReplaceAll(fe.Message, ",", ""), want) {
			t.Errorf("%q: mine=%v err=%v", want, mine, err)
		}
	}
	if _, mine, _ := Submission(submission("someone_elses", "", nil)); mine {
		t.Fatal("a foreign modal was taken")
	}
}

// Whatever Slack (or a forger with the signing secret) sends, a request
// Submission returns is a valid job, and nothing panics.
func FuzzSubmission(f *testing.F) {
	f.Add(`{"type":"view_submission","user":{"id":"U1"},"view":{"id":"V1","callback_id":"incident_reassign","private_metadata":"PINC1|C0INC","state":{"values":{"assignee":{"assignee":{"type":"users_select","selected_user":"U0BOB"}}}}}}`)
	f.Add(`{"type":"view_submission","user":{"id":"U1"},"view":{"id":"V1","callback_id":"stakeholder_update","private_metadata":"PINC1|","state":{"values":{"update":{"update":{"value":"aaaaaaaaaaaaaaaaaaaaaaaaa"}}}}}}`)
	f.Add(`{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"reject_reason","private_metadata":"a|b|c"}}`)
	f.Fuzz(func(t *testing.T, payload string) {
		var cb slack.InteractionCallback
		if json.Unmarshal([]byte(payload), &cb) != nil || cb.User.ID == "" {
			return
		}
		req, mine, err := Submission(&cb)
		if mine && err == nil {
			if verr := req.Job.Validate(); verr != nil {
				t.Fatalf("%s gave an invalid job %+v: %v", payload, req.Job, verr)
			}
		}
		for _, a := range cb.ActionCallback.BlockActions {
			if r, ok := Click(&cb, a); ok && r.Job.Validate() != nil && cb.TriggerID != "" {
				t.Fatalf("%s gave an invalid job %+v", payload, r.Job)
			}
		}
	})
}

// A submission without state (Slack always sends it; a forger need not)
// is answered next to the field, for every form.
func TestSubmissionWithoutStateIsAnswered(t *testing.T) {
	for _, id := range []string{render.CallbackRejectReason, render.CallbackUpdate, render.CallbackReassign, render.CallbackEscalate} {
		cb := callback("")
		cb.View.CallbackID, cb.View.PrivateMetadata = id, "PINC1|C0INC"
		var fe *FieldError
		if _, mine, err := Submission(cb); !mine || !errors.As(err, &fe) {
			t.Errorf("%s: mine=%v err=%v", id, mine, err)
		}
	}
}
