package pipeline

import (
	"context"
	"strings"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/render"
)

// Analyzer asks the model (or the extractive fallback) for a checked
// analysis (package rca).
type Analyzer interface {
	Analyze(ctx context.Context, c rca.Context) rca.Analysis
}

// Viewer masks an incident and its context with one session (package
// view).
type Viewer interface {
	Views(ctx context.Context, rec *incident.Record, c *enrich.Record) (*incident.Record, *enrich.Record, error)
}

// Scopes scopes the catalog to an incident (package scope).
type Scopes interface {
	For(ctx context.Context, rec *incident.Record) (catalog.Scoped, error)
}

// Analyze runs the root-cause analysis once per incident, after the
// thread shows its context, and posts it. The analysis sees only the
// masked view; two replicas racing may both ask the model, but only the
// first answer is stored and posted.
type Analyze struct {
	Analyzer  Analyzer // nil: no analysis
	Contexts  Contexts
	Incidents Incidents
	Viewer    Viewer
	Scopes    Scopes
	Syncer    Syncer
}

// Name implements Stage.
func (Analyze) Name() string { return "analyze" }

// Run implements Stage.
func (a Analyze) Run(ctx context.Context, st *State) error {
	c := st.Context
	if a.Analyzer == nil || c == nil {
		return nil
	}
	if c.Analysis == nil {
		if !c.Analyzable() {
			return nil
		}
		rec, err := a.Incidents.Get(ctx, st.IncidentID)
		if err != nil {
			return err
		}
		// One scope for the analysis, the proposal and the execution.
		scoped, err := a.Scopes.For(ctx, rec)
		if err != nil {
			return err
		}
		vr, vc, err := a.Viewer.Views(ctx, rec, c)
		if err != nil {
			return err
		}
		got := a.Analyzer.Analyze(ctx, RCAContext(vr, vc, scoped))
		if st.Context, _, err = a.Contexts.SetAnalysis(ctx, st.IncidentID, got); err != nil {
			return err
		}
	}
	if _, err := a.Incidents.Update(ctx, st.IncidentID, func(r *incident.Record) (bool, error) { return r.Want(ReplyRCA), nil }); err != nil {
		return err
	}
	return a.Syncer.Sync(ctx, st.IncidentID)
}

// ProposeRCA proposes the analysis' actions once (their ids derive from
// the action, so what the handler proposed already is not proposed again).
type ProposeRCA struct {
	Incidents Incidents
	Proposer  Proposer
}

// Name implements Stage.
func (ProposeRCA) Name() string { return "propose" }

// Run implements Stage.
func (p ProposeRCA) Run(ctx context.Context, st *State) error {
	if st.Context == nil || st.Context.Analysis == nil {
		return nil
	}
	return once(ctx, p.Incidents, st.IncidentID, incident.StepRCA, func() error {
		return p.Proposer.Propose(ctx, st.IncidentID, st.Context.Analysis.Actions, sourceRCA)
	})
}

// lineTexts maps the excerpt's line ids and the metric ids to their
// (masked) text; flagged lines are left out, so an analysis can never cite
// them.
func lineTexts(c *enrich.Record) map[string]string {
	out := map[string]string{}
	for i, m := range c.Metrics {
		if i == render.MaxMetrics {
			break
		}
		out[render.MetricID(i)] = m
	}
	if c.Excerpt == nil {
		return out
	}
	for _, e := range c.Excerpt.Entries {
		if len(e.Flags) == 0 {
			out[e.ID] = e.Text
		}
	}
	return out
}

// RCAContext builds what the analysis may see and cite from masked views
// of the incident and its context: the excerpt's prompt lines (flagged
// lines withheld), the alert summaries, the similar tickets and the
// catalog scoped to the incident. Nothing in it comes from raw text.
func RCAContext(rec *incident.Record, c *enrich.Record, scope catalog.Scoped) rca.Context {
	snap := rec.Snapshot
	in := rca.Context{IncidentID: snap.ID, Service: snap.ServiceName, Title: snap.Title, Lines: lineTexts(c)}
	for _, a := range snap.Alerts {
		in.Alerts = append(in.Alerts, strings.TrimSpace(a.Severity+" "+a.Summary))
	}
	if c.Excerpt != nil {
		in.PromptLines = c.Excerpt.PromptLines()
		for _, e := range c.Excerpt.Entries {
			if len(e.Flags) == 0 {
				in.LineOrder = append(in.LineOrder, e.ID)
			} else {
				in.Withheld++
			}
		}
	}
	for i, m := range c.Metrics {
		if i == render.MaxMetrics {
			break
		}
		in.Metrics = append(in.Metrics, render.MetricID(i)+" "+m)
	}
	for i, t := range c.Similar {
		if i == 3 {
			break // the top three: right context, not most context
		}
		d := ""
		if !t.Date.IsZero() {
			d = t.Date.UTC().Format("2006-01-02")
		}
		in.Tickets = append(in.Tickets, rca.Ticket{ID: t.ID, Title: t.Title, RootCause: t.RootCause, Resolution: t.Resolution, Date: d, Similarity: t.Similarity})
	}
	in.Catalog, in.Actions = scope, scope.Describe()
	return in
}
