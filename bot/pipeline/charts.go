package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/incident"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// FileSharer shares files as one message in a thread (through the guard).
type FileSharer interface {
	UploadFiles(ctx context.Context, channel, threadTS, comment string, files []slackapi.File) error
}

// MaxCharts is how many charts one message carries (Slack: 10 files).
const MaxCharts = 10

// Charts posts a picture of each metric source the handler read — one
// message with every chart, once — drawn from the masked view (series
// labels carry host names), each with alt text holding its numbers.
type Charts struct {
	Incidents Incidents
	Viewer    Viewer
	Slack     FileSharer                          // nil: no charts
	Render    func(collect.Chart) ([]byte, error) // package chart
	// Guard is the last-line check on the text drawn into the picture
	// (source and series labels), as on every message; nil: none.
	Guard func(string) string
	Log   *slog.Logger
}

// Name implements Stage.
func (Charts) Name() string { return "charts" }

// Run implements Stage.
func (c Charts) Run(ctx context.Context, st *State) error {
	if c.Slack == nil || st.Context == nil || len(st.Context.Charts) == 0 {
		return nil
	}
	return claimOnce(ctx, c.Incidents, st.IncidentID, incident.StepCharts, func() error {
		rec, err := c.Incidents.Get(ctx, st.IncidentID)
		if err != nil {
			return err
		}
		_, vc, err := c.Viewer.Views(ctx, rec, st.Context)
		if err != nil {
			return err
		}
		var files []slackapi.File
		var names []string
		for i, ch := range vc.Charts[:min(len(vc.Charts), MaxCharts)] {
			ch = c.guarded(ch)
			png, err := c.Render(ch)
			if err != nil {
				// A source without a finite sample has no picture.
				cmp.Or(c.Log, slog.Default()).Info("no chart for a metric source", "incident", st.IncidentID, "source", ch.Source, "err", err)
				continue
			}
			files = append(files, slackapi.File{Name: fmt.Sprintf("%s-chart-%d.png", st.IncidentID, i+1), Title: ch.Source,
				AltText: altText(ch.Source, vc.Metrics), Content: png})
			names = append(names, ch.Source)
		}
		if len(files) == 0 {
			return nil
		}
		comment := fmt.Sprintf("*Metrics around the incident* — %s. The legend of each chart names what it draws (baseline band, incident start, alert threshold).",
			strings.Join(names, ", "))
		err = c.Slack.UploadFiles(ctx, rec.Thread.Channel, rec.Thread.TS, comment, files)
		if errors.Is(err, slackapi.ErrMaybeShared) {
			// Keep the claim: posting again could show them twice.
			cmp.Or(c.Log, slog.Default()).Warn("charts may not have been shared; not retried", "incident", st.IncidentID, "err", err)
			return nil
		}
		return err
	})
}

// guarded passes the chart's text through the guard, on a copy.
func (c Charts) guarded(ch collect.Chart) collect.Chart {
	if c.Guard == nil {
		return ch
	}
	ch.Source = c.Guard(ch.Source)
	ch.Series = slices.Clone(ch.Series)
	for i := range ch.Series {
		ch.Series[i].Label = c.Guard(ch.Series[i].Label)
	}
	return ch
}

// altText is what a screen reader says of a chart: its source and the
// numbers the thread gives for it (baseline, now, peak, when it changed).
func altText(source string, metrics []string) string {
	parts := []string{"Chart of " + source + "."}
	for _, m := range metrics {
		if rest, ok := strings.CutPrefix(m, source+": "); ok {
			parts = append(parts, rest+".")
		}
	}
	s := strings.Join(parts, " ")
	if r := []rune(s); len(r) > 1000 {
		s = string(r[:999]) + "…"
	}
	return s
}
