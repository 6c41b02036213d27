package view

import (
	"context"
	"slices"

	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/logtmpl"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
)

// Incident returns the record as Slack may see it, and how many values the
// incident's session masks.
func (v *Vault) Incident(ctx context.Context, rec *incident.Record) (*incident.Record, int, error) {
	var out *incident.Record
	n, err := v.Mask(ctx, rec.Snapshot.ID, func(s *redact.Session) { out = Incident(rec, s) })
	return out, n, err
}

// Context returns the incident's gathered context as it may leave opsgate.
func (v *Vault) Context(ctx context.Context, incidentID string, r *enrich.Record) (*enrich.Record, error) {
	var out *enrich.Record
	_, err := v.Mask(ctx, incidentID, func(s *redact.Session) { out = Context(r, s) })
	return out, err
}

// Views returns the incident and its context as they may leave opsgate,
// masked by one session.
func (v *Vault) Views(ctx context.Context, rec *incident.Record, c *enrich.Record) (*incident.Record, *enrich.Record, error) {
	var vr *incident.Record
	var vc *enrich.Record
	_, err := v.Mask(ctx, rec.Snapshot.ID, func(s *redact.Session) { vr, vc = Incident(rec, s), Context(c, s) })
	return vr, vc, err
}

// Incident returns a copy of rec with every free-text field (title,
// service, alert summaries, change details) passed through s.
func Incident(rec *incident.Record, s *redact.Session) *incident.Record {
	v := *rec
	v.Snapshot.Title = s.String(rec.Snapshot.Title)
	v.Snapshot.ServiceName = s.String(rec.Snapshot.ServiceName)
	v.Snapshot.Alerts = alerts(rec.Snapshot.Alerts, s)
	if rec.Storm != nil {
		v.Storm = make([]incident.Member, len(rec.Storm))
		for i, m := range rec.Storm {
			m.Title = s.String(m.Title)
			v.Storm[i] = m
		}
	}
	v.Timeline = make([]incident.Change, len(rec.Timeline))
	for i, c := range rec.Timeline {
		c.Detail = s.String(c.Detail)
		v.Timeline[i] = c
	}
	return &v
}

func alerts(in []incident.Alert, s *redact.Session) []incident.Alert {
	if in == nil {
		return nil
	}
	out := make([]incident.Alert, len(in))
	for i, a := range in {
		out[i] = incident.Alert{Summary: s.String(a.Summary), Severity: a.Severity}
	}
	return out
}

// Context returns a copy of r with every free-text field passed through s:
// alerts, the excerpt (text, templates and variables), similar tickets,
// metric summaries, source errors and the analysis.
func Context(r *enrich.Record, s *redact.Session) *enrich.Record {
	v := *r
	v.Alerts = alerts(r.Alerts, s)
	if len(r.Similar) > 0 {
		v.Similar = make([]enrich.Similar, len(r.Similar))
		for i, x := range r.Similar {
			x.Title, x.RootCause, x.Resolution = s.String(x.Title), s.String(x.RootCause), s.String(x.Resolution)
			v.Similar[i] = x
		}
	}
	if r.Excerpt != nil {
		x := *r.Excerpt
		x.Entries = make([]excerpt.Entry, len(r.Excerpt.Entries))
		for i, e := range r.Excerpt.Entries {
			e.Text, e.Template = s.String(e.Text), s.String(e.Template)
			if len(e.Vars) > 0 {
				vars := make([]logtmpl.Var, len(e.Vars))
				for j, x := range e.Vars {
					x.Value = s.String(x.Value)
					vars[j] = x
				}
				e.Vars = vars
			}
			x.Entries[i] = e
		}
		v.Excerpt = &x
	}
	if len(r.Charts) > 0 {
		// Series labels carry host names and instances: masked like any text.
		v.Charts = make([]collect.Chart, len(r.Charts))
		for i, c := range r.Charts {
			c.Source = s.String(c.Source)
			c.Series = slices.Clone(c.Series)
			for j := range c.Series {
				c.Series[j].Label = s.String(c.Series[j].Label)
			}
			v.Charts[i] = c
		}
	}
	if len(r.Metrics) > 0 {
		v.Metrics = make([]string, len(r.Metrics))
		for i, m := range r.Metrics {
			v.Metrics[i] = s.String(m)
		}
	}
	if len(r.Sources) > 0 {
		v.Sources = make([]collect.Status, len(r.Sources))
		for i, st := range r.Sources {
			st.Error = s.String(st.Error)
			v.Sources[i] = st
		}
	}
	if r.Analysis != nil {
		v.Analysis = Analysis(r.Analysis, s)
	}
	return &v
}

// Analysis returns a copy of a with its text passed through s: model
// output is untrusted too.
func Analysis(a *rca.Analysis, s *redact.Session) *rca.Analysis {
	v := *a
	v.Summary, v.RootCause = s.String(a.Summary), s.String(a.RootCause)
	v.Evidence = make([]rca.Evidence, len(a.Evidence))
	for i, e := range a.Evidence {
		e.Claim = s.String(e.Claim)
		v.Evidence[i] = e
	}
	v.Actions = make([]rca.Action, len(a.Actions))
	for i, x := range a.Actions {
		x.Reason = s.String(x.Reason)
		v.Actions[i] = x
	}
	v.Dropped = make([]string, len(a.Dropped))
	for i, d := range a.Dropped {
		v.Dropped[i] = s.String(d)
	}
	return &v
}
