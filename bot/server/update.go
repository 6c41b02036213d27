package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

// updateSubmission queues a submitted stakeholder update for proposal in
// the thread; a bad length or a tampered form is answered next to the
// field, and a double submit of one modal is one proposal.
func (s *Server) updateSubmission(w http.ResponseWriter, r *http.Request, cb slack.InteractionCallback) {
	// The input is the template's block, or the model's once its draft
	// replaced the template's.
	block := render.BlockUpdate
	if _, ok := cb.View.State.Values[render.BlockUpdateModel]; ok {
		block = render.BlockUpdateModel
	}
	fieldError := func(msg string) {
		writeJSON(w, http.StatusOK, map[string]any{"response_action": "errors", "errors": map[string]string{block: msg}})
	}
	text := strings.TrimSpace(cb.View.State.Values[block][render.ActionUpdate].Value)
	if n := utf8.RuneCountInString(text); n < jobs.MinUpdate || n > jobs.MaxUpdate {
		fieldError(fmt.Sprintf("Write the update in %d to %d characters.", jobs.MinUpdate, jobs.MaxUpdate))
		return
	}
	id, channel, ok := strings.Cut(cb.View.PrivateMetadata, "|")
	if !ok || !pagerduty.ValidID(id) || (channel != "" && !channelID.MatchString(channel)) {
		fieldError("This form is no longer valid; click Draft update on the incident again.")
		return
	}
	req := jobs.ProposeUpdate{IncidentID: id, UserID: cb.User.ID, ChannelID: channel, Text: text}
	if _, err := jobs.Submit(r.Context(), s.Queue, req, "update:"+cb.User.ID+":"+cb.View.ID, time.Hour); err != nil {
		fieldError("opsgate cannot queue the update right now; try again in a minute.")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// incidentButtons are the parent's PagerDuty buttons and the change each
// asks for.
var incidentButtons = map[string]string{render.ActionAcknowledge: "acknowledged", render.ActionResolve: "resolved",
	render.ActionReassign: "reassign", render.ActionEscalate: "escalate"}

// pickerSubmission queues the change chosen in a Reassign or Escalate
// picker: a person or a policy (not both, not neither), or a level.
func (s *Server) pickerSubmission(w http.ResponseWriter, r *http.Request, cb slack.InteractionCallback) {
	errs := func(block, msg string) {
		writeJSON(w, http.StatusOK, map[string]any{"response_action": "errors", "errors": map[string]string{block: msg}})
	}
	id, channel, ok := strings.Cut(cb.View.PrivateMetadata, "|")
	if !ok || !pagerduty.ValidID(id) || (channel != "" && !channelID.MatchString(channel)) {
		errs(render.BlockLevel, "This form is no longer valid; click the button on the incident again.")
		return
	}
	v := cb.View.State.Values
	req := jobs.IncidentAction{IncidentID: id, UserID: cb.User.ID, ChannelID: channel}
	field := render.BlockLevel
	if cb.View.CallbackID == render.CallbackReassign {
		req.Status, field = "reassign", render.BlockAssignee
		req.Assignee = v[render.BlockAssignee][render.ActionAssignee].SelectedUser
		req.Policy = v[render.BlockPolicy][render.ActionPolicy].SelectedOption.Value
		if (req.Assignee == "") == (req.Policy == "") {
			errs(render.BlockAssignee, "Choose a person or an escalation policy (one of them).")
			return
		}
	} else {
		req.Status = "escalate"
		n, err := strconv.Atoi(v[render.BlockLevel][render.ActionLevel].SelectedOption.Value)
		if err != nil || n < 1 || n > jobs.MaxLevel {
			errs(render.BlockLevel, "Choose a level.")
			return
		}
		req.Level = n
	}
	if err := req.Validate(); err != nil {
		errs(field, "This choice cannot be used; choose again.")
		return
	}
	// A double submit of one picker is one change.
	if _, err := jobs.Submit(r.Context(), s.Queue, req, "picked:"+cb.User.ID+":"+cb.View.ID, time.Hour); err != nil {
		errs(field, "opsgate cannot queue the change right now; try again in a minute.")
		return
	}
	w.WriteHeader(http.StatusOK)
}
