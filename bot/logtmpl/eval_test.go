package logtmpl

import (
	"encoding/csv"
	"github.com/opsgate/opsgate/test/evaldata"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type labelled struct {
	content, template string
}

func readStructured(t testing.TB, path string) []labelled {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ci, ti := -1, -1
	for i, h := range rows[0] {
		switch h {
		case "Content":
			ci = i
		case "EventTemplate":
			ti = i
		}
	}
	out := make([]labelled, 0, len(rows)-1)
	for _, r := range rows[1:] {
		out = append(out, labelled{content: r[ci], template: r[ti]})
	}
	return out
}

// groupingAccuracy: a line is correct when the lines sharing its predicted
// cluster are exactly the lines sharing its ground-truth template.
func groupingAccuracy(pred []string, truth []string) float64 {
	byPred := map[string][]int{}
	for i, p := range pred {
		byPred[p] = append(byPred[p], i)
	}
	truthCount := map[string]int{}
	for _, g := range truth {
		truthCount[g]++
	}
	correct := 0
	for _, lines := range byPred {
		g := truth[lines[0]]
		ok := truthCount[g] == len(lines)
		for _, i := range lines[1:] {
			if truth[i] != g {
				ok = false
				break
			}
		}
		if ok {
			correct += len(lines)
		}
	}
	return float64(correct) / float64(len(pred))
}

func evalGA(t testing.TB, cfg Config, verbose bool) float64 {
	dir := evaldata.Need(t, "loghub-2k")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*_2k.log_structured.csv"))
	sort.Strings(files)
	total := 0.0
	for _, f := range files {
		rows := readStructured(t, f)
		m := NewMiner(cfg)
		cl := make([]*Cluster, len(rows))
		pred := make([]string, len(rows))
		truth := make([]string, len(rows))
		for i, r := range rows {
			cl[i] = m.Add(r.content)
			truth[i] = r.template
		}
		for i, c := range cl {
			pred[i] = c.Group()
		}
		ga := groupingAccuracy(pred, truth)
		total += ga
		if verbose {
			t.Logf("%-12s GA %.3f  (%d clusters, %d truth templates)", filepath.Base(filepath.Dir(f)), ga, len(m.Clusters()), countDistinct(truth))
		}
	}
	return total / float64(len(files))
}

func TestGrid(t *testing.T) {
	if os.Getenv("GRID") == "" {
		t.Skip("GRID=1 searches one global configuration")
	}
	for _, split := range []string{"", "=", "=:,()[]"} {
		for _, depth := range []int{1, 2, 3} {
			for _, sim := range []float64{0.4, 0.5, 0.6, 0.7} {
				for _, wild := range []bool{true} {
					cfg := Config{Depth: depth, Similarity: sim, MaxChildren: 100, Split: split, WildSim: wild}
					for _, ml := range []float64{0, 0.75, 0.85} {
						for _, wv := range []int{0, 3, 4, 5, 6} {
							cfg.MergeLengths, cfg.WordVariants = ml, wv
							t.Logf("%.4f %+v", evalGA(t, cfg, false), cfg)
						}
					}
				}
			}
		}
	}
}

// TestEvalLoghubGARaw feeds the raw lines (headers included) through
// StripHeader, aligned with the structured rows.
func TestEvalLoghubGARaw(t *testing.T) {
	dir := evaldata.Need(t, "loghub-2k")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*_2k.log_structured.csv"))
	sort.Strings(files)
	total := 0.0
	for _, f := range files {
		rows := readStructured(t, f)
		raw, err := os.ReadFile(strings.TrimSuffix(f, "_structured.csv"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		if len(lines) != len(rows) {
			t.Fatalf("%s: %d raw lines, %d rows", f, len(lines), len(rows))
		}
		m := NewMiner(Default)
		cl := make([]*Cluster, len(rows))
		truth := make([]string, len(rows))
		for i, l := range lines {
			cl[i] = m.Add(StripHeader(l))
			truth[i] = rows[i].template
		}
		pred := make([]string, len(cl))
		for i, c := range cl {
			pred[i] = c.Group()
		}
		ga := groupingAccuracy(pred, truth)
		total += ga
		t.Logf("%-12s raw GA %.3f", filepath.Base(filepath.Dir(f)), ga)
	}
	t.Logf("average GA on raw lines: %.4f", total/float64(len(files)))
}

// TestEvalLoghubGA is the Loghub-2k grouping-accuracy evaluation on the
// Content column with the one default configuration.
func TestEvalLoghubGA(t *testing.T) {
	avg := evalGA(t, Default, true)
	t.Logf("average GA on Content: %.4f", avg)
	if avg < 0.90 {
		t.Errorf("average GA %.4f < 0.90", avg)
	}
}

func countDistinct(s []string) int {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return len(m)
}

func TestDiagnose(t *testing.T) {
	ds := os.Getenv("DIAG")
	if ds == "" {
		t.Skip("DIAG=<dataset> explains grouping errors")
	}
	rows := readStructured(t, filepath.Join(evaldata.Need(t, "loghub-2k"), ds, ds+"_2k.log_structured.csv"))
	m := NewMiner(Default)
	clusterOf := map[string]*Cluster{}
	byTruth := map[string]map[string][]string{}
	byPred := map[string]map[string]int{}
	for _, r := range rows {
		c := m.Add(r.content)
		clusterOf[c.ID] = c
		if byTruth[r.template] == nil {
			byTruth[r.template] = map[string][]string{}
		}
		byTruth[r.template][c.ID] = append(byTruth[r.template][c.ID], r.content)
		if byPred[c.ID] == nil {
			byPred[c.ID] = map[string]int{}
		}
		byPred[c.ID][r.template]++
	}
	type gp struct {
		g     string
		lines int
	}
	var order []gp
	for g, parts := range byTruth {
		n := 0
		for _, l := range parts {
			n += len(l)
		}
		order = append(order, gp{g, n})
	}
	sort.Slice(order, func(i, j int) bool { return order[i].lines > order[j].lines })
	shown := 0
	for _, o := range order {
		g, parts := o.g, byTruth[o.g]
		if len(parts) > 1 && shown < 12 {
			shown++
			t.Logf("SPLIT truth %q (%d lines) into %d clusters", g, o.lines, len(parts))
			k := 0
			for id, lines := range parts {
				if k < 3 {
					t.Logf("   cluster %s (%d): %.150s  | tmpl %.150s", id, len(lines), lines[0], clusterOf[id].String())
				}
				k++
			}
		}
	}
	shown = 0
	var ids []string
	for id := range byPred {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return clusterOf[ids[i]].Count > clusterOf[ids[j]].Count })
	for _, id := range ids {
		gs := byPred[id]
		if len(gs) > 1 && shown < 8 {
			shown++
			t.Logf("MERGED cluster %s %.150q holds %d truth templates: %v", id, clusterOf[id].String(), len(gs), gs)
		}
	}
}
