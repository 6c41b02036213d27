package pipeline

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

// Incidents reads and changes incident records (package incident).
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
	Update(ctx context.Context, id string, fn func(r *incident.Record) (bool, error)) (*incident.Record, error)
}

// Contexts keeps what was gathered about incidents (package enrich).
type Contexts interface {
	Get(ctx context.Context, id string) (*enrich.Record, error)
	Put(ctx context.Context, id string, r *enrich.Record) (*enrich.Record, error)
	SetAnalysis(ctx context.Context, id string, a rca.Analysis) (*enrich.Record, bool, error)
}

// Gatherer gathers an incident's context (package enrich).
type Gatherer interface {
	Gather(ctx context.Context, snap *incident.Snapshot, at time.Time) (*enrich.Record, error)
}

// Syncer brings the incident's thread up to date (package threadsync).
type Syncer interface {
	Sync(ctx context.Context, id string) error
}

// Proposer proposes checked actions in the thread (package actions).
type Proposer interface {
	Propose(ctx context.Context, incidentID string, actions []rca.Action, source string) error
}

// Reply kinds of the ledger (each has a renderer in Replies).
const (
	ReplyExcerpt = "excerpt" // the log excerpt, metrics and how each source fared
	ReplySimilar = "similar" // similar past incidents
	ReplyRCA     = "rca"     // the root-cause analysis
)

// Proposal sources (as package actions names them).
const (
	sourceRCA     = "rca"
	sourceHandler = "handler"
)

// mark records a finished step in the incident's ledger.
func mark(ctx context.Context, in Incidents, id, step string) error {
	_, err := in.Update(ctx, id, func(r *incident.Record) (bool, error) { return r.MarkDone(step), nil })
	return err
}

// Seen notes whether the event was recorded before (a redelivery), so
// nothing is gathered twice; the later stages still run and finish what a
// crash may have left undone.
type Seen struct{ Incidents Incidents }

// Name implements Stage.
func (Seen) Name() string { return "seen" }

