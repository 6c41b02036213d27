package collect

import (
	"math"
	"strings"
	"testing"
	"time"
)

// NaN and infinite samples are gaps: they neither poison the baseline nor
// become the peak.
func TestNonFiniteSamplesAreGaps(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
	pts := []Point{{t0, math.NaN()}, {t0.Add(time.Minute), 2}, {t0.Add(2 * time.Minute), math.Inf(1)}, {t0.Add(3 * time.Minute), 2}, {t0.Add(5 * time.Minute), 55}}
	med, half, ok := Band(pts, t0.Add(4*time.Minute))
	if !ok || med != 2 || math.IsNaN(half) {
		t.Fatalf("band %v ±%v %v", med, half, ok)
	}
	s := Summarize(pts, t0.Add(4*time.Minute))
	if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") || !strings.Contains(s, "baseline 2, now 55") {
		t.Fatalf("summary %q", s)
	}
	if s := Summarize([]Point{{t0, math.NaN()}}, t0); s != "no samples" {
		t.Fatalf("only NaN: %q", s)
	}
	bad := Source{Name: "m", Prometheus: &Prometheus{URL: "http://prom:9090", Query: "up", Threshold: func() *float64 { v := math.Inf(1); return &v }()}}
	if err := bad.validate(false); err == nil {
		t.Fatal("an infinite threshold was accepted")
	}
}

// Thinning keeps a one-sample spike, the first and the last sample, and
// at most the points asked for.
func TestThinKeepsSpikesAndEnds(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
	var pts []Point
	for i := range 5000 {
		v := 1.0
		if i == 2345 {
			v = 99
		}
		pts = append(pts, Point{t0.Add(time.Duration(i) * time.Second), v})
	}
	got := thin(pts, MaxChartPoints)
	if len(got) > MaxChartPoints || got[0] != pts[0] || got[len(got)-1] != pts[len(pts)-1] {
		t.Fatalf("%d points, first %v last %v", len(got), got[0], got[len(got)-1])
	}
	spike := false
	for i, p := range got {
		spike = spike || p.V == 99
		if i > 0 && !p.T.After(got[i-1].T) {
			t.Fatalf("out of time order at %d", i)
		}
	}
	if !spike {
		t.Fatal("the spike was thinned away")
	}
}
