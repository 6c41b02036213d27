package stakeholder

import (
	"fmt"
	"time"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/prompts"
)

// Facts are what a draft may say: the masked incident, its masked
// analysis, what was done (one line each, plain), and the time.
type Facts struct {
	Incident *incident.Record // masked view
	Analysis *rca.Analysis    // masked; nil: none
	Done     []string
	Now      time.Time
	Every    time.Duration // how often updates follow (0: 30 minutes)
}

// minConfidence is how sure an analysis must be before a draft states its
// root cause to people outside the incident.
const minConfidence = 0.6

// Draft writes the template draft of a status update: plain language, no
// placeholder left, nothing the thread does not show (every input is
// masked already), a cause only when the analysis established one.
func Draft(f Facts) (string, error) {
	s := f.Incident.Snapshot
	every := f.Every
	if every <= 0 {
		every = 30 * time.Minute
	}
	in := prompts.UpdateInput{
		State:    stateWords(s.Status, len(f.Done) > 0),
		Service:  Readable(clip(orWords(s.ServiceName, "one of our services"), 80)),
		Priority: clip(s.Priority, 20),
		Title:    Readable(clip(s.Title, 200)),
		Started:  when(s.CreatedAt, f.Now),
		Elapsed:  elapsed(f.Now.Sub(s.CreatedAt)),
		Next:     f.Now.Add(every).UTC().Format("15:04 UTC"),
	}
	if s.Status == incident.StatusResolved {
		in.Ended = resolvedAt(f.Incident, f.Now)
	}
	if a := f.Analysis; a != nil && !a.Hypothesis && !a.InsufficientEvidence && a.Confidence >= minConfidence && a.RootCause != "" {
		in.Cause = Readable(clip(a.RootCause, 400))
	}
	for _, d := range f.Done {
		in.Done = append(in.Done, Readable(clip(d, 160)))
	}
	return prompts.StakeholderUpdate(in)
}

func stateWords(st incident.Status, acted bool) string {
	switch {
	case st == incident.StatusResolved:
		return "Resolved"
	case acted:
		return "Identified — a fix is being applied"
	case st == incident.StatusAcknowledged:
		return "Investigating — the on-call team is working on it"
	default:
		return "Investigating"
	}
}

func orWords(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// when is a time as a reader outside the incident wants it.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "recently"
	}
	t = t.UTC()
	if t.YearDay() == now.UTC().YearDay() && t.Year() == now.UTC().Year() {
		return t.Format("15:04 UTC today")
	}
	return t.Format("15:04 UTC on 2 Jan 2006")
}

func elapsed(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return "a minute"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	default:
		return fmt.Sprintf("%.1f hours", d.Hours())
	}
}

// resolvedAt is when the incident resolved, from its timeline.
func resolvedAt(r *incident.Record, now time.Time) string {
	for i := len(r.Timeline) - 1; i >= 0; i-- {
		if c := r.Timeline[i]; c.Status == incident.StatusResolved {
			return when(c.OccurredAt, now)
		}
	}
	return "just now"
}