// Run implements Stage.
func (s Seen) Run(ctx context.Context, st *State) error {
	rec, err := s.Incidents.Get(ctx, st.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st.Replayed = st.Event != nil && slices.Contains(rec.Events, st.Event.ID)
	return nil
}

// Gather gathers the incident's context once: what is stored already
// (an earlier delivery, a /triage, a racing replica) is used as it is.
type Gather struct {
	Contexts Contexts
	Gatherer Gatherer
}

// Name implements Stage.
func (Gather) Name() string { return "gather" }

// Run implements Stage.
func (g Gather) Run(ctx context.Context, st *State) error {
	c, err := g.Contexts.Get(ctx, st.IncidentID)
	if err == nil || !errors.Is(err, enrich.ErrNotFound) {
		st.Context = c
		return err
	}
	if st.Replayed || st.Update.Snapshot == nil {
		return nil // nothing new to gather for
	}
	if c, err = g.Gatherer.Gather(ctx, st.Update.Snapshot, st.At); err != nil {
		return err
	}
	st.Context, err = g.Contexts.Put(ctx, st.IncidentID, c)
	return err
}

// Persist records the update (with the fetched alerts) and, in the same
// write, asks for the context replies — the excerpt with metrics and
// sources, then similar incidents — so the thread shows them before any
// later change. A /triage remembers who asked.
type Persist struct {
	Incidents Incidents
	Now       func() time.Time
}

// Name implements Stage.
func (Persist) Name() string { return "persist" }

// Run implements Stage.
func (p Persist) Run(ctx context.Context, st *State) error {
	u := st.Update
	if u.Snapshot == nil && u.EventID == "" {
		return nil // a /triage of a known incident: nothing to record
	}
	if c := st.Context; c != nil && len(c.Alerts) > 0 {
		u.Alerts, u.AlertTotal = c.Alerts, c.AlertTotal
	}
	now := p.Now()
	_, err := p.Incidents.Update(ctx, st.IncidentID, func(r *incident.Record) (bool, error) {
		changed := incident.Apply(r, u, now)
		if c := st.Context; c != nil {
			if c.HasLogs() {
				changed = r.Want(ReplyExcerpt) || changed
			}
			if len(c.Similar) > 0 {
				changed = r.Want(ReplySimilar) || changed
			}
		}
		if t := st.Triage; t != nil && r.TriggeredBy == "" && t.UserID != "" {
			r.TriggeredBy, changed = t.UserID, true
		}
		return changed, nil
	})
	return err
}

// Fetcher reads an incident from PagerDuty's REST API.
type Fetcher interface {
	GetIncident(ctx context.Context, id string) (*pagerduty.IncidentData, error)
}

// Backfill reads the incident from PagerDuty when opsgate knows nothing of
// it yet (e.g. a note on an incident whose trigger it never received).
type Backfill struct {
	Incidents Incidents
	PagerDuty Fetcher // nil: no API token
	Now       func() time.Time
}

// Name implements Stage.
func (Backfill) Name() string { return "backfill" }

// Run implements Stage.
func (b Backfill) Run(ctx context.Context, st *State) error {
	if b.PagerDuty == nil {
		return nil
	}
	rec, err := b.Incidents.Get(ctx, st.IncidentID)
	if err != nil || rec.StateVersion != 0 {
		return err
	}
	d, err := b.PagerDuty.GetIncident(ctx, st.IncidentID)
	if errors.Is(err, pagerduty.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := b.Now()
	_, err = b.Incidents.Update(ctx, st.IncidentID, func(r *incident.Record) (bool, error) {
		return incident.Apply(r, incident.Update{Type: "api.read", Snapshot: incident.SnapshotOf(d)}, now), nil
	})
	return err
}

// Sync brings the thread up to date (opening it if needed).
type Sync struct{ Syncer Syncer }

// Name implements Stage.
func (Sync) Name() string { return "sync" }

// Run implements Stage.
func (s Sync) Run(ctx context.Context, st *State) error { return s.Syncer.Sync(ctx, st.IncidentID) }

// Noter adds notes to PagerDuty incidents.
type Noter interface {
	AddNote(ctx context.Context, incidentID, from, content string) error
}

// Note adds the thread's link to the PagerDuty incident, once.
type Note struct {
	Incidents Incidents
	PagerDuty Noter  // nil: no API token
	From      string // the PagerDuty user e-mail notes are written as ("": no note)
}

// Name implements Stage.
func (Note) Name() string { return "note" }

// Run implements Stage.
func (n Note) Run(ctx context.Context, st *State) error {
	if n.PagerDuty == nil || n.From == "" {
		return nil
	}
	rec, err := n.Incidents.Get(ctx, st.IncidentID)
	if err != nil || rec.Thread.Permalink == "" || rec.IsDone(incident.StepNote) {
		return err
	}
	if err := n.PagerDuty.AddNote(ctx, st.IncidentID, n.From, "opsgate Slack thread: "+rec.Thread.Permalink); err != nil {
		return err
	}
	return mark(ctx, n.Incidents, st.IncidentID, incident.StepNote)
}

// NoteAnalysis writes the analysis — summary, root cause, the evidence
// with its citations, the proposed actions — as a PagerDuty note, once,
// masked like the thread (people reading PagerDuty see what Slack shows).
type NoteAnalysis struct {
	Incidents Incidents
	Viewer    Viewer
	PagerDuty Noter  // nil: no API token
	From      string // "": no notes
}

// Name implements Stage.
func (NoteAnalysis) Name() string { return "note the analysis" }

// Run implements Stage.
func (n NoteAnalysis) Run(ctx context.Context, st *State) error {
	if n.PagerDuty == nil || n.From == "" || st.Context == nil || st.Context.Analysis == nil {
		return nil
	}
	return once(ctx, n.Incidents, st.IncidentID, incident.StepNoteRCA, func() error {
		rec, err := n.Incidents.Get(ctx, st.IncidentID)
		if err != nil {
			return err
		}
		_, vc, err := n.Viewer.Views(ctx, rec, st.Context)
		if err != nil {
			return err
		}
		return n.PagerDuty.AddNote(ctx, st.IncidentID, n.From, render.AnalysisNote(vc.Analysis, rec.Thread.Permalink))
	})
}

// Offer proposes the handler's runbook steps once, as soon as the thread
// exists (before the analysis: a runbook step needs no model). Proposing
// is idempotent, so a retry after a failure offers only what is missing.
type Offer struct {
	Incidents Incidents
	Proposer  Proposer
}

// Name implements Stage.
func (Offer) Name() string { return "offer runbook steps" }

// Run implements Stage.
func (o Offer) Run(ctx context.Context, st *State) error {
	if st.Context == nil || len(st.Context.Suggested) == 0 {
		return nil
	}
	return once(ctx, o.Incidents, st.IncidentID, incident.StepOffer, func() error {
		return o.Proposer.Propose(ctx, st.IncidentID, st.Context.Suggested, sourceHandler)
	})
}

// once runs fn for an incident with a thread unless step is done, then
// records step done.
func once(ctx context.Context, in Incidents, id, step string, fn func() error) error {
	rec, err := in.Get(ctx, id)
	if err != nil || !rec.HasThread() || rec.IsDone(step) {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	return mark(ctx, in, id, step)
}

// claimOnce runs fn at most once per incident: the step is marked done
// first, by compare-and-swap, so a racing run (a redelivered trigger on
// another replica) sees it and stops; a failure of fn unmarks it for a
// later run. For steps whose repeat would show twice and whose loss costs
// little: a crash between the claim and fn loses the step.
func claimOnce(ctx context.Context, in Incidents, id, step string, fn func() error) error {
	won := false
	_, err := in.Update(ctx, id, func(r *incident.Record) (bool, error) {
		won = r.HasThread() && r.MarkDone(step)
		return won, nil
	})
	if err != nil || !won {
		return err
	}
	if err := fn(); err != nil {
		if _, uerr := in.Update(context.WithoutCancel(ctx), id, func(r *incident.Record) (bool, error) { return r.UnmarkDone(step), nil }); uerr != nil {
			return errors.Join(err, uerr)
		}
		return err
	}
	return nil
}

// Learner writes a resolved incident back to the knowledge base (package
// learn).
type Learner interface {
	Learn(ctx context.Context, rec *incident.Record) error
}

// Learn writes a resolved incident to the knowledge base once.
type Learn struct {
	Incidents Incidents
	Learner   Learner // nil: no knowledge base
}

// Name implements Stage.
func (Learn) Name() string { return "learn" }

// Run implements Stage.
func (l Learn) Run(ctx context.Context, st *State) error {
	if l.Learner == nil {
		return nil
	}
	rec, err := l.Incidents.Get(ctx, st.IncidentID)
	if err != nil || rec.Snapshot.Status != incident.StatusResolved || !rec.HasThread() || rec.IsDone(incident.StepLearn) {
		return err
	}
	if err := l.Learner.Learn(ctx, rec); err != nil {
		return err
	}
	return mark(ctx, l.Incidents, st.IncidentID, incident.StepLearn)
}
