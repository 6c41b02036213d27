package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/test/redactcorpus"
)

// redactScore is what one split of the generated corpus measured.
type redactScore struct {
	planted, survived           int
	byShape                     map[string][2]int // shape → planted, survived
	repeated, consistent        int               // occurrences of values seen more than once; of them, under their usual placeholder
	cleanLines, cleanChanged    int
	examples                    []string
	consistencyMisses, cleanHit []string
}

// scoreRedact runs `opsgate redact --json` (the user-facing command) over
// each incident of the split, as one session per incident.
func scoreRedact(t *testing.T, split redactcorpus.Split, incidents, perIncident int) redactScore {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "opsgate.yaml")
	if err := os.WriteFile(cfg, []byte(redactcorpus.Config), 0o600); err != nil {
		t.Fatal(err)
	}
	sc := redactScore{byShape: map[string][2]int{}}
	for _, inc := range redactcorpus.Generate(split, incidents, perIncident, 20261202) {
		var in strings.Builder
		for _, l := range inc.Lines {
			in.WriteString(l.Text + "\n")
		}
		code, out, errOut := runIn(t, in.String(), "redact", "--json", "--config", cfg)
		if code != 0 {
			t.Fatalf("redact: %d %s", code, errOut)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		type occurrence struct{ placeholder string } // "" = not masked on its own
		occ := map[string][]occurrence{}
		for i := 0; dec.More(); i++ {
			var jl struct {
				Text     string           `json:"text"`
				Findings []redact.Finding `json:"findings"`
			}
			if err := dec.Decode(&jl); err != nil {
				t.Fatal(err)
			}
			l := inc.Lines[i]
			if l.Shape == "clean" {
				sc.cleanLines++
				if jl.Text != l.Text {
					sc.cleanChanged++
					if len(sc.cleanHit) < 12 {
						sc.cleanHit = append(sc.cleanHit, fmt.Sprintf("%q → %q", l.Text, jl.Text))
					}
				}
				continue
			}
			for _, v := range l.Planted {
				sc.planted++
				n := sc.byShape[l.Shape]
				n[0]++
				if strings.Contains(jl.Text, v) {
					sc.survived++
					n[1]++
					if len(sc.examples) < 40 {
						sc.examples = append(sc.examples, fmt.Sprintf("[%s] %q survives in %q", l.Shape, v, jl.Text))
					}
				}
				sc.byShape[l.Shape] = n
				at := strings.Index(l.Text, v)
				p := ""
				for _, f := range jl.Findings {
					if f.Start == at && f.End == at+len(v) {
						p = f.Placeholder
					}
				}
				occ[v] = append(occ[v], occurrence{p})
			}
		}
		for v, os := range occ {
			if len(os) < 2 {
				continue
			}
			count := map[string]int{}
			for _, o := range os {
				count[o.placeholder]++
			}
			best := 0
			for p, n := range count {
				if p != "" && n > best {
					best = n
				}
			}
			sc.repeated += len(os)
			sc.consistent += best
			if best < len(os) && len(sc.consistencyMisses) < 12 {
				sc.consistencyMisses = append(sc.consistencyMisses, fmt.Sprintf("%q: %v", v, count))
			}
		}
	}
	return sc
}

func (sc redactScore) report(t *testing.T, split redactcorpus.Split) {
	t.Helper()
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }
	t.Logf("%s: planted values surviving %d/%d = %.2f%%; repeated values under one placeholder %d/%d = %.1f%%; clean lines changed %d/%d = %.2f%%",
		split, sc.survived, sc.planted, pct(sc.survived, sc.planted), sc.consistent, sc.repeated, pct(sc.consistent, sc.repeated),
		sc.cleanChanged, sc.cleanLines, pct(sc.cleanChanged, sc.cleanLines))
	names := make([]string, 0, len(sc.byShape))
	for n := range sc.byShape {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := sc.byShape[n]
		t.Logf("  %-20s %5d planted, %4d survive (%.1f%%)", n, c[0], c[1], pct(c[1], c[0]))
	}
	for _, e := range sc.examples {
		t.Log("  survives: " + e)
	}
	for _, e := range sc.consistencyMisses {
		t.Log("  placeholders differ: " + e)
	}
	for _, e := range sc.cleanHit {
		t.Log("  clean line changed: " + e)
	}
}

// TestEvalRedactGenerated measures `opsgate redact` on generated lines of
// many shapes; the engine may be tuned on the Tune half only, and the
// thresholds hold on the Holdout half.
func TestEvalRedactGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation")
	}
	for _, split := range []redactcorpus.Split{redactcorpus.Tune, redactcorpus.Holdout} {
		sc := scoreRedact(t, split, 150, 40)
		sc.report(t, split)
		if split != redactcorpus.Holdout {
			continue
		}
		if r := float64(sc.survived) / float64(sc.planted); r > 0.01 {
			t.Errorf("holdout: %.2f%% of planted values survive (at most 1%%)", 100*r)
		}
		if r := float64(sc.consistent) / float64(sc.repeated); r < 0.95 {
			t.Errorf("holdout: repeated values share their placeholder %.1f%% of the time (at least 95%%)", 100*r)
		}
		if r := float64(sc.cleanChanged) / float64(sc.cleanLines); r > 0.02 {
			t.Errorf("holdout: %.2f%% of clean lines changed (at most 2%%)", 100*r)
		}
	}
}
