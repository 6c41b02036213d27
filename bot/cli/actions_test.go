package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestActionsValidate(t *testing.T) {
	t.Setenv("OPSGATE_CONFIG", "")
	code, out, errOut := runIn(t, "", "actions", "validate", "../../deploy/opsgate.example.yaml")
	if code != 0 || !strings.Contains(out, "4 action(s) valid") || !strings.Contains(out, "drain-host") {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(doc), 0o600)
		return p
	}
	for _, c := range []struct{ file, want string }{
		{write("bad.yaml", "actions:\n  - id: x\n    risk: low\n    params: {p: {pattern: '[a-z]+'}}\n    run: {command: {argv: [\"{{.p}}\"]}}\n    approvals: {required: 1}\n"), "command.argv[0] (the program) cannot be a parameter"},
		{write("inject.yaml", "actions:\n  - id: x\n    risk: low\n    run: {kubectl: [get, \"{{.x}}\"]}\n    approvals: {required: 1}\n"), "{{.x}}, which is not a declared parameter"},
		{write("notyaml.yaml", "actions: [\n"), "invalid configuration"},
		{write("unknown.yaml", "actions:\n  - id: x\n    risk: low\n    shell: rm -rf /\n"), "field shell not found"},
		{filepath.Join(dir, "missing.yaml"), "no such file"},
	} {
		code, _, errOut := runIn(t, "", "actions", "validate", c.file)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: %d %q", c.file, code, errOut)
		}
	}
	if code, _, errOut := runIn(t, "", "actions", "validate"); code == 0 || !strings.Contains(errOut, "give a FILE or set OPSGATE_CONFIG") {
		t.Errorf("%d %s", code, errOut)
	}
	code, out, _ = runIn(t, "", "actions", "validate", write("none.yaml", "default_channel: C0123ABCD\n"))
	if code != 0 || !strings.Contains(out, "built-in catalog applies") {
		t.Fatalf("%d %s", code, out)
	}
}
