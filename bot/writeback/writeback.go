// Package writeback acts on PagerDuty from the thread: Acknowledge,
// Resolve, Reassign (to a person or an escalation policy, chosen in a
// picker) and Escalate (to a level of the incident's policy) on the parent
// are done in PagerDuty as the person who clicked —
// their Slack profile's e-mail names their PagerDuty user, who is the From
// of the change, so PagerDuty checks their permission and records them as
// the actor. Nothing is ever done in anyone else's name: no mapping, no
// change. The parent itself is updated by the webhook PagerDuty then sends,
// as for a change made in PagerDuty.
package writeback

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Profiles reads a Slack user's e-mail (users.info, users:read.email).
type Profiles interface {
	UserEmail(ctx context.Context, user string) (string, error)
}

// PagerDuty finds users and policies and changes incidents (a
// *pagerduty.Client).
type PagerDuty interface {
	UserByEmail(ctx context.Context, email string) (id, role string, err error)
	Update(ctx context.Context, incidentID, from string, c pagerduty.Change) error
	Policies(ctx context.Context) ([]pagerduty.Policy, error)
	IncidentPolicy(ctx context.Context, incidentID string) (pagerduty.Policy, error)
}

// Modals opens a modal for the user whose click carried triggerID.
type Modals interface {
	OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (slackapi.View, error)
}

// Incidents reads incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
}

// Auditor appends to the audit trail.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Handler handles the parent's PagerDuty buttons.
type Handler struct {
	Profiles  Profiles
	PagerDuty PagerDuty // nil: no PAGERDUTY_API_TOKEN
	Modals    Modals    // the Reassign and Escalate pickers
	Incidents Incidents
	Audit     Auditor
	Teller    slackapi.Teller // guarded
	// Guard is the last-line check on the pickers' text (policy names
	// and level targets come from PagerDuty); nil: none.
	Guard func(string) string
	Log   *slog.Logger
}

func (h *Handler) guard(s string) string {
	if h.Guard == nil {
		return s
	}
	return h.Guard(s)
}

func (h *Handler) log() *slog.Logger { return cmp.Or(h.Log, slog.Default()) }

var verb = map[string]string{"acknowledged": "Acknowledged", "resolved": "Resolved", "reassign": "Reassigned", "escalate": "Escalated"}

// button is the label of each picker's button.
var button = map[string]string{"reassign": "Reassign", "escalate": "Escalate"}

// past names each change in the audit trail.
var past = map[string]string{"acknowledged": "acknowledged", "resolved": "resolved", "reassign": "reassigned", "escalate": "escalated"}

