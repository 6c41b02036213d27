package kb

import (
	"github.com/opsgate/opsgate/test/evaldata"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/opsgate/opsgate/knowledge/search"
)

// TestEvalPostmortems: leave-one-out category prediction from the top-5
// neighbours (score-weighted vote). A document's categories are all of its
// front matter categories; the prediction is one category; micro-F1 counts
// (document, category) pairs, macro-F1 averages per category.
func TestEvalPostmortems(t *testing.T) {
	dir := filepath.Join(evaldata.Dir(), "postmortems")
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	if len(files) == 0 {
		t.Skipf("evaluation data %s is absent (it lives beside the checkout in shared/data)", dir)
	}
	type doc struct {
		t    Ticket
		cats []string
	}
	var docs []doc
	ix := search.NewIndex()
	if os.Getenv("PLAIN") != "" {
		ix.TitleWeight, ix.QueryBody, ix.TitleMatch, ix.TimeBoost, ix.B = 1, 1, 0, 0, 0.75
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := ParseMarkdown(f, data)
		if err != nil {
			t.Fatalf("%v", err)
		}
		var fm struct {
			Categories []string `yaml:"categories"`
		}
		parts := strings.SplitN(string(data), "\n---", 2)
		_ = yaml.Unmarshal([]byte(strings.TrimPrefix(parts[0], "---\n")), &fm)
		title, body := tk.SearchText()
		ix.Add(search.Doc{ID: tk.ID, Title: title, Body: body})
		if len(fm.Categories) > 0 {
			docs = append(docs, doc{tk, fm.Categories})
		}
	}
	byID := map[string][]string{}
	for _, d := range docs {
		byID[d.t.ID] = d.cats
	}
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	stp, sfp, sfn := map[string]int{}, map[string]int{}, map[string]int{} // first category only
	for _, d := range docs {
		hits := ix.Search(d.t.Title, d.t.Body, 5, d.t.ID)
		votes := map[string]float64{}
		for _, h := range hits {
			for _, c := range byID[h.ID] {
				votes[c] += h.Score
			}
		}
		best, bs := "", -1.0
		keys := make([]string, 0, len(votes))
		for c := range votes {
			keys = append(keys, c)
		}
		sort.Strings(keys)
		for _, c := range keys {
			if votes[c] > bs {
				best, bs = c, votes[c]
			}
		}
		if best == d.cats[0] {
			stp[best]++
		} else {
			sfp[best]++
			sfn[d.cats[0]]++
		}
		gold := map[string]bool{}
		for _, c := range d.cats {
			gold[c] = true
		}
		// multi-label: every category with at least half the neighbours' vote
		total := 0.0
		for _, h := range hits {
			total += h.Score
		}
		pred := map[string]bool{best: best != ""}
		for c, v := range votes {
			if v >= 0.5*total {
				pred[c] = true
			}
		}
		for c := range pred {
			if !pred[c] {
				continue
			}
			if gold[c] {
				tp[c]++
			} else {
				fp[c]++
			}
		}
		for c := range gold {
			if !pred[c] {
				fn[c]++
			}
		}
	}
	var TP, FP, FN int
	cats := map[string]bool{}
	for c, n := range tp {
		TP += n
		cats[c] = true
	}
	for c, n := range fp {
		FP += n
		cats[c] = true
	}
	for c, n := range fn {
		FN += n
		cats[c] = true
	}
	f1 := func(tp, fp, fn int) float64 {
		if tp == 0 {
			return 0
		}
		p, r := float64(tp)/float64(tp+fp), float64(tp)/float64(tp+fn)
		return 2 * p * r / (p + r)
	}
	macro := 0.0
	for c := range cats {
		macro += f1(tp[c], fp[c], fn[c])
	}
	macro /= float64(len(cats))
	t.Logf("postmortems: %d of %d files with categories, %d categories; top-5 kNN, multi-label (categories with ≥ half the weighted vote): micro-F1 %.3f, macro-F1 %.3f",
		len(docs), len(files), len(cats), f1(TP, FP, FN), macro)
	var sTP, sFP, sFN int
	smacro := 0.0
	for c := range cats {
		sTP, sFP, sFN = sTP+stp[c], sFP+sfp[c], sFN+sfn[c]
		smacro += f1(stp[c], sfp[c], sfn[c])
	}
	t.Logf("postmortems: first category as the one gold label: micro-F1 %.3f, macro-F1 %.3f", f1(sTP, sFP, sFN), smacro/float64(len(cats)))
}
