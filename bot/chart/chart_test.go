package chart

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/opsgate/opsgate/bot/collect"
)

var t0 = time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)

// A step: 10 before the incident, 50 after (and a second, flat series).
func step() collect.Chart {
	var a, b []collect.Point
	for i := 0; i < 120; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		v := 10.0
		if i >= 60 {
			v = 50
		}
		a = append(a, collect.Point{T: at, V: v})
		b = append(b, collect.Point{T: at, V: 30})
	}
	th := 40.0
	return collect.Chart{Source: "5xx rate", Start: t0.Add(30 * time.Minute), Threshold: &th, More: 3,
		Series: []collect.Series{{Label: `{instance="[HOSTNAME_1]"}`, Points: a}, {Label: `{instance="[HOSTNAME_2]"}`, Points: b}}}
}

// pixel maps a data point to image pixels through the laid-out plot.
func pixel(t *testing.T, c collect.Chart, x time.Time, y float64) image.Point {
	t.Helper()
	p, err := build(c)
	if err != nil {
		t.Fatal(err)
	}
	cv := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(DPI))
	dc := draw.New(cv)
	da := p.DataCanvas(dc)
	tx, ty := p.Transforms(&da)
	px := func(l vg.Length) int { return int(float64(l) * DPI / 72) }
	return image.Point{X: px(tx(xs(x))), Y: px(Height) - px(ty(y))}
}

func near(img image.Image, at image.Point, want color.RGBA, r int) bool {
	for dx := -r; dx <= r; dx++ {
		for dy := -r; dy <= r; dy++ {
			c := color.RGBAModel.Convert(img.At(at.X+dx, at.Y+dy)).(color.RGBA)
			if absDiff(c.R, want.R) < 40 && absDiff(c.G, want.G) < 40 && absDiff(c.B, want.B) < 40 {
				return true
			}
		}
	}
	return false
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// The PNG is the size Slack previews well, and each line is drawn where
// its data says: the first series at 10 before the start and 50 after,
// the second at 30; nowhere near there where the data is not.
func TestLinesAreWhereTheDataSays(t *testing.T) {
	c := step()
	b, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X < 800 || s.Y < 400 {
		t.Fatalf("size %v, want at least 800×400", s)
	}
	before, after := t0.Add(10*time.Minute), t0.Add(50*time.Minute)
	for _, tc := range []struct {
		at     time.Time
		v      float64
		colour color.RGBA
		drawn  bool
	}{
		{before, 10, Palette[0], true}, {after, 50, Palette[0], true},
		{before, 50, Palette[0], false}, {after, 10, Palette[0], false},
		{before, 30, Palette[1], true}, {after, 30, Palette[1], true},
		{after, 40, thresholdColour, true}, {after, 20, thresholdColour, false},
	} {
		at := pixel(t, c, tc.at, tc.v)
		if got := near(img, at, tc.colour, 3); got != tc.drawn {
			t.Errorf("%s %.0f at pixel %v: drawn=%v, want %v", tc.at.Format("15:04"), tc.v, at, got, tc.drawn)
		}
	}
	// The incident start: a vertical white line.
	for _, v := range []float64{15, 35} {
		if at := pixel(t, c, c.Start, v); !near(img, at, startColour, 2) {
			t.Errorf("no start line at %v", at)
		}
	}
	// The background is the opaque dark one (dark-mode safe).
	if got := color.RGBAModel.Convert(img.At(2, 2)).(color.RGBA); got != Background {
		t.Errorf("corner %v, want %v", got, Background)
	}
}

// The axes cover the data, the baseline band and the threshold.
func TestAxesCoverTheDataBandAndThreshold(t *testing.T) {
	c := step()
	high := 400.0
	c.Threshold = &high
	p, err := build(c)
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min > 10 || p.Y.Max < 400 || p.X.Min != xs(t0) || p.X.Max != xs(t0.Add(119*30*time.Second)) {
		t.Fatalf("axes x %v..%v y %v..%v", p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)
	}
	if p.Title.Text != "5xx rate" {
		t.Fatalf("title %q", p.Title.Text)
	}
}

func TestEmptyChartIsAnError(t *testing.T) {
	if _, err := Render(collect.Chart{Source: "x"}); err != ErrEmpty {
		t.Fatalf("err %v", err)
	}
	one := collect.Chart{Source: "flat", Series: []collect.Series{{Points: []collect.Point{{T: t0, V: 0}}}}}
	if _, err := Render(one); err != nil {
		t.Fatalf("a one-sample flat series: %v", err)
	}
}

// NaN and infinite samples (Prometheus answers NaN for 0/0) are gaps, not
// a broken chart; a series with nothing but them is left out.
func TestNonFiniteSamplesAreSkipped(t *testing.T) {
	nan := collect.Series{Label: "all-nan", Points: []collect.Point{{T: t0, V: math.NaN()}, {T: t0.Add(time.Minute), V: math.Inf(1)}}}
	ok := collect.Series{Label: "ok", Points: []collect.Point{{T: t0, V: 1}, {T: t0.Add(time.Minute), V: math.NaN()}, {T: t0.Add(2 * time.Minute), V: 3}}}
	p, err := build(collect.Chart{Source: "x", Start: t0.Add(time.Minute), Series: []collect.Series{nan, ok}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min > 1 || p.Y.Max < 3 || math.IsNaN(p.Y.Min) || math.IsNaN(p.Y.Max) {
		t.Fatalf("y %v..%v", p.Y.Min, p.Y.Max)
	}
	if _, err := Render(collect.Chart{Source: "x", Series: []collect.Series{nan}}); err != ErrEmpty {
		t.Fatalf("only NaN: %v", err)
	}
}
