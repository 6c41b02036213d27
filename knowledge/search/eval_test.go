package search

import (
	"encoding/csv"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/test/evaldata"
)

func readCSV(t testing.TB, path string) []map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("evaluation data %s is absent (it lives beside the checkout in shared/data): %v", path, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			if i < len(row) {
				m[h] = row[i]
			}
		}
		out = append(out, m)
	}
	return out
}

// Holdout splits the duplicate pairs by a hash of the query's id: weights
// are tuned on the other half, and only this half is reported (the CLI
// evaluation, bot/cli TestEvalKBSearchCLI, splits the same way).
func Holdout(id string) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()%2 == 1
}

type recall struct {
	n              int
	at1, at5, at10 float64
}

// query shapes a report into what is asked: as the bot asks (title, body,
// time) or free text.
type query func(d Doc) (title, body string, at time.Time)

func botQuery(d Doc) (string, string, time.Time) { return d.Title, d.Body, d.Time }

type gitbugs struct {
	docs  []Doc
	pairs []struct {
		q    Doc
		dups map[string]bool
	}
}

var gitbugsSets = []struct{ dir, reports, pairs string }{
	{"hadoop", "hadoop_bugs.csv", "hadoop_bugs-combined.csv"},
	{"seamonkey", "SeaMonkey_bugs.csv", "SeaMonkey_bugs-combined.csv"},
}

func loadGitBugs(t testing.TB, dir, reports, pairs string) *gitbugs {
	g := &gitbugs{}
	byID := map[string]Doc{}
	for _, d := range readCSV(t, filepath.Join(evaldata.Dir(), "gitbugs", dir, reports)) {
		doc := Doc{ID: d["Issue id"], Title: d["Summary"], Body: d["Description"], Time: ParseTime(d["Created"])}
		g.docs = append(g.docs, doc)
		byID[doc.ID] = doc
	}
	for _, p := range readCSV(t, filepath.Join(evaldata.Dir(), "gitbugs", dir, pairs)) {
		q, ok := byID[p["Issue id"]]
		if !ok {
			continue
		}
		dups := map[string]bool{}
		for _, d := range strings.Split(p["Duplicate id"], ",") {
			if d = strings.TrimSpace(d); byID[d].ID != "" {
				dups[d] = true
			}
		}
		if len(dups) > 0 {
			g.pairs = append(g.pairs, struct {
				q    Doc
				dups map[string]bool
			}{q, dups})
		}
	}
	return g
}

// eval returns the recall on the tune half and on the holdout half.
func (g *gitbugs) eval(build func() *Index, ask query) (tune, hold recall) {
	ix := build()
	for _, d := range g.docs {
		ix.Add(d)
	}
	return g.ask(ix, ask)
}

// ask runs the pairs' queries on a built index.
func (g *gitbugs) ask(ix *Index, ask query) (tune, hold recall) {
	for _, p := range g.pairs {
		r := &tune
		if Holdout(p.q.ID) {
			r = &hold
		}
		r.n++
		title, body, at := ask(p.q)
		for i, h := range ix.SearchAt(title, body, at, 10, p.q.ID) {
			if p.dups[h.ID] {
				if i < 1 {
					r.at1++
				}
				if i < 5 {
					r.at5++
				}
				r.at10++
				break
			}
		}
	}
	for _, r := range []*recall{&tune, &hold} {
		n := float64(max(r.n, 1))
		r.at1, r.at5, r.at10 = r.at1/n, r.at5/n, r.at10/n
	}
	return tune, hold
}

// The index's own evaluation (the CLI's, through `kb search --queries`,
// is in bot/cli): the holdout half.
func TestEvalGitBugs(t *testing.T) {
	for _, ds := range gitbugsSets {
		g := loadGitBugs(t, ds.dir, ds.reports, ds.pairs)
		tune, r := g.eval(NewIndex, botQuery)
		t.Logf("%-10s tune    (n %d) R@1 %.3f  R@5 %.3f", ds.dir, tune.n, tune.at1, tune.at5)
		t.Logf("%-10s holdout (n %d) R@1 %.3f  R@5 %.3f  R@10 %.3f", ds.dir, r.n, r.at1, r.at5, r.at10)
		_, plain := g.eval(func() *Index {
			ix := NewIndex()
			ix.TitleWeight, ix.QueryBody, ix.TitleMatch, ix.TimeBoost, ix.B = 1, 1, 0, 0, 0.75
			return ix
		}, botQuery)
		t.Logf("%-10s plain BM25 with this tokenizer: R@1 %.3f  R@5 %.3f  R@10 %.3f", ds.dir, plain.at1, plain.at5, plain.at10)
		if r.at1 < 0.50 || r.at5 < 0.70 {
			t.Errorf("%s: R@1 %.3f (want ≥ 0.50), R@5 %.3f (want ≥ 0.70)", ds.dir, r.at1, r.at5)
		}
	}
}
