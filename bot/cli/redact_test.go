package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRedactLineForLine(t *testing.T) {
	in := "Failed password for root from 10.0.0.1 port 22\n\nno secrets\r\npassword=hunter2 again 10.0.0.1\nlast 10.0.0.2"
	code, out, errOut := runIn(t, in, "redact")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "Failed password for [USERNAME_1] from [IP_ADDRESS_1] port 22\n\nno secrets\r\npassword=[PASSWORD_1] again [IP_ADDRESS_1]\nlast [IP_ADDRESS_2]"
	if out != want {
		t.Fatalf("got %q\nwant %q", out, want)
	}
	if strings.Count(out, "\n") != strings.Count(in, "\n") {
		t.Fatal("line count changed")
	}
}

func TestRedactJSON(t *testing.T) {
	code, out, _ := runIn(t, "ip 10.0.0.1\nplain\n", "redact", "--json")
	if code != 0 {
		t.Fatal(out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out)
	}
	var first, second jsonLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first.Line != 1 || first.Text != "ip [IP_ADDRESS_1]" || len(first.Findings) != 1 || first.Findings[0].Start != 3 || first.Findings[0].End != 11 ||
		first.Findings[0].Placeholder != "[IP_ADDRESS_1]" || first.Findings[0].Kind != "IP_ADDRESS" {
		t.Fatalf("first = %+v", first)
	}
	if second.Line != 2 || second.Text != "plain" || second.Findings == nil || len(second.Findings) != 0 {
		t.Fatalf("second = %+v (%s)", second, lines[1])
	}
}

func TestRedactConfigAndBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ok.yaml")
	_ = os.WriteFile(good, []byte("redaction:\n  internal_domains: [corp.internal]\n  custom:\n    - name: ticket\n      pattern: 'TCK-[0-9]+'\n"), 0o600)
	code, out, errOut := runIn(t, "TCK-42 on db1.corp.internal\n", "redact", "--config", good)
	if code != 0 || out != "[TICKET_1] on [HOSTNAME_1]\n" {
		t.Fatalf("%d %q %s", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("redaction:\n  custom:\n    - name: x\n      pattern: '('\n"), 0o600)
	if code, _, errOut := runIn(t, "x\n", "redact", "--config", bad); code == 0 || !strings.Contains(errOut, "custom[0]") {
		t.Fatalf("bad config: %d %s", code, errOut)
	}
	long := strings.Repeat("a", MaxRedactLine+10) + "\n"
	if code, out, errOut := runIn(t, "ok\n"+long, "redact"); code == 0 || !strings.Contains(errOut, "line 2 is longer") || strings.Contains(out, "aaaa") {
		t.Fatalf("oversized line: %d %.50q %s", code, out, errOut)
	}
	if code, out, _ := runIn(t, "", "redact"); code != 0 || out != "" {
		t.Fatalf("empty input: %d %q", code, out)
	}
	bin := "\xff\xfe binary 10.0.0.1 \x00\n"
	if code, out, _ := runIn(t, bin, "redact"); code != 0 || out != "\xff\xfe binary [IP_ADDRESS_1] \x00\n" {
		t.Fatalf("binary: %q", out)
	}
}
