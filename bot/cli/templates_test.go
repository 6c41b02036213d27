package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTemplatesOneObjectPerLine(t *testing.T) {
	in := "2015-10-18 18:01:47,978 INFO [main] Worker 12 started on 10.0.0.1\r\n" +
		"2015-10-18 18:01:48,001 INFO [main] Worker 37 started on 10.0.0.2\n" +
		"\n" +
		"2015-10-18 18:01:49,000 ERROR [main] Disk full on /dev/sda1\n" +
		"2015-10-18 18:01:50,000 INFO [main] Worker 99 started on 10.0.0.3"
	code, out, errOut := runIn(t, in, "templates")
	if code != 0 {
		t.Fatal(errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d output lines for 5 input lines: %q", len(lines), out)
	}
	var got []templateLine
	for _, l := range lines {
		var x templateLine
		if err := json.Unmarshal([]byte(l), &x); err != nil || x.TemplateID == "" {
			t.Fatalf("bad line %q: %v", l, err)
		}
		got = append(got, x)
	}
	if got[4].Template != "Worker <NUM> started on <IP>" || got[1].TemplateID != got[4].TemplateID {
		t.Fatalf("templates = %+v", got)
	}
	if got[3].Template == got[4].Template || strings.Contains(got[3].Template, "2015") {
		t.Fatalf("error line: %+v", got[3])
	}
	if code, _, errOut := runIn(t, "ok\n"+strings.Repeat("x", MaxRedactLine+5), "templates"); code == 0 || !strings.Contains(errOut, "line 2 is longer") {
		t.Fatalf("oversized: %d %s", code, errOut)
	}
}

func templateLines(t *testing.T, out string) []templateLine {
	t.Helper()
	var got []templateLine
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var x templateLine
		if err := json.Unmarshal([]byte(l), &x); err != nil || x.TemplateID == "" {
			t.Fatalf("bad line %q: %v", l, err)
		}
		got = append(got, x)
	}
	return got
}

// A template keeps its id when its text generalizes: every line of one
// template prints one id — the first line's too (it used to print the
// hash of the text as read: "Worker 12 started …" had an id of its own).
func TestATemplateKeepsItsIDWhenItGeneralizes(t *testing.T) {
	in := "Worker 12 started on node/a\nWorker 37 started on node/b\nWorker 99 started on node/c\nDisk full\n"
	code, out, errOut := runIn(t, in, "templates")
	if code != 0 {
		t.Fatal(errOut)
	}
	got := templateLines(t, out)
	if got[0].TemplateID != got[1].TemplateID || got[1].TemplateID != got[2].TemplateID || got[0].Template != "Worker <NUM> started on <*>" {
		t.Fatalf("%+v", got)
	}
	// --follow writes as it reads: ids are stable as the text changes, and
	// a merge names the ids it folds in.
	in = "Invalid user alice from 10.0.0.1\nInvalid user bob from 10.0.0.2\nInvalid user carol from 10.0.0.3\nInvalid user dave from 10.0.0.4\nInvalid user erin from 10.0.0.5\n"
	code, out, errOut = runIn(t, in, "templates", "--follow")
	if code != 0 {
		t.Fatal(errOut)
	}
	got = templateLines(t, out)
	if !strings.HasPrefix(got[0].Template, "Invalid user [USERNAME_1]") || got[1].TemplateID == got[0].TemplateID {
		t.Fatalf("before the merge: %+v", got[:2])
	}
	merged := map[string]bool{}
	for _, id := range got[3].Merged {
		merged[id] = true
	}
	if got[3].TemplateID != got[0].TemplateID || !merged[got[1].TemplateID] || !merged[got[2].TemplateID] || got[3].Template != "Invalid user <*> from <IP>" {
		t.Fatalf("the merge keeps the oldest id and names the others: %+v", got[3])
	}
	if got[4].TemplateID != got[0].TemplateID || len(got[4].Merged) != 0 {
		t.Fatalf("after: %+v", got[4])
	}
}

// --history marks what is new against an earlier log: a template that
// merely generalized, and a single line of an old event, are not new.
func TestTemplatesHistoryMarksWhatIsNew(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "yesterday.log")
	_ = os.WriteFile(hist, []byte("2024-01-01 10:00:00 INFO pool size 20 on db-1\n2024-01-01 10:00:01 INFO pool size 20 on db-1\n"+
		"2024-01-01 10:00:02 ERROR timeout after 30s calling billing\n"), 0o600)
	in := "2024-01-02 09:00:00 INFO pool size 35 on db-2\n2024-01-02 09:00:01 FATAL disk full on /var\n2024-01-02 09:00:02 ERROR timeout after 31s calling billing\n"
	code, out, errOut := runIn(t, in, "templates", "--history", hist)
	if code != 0 {
		t.Fatal(errOut)
	}
	got := templateLines(t, out)
	if len(got) != 3 || got[0].New == nil || *got[0].New || !*got[1].New || *got[2].New {
		t.Fatalf("%+v", got)
	}
	for _, follow := range []string{"--follow", "--raw"} {
		if code, out, _ := runIn(t, in, "templates", "--history", hist, follow); code != 0 || len(templateLines(t, out)) != 3 {
			t.Fatalf("%s: %d %s", follow, code, out)
		}
	}
	if code, _, errOut := runIn(t, in, "templates", "--history", filepath.Join(dir, "missing.log")); code == 0 || !strings.Contains(errOut, "--history") {
		t.Fatalf("%d %s", code, errOut)
	}
	big := filepath.Join(dir, "big.log")
	_ = os.WriteFile(big, []byte(strings.Repeat("x", MaxRedactLine+5)), 0o600)
	if code, _, errOut := runIn(t, in, "templates", "--history", big); code == 0 || !strings.Contains(errOut, "longer than") {
		t.Fatalf("%d %s", code, errOut)
	}
	// Without --history there is no "new" field.
	if _, out, _ := runIn(t, in, "templates"); strings.Contains(out, `"new"`) {
		t.Fatal(out)
	}
}

// The hand-written JSON line is what encoding/json writes.
func FuzzTemplateLineIsJSON(f *testing.F) {
	f.Add("abc", "Worker <NUM> started \"x\" \\ \t\x01 é \xff", true, "m1")
	f.Fuzz(func(t *testing.T, id, tmpl string, isNew bool, merged string) {
		l := templateLine{TemplateID: id, Template: tmpl, New: &isNew, Merged: []string{merged}}
		got := appendTemplateLine(nil, l)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(l)
		if string(got) != buf.String() {
			t.Fatalf("\n got %q\nwant %q", got, buf.String())
		}
	})
}
