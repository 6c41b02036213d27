// Package overview answers `/triage status` (the open incidents, their
// state, owner and thread, and the proposals waiting for approval) and
// `/triage timeline <id>` (what PagerDuty reported and what opsgate did,
// in time order: the timeline of the incident's record merged with its
// audit trail). Both are read-only and answered only to the asker, where
// /triage search may answer, or to approvers anywhere; everything shown
// is masked with the incident's placeholders.
package overview

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Incidents lists and reads incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
	Open(ctx context.Context, limit int64) ([]*incident.Record, error)
}

// Proposals lists the proposals waiting for approval.
type Proposals interface {
	Waiting(ctx context.Context, limit int64) ([]*approval.Proposal, error)
}

// Trail reads the audit trail in order.
type Trail interface {
	Each(ctx context.Context, after string, fn func(audit.Stored) error) error
}

// Masker masks a record as Slack may see it (package view).
type Masker interface {
	Incident(ctx context.Context, rec *incident.Record) (*incident.Record, int, error)
}

// Access says who is an approver.
type Access interface {
	IsApprover(ctx context.Context, user string) (bool, error)
}

// Handler answers the two commands.
type Handler struct {
	Incidents Incidents
	Proposals Proposals
	Trail     Trail
	Masker    Masker
	Access    Access
	AllowedIn func(channel string) bool // where incidents are discussed
	Teller    slackapi.Teller           // guarded
	Log       *slog.Logger
}

// Limits of one answer.
const (
	maxOpen    = 50
	maxWaiting = 200
)

// Handle answers a status or timeline request.
func (h *Handler) Handle(ctx context.Context, req jobs.Overview) error {
	if !h.AllowedIn(req.ChannelID) {
		ok, err := h.Access.IsApprover(ctx, req.UserID)
		if err != nil {
			return err
		}
		if !ok {
			h.tell(ctx, req, slackapi.Message{Text: "`/triage status` and `/triage timeline` answer in the channels incidents are posted to, or to approvers."})
			return nil
		}
	}
	if req.IncidentID == "" {
		return h.status(ctx, req)
	}
	return h.timeline(ctx, req)
}

func (h *Handler) status(ctx context.Context, req jobs.Overview) error {
	open, err := h.Incidents.Open(ctx, maxOpen+1)
	if err != nil {
		return err
	}
	waiting, err := h.Proposals.Waiting(ctx, maxWaiting)
	if err != nil {
		return err
	}
	byIncident := map[string]int{}
	for _, p := range waiting {
		byIncident[p.IncidentID]++
	}
	var lines []render.StatusLine
	for i, rec := range open {
		if i == maxOpen {
			break
		}
		view, _, err := h.Masker.Incident(ctx, rec)
		if err != nil {
			return err
		}
		lines = append(lines, render.StatusLine{Record: view, Waiting: byIncident[rec.Snapshot.ID]})
	}
	h.tell(ctx, req, render.Status(lines, len(open) > maxOpen, len(waiting)))
	return nil
}

func (h *Handler) timeline(ctx context.Context, req jobs.Overview) error {
	rec, err := h.Incidents.Get(ctx, req.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		h.tell(ctx, req, slackapi.Message{Text: "opsgate has no record of incident " + req.IncidentID + "."})
		return nil
	}
	if err != nil {
		return err
	}
	view, _, err := h.Masker.Incident(ctx, rec)
	if err != nil {
		return err
	}
	var events []render.Event
	if at := rec.Snapshot.CreatedAt; !at.IsZero() {
		events = append(events, render.Event{At: at, Source: "PagerDuty", Text: "Triggered"})
	}
	for _, c := range view.Timeline {
		events = append(events, render.Event{At: c.OccurredAt, Source: "PagerDuty", Text: render.ChangeText(c)})
	}
	if !rec.FirstSeenAt.IsZero() {
		events = append(events, render.Event{At: rec.FirstSeenAt, Source: "opsgate", Text: "first seen"})
	}
	err = h.Trail.Each(ctx, "", func(s audit.Stored) error {
		if s.Entry.Incident == req.IncidentID {
			events = append(events, render.Event{At: s.Entry.At, Source: "opsgate", Text: render.AuditText(s.Entry)})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })
	h.tell(ctx, req, render.Timeline(view, events))
	return nil
}

func (h *Handler) tell(ctx context.Context, req jobs.Overview, m slackapi.Message) {
	if err := slackapi.Tell(ctx, h.Teller, req.ChannelID, req.UserID, req.ResponseURL, m); err != nil {
		cmp.Or(h.Log, slog.Default()).Warn("could not answer /triage status or timeline", "incident", req.IncidentID, "err", err)
	}
}
