// Package overview answers `/triage status` (the open incidents, their
// state, owner and thread, and the proposals waiting for approval) and
// `/triage timeline <id>` (what PagerDuty reported and what opsgate did,
// in time order: the timeline of the incident's record merged with its
// audit trail) and `/triage postmortem <id>` (a Markdown draft from the
// same, with the analysis, shared as a file in the incident's thread). Both are read-only and answered only to the asker, where
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
	"time"

	"github.com/opsgate/opsgate/bot/access"
	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/enrich"
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

// Trail reads an incident's audit entries in order.
type Trail interface {
	ForIncident(ctx context.Context, incident string, fn func(audit.Stored) error) error
}

// Masker masks a record, and a record with its context, as Slack may see
// them (package view).
type Masker interface {
	Incident(ctx context.Context, rec *incident.Record) (*incident.Record, int, error)
	Views(ctx context.Context, rec *incident.Record, c *enrich.Record) (*incident.Record, *enrich.Record, error)
}

// Contexts reads what was gathered for an incident, with its analysis.
type Contexts interface {
	Get(ctx context.Context, id string) (*enrich.Record, error)
}

// Files shares a file in a thread (guarded).
type Files interface {
	Upload(ctx context.Context, channel, threadTS, filename, title, comment string, content []byte) error
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
	Contexts  Contexts
	Files     Files
	Access    Access
	AllowedIn func(channel string) bool // where incidents are discussed
	Teller    slackapi.Teller           // guarded
	Now       func() time.Time
	Log       *slog.Logger
}

// Limits of one answer.
const (
	maxOpen    = 50
	maxWaiting = 200
)

// Handle answers a status or timeline request.
func (h *Handler) Handle(ctx context.Context, req jobs.Overview) error {
	ok, err := access.MayAsk(ctx, h.Access, h.AllowedIn, req.ChannelID, req.UserID)
	if err != nil {
		return err
	}
	if !ok {
		h.tell(ctx, req, slackapi.Message{Text: "`/triage status` and `/triage timeline` answer in the channels incidents are posted to, or to approvers."})
		return nil
	}
	switch {
	case req.IncidentID == "":
		return h.status(ctx, req)
	case req.Postmortem:
		return h.postmortem(ctx, req)
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
	rec, view, ok, err := h.record(ctx, req)
	if !ok || err != nil {
		return err
	}
	events, _, err := h.events(ctx, rec, view)
	if err != nil {
		return err
	}
	h.tell(ctx, req, render.Timeline(view, events))
	return nil
}

// postmortem drafts the postmortem and shares it in the incident's thread.
func (h *Handler) postmortem(ctx context.Context, req jobs.Overview) error {
	rec, _, ok, err := h.record(ctx, req)
	if !ok || err != nil {
		return err
	}
	if !rec.HasThread() {
		h.tell(ctx, req, slackapi.Message{Text: "Incident " + req.IncidentID + " has no thread of its own to post the draft in (a storm member: `/triage split` it first)."})
		return nil
	}
	md, err := h.draft(ctx, rec)
	if err != nil {
		return err
	}
	name := "postmortem-" + req.IncidentID + ".md"
	if err := h.Files.Upload(ctx, rec.Thread.Channel, rec.Thread.TS, name, "Postmortem draft: "+req.IncidentID,
		"Postmortem draft, from the thread, PagerDuty and the audit trail — review and edit before sharing.", []byte(md)); err != nil {
		return fmt.Errorf("postmortem %s: %w", req.IncidentID, err)
	}
	h.tell(ctx, req, slackapi.Message{Text: "The postmortem draft for " + req.IncidentID + " is in its thread."})
	return nil
}

// Draft is an incident's postmortem draft (masked Markdown) and the
// masked record, for the knowledge base when the incident resolves.
func (h *Handler) Draft(ctx context.Context, rec *incident.Record) (string, *incident.Record, error) {
	view, _, err := h.Masker.Incident(ctx, rec)
	if err != nil {
		return "", nil, err
	}
	md, err := h.draft(ctx, rec)
	return md, view, err
}

func (h *Handler) draft(ctx context.Context, rec *incident.Record) (string, error) {
	c, err := h.Contexts.Get(ctx, rec.Snapshot.ID)
	if err != nil && !errors.Is(err, enrich.ErrNotFound) {
		return "", err
	}
	if c == nil {
		c = &enrich.Record{}
	}
	view, vc, err := h.Masker.Views(ctx, rec, c)
	if err != nil {
		return "", err
	}
	events, entries, err := h.events(ctx, rec, view)
	if err != nil {
		return "", err
	}
	return render.Postmortem(view, vc.Analysis, entries, events, h.Now()), nil
}

// record loads and masks the incident, telling the asker when there is none.
func (h *Handler) record(ctx context.Context, req jobs.Overview) (*incident.Record, *incident.Record, bool, error) {
	rec, err := h.Incidents.Get(ctx, req.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		h.tell(ctx, req, slackapi.Message{Text: "opsgate has no record of incident " + req.IncidentID + "."})
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	view, _, err := h.Masker.Incident(ctx, rec)
	if err != nil {
		return nil, nil, false, err
	}
	return rec, view, true, nil
}

// events merges PagerDuty's changes with the incident's audit entries,
// in time order.
func (h *Handler) events(ctx context.Context, rec, view *incident.Record) ([]render.Event, []audit.Entry, error) {
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
	var entries []audit.Entry
	err := h.Trail.ForIncident(ctx, rec.Snapshot.ID, func(s audit.Stored) error {
		if s.Err == nil {
			entries = append(entries, s.Entry)
			events = append(events, render.Event{At: s.Entry.At, Source: "opsgate", Text: render.AuditText(s.Entry)})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("timeline: %w", err)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })
	return events, entries, nil
}

func (h *Handler) tell(ctx context.Context, req jobs.Overview, m slackapi.Message) {
	if err := slackapi.Tell(ctx, h.Teller, req.ChannelID, req.UserID, req.ResponseURL, m); err != nil {
		cmp.Or(h.Log, slog.Default()).Warn("could not answer /triage status or timeline", "incident", req.IncidentID, "err", err)
	}
}
