// Package writeback acts on PagerDuty from the thread: Acknowledge and
// Resolve on the parent are done in PagerDuty as the person who clicked —
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

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Profiles reads a Slack user's e-mail (users.info, users:read.email).
type Profiles interface {
	UserEmail(ctx context.Context, user string) (string, error)
}

// PagerDuty finds users and changes incidents (a *pagerduty.Client).
type PagerDuty interface {
	UserByEmail(ctx context.Context, email string) (id, role string, err error)
	SetStatus(ctx context.Context, incidentID, from, status string) error
}

// Incidents reads incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
}

// Auditor appends to the audit trail.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Handler handles Acknowledge and Resolve clicks.
type Handler struct {
	Profiles  Profiles
	PagerDuty PagerDuty // nil: no PAGERDUTY_API_TOKEN
	Incidents Incidents
	Audit     Auditor
	Teller    slackapi.Teller // guarded
	Log       *slog.Logger
}

func (h *Handler) log() *slog.Logger { return cmp.Or(h.Log, slog.Default()) }

var verb = map[string]string{"acknowledged": "Acknowledged", "resolved": "Resolved"}

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
	err = h.PagerDuty.SetStatus(ctx, req.IncidentID, email, req.Status)
	switch {
	case errors.Is(err, pagerduty.ErrForbidden):
		return h.refuse(ctx, req, "forbidden", "PagerDuty says your user may not change this incident; nothing was changed.")
	case err != nil && !pagerduty.Classify(err).Retry:
		h.log().Warn("PagerDuty refused a change", "incident", req.IncidentID, "status", req.Status, "err", err)
		return h.refuse(ctx, req, "refused", "PagerDuty refused the change (it may have changed meanwhile); nothing was changed.")
	case err != nil:
		return fmt.Errorf("incident %s: %w", req.IncidentID, err)
	}
	if _, err := h.Audit.Append(ctx, audit.Entry{Actor: req.UserID, Action: "pagerduty_" + req.Status, Incident: req.IncidentID,
		Details: map[string]string{"pagerduty_user": pdUser}}); err != nil {
		h.log().Error("PagerDuty change made but not audited", "incident", req.IncidentID, "err", err)
	}
	h.tell(ctx, req, fmt.Sprintf("%s in PagerDuty as you (PagerDuty user %s). The thread updates when PagerDuty confirms.", verb[req.Status], pdUser))
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
