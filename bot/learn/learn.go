package learn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/knowledge/kb"
)

// Knowledge stores tickets.
type Knowledge interface {
	Add(ctx context.Context, ts ...kb.Ticket) error
}

// Contexts reads what was gathered about an incident (package enrich).
type Contexts interface {
	Get(ctx context.Context, id string) (*enrich.Record, error)
}

// Masker runs fn under the incident's redaction session (package view).
type Masker interface {
	Mask(ctx context.Context, incidentID string, fn func(s *redact.Session)) (int, error)
}

// Counter counts an incident's verdicts.
type Counter interface {
	Count(ctx context.Context, id string) (up, down int, err error)
}

// Learner writes resolved incidents back to the knowledge base.
type Learner struct {
	Knowledge Knowledge
	Contexts  Contexts
	Masker    Masker
	Verdicts  Counter
}

// Ticket builds the knowledge-base ticket of a resolved incident from its
// masked views. A model's root cause becomes the ticket's root cause only
// when responders confirmed it; otherwise it is kept as a labelled note.
func Ticket(rec *incident.Record, c *enrich.Record, up, down int) kb.Ticket {
	var body strings.Builder
	for _, a := range rec.Snapshot.Alerts {
		body.WriteString("Alert: " + a.Summary + "\n")
	}
	if c.Excerpt != nil {
		for _, e := range c.Excerpt.Entries {
			if len(e.Flags) == 0 && (e.Level == "ERROR" || e.Level == "WARN" || e.Level == "WARNING" || e.New) {
				body.WriteString(e.Template + "\n")
			}
		}
	}
	resolution := "Resolved"
	var resolvedAt time.Time
	for i := len(rec.Timeline) - 1; i >= 0; i-- {
		if ch := rec.Timeline[i]; ch.Type == "incident.resolved" {
			resolvedAt = ch.OccurredAt
			if ch.Agent != "" {
				resolution += " by " + ch.Agent
			}
			break
		}
	}
	if rec.Thread.Permalink != "" {
		resolution += " — thread: " + rec.Thread.Permalink
	}
	t := kb.Ticket{ID: rec.Snapshot.ID, Title: rec.Snapshot.Title, Resolution: resolution, Service: rec.Snapshot.ServiceName,
		Created: rec.Snapshot.CreatedAt, Resolved: resolvedAt, URL: rec.Snapshot.HTMLURL, Source: "opsgate"}
	if a := c.Analysis; a != nil {
		// A model's root cause becomes "the root cause then" — what later
		// prompts are told — only when a responder confirmed it (more 👍
		// than 👎). Otherwise it stays in the body, labelled as what it is.
		confirmed := a.Source != "extractive" && a.RootCause != "" && !a.InsufficientEvidence && up > 0 && up > down
		label := "model-generated, not confirmed by a responder"
		switch {
		case a.Source == "extractive":
			label = "extractive, copied from a similar incident"
		case confirmed:
			label = fmt.Sprintf("model-generated, confirmed by %d responder(s)", up)
			t.RootCause, t.Category = a.RootCause, a.Category
		}
		fmt.Fprintf(&body, "Analysis (%s; %s; confidence %.0f%%; verdicts %d 👍 %d 👎): %s %s\n", a.Source, label, 100*a.Confidence, up, down, a.Summary, a.RootCause)
		for _, x := range a.Actions {
			fmt.Fprintf(&body, "Proposed action: %s %v\n", x.ID, x.Params)
		}
	}
	t.Body = body.String()
	return t
}

// Learn writes a resolved incident back to the knowledge base, masked. It
// is idempotent (a ticket keeps its id); the caller records it done.
func (l *Learner) Learn(ctx context.Context, rec *incident.Record) error {
	c, err := l.Contexts.Get(ctx, rec.Snapshot.ID)
	if errors.Is(err, enrich.ErrNotFound) {
		c, err = &enrich.Record{}, nil
	}
	if err != nil {
		return err
	}
	var up, down int
	if c.Analysis != nil {
		if up, down, err = l.Verdicts.Count(ctx, rec.Snapshot.ID); err != nil {
			return err
		}
	}
	var t kb.Ticket
	if _, err := l.Masker.Mask(ctx, rec.Snapshot.ID, func(s *redact.Session) {
		t = Ticket(view.Incident(rec, s), view.Context(c, s), up, down)
	}); err != nil {
		return err
	}
	return l.Knowledge.Add(ctx, t)
}
