// Package chart draws a metric source's series over the incident window
// as a PNG for the thread: each series a line (with a legend), the
// baseline band of the first series, the incident start and the alert
// threshold when known — sized and coloured to read in Slack's preview in
// light and dark mode (an opaque dark background, bright lines, large
// type). It is pure: labels arrive masked (package view).
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/opsgate/opsgate/bot/collect"
)

// Size of every chart: 1000×500 pixels at DPI.
const (
	Width  = 10 * vg.Inch
	Height = 5 * vg.Inch
	DPI    = 100
)

// MaxSeries bounds the lines drawn (and the legend's entries).
const MaxSeries = 6

// Colours: an opaque dark background keeps the picture the same in
// Slack's light and dark themes; the lines are a bright, colour-blind-safe
// set (Okabe–Ito) that stays apart on it.
var (
	Background = color.RGBA{0x1b, 0x1f, 0x24, 0xff}
	Foreground = color.RGBA{0xe6, 0xe6, 0xe6, 0xff}
	Palette    = []color.RGBA{
		{0x56, 0xb4, 0xe9, 0xff}, // sky blue
		{0xe6, 0x9f, 0x00, 0xff}, // orange
		{0x00, 0x9e, 0x73, 0xff}, // bluish green
		{0xf0, 0xe4, 0x42, 0xff}, // yellow
		{0xcc, 0x79, 0xa7, 0xff}, // reddish purple
		{0xd5, 0x5e, 0x00, 0xff}, // vermillion
	}
	bandColour      = color.RGBA{0x80, 0x80, 0x80, 0x50}
	startColour     = color.RGBA{0xff, 0xff, 0xff, 0xff}
	thresholdColour = color.RGBA{0xff, 0x45, 0x45, 0xff}
)

// ErrEmpty: nothing to draw.
var ErrEmpty = errors.New("chart: no samples")

// Render draws c as a PNG.
func Render(c collect.Chart) ([]byte, error) {
	p, err := build(c)
	if err != nil {
		return nil, err
	}
	cv := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(Background))
	p.Draw(draw.New(cv))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: cv}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return buf.Bytes(), nil
}

func xs(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// build lays the chart out (Render draws it; tests read its transforms).
func build(c collect.Chart) (*plot.Plot, error) {
	p := plot.New()
	p.BackgroundColor = Background
	p.Title.Text = c.Source
	p.Title.TextStyle.Color = Foreground
	p.Title.TextStyle.Font.Size = vg.Points(20)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Color, a.LineStyle.Color, a.Tick.LineStyle.Color = Foreground, Foreground, Foreground
		a.Label.TextStyle.Color, a.Tick.Label.Color = Foreground, Foreground
		a.Label.TextStyle.Font.Size, a.Tick.Label.Font.Size = vg.Points(15), vg.Points(14)
	}
	p.X.Label.Text = "time (UTC)"
	p.X.Tick.Marker = plot.TimeTicks{Format: "15:04", Time: func(t float64) time.Time { return time.Unix(int64(t), 0).UTC() }}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Color, p.Legend.TextStyle.Font.Size = Foreground, vg.Points(14)
	p.Add(plotter.NewGrid())

	lo, hi := math.Inf(1), math.Inf(-1)
	first, last := math.Inf(1), math.Inf(-1)
	var lines []*plotter.Line
	var labels []string
	for _, s := range c.Series {
		if len(lines) == MaxSeries {
			break
		}
		pts := make(plotter.XYs, 0, len(s.Points))
		for _, pt := range s.Points {
			if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
				continue // Prometheus answers NaN for 0/0; a gap, not a broken chart
			}
			pts = append(pts, plotter.XY{X: xs(pt.T), Y: pt.V})
			lo, hi = math.Min(lo, pt.V), math.Max(hi, pt.V)
		}
		if len(pts) == 0 {
			continue
		}
		first, last = math.Min(first, pts[0].X), math.Max(last, pts[len(pts)-1].X)
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.Source, err)
		}
		l.Color, l.Width = Palette[len(lines)%len(Palette)], vg.Points(2.5)
		lines = append(lines, l)
		labels = append(labels, s.Label)
	}
	if len(lines) == 0 {
		return nil, ErrEmpty
	}
	// The band goes under the lines (drawn first), translucent.
	if med, half, ok := collect.Band(c.Series[0].Points, c.Start); ok {
		band, err := plotter.NewPolygon(plotter.XYs{{X: first, Y: med - half}, {X: last, Y: med - half}, {X: last, Y: med + half}, {X: first, Y: med + half}})
		if err == nil {
			band.Color, band.LineStyle.Width = bandColour, 0
			p.Add(band)
			p.Legend.Add("baseline band", band)
			lo, hi = math.Min(lo, med-half), math.Max(hi, med+half)
		}
	}
	for i, l := range lines {
		p.Add(l)
		p.Legend.Add(legend(labels[i], i, c.Source, len(lines)), l)
	}
	if more := len(c.Series) - len(lines) + c.More; more > 0 {
		p.Legend.Add(fmt.Sprintf("… %d more series", more))
	}
	if t := c.Threshold; t != nil {
		lo, hi = math.Min(lo, *t), math.Max(hi, *t)
		if th, err := plotter.NewLine(plotter.XYs{{X: first, Y: *t}, {X: last, Y: *t}}); err == nil {
			th.Color, th.Width, th.Dashes = thresholdColour, vg.Points(2), []vg.Length{vg.Points(8), vg.Points(5)}
			p.Add(th)
			p.Legend.Add(fmt.Sprintf("alert threshold %g", *t), th)
		}
	}
	pad := (hi - lo) * 0.08
	if pad == 0 {
		pad = math.Max(math.Abs(hi)*0.1, 1)
	}
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	p.X.Min, p.X.Max = first, last
	if s := xs(c.Start); !c.Start.IsZero() && s >= first && s <= last {
		if st, err := plotter.NewLine(plotter.XYs{{X: s, Y: p.Y.Min}, {X: s, Y: p.Y.Max}}); err == nil {
			st.Color, st.Width, st.Dashes = startColour, vg.Points(1.5), []vg.Length{vg.Points(4), vg.Points(4)}
			p.Add(st)
			p.Legend.Add("incident start "+c.Start.UTC().Format("15:04"), st)
		}
	}
	return p, nil
}

// legend is a series' name in the legend: its labels, else the source's
// name for a lone series, else its place.
func legend(label string, i int, source string, n int) string {
	switch {
	case (label == "" || label == "{}") && n == 1:
		label = source
	case label == "" || label == "{}":
		return fmt.Sprintf("series %d", i+1)
	}
	r := []rune(label)
	if len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return label
}
