package search

import (
	"encoding/csv"
	"github.com/opsgate/opsgate/test/evaldata"
	"os"
	"path/filepath"
	"testing"
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

type recall struct{ at1, at5, at10 float64 }

func evalGitBugs(t testing.TB, dir, reports, pairs string, build func() *Index) recall {
	docs := readCSV(t, filepath.Join(evaldata.Dir(), "gitbugs", dir, reports))
	ix := build()
	byID := map[string]Doc{}
	for _, d := range docs {
		created := ParseTime(d["Created"])
		doc := Doc{ID: d["Issue id"], Title: d["Summary"], Body: d["Description"], Time: created}
		ix.Add(doc)
		byID[doc.ID] = doc
	}
	var n, h1, h5, h10 int
	for _, p := range readCSV(t, filepath.Join(evaldata.Dir(), "gitbugs", dir, pairs)) {
		q, ok := byID[p["Issue id"]]
		if _, ok2 := byID[p["Duplicate id"]]; !ok || !ok2 {
			continue
		}
		n++
		hits := ix.SearchAt(q.Title, q.Body, q.Time, 10, q.ID)
		for i, h := range hits {
			if h.ID == p["Duplicate id"] {
				if i < 1 {
					h1++
				}
				if i < 5 {
					h5++
				}
				h10++
				break
			}
		}
	}
	return recall{float64(h1) / float64(n), float64(h5) / float64(n), float64(h10) / float64(n)}
}

func TestEvalGitBugs(t *testing.T) {
	for _, ds := range []struct{ dir, reports, pairs string }{
		{"hadoop", "hadoop_bugs.csv", "hadoop_bugs-combined.csv"},
		{"seamonkey", "SeaMonkey_bugs.csv", "SeaMonkey_bugs-combined.csv"},
	} {
		r := evalGitBugs(t, ds.dir, ds.reports, ds.pairs, NewIndex)
		t.Logf("%-10s R@1 %.3f  R@5 %.3f  R@10 %.3f", ds.dir, r.at1, r.at5, r.at10)
		plain := evalGitBugs(t, ds.dir, ds.reports, ds.pairs, func() *Index {
			ix := NewIndex()
			ix.TitleWeight, ix.QueryBody, ix.TitleMatch, ix.TimeBoost, ix.B = 1, 1, 0, 0, 0.75
			return ix
		})
		t.Logf("%-10s plain BM25 with this tokenizer: R@1 %.3f  R@5 %.3f  R@10 %.3f", ds.dir, plain.at1, plain.at5, plain.at10)
		if r.at1 < 0.50 || r.at5 < 0.75 {
			t.Errorf("%s: R@1 %.3f (want ≥ 0.50), R@5 %.3f (want ≥ 0.75)", ds.dir, r.at1, r.at5)
		}
	}
}
