// Package clicks says what a Slack interaction asks opsgate to do: each
// button click and each submitted modal becomes one job, with the key
// that makes a redelivery (or a double click, a double submit) count
// once. It is pure — no HTTP, no queue — so the server only verifies,
// queues and answers, and every mapping is tested here.
package clicks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

// Request is a job to queue, deduplicated on Key for TTL ("": never).
type Request struct {
	Job jobs.Job
	Key string
	TTL time.Duration
}

// FieldError is an answer shown next to a modal's field.
type FieldError struct{ Block, Message string }

func (e *FieldError) Error() string { return e.Message }

var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,20}$`)

// validChannel: "" (unknown) or a conversation id.
func validChannel(s string) bool { return s == "" || channelID.MatchString(s) }

// incidentButtons are the parent's PagerDuty buttons and the change each
// asks for.
var incidentButtons = map[string]string{render.ActionAcknowledge: "acknowledged", render.ActionResolve: "resolved",
	render.ActionReassign: "reassign", render.ActionEscalate: "escalate"}

// Click is what one button click asks for; ok is false for a button that
// is not opsgate's or carries an invalid value.
func Click(cb *slack.InteractionCallback, a *slack.BlockAction) (Request, bool) {
	user, channel, respond := cb.User.ID, cb.Channel.ID, cb.ResponseURL
	if status, ok := incidentButtons[a.ActionID]; ok && pagerduty.ValidID(a.Value) {
		req := jobs.IncidentAction{IncidentID: a.Value, Status: status, UserID: user, ChannelID: channel, ResponseURL: respond}
		// A double click within seconds is one request; a picker
		// (Reassign, Escalate) opens once per click (its trigger).
		key := "incident:" + status + ":" + user + ":" + a.Value
		if req.Picker() {
			req.TriggerID, key = cb.TriggerID, "picker:"+cb.TriggerID
		}
		return Request{Job: req, Key: key, TTL: 10 * time.Second}, true
	}
	switch {
	case a.ActionID == render.ActionDraftUpdate && pagerduty.ValidID(a.Value):
		// A redelivered click (same trigger) opens one form; a new click
		// gets a new trigger, so a form that could not open can be retried.
		return Request{Job: jobs.DraftUpdate{IncidentID: a.Value, UserID: user, ChannelID: channel, TriggerID: cb.TriggerID, ResponseURL: respond},
			Key: "draft:" + cb.TriggerID, TTL: time.Minute}, true
	case a.ActionID == render.ActionReveal && pagerduty.ValidID(a.Value):
		// A double click within seconds is one request.
		return Request{Job: jobs.Reveal{IncidentID: a.Value, UserID: user, ChannelID: channel, ResponseURL: respond},
			Key: "reveal:" + user + ":" + a.Value, TTL: 5 * time.Second}, true
	case (a.ActionID == render.ActionVerdictUp || a.ActionID == render.ActionVerdictDown) && pagerduty.ValidID(a.Value):
		// One click is one vote request (Slack's action_ts identifies the
		// click): a redelivered click counts once, a change of mind counts.
		key := ""
		if a.ActionTs != "" {
			key = fmt.Sprintf("verdict:%s:%s:%s", user, a.Value, a.ActionTs)
		}
		return Request{Job: jobs.Verdict{IncidentID: a.Value, UserID: user, Up: a.ActionID == render.ActionVerdictUp, ResponseURL: respond},
			Key: key, TTL: time.Hour}, true
	}
	id, hash, ok := DecisionButton(a)
	if !ok || len(hash) > 64 {
		return Request{}, false
	}
	req := jobs.Decision{ProposalID: id, Hash: hash, UserID: user, Approve: a.ActionID == render.ActionApprove,
		Undo: a.ActionID == render.ActionUndo, Click: a.ActionTs, ChannelID: channel, ResponseURL: respond}
	key := "" // one click is one request: a redelivered click (same action_ts) counts once
	if a.ActionTs != "" {
		key = fmt.Sprintf("decision:%s:%s:%s", user, id, a.ActionTs)
	}
	return Request{Job: req, Key: key, TTL: time.Hour}, true
}

// DecisionButton reads an Approve, Reject or Undo click: its proposal id
// (checked) and the hash its clicker saw.
func DecisionButton(a *slack.BlockAction) (id, hash string, ok bool) {
	if a.ActionID != render.ActionApprove && a.ActionID != render.ActionReject && a.ActionID != render.ActionUndo {
		return "", "", false
	}
	id, hash, _ = strings.Cut(a.Value, "|")
	return id, hash, jobs.ValidProposalID(id)
}

// Submission is what a submitted modal asks for. ok is false for a modal
// that is not opsgate's (answered with an empty 200); a *FieldError is
// shown next to the field (a bad length, a tampered form). A double submit
// of one modal is one request.
func Submission(cb *slack.InteractionCallback) (req Request, ok bool, err error) {
	switch cb.View.CallbackID {
	case render.CallbackRejectReason:
		req, err = rejection(cb)
	case render.CallbackUpdate:
		req, err = update(cb)
	case render.CallbackReassign, render.CallbackEscalate:
		req, err = picked(cb)
	default:
		return Request{}, false, nil
	}
	return req, true, err
}

// QueueError is the field error when a submission cannot be queued.
func QueueError(cb *slack.InteractionCallback) *FieldError {
	block, what := render.BlockLevel, "the change"
	switch cb.View.CallbackID {
	case render.CallbackRejectReason:
		block, what = render.BlockReason, "the rejection"
	case render.CallbackUpdate:
		block, what = render.BlockUpdate, "the update"
	case render.CallbackReassign:
		block = render.BlockAssignee
	}
	return &FieldError{Block: block, Message: "opsgate cannot queue " + what + " right now; try again in a minute."}
}

func rejection(cb *slack.InteractionCallback) (Request, error) {
	bad := func(msg string) error { return &FieldError{Block: render.BlockReason, Message: msg} }
	reason := strings.TrimSpace(values(cb)[render.BlockReason][render.ActionReason].Value)
	if n := utf8.RuneCountInString(reason); n < render.MinReason || n > render.MaxReason {
		return Request{}, bad(fmt.Sprintf("Say why in %d to %d characters.", render.MinReason, render.MaxReason))
	}
	parts := strings.Split(cb.View.PrivateMetadata, "|")
	if len(parts) != 3 || !jobs.ValidProposalID(parts[0]) || len(parts[1]) > 64 || !validChannel(parts[2]) {
		return Request{}, bad("This form is no longer valid; use /triage reject <proposal id> <reason>.")
	}
	return Request{Job: jobs.Decision{ProposalID: parts[0], Hash: parts[1], UserID: cb.User.ID, Reason: reason, ChannelID: parts[2]},
		Key: "reject:" + cb.User.ID + ":" + cb.View.ID, TTL: time.Hour}, nil
}

// values is a submitted modal's state (nil when it carries none: a
// payload without state is answered, not a panic).
func values(cb *slack.InteractionCallback) map[string]map[string]slack.BlockAction {
	if cb.View.State == nil {
		return nil
	}
	return cb.View.State.Values
}

func update(cb *slack.InteractionCallback) (Request, error) {
	bad := func(msg string) error { return &FieldError{Block: render.BlockUpdate, Message: msg} }
	text := strings.TrimSpace(values(cb)[render.BlockUpdate][render.ActionUpdate].Value)
	if n := utf8.RuneCountInString(text); n < jobs.MinUpdate || n > jobs.MaxUpdate {
		return Request{}, bad(fmt.Sprintf("Write the update in %d to %d characters.", jobs.MinUpdate, jobs.MaxUpdate))
	}
	id, channel, ok := strings.Cut(cb.View.PrivateMetadata, "|")
	if !ok || !pagerduty.ValidID(id) || !validChannel(channel) {
		return Request{}, bad("This form is no longer valid; click Draft update on the incident again.")
	}
	return Request{Job: jobs.ProposeUpdate{IncidentID: id, UserID: cb.User.ID, ChannelID: channel, Text: text},
		Key: "update:" + cb.User.ID + ":" + cb.View.ID, TTL: time.Hour}, nil
}

// picked is the change chosen in a Reassign or Escalate picker: a person
// or a policy (not both, not neither), or a level.
func picked(cb *slack.InteractionCallback) (Request, error) {
	id, channel, ok := strings.Cut(cb.View.PrivateMetadata, "|")
	if !ok || !pagerduty.ValidID(id) || !validChannel(channel) {
		return Request{}, &FieldError{Block: render.BlockLevel, Message: "This form is no longer valid; click the button on the incident again."}
	}
	v := values(cb)
	req := jobs.IncidentAction{IncidentID: id, UserID: cb.User.ID, ChannelID: channel}
	field := render.BlockLevel
	if cb.View.CallbackID == render.CallbackReassign {
		req.Status, field = "reassign", render.BlockAssignee
		req.Assignee = v[render.BlockAssignee][render.ActionAssignee].SelectedUser
		req.Policy = v[render.BlockPolicy][render.ActionPolicy].SelectedOption.Value
		if (req.Assignee == "") == (req.Policy == "") {
			return Request{}, &FieldError{Block: field, Message: "Choose a person or an escalation policy (one of them)."}
		}
	} else {
		req.Status = "escalate"
		n, err := strconv.Atoi(v[render.BlockLevel][render.ActionLevel].SelectedOption.Value)
		if err != nil || n < 1 || n > jobs.MaxLevel {
			return Request{}, &FieldError{Block: field, Message: "Choose a level."}
		}
		req.Level = n
	}
	if req.Validate() != nil {
		return Request{}, &FieldError{Block: field, Message: "This choice cannot be used; choose again."}
	}
	return Request{Job: req, Key: "picked:" + cb.User.ID + ":" + cb.View.ID, TTL: time.Hour}, nil
}
