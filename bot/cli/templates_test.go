package cli

import (
	"encoding/json"
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
