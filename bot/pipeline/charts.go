package pipeline

import (
	"context"
	"fmt"
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
			png, err := c.Render(ch)
			if err != nil {
				continue // a source without samples has no picture
			}
			files = append(files, slackapi.File{Name: fmt.Sprintf("%s-chart-%d.png", st.IncidentID, i+1), Title: ch.Source,
				AltText: altText(ch.Source, vc.Metrics), Content: png})
			names = append(names, ch.Source)
		}
		if len(files) == 0 {
			return nil
		}
		comment := fmt.Sprintf("*Metrics around the incident* — %s. The dashed white line marks when it started; the grey band is the baseline.",
			strings.Join(names, ", "))
		return c.Slack.UploadFiles(ctx, rec.Thread.Channel, rec.Thread.TS, comment, files)
	})
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
