package cli

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/test/evaldata"
)

// loghubSet is one labelled Loghub-2k set: the raw lines and each line's
// true template (EventId).
type loghubSet struct {
	name  string
	raw   []byte
	truth []string
}

func loghubSets(t *testing.T) []loghubSet {
	dir := evaldata.Need(t, "loghub-2k")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*_2k.log_structured.csv"))
	sort.Strings(files)
	var out []loghubSet
	for _, f := range files {
		raw, err := os.ReadFile(strings.TrimSuffix(f, "_structured.csv"))
		if err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(fh)
		r.LazyQuotes = true
		rows, err := r.ReadAll()
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		ei := -1
		for i, h := range rows[0] {
			if h == "EventId" {
				ei = i
			}
		}
		s := loghubSet{name: filepath.Base(filepath.Dir(f)), raw: raw}
		for _, row := range rows[1:] {
			s.truth = append(s.truth, row[ei])
		}
		out = append(out, s)
	}
	return out
}

// groupingAccuracy: a line is correct when the lines sharing its predicted
// group are exactly the lines sharing its true template.
func groupingAccuracy(pred, truth []string) float64 {
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
			ok = ok && truth[i] == g
		}
		if ok {
			correct += len(lines)
		}
	}
	return float64(correct) / float64(len(pred))
}

// The user-facing measure: `opsgate templates` on each raw Loghub-2k log,
// its output grouped by template_id as printed.
//
//	go test ./bot/cli -run TestEvalTemplatesCLI -v
func TestEvalTemplatesCLI(t *testing.T) {
	t.Setenv("OPSGATE_CONFIG", "")
	sum := 0.0
	sets := loghubSets(t)
	for _, s := range sets {
		code, out, errOut := runIn(t, string(s.raw), "templates")
		if code != 0 {
			t.Fatalf("%s: %d %s", s.name, code, errOut)
		}
		var pred []string
		sc := bufio.NewScanner(bytes.NewReader([]byte(out)))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l struct {
				ID string `json:"template_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			pred = append(pred, l.ID)
		}
		if len(pred) != len(s.truth) {
			t.Fatalf("%s: %d lines out, %d labelled", s.name, len(pred), len(s.truth))
		}
		ga := groupingAccuracy(pred, s.truth)
		sum += ga
		t.Logf("%-12s GA %.3f", s.name, ga)
	}
	mean := sum / float64(len(sets))
	t.Logf("mean GA by printed template_id: %.3f", mean)
	if mean < 0.90 {
		t.Errorf("mean grouping accuracy %.3f < 0.90", mean)
	}
}

// Novelty through the command: each set's first half is the history
// (--history), its second half the incident on stdin; a line's "new" is
// right when its true template does not occur in the history.
//
//	go test ./bot/cli -run TestEvalNoveltyCLI -v
func TestEvalNoveltyCLI(t *testing.T) {
	t.Setenv("OPSGATE_CONFIG", "")
	var tp, fp, fn, tn int
	for _, s := range loghubSets(t) {
		lines := strings.SplitAfter(string(s.raw), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		half := len(lines) / 2
		hist := filepath.Join(t.TempDir(), s.name+".history.log")
		if err := os.WriteFile(hist, []byte(strings.Join(lines[:half], "")), 0o600); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, id := range s.truth[:half] {
			seen[id] = true
		}
		code, out, errOut := runIn(t, strings.Join(lines[half:], ""), "templates", "--history", hist)
		if code != 0 {
			t.Fatalf("%s: %d %s", s.name, code, errOut)
		}
		var got []templateLine
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			var x templateLine
			if err := json.Unmarshal([]byte(l), &x); err != nil || x.New == nil {
				t.Fatalf("%s: %q %v", s.name, l, err)
			}
			got = append(got, x)
		}
		if len(got) != len(lines)-half {
			t.Fatalf("%s: %d lines out", s.name, len(got))
		}
		a, b, c := 0, 0, 0
		for i, x := range got {
			truth := !seen[s.truth[half+i]]
			switch {
			case *x.New && truth:
				a++
			case *x.New:
				b++
			case truth:
				c++
			default:
				tn++
			}
		}
		tp, fp, fn = tp+a, fp+b, fn+c
		t.Logf("%-12s new lines: %4d true, %4d flagged, %4d right, %3d wrong, %3d missed", s.name, a+c, a+b, a, b, c)
	}
	p, r := float64(tp)/float64(tp+fp), float64(tp)/float64(tp+fn)
	t.Logf("over all incident halves: %d lines, %d truly new; precision %.3f, recall %.3f", tp+fp+fn+tn, tp+fn, p, r)
	if p < 0.9 || r < 0.9 {
		t.Errorf("precision %.3f, recall %.3f: both must be at least 0.9", p, r)
	}
}
