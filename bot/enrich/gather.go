package enrich

import (
	"cmp"
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/logtmpl"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	"github.com/opsgate/opsgate/knowledge/kb"
)

// Alerts lists an incident's alerts (PagerDuty's REST API).
type Alerts interface {
	ListAlerts(ctx context.Context, incidentID string, limit uint) ([]pagerduty.Alert, error)
}

// Collector runs the incident's context handler.
type Collector interface {
	Collect(ctx context.Context, in collect.Incident) (collect.Result, bool)
}

// Masker runs fn under the incident's redaction session (package view).
type Masker interface {
	Mask(ctx context.Context, incidentID string, fn func(s *redact.Session)) (int, error)
}

// Templates is each service's template memory (package tmplstate).
type Templates interface {
	Load(ctx context.Context, service string) (*logtmpl.State, error)
	Learn(ctx context.Context, service string, messages []string) error
}

// Knowledge finds past incidents, tickets and runbooks.
type Knowledge interface {
	Search(q kb.Query, n int) []kb.Result
}

// Gatherer gathers an incident's context. Every dependency is optional:
// without one, that part of the context is left out.
type Gatherer struct {
	Alerts    Alerts
	Collector Collector
	Masker    Masker // nil: log lines are mined unmasked (offline use only)
	Templates Templates
	Knowledge Knowledge
	Log       *slog.Logger
}

func (g *Gatherer) log() *slog.Logger { return cmp.Or(g.Log, slog.Default()) }

// Gather fetches the incident's alerts while its handler collects logs and
// metrics, then builds the excerpt and finds similar incidents. at is when
// the incident started if PagerDuty does not say. Only trusted fields of
// the snapshot parameterise the handler.
func (g *Gatherer) Gather(ctx context.Context, snap *incident.Snapshot, at time.Time) (*Record, error) {
	r := &Record{GatheredAt: at}
	collected := make(chan collect.Result, 1)
	go func() { collected <- g.collect(ctx, snap, at) }()
	var alerts []pagerduty.Alert
	if g.Alerts != nil {
		var err error
		if alerts, err = g.Alerts.ListAlerts(ctx, snap.ID, 10); err == nil {
			for _, a := range alerts {
				r.Alerts = append(r.Alerts, incident.Alert{Summary: a.Summary, Severity: a.Severity})
			}
			r.AlertTotal = len(alerts)
		} else {
			g.log().Warn("could not fetch alerts; using the webhook payload", "incident", snap.ID, "err", err)
		}
	}
	res := <-collected
	r.Metrics, r.Sources, r.Charts = res.Metrics, res.Sources, res.Charts
	for _, a := range res.Actions {
		r.Suggested = append(r.Suggested, rca.Action{ID: a.ID, Params: a.Params})
	}
	if sc := res.Scope; len(sc.Targets)+len(sc.Namespaces)+len(sc.Hosts) > 0 {
		r.Scope = &sc
	}
	x, err := g.excerpt(ctx, snap, alerts, res.Lines, at)
	if err != nil {
		return nil, err
	}
	r.Excerpt = x
	if g.Knowledge != nil {
		when := snap.CreatedAt
		if when.IsZero() {
			when = at
		}
		summaries := make([]string, len(r.Alerts))
		for i, a := range r.Alerts {
			summaries[i] = a.Summary
		}
		r.Similar = SimilarTo(g.Knowledge, snap.Title, summaries, x, when, snap.ID)
	}
	return r, nil
}

func (g *Gatherer) collect(ctx context.Context, snap *incident.Snapshot, at time.Time) collect.Result {
	if g.Collector == nil {
		return collect.Result{}
	}
	start := snap.CreatedAt
	if start.IsZero() {
		start = at
	}
	res, ok := g.Collector.Collect(ctx, collect.Incident{ID: snap.ID, Service: snap.ServiceName, ServiceID: snap.ServiceID,
		Title: snap.Title, Urgency: snap.Urgency, Start: start})
	if ok {
		failed := 0
		for _, st := range res.Sources {
			if st.Error != "" {
				failed++
			}
		}
		g.log().Info("context collected", "incident", snap.ID, "handler", res.Handler, "lines", len(res.Lines), "metrics", len(res.Metrics), "failed_sources", failed)
	}
	return res
}

// excerpt picks the salient lines of the alerts' and the handler's log
// text, marking templates the service has never shown before, and
// remembers this incident's templates. Lines are masked before they are
// mined, so no raw value reaches a template (and the prompt).
func (g *Gatherer) excerpt(ctx context.Context, snap *incident.Snapshot, alerts []pagerduty.Alert, collected []collect.Line, at time.Time) (*excerpt.Excerpt, error) {
	var lines []excerpt.Line
	for _, a := range alerts {
		for _, l := range a.LogLines {
			lines = append(lines, excerpt.Line{Text: l})
		}
	}
	for _, l := range collected {
		lines = append(lines, excerpt.Line{Text: l.Text, Time: l.Time})
	}
	if len(lines) == 0 {
		return nil, nil
	}
	service := "unknown"
	if snap.ServiceID != "" {
		service = snap.ServiceID
	}
	opts := excerpt.Options{AlertTime: at}
	if g.Templates != nil {
		h, err := g.Templates.Load(ctx, service)
		if err != nil {
			g.log().Warn("template memory unavailable; every template counts as new", "err", err)
		}
		opts.History = h
	}
	var x excerpt.Excerpt
	if g.Masker == nil {
		x = excerpt.Build(lines, opts)
	} else if _, err := g.Masker.Mask(ctx, snap.ID, func(s *redact.Session) {
		opts.Redact = s.String
		x = excerpt.Build(lines, opts)
	}); err != nil {
		return nil, err
	}
	if g.Templates != nil {
		texts := make([]string, len(lines))
		for i, l := range lines {
			texts[i] = l.Text
		}
		if err := g.Templates.Learn(ctx, service, excerpt.Messages(texts)); err != nil {
			g.log().Warn("could not remember templates", "err", err)
		}
	}
	return &x, nil
}

// SimilarTo searches k for past incidents like this one: the title as the
// query title, the alert summaries and the excerpt's templates (flagged
// lines left out) as its body; hits below 15% similarity are dropped.
func SimilarTo(k Knowledge, title string, alerts []string, x *excerpt.Excerpt, at time.Time, exclude string) []Similar {
	var body strings.Builder
	for _, a := range alerts {
		body.WriteString(a + "\n")
	}
	if x != nil {
		for _, e := range x.Entries {
			if len(e.Flags) == 0 {
				body.WriteString(e.Template + "\n")
			}
		}
	}
	var out []Similar
	for _, r := range k.Search(kb.Query{Title: title, Body: body.String(), At: at, Exclude: exclude}, 5) {
		if r.Similarity < 0.15 {
			continue // not similar enough to be worth a line
		}
		d := r.Resolved
		if d.IsZero() {
			d = r.Created
		}
		out = append(out, Similar{ID: r.ID, Title: r.Title, URL: r.URL, Date: d, Similarity: r.Similarity, RootCause: r.RootCause, Resolution: r.Resolution})
	}
	return out
}
