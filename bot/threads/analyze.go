package threads

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/render"
)

// lineTexts maps the excerpt's line ids to their (sanitized) text; flagged
// lines are left out, so an analysis can never cite them.
func lineTexts(r *incident.Record) map[string]string {
	out := map[string]string{}
	for i, m := range r.Metrics {
		if i == render.MaxMetrics {
			break
		}
		out[render.MetricID(i)] = m
	}
	if r.Excerpt == nil {
		return out
	}
	for _, e := range r.Excerpt.Entries {
		if len(e.Flags) == 0 {
			out[e.ID] = e.Text
		}
	}
	return out
}

// RCAContext builds what the analysis may see and cite from a sanitized
// view of the record: the excerpt's prompt lines (flagged lines withheld),
// the alert summaries, the similar tickets and the catalog scoped to the
// incident. Nothing in it comes from the raw record.
func RCAContext(view *incident.Record, scope catalog.Scoped) rca.Context {
	snap := view.Snapshot
	c := rca.Context{IncidentID: snap.ID, Service: snap.ServiceName, Title: snap.Title, Lines: lineTexts(view)}
	for _, a := range snap.Alerts {
		c.Alerts = append(c.Alerts, strings.TrimSpace(a.Severity+" "+a.Summary))
	}
	if view.Excerpt != nil {
		c.PromptLines = view.Excerpt.PromptLines()
		for _, e := range view.Excerpt.Entries {
			if len(e.Flags) == 0 {
				c.LineOrder = append(c.LineOrder, e.ID)
			} else {
				c.Withheld++
			}
		}
	}
	for i, m := range view.Metrics {
		if i == render.MaxMetrics {
			break
		}
		c.Metrics = append(c.Metrics, render.MetricID(i)+" "+m)
	}
	for i, t := range view.Similar {
		if i == 3 {
			break // the top three: right context, not most context
		}
		d := ""
		if !t.Date.IsZero() {
			d = t.Date.UTC().Format("2006-01-02")
		}
		c.Tickets = append(c.Tickets, rca.Ticket{ID: t.ID, Title: t.Title, RootCause: t.RootCause, Resolution: t.Resolution, Date: d, Similarity: t.Similarity})
	}
	c.Catalog, c.Actions = scope, scope.Describe()
	return c
}

// analyze runs the root-cause analysis once per incident, after its thread
// shows the excerpt and similar incidents, and posts it. A redelivered
// trigger finds the analysis stored and does nothing; two replicas racing
// both may ask the model, but only the first answer is stored and posted.
func (s *Syncer) analyze(ctx context.Context, id string) error {
	if s.Analyzer == nil {
		return nil
	}
	rec, err := s.Store.Get(ctx, id)
	if err != nil {
		return err
	}
	if rec.RCA != nil || (rec.Excerpt == nil && len(rec.Similar) == 0 && len(rec.Metrics) == 0) {
		return nil // done, or nothing to analyse
	}
	view, err := s.view(ctx, rec)
	if err != nil {
		return err
	}
	// One scope for the analysis, the proposal and the execution (the
	// operator's names; the guard masks any that look sensitive).
	a := s.Analyzer.Analyze(ctx, RCAContext(view, s.scoped(rec)))
	won := false
	if _, err := s.Store.Update(ctx, id, func(r *incident.Record) (bool, error) {
		if r.RCA != nil {
			return false, nil
		}
		r.RCA, won = &a, true
		return true, nil
	}); err != nil {
		return fmt.Errorf("store analysis: %w", err)
	}
	if err := s.Sync(ctx, id); err != nil {
		return err
	}
	if !won {
		return nil
	}
	rec, err = s.Store.Get(ctx, id)
	if err != nil {
		return err
	}
	return s.propose(ctx, rec, a.Actions, SourceRCA)
}

// offer proposes the handler's default actions once per incident, as
// soon as its thread exists (before the analysis: a runbook step needs
// no model). Proposing is idempotent (ids derive from the action), so a
// retry after a failure re-offers only what is missing.
func (s *Syncer) offer(ctx context.Context, id string) error {
	if s.Proposals == nil {
		return nil
	}
	rec, err := s.Store.Get(ctx, id)
	if err != nil || len(rec.Suggested) == 0 || rec.SuggestedProposed || !rec.HasThread() {
		return err
	}
	if err := s.propose(ctx, rec, rec.Suggested, SourceHandler); err != nil {
		return err
	}
	_, err = s.Store.Update(ctx, id, func(r *incident.Record) (bool, error) {
		changed := !r.SuggestedProposed
		r.SuggestedProposed = true
		return changed, nil
	})
	return err
}

// collect runs the incident's handler, if any. Only trusted fields of the
// PagerDuty snapshot parameterise it.
func (s *Syncer) collect(ctx context.Context, snap *incident.Snapshot, at time.Time) collect.Result {
	if s.Collector == nil || snap == nil {
		return collect.Result{}
	}
	start := snap.CreatedAt
	if start.IsZero() {
		start = at
	}
	res, ok := s.Collector.Collect(ctx, collect.Incident{ID: snap.ID, Service: snap.ServiceName, ServiceID: snap.ServiceID,
		Title: snap.Title, Urgency: snap.Urgency, Start: start})
	if ok {
		failed := 0
		for _, st := range res.Sources {
			if st.Error != "" {
				failed++
			}
		}
		s.log().Info("context collected", "incident", snap.ID, "handler", res.Handler, "lines", len(res.Lines), "metrics", len(res.Metrics), "failed_sources", failed)
	}
	return res
}
