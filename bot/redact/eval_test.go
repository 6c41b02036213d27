package redact

import (
	"bufio"
	"encoding/json"
	"github.com/opsgate/opsgate/test/evaldata"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type gitleaksCase struct {
	Rule string   `json:"rule"`
	TPs  []string `json:"tps"`
	FPs  []string `json:"fps"`
}

// notLogRules are gitleaks rules whose true positives are not text a log
// line carries (binary files, whole multi-document YAML manifests).
var notLogRules = map[string]bool{"pkcs12-file": true, "kubernetes-secret-yaml": true}

// secretOf picks the secret string of a gitleaks true-positive case: the
// longest run of token characters that is not a key name.
func secretOf(tp string) string {
	best := ""
	for _, f := range strings.FieldsFunc(tp, func(r rune) bool {
		return !(r < 128 && (isAlnum(byte(r)) || strings.ContainsRune("+/=_-.~$", r)))
	}) {
		f = strings.Trim(f, ".=")
		if eq := strings.IndexByte(f, '='); eq > 0 && identKey([]byte(f[:eq])) && secretKey([]byte(f[:eq])) != expNone {
			f = f[eq+1:] // KEY=value
		}
		low := strings.ToLower(f)
		if strings.Trim(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == "" || strings.HasSuffix(low, "=true") ||
			strings.HasPrefix(f, "-") || strings.HasPrefix(f, "/") || (len(f) < 16 && strings.Trim(low, "abcdefghijklmnopqrstuvwxyz") == "") {
			continue // BACKUP_ENABLED, BACKUP_ENABLED=true
		}
		if len(f) < 8 || strings.Contains(low, "token") || strings.Contains(low, "secret") || strings.Contains(low, "setproperty") ||
			strings.Contains(low, "password") || strings.HasSuffix(low, "key") || strings.Contains(low, "config.ini") {
			continue
		}
		if len(f) > len(best) {
			best = f
		}
	}
	return best
}

func TestEvalGitleaks(t *testing.T) {
	path := filepath.Join(evaldata.Need(t, "gitleaks-fixtures"), "cases.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := Default()
	var tp, tpCaught, fp, fpKept, skipped int
	missByRule := map[string]int{}
	var examples []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var c gitleaksCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		if notLogRules[c.Rule] {
			continue
		}
		for _, x := range c.TPs {
			secret := secretOf(x)
			if secret == "" {
				skipped++
				continue
			}
			tp++
			out := e.NewSession().String(x)
			if !strings.Contains(out, secret) {
				tpCaught++
			} else {
				missByRule[c.Rule]++
				if len(examples) < 40 {
					examples = append(examples, c.Rule+": "+x)
				}
			}
		}
		for _, x := range c.FPs {
			fp++
			if e.NewSession().String(x) == x {
				fpKept++
			}
		}
	}
	recall := float64(tpCaught) / float64(tp)
	t.Logf("gitleaks fixtures: true positives %d (skipped %d without a secret string), secrets removed %d → recall %.4f", tp, skipped, tpCaught, recall)
	t.Logf("gitleaks fixtures: false positives %d, left intact %d → %.3f intact", fp, fpKept, float64(fpKept)/float64(fp))
	var rules []string
	for r, n := range missByRule {
		rules = append(rules, r+"="+itoa(n))
	}
	sort.Strings(rules)
	t.Logf("misses by rule: %s", strings.Join(rules, " "))
	for _, ex := range examples {
		t.Logf("  miss: %.400q", ex)
	}
	if recall < 0.98 {
		t.Errorf("recall %.4f < 0.98", recall)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

type sdToken struct {
	text, label string
	start, end  int // in the joined line
}

// readSDLog reads a token-per-line file (token TAB label, blank line between
// log lines).
func readSDLog(t *testing.T, path string) [][]sdToken {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]sdToken
	var cur []sdToken
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		i := strings.LastIndexByte(line, '\t')
		if i < 0 {
			continue
		}
		cur = append(cur, sdToken{text: line[:i], label: strings.TrimPrefix(strings.TrimPrefix(line[i+1:], "B-"), "I-")})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

type sdStats struct{ total, caught map[string]int }

// TestEvalSDLog measures recall per entity type and over-redaction on the
// token-labelled Loghub lines: a labelled token counts as caught when a
// finding overlaps it; an unlabelled token counts as changed when one does.
func TestEvalSDLog(t *testing.T) {
	dir := evaldata.Need(t, "sdlog/annotated_data")
	mains, _ := filepath.Glob(filepath.Join(dir, "main", "*.txt"))
	if len(mains) == 0 {
		t.Skip("no sdlog files")
	}
	e := Default()
	st := sdStats{total: map[string]int{}, caught: map[string]int{}}
	var misses = map[string][]string{}
	var overs []string
	missCount := map[string]int{}
	overCount := map[string]int{}
	for _, mainPath := range mains {
		sents := readSDLog(t, mainPath)
		var nets [][]sdToken
		if _, err := os.Stat(filepath.Join(dir, "net", filepath.Base(mainPath))); err == nil {
			nets = readSDLog(t, filepath.Join(dir, "net", filepath.Base(mainPath)))
		}
		ni := 0
		sess := e.NewSession()
		for _, toks := range sents {
			var b strings.Builder
			for i := range toks {
				if i > 0 {
					b.WriteByte(' ')
				}
				toks[i].start = b.Len()
				b.WriteString(toks[i].text)
				toks[i].end = b.Len()
			}
			// Refine NET tokens into the net file's typed sub-tokens (IP,
			// HOST, PORT): "proxy.cse.cuhk.edu.hk:5070" = "proxy.cse.cuhk.edu.hk:" + "5070".
			hasNet := false
			for _, tk := range toks {
				if tk.label == "NET" {
					hasNet = true
				}
			}
			if hasNet && ni < len(nets) {
				if units, ok := refine(toks, nets[ni]); ok {
					toks = units
				}
				ni++
			}
			line := b.String()
			_, finds := sess.Line(line)
			for _, tk := range toks {
				hit := false
				for _, f := range finds {
					if f.Start < tk.end && f.End > tk.start {
						hit = true
						break
					}
				}
				st.total[tk.label]++
				if hit {
					st.caught[tk.label]++
				} else if tk.label == "HOST" || tk.label == "IP" || tk.label == "USER" {
					missCount[tk.label+" "+tk.text]++
				}
				if !hit && tk.label != "O" && len(misses[tk.label]) < 15 {
					misses[tk.label] = append(misses[tk.label], filepath.Base(mainPath)[:6]+": "+tk.text+"  ⟵  "+line)
				}
				if hit && tk.label == "O" {
					overCount[tk.text]++
				}
				if hit && tk.label == "O" && len(overs) < 40 {
					overs = append(overs, tk.text+"  ⟵  "+line)
				}
			}
		}
	}
	for _, l := range []string{"IP", "HOST", "URL", "MAC", "USER", "PORT", "NET", "ID", "PATH", "CONFIG"} {
		if st.total[l] > 0 {
			t.Logf("%-6s recall %.4f (%d/%d)", l, float64(st.caught[l])/float64(st.total[l]), st.caught[l], st.total[l])
		}
	}
	over := float64(st.caught["O"]) / float64(st.total["O"])
	t.Logf("over-redaction: %d of %d unlabelled tokens changed = %.4f", st.caught["O"], st.total["O"], over)
	top := func(m map[string]int, n int) string {
		type kv struct {
			k string
			v int
		}
		var xs []kv
		for k, v := range m {
			xs = append(xs, kv{k, v})
		}
		sort.Slice(xs, func(i, j int) bool { return xs[i].v > xs[j].v })
		var parts []string
		for i := 0; i < len(xs) && i < n; i++ {
			parts = append(parts, xs[i].k+"×"+itoa(xs[i].v))
		}
		return strings.Join(parts, " | ")
	}
	t.Logf("most missed: %s", top(missCount, 25))
	t.Logf("most over-redacted: %s", top(overCount, 40))
	for l, ms := range misses {
		for _, m := range ms {
			t.Logf("miss %s: %.220s", l, m)
		}
	}
	for _, o := range overs {
		t.Logf("over: %.220s", o)
	}
	for _, l := range []string{"IP", "HOST", "URL", "MAC", "USER"} {
		if r := float64(st.caught[l]) / float64(st.total[l]); r < 0.95 {
			t.Errorf("%s recall %.4f < 0.95", l, r)
		}
	}
	if over > 0.02 {
		t.Errorf("over-redaction %.4f > 0.02", over)
	}
}

// refine replaces each NET token by the net file's sub-tokens, which must
// concatenate to it, in order.
func refine(toks []sdToken, net []sdToken) ([]sdToken, bool) {
	var out []sdToken
	k := 0
	for _, tk := range toks {
		if tk.label != "NET" {
			out = append(out, tk)
			continue
		}
		pos := tk.start
		rest := tk.text
		for rest != "" {
			if k >= len(net) || !strings.HasPrefix(rest, net[k].text) || net[k].text == "" {
				return nil, false
			}
			out = append(out, sdToken{text: net[k].text, label: net[k].label, start: pos, end: pos + len(net[k].text)})
			pos += len(net[k].text)
			rest = rest[len(net[k].text):]
			k++
		}
	}
	return out, k == len(net)
}

func TestShowFalsePositives(t *testing.T) {
	if os.Getenv("SHOW_FP") == "" {
		t.Skip("set SHOW_FP=1 to list gitleaks false-positive strings that get changed")
	}
	f, _ := os.Open(filepath.Join(evaldata.Need(t, "gitleaks-fixtures"), "cases.jsonl"))
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var c gitleaksCase
		_ = json.Unmarshal(sc.Bytes(), &c)
		for _, x := range c.FPs {
			if out := Default().NewSession().String(x); out != x {
				t.Logf("%s: %.150q → %.150q", c.Rule, x, out)
			}
		}
	}
}
