package search

import (
	"os"
	"testing"
	"time"
)

func TestGridSearch(t *testing.T) {
	if os.Getenv("GRID") == "" {
		t.Skip("GRID=1")
	}
	type cfg struct {
		tw, b, tm, boost, qb float64
		scale                time.Duration
	}
	var cfgs []cfg
	for _, tw := range []float64{3, 5} {
		for _, tm := range []float64{0, 0.5, 1, 2} {
			for _, boost := range []float64{1, 2} {
				for _, qb := range []float64{0.3, 0.6, 1} {
					cfgs = append(cfgs, cfg{tw, 0.9, tm, boost, qb, 90 * 24 * time.Hour})
				}
			}
		}
	}
	for _, c := range cfgs {
		build := func() *Index {
			ix := NewIndex()
			ix.TitleWeight, ix.B, ix.TitleMatch, ix.TimeBoost, ix.QueryBody, ix.TimeScale = c.tw, c.b, c.tm, c.boost, c.qb, c.scale
			return ix
		}
		h := evalGitBugs(t, "hadoop", "hadoop_bugs.csv", "hadoop_bugs-combined.csv", build)
		s := evalGitBugs(t, "seamonkey", "SeaMonkey_bugs.csv", "SeaMonkey_bugs-combined.csv", build)
		t.Logf("%+v  H %.3f/%.3f  S %.3f/%.3f  min1 %.3f", c, h.at1, h.at5, s.at1, s.at5, min(h.at1, s.at1))
	}
}
