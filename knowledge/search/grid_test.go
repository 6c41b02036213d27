package search

import (
	"os"
	"testing"
	"time"
)

// TestGridSearch tunes the index's weights on the tune half of both
// GitBugs sets only (GRID=1); the holdout half is printed for the best
// configuration, never used to choose it.
func TestGridSearch(t *testing.T) {
	if os.Getenv("GRID") == "" {
		t.Skip("GRID=1")
	}
	var sets []*gitbugs
	for _, ds := range gitbugsSets {
		sets = append(sets, loadGitBugs(t, ds.dir, ds.reports, ds.pairs))
	}
	type cfg struct {
		k1, tw, b, tm, boost, qb, btm float64
		scale                         time.Duration
	}
	best, bestScore := cfg{}, -1.0
	btms := []float64{0, 0.1, 0.25}
	for _, tw := range []float64{2, 3, 5} {
		// The title weight is applied when documents are added; the rest
		// only when asking: one index per title weight.
		ixs := make([]*Index, len(sets))
		for i, g := range sets {
			ixs[i] = NewIndex()
			ixs[i].TitleWeight = tw
			for _, d := range g.docs {
				ixs[i].Add(d)
			}
		}
		for _, k1 := range []float64{1.2, 1.6, 2.0} {
			for _, b := range []float64{0.6, 0.75, 0.9} {
				for _, tm := range []float64{0, 0.5, 1, 2} {
					for _, boost := range []float64{1} {
						for _, qb := range []float64{0.2, 0.3, 0.5, 0.8} {
							for _, scale := range []time.Duration{30 * 24 * time.Hour, 90 * 24 * time.Hour} {
								for _, btm := range btms {
									c := cfg{k1, tw, b, tm, boost, qb, btm, scale}
									score := 0.0
									for i, g := range sets {
										ix := ixs[i]
										ix.K1, ix.B, ix.TitleMatch, ix.TimeBoost, ix.QueryBody, ix.TimeScale, ix.BodyTitleMatch = c.k1, c.b, c.tm, c.boost, c.qb, c.scale, c.btm
										tune, _ := g.ask(ix, botQuery)
										score += tune.at1 + tune.at5
									}
									if score > bestScore {
										best, bestScore = c, score
										t.Logf("tune %.3f  %+v", score/2, c)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	build := func() *Index {
		ix := NewIndex()
		ix.K1, ix.TitleWeight, ix.B, ix.TitleMatch, ix.TimeBoost, ix.QueryBody, ix.TimeScale, ix.BodyTitleMatch = best.k1, best.tw, best.b, best.tm, best.boost, best.qb, best.scale, best.btm
		return ix
	}
	for i, g := range sets {
		tune, hold := g.eval(build, botQuery)
		t.Logf("best %+v on %s: tune R@1 %.3f R@5 %.3f | holdout R@1 %.3f R@5 %.3f", best, gitbugsSets[i].dir, tune.at1, tune.at5, hold.at1, hold.at5)
	}
}

// TestFreeTextShapes compares ways of asking free text (GRID=1), on the
// tune half only; the holdout half is printed for the record.
func TestFreeTextShapes(t *testing.T) {
	if os.Getenv("GRID") == "" {
		t.Skip("GRID=1")
	}
	shapes := map[string]query{
		"all as title": func(d Doc) (string, string, time.Time) { return d.Title + "\n" + d.Body, "", time.Time{} },
		"split": func(d Doc) (string, string, time.Time) {
			ti, b := SplitFreeText(d.Title + "\n" + d.Body)
			return ti, b, time.Time{}
		},
		"line + all": func(d Doc) (string, string, time.Time) {
			ti, _ := SplitFreeText(d.Title + "\n" + d.Body)
			return ti, d.Title + "\n" + d.Body, time.Time{}
		},
		"all as body": func(d Doc) (string, string, time.Time) { return "", d.Title + "\n" + d.Body, time.Time{} },
	}
	for _, ds := range gitbugsSets {
		g := loadGitBugs(t, ds.dir, ds.reports, ds.pairs)
		for name, q := range shapes {
			tune, hold := g.eval(NewIndex, q)
			t.Logf("%-10s %-13s tune R@1 %.3f R@5 %.3f | holdout R@1 %.3f R@5 %.3f", ds.dir, name, tune.at1, tune.at5, hold.at1, hold.at5)
		}
	}
}
