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