// Handle makes the change in PagerDuty as the clicking user, or tells them
// why it was not made. Transient failures are returned (the queue retries);
// refusals are answered and audited.
func (h *Handler) Handle(ctx context.Context, req jobs.IncidentAction) error {
	if h.PagerDuty == nil {
		h.tell(ctx, req, "PagerDuty write-back needs PAGERDUTY_API_TOKEN; nothing was changed.")
		return nil
	}
	rec, err := h.Incidents.Get(ctx, req.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		h.tell(ctx, req, "opsgate has no record of incident "+req.IncidentID+"; nothing was changed.")
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Snapshot.Status == incident.StatusResolved {
		h.tell(ctx, req, "Incident "+req.IncidentID+" is already resolved.")
		return nil
	}
	if req.Picker() {
		return h.openPicker(ctx, req)
	}
	email, err := h.Profiles.UserEmail(ctx, req.UserID)
	if err != nil {
		if errors.Is(err, slackapi.ErrFinal) {
			h.tell(ctx, req, "Slack does not show opsgate your e-mail address (the app needs users:read.email), so it cannot act in PagerDuty as you; nothing was changed.")
			return nil
		}
		return err
	}
	if email == "" {
		return h.refuse(ctx, req, "no_email", "Your Slack profile shows no e-mail address, so opsgate cannot find you in PagerDuty; nothing was changed.")
	}
	pdUser, role, err := h.PagerDuty.UserByEmail(ctx, email)
	if errors.Is(err, pagerduty.ErrNoUser) {
		return h.refuse(ctx, req, "no_pagerduty_user", "No PagerDuty user has the e-mail address on your Slack profile, so opsgate will not act in PagerDuty for you; nothing was changed.")
	}
	if err != nil {
		return err
	}
	if pagerduty.ReadOnlyRole(role) {
		// PagerDuty would take the change from opsgate's API key anyway.
		return h.refuse(ctx, req, "read_only_role", "Your PagerDuty role ("+role+") may not change incidents; nothing was changed.")
	}
	change, details, err := h.change(ctx, req)
	if errors.Is(err, errNoAssignee) {
		return h.refuse(ctx, req, "no_pagerduty_assignee", "The person you chose has no PagerDuty user with the e-mail on their Slack profile; nothing was changed.")
	}
	if err != nil {
		return err
	}
	err = h.PagerDuty.Update(ctx, req.IncidentID, email, change)
	switch {
	case errors.Is(err, pagerduty.ErrForbidden):
		return h.refuse(ctx, req, "forbidden", "PagerDuty says your user may not change this incident; nothing was changed.")
	case err != nil && !pagerduty.Classify(err).Retry:
		h.log().Warn("PagerDuty refused a change", "incident", req.IncidentID, "status", req.Status, "err", err)
		return h.refuse(ctx, req, "refused", "PagerDuty refused the change (it may have changed meanwhile); nothing was changed.")
	case err != nil:
		return fmt.Errorf("incident %s: %w", req.IncidentID, err)
	}
	details["pagerduty_user"] = pdUser
	if _, err := h.Audit.Append(ctx, audit.Entry{Actor: req.UserID, Action: "pagerduty_" + past[req.Status], Incident: req.IncidentID,
		Details: details}); err != nil {
		h.log().Error("PagerDuty change made but not audited", "incident", req.IncidentID, "err", err)
	}
	h.tell(ctx, req, fmt.Sprintf("%s in PagerDuty as you (PagerDuty user %s). The thread updates when PagerDuty confirms.", verb[req.Status]+toWhom(req), pdUser))
	return nil
}

// errNoAssignee: the person chosen to take the incident has no PagerDuty user.
var errNoAssignee = errors.New("no PagerDuty user for the chosen assignee")

// change is the PagerDuty change req asks for, and what the audit entry
// records of it; a person chosen in the picker is found in PagerDuty by
// their Slack e-mail, as the clicker is.
func (h *Handler) change(ctx context.Context, req jobs.IncidentAction) (pagerduty.Change, map[string]string, error) {
	switch {
	case req.Status == "escalate":
		return pagerduty.Change{Level: req.Level}, map[string]string{"level": fmt.Sprint(req.Level)}, nil
	case req.Status == "reassign" && req.Policy != "":
		return pagerduty.Change{Policy: req.Policy}, map[string]string{"escalation_policy": req.Policy}, nil
	case req.Status == "reassign":
		email, err := h.Profiles.UserEmail(ctx, req.Assignee)
		if errors.Is(err, slackapi.ErrFinal) || (err == nil && email == "") {
			return pagerduty.Change{}, nil, errNoAssignee
		}
		if err != nil {
			return pagerduty.Change{}, nil, err
		}
		id, _, err := h.PagerDuty.UserByEmail(ctx, email)
		if errors.Is(err, pagerduty.ErrNoUser) {
			return pagerduty.Change{}, nil, errNoAssignee
		}
		return pagerduty.Change{AssignTo: id}, map[string]string{"assignee": req.Assignee, "assignee_pagerduty_user": id}, err
	}
	return pagerduty.Change{Status: req.Status}, map[string]string{}, nil
}

func toWhom(req jobs.IncidentAction) string {
	switch {
	case req.Status == "escalate":
		return fmt.Sprintf(" to level %d", req.Level)
	case req.Assignee != "":
		return " to <@" + req.Assignee + ">"
	case req.Policy != "":
		return " to escalation policy " + req.Policy
	}
	return ""
}

// openPicker opens the Reassign or Escalate picker, with PagerDuty's
// escalation policies (Reassign) or the levels of the incident's policy
// (Escalate).
func (h *Handler) openPicker(ctx context.Context, req jobs.IncidentAction) error {
	var v slack.ModalViewRequest
	if req.Status == "reassign" {
		pols, err := h.PagerDuty.Policies(ctx)
		if err != nil {
			return fmt.Errorf("incident %s: %w", req.IncidentID, err)
		}
		var cs []render.Choice
		for _, p := range pols {
			cs = append(cs, render.Choice{Value: p.ID, Label: h.guard(p.Name)})
		}
		v = render.ReassignModal(req.IncidentID, req.ChannelID, cs)
	} else {
		p, err := h.PagerDuty.IncidentPolicy(ctx, req.IncidentID)
		if err != nil {
			return fmt.Errorf("incident %s: %w", req.IncidentID, err)
		}
		var cs []render.Choice
		for i, l := range p.Levels[:min(len(p.Levels), jobs.MaxLevel)] {
			cs = append(cs, render.Choice{Value: fmt.Sprint(i + 1), Label: h.guard(fmt.Sprintf("Level %d: %s", i+1, l))})
		}
		if len(cs) == 0 {
			h.tell(ctx, req, "The incident's escalation policy has no levels to escalate to.")
			return nil
		}
		v = render.EscalateModal(req.IncidentID, req.ChannelID, h.guard(p.Name), cs)
	}
	if _, err := h.Modals.OpenView(ctx, req.TriggerID, v); err != nil {
		h.log().Warn("picker not opened", "incident", req.IncidentID, "err", err)
		h.tell(ctx, req, "The form could not open in time; click *"+button[req.Status]+"* again.")
	}
	return nil
}

func (h *Handler) refuse(ctx context.Context, req jobs.IncidentAction, why, text string) error {
	if _, err := h.Audit.Append(ctx, audit.Entry{Actor: req.UserID, Action: "pagerduty_" + req.Status + "_refused", Incident: req.IncidentID,
		Details: map[string]string{"reason": why}}); err != nil {
		return err
	}
	h.tell(ctx, req, text)
	return nil
}

func (h *Handler) tell(ctx context.Context, req jobs.IncidentAction, text string) {
	if err := slackapi.Tell(ctx, h.Teller, req.ChannelID, req.UserID, req.ResponseURL, slackapi.Message{Text: text}); err != nil {
		h.log().Warn("could not answer an incident button", "incident", req.IncidentID, "err", err)
	}
}
