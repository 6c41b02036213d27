package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Webhooks handles queued PagerDuty webhook events.
type Webhooks struct {
	Trigger Pipeline // incident.triggered
	Change  Pipeline // every other incident event
	Log     *slog.Logger
}

// Handle parses the event and runs its pipeline.
func (w *Webhooks) Handle(ctx context.Context, body []byte) error {
	ev, err := pagerduty.ParseEvent(body)
	if err != nil {
		return fmt.Errorf("%w: %w", err, queue.ErrPermanent)
	}
	u, ok := incident.UpdateFor(ev)
	if !ok {
		logger(w.Log).Debug("event ignored", "event_id", ev.ID, "type", ev.EventType)
		return nil
	}
	st := &State{IncidentID: ev.IncidentID(), Event: ev, Update: u, At: ev.OccurredAt}
	if ev.EventType == "incident.triggered" {
		return w.Trigger.Run(ctx, st)
	}
	return w.Change.Run(ctx, st)
}

// Triage handles /triage requests for incidents without a known thread.
type Triage struct{ Pipeline Pipeline }

// Handle runs the triage pipeline.
func (t *Triage) Handle(ctx context.Context, req jobs.Triage) error {
	return t.Pipeline.Run(ctx, &State{IncidentID: req.IncidentID, Triage: &req})
}

// Responder answers a slash command through its response_url (guarded).
type Responder interface {
	Respond(ctx context.Context, responseURL string, m slackapi.Message) error
}

func respond(ctx context.Context, r Responder, log *slog.Logger, t *jobs.Triage, text string) {
	if r == nil || t == nil || t.ResponseURL == "" {
		return
	}
	if err := r.Respond(ctx, t.ResponseURL, slackapi.Message{Text: text}); err != nil {
		logger(log).Warn("could not answer /triage", "incident", t.IncidentID, "err", err)
	}
}

// Lookup reads an incident opsgate has no record of from PagerDuty, or
// tells the requester why it cannot. Its thread opens only where the
// incident's service is routed (or the default channel): never in the
// requester's channel, which may be anyone's.
type Lookup struct {
	Incidents Incidents
	PagerDuty Fetcher // nil: no API token
	Route     func(serviceID, serviceName string) string
	Responder Responder
	Now       func() time.Time
	Log       *slog.Logger
}

// Name implements Stage.
func (Lookup) Name() string { return "lookup" }

// Run implements Stage.
func (l Lookup) Run(ctx context.Context, st *State) error {
	_, err := l.Incidents.Get(ctx, st.IncidentID)
	if !errors.Is(err, incident.ErrNotFound) {
		return err // known (nil), or the store failed
	}
	if l.PagerDuty == nil {
		respond(ctx, l.Responder, l.Log, st.Triage, fmt.Sprintf("I have no thread for incident %s and no PagerDuty API token to look it up.", st.IncidentID))
		st.Stop = true
		return nil
	}
	d, err := l.PagerDuty.GetIncident(ctx, st.IncidentID)
	if errors.Is(err, pagerduty.ErrNotFound) {
		respond(ctx, l.Responder, l.Log, st.Triage, fmt.Sprintf("PagerDuty has no incident %s.", st.IncidentID))
		st.Stop = true
		return nil
	}
	if err != nil {
		return err
	}
	if l.Route(d.Service.ID, d.Service.Summary) == "" {
		respond(ctx, l.Responder, l.Log, st.Triage, fmt.Sprintf("Incident %s belongs to a service opsgate has no channel for (no route, no default channel), "+
			"so its thread is not opened here. Add a route for the service to open it.", st.IncidentID))
		st.Stop = true
		return nil
	}
	st.Update = incident.Update{Type: "api.read", Snapshot: incident.SnapshotOf(d)}
	st.At = l.Now()
	return nil
}

// Answer links the thread for the requester of a /triage.
type Answer struct {
	Incidents Incidents
	Responder Responder
	Log       *slog.Logger
}

// Name implements Stage.
func (Answer) Name() string { return "answer" }

// Run implements Stage.
func (a Answer) Run(ctx context.Context, st *State) error {
	rec, err := a.Incidents.Get(ctx, st.IncidentID)
	if err != nil {
		return err
	}
	link := "in <#" + rec.Thread.Channel + ">"
	if rec.Thread.Permalink != "" {
		link = "<" + rec.Thread.Permalink + "|open the thread>"
	}
	respond(ctx, a.Responder, a.Log, st.Triage, "Thread for incident "+st.IncidentID+": "+link)
	return nil
}
