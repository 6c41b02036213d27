package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
)

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func scoped(t *testing.T, specs []catalog.Spec) catalog.Scoped {
	t.Helper()
	c, err := catalog.New(specs)
	if err != nil {
		t.Fatal(err)
	}
	return c.For(catalog.Scope{Targets: []string{"checkout-api"}, Namespaces: []string{"prod"}})
}

func TestKubectlArgvAndServerDryRun(t *testing.T) {
	kubectl := script(t, `case "$*" in *--help*) echo "  --dry-run='none': ..."; exit 0;; esac
for a in "$@"; do printf '[%s]' "$a"; done; echo; echo "SECRET=${OPSGATE_SECRET:-unset} API=${KUBERNETES_SERVICE_HOST:-unset}:${KUBERNETES_SERVICE_PORT:-unset}"`)
	t.Setenv("OPSGATE_SECRET", "do-not-pass")
	// In a pod, kubectl finds the API server from these (in-cluster config).
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	s := scoped(t, catalog.Default)
	r := &executor.Runner{Kubectl: kubectl, KubectlArgs: []string{"--context", "prod-eu"}}
	p := map[string]string{"deployment": "checkout-api", "replicas": "6"}
	res, err := r.Run(context.Background(), s, "scale-deployment", false, p, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Output, "[--context][prod-eu][scale][deployment/checkout-api][--replicas=6][--dry-run=server]") || !res.DryRun {
		t.Fatalf("%+v", res)
	}
	if !strings.Contains(res.Output, "SECRET=unset") {
		t.Fatal("opsgate's environment leaked into kubectl")
	}
	if !strings.Contains(res.Output, "API=10.96.0.1:443") {
		t.Fatalf("kubectl in a pod cannot find the API server: %s", res.Output)
	}
	res, err = r.Run(context.Background(), s, "scale-deployment", false, p, false)
	if err != nil || strings.Contains(res.Output, "dry-run") || res.Digest == "" || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	// Injection attempts never reach the program.
	for _, bad := range []map[string]string{
		{"deployment": "checkout-api; rm -rf /", "replicas": "6"}, {"deployment": "checkout-api", "replicas": "6 --kubeconfig=/x"},
		{"deployment": "--kubeconfig=/tmp/x", "replicas": "6"}, {"deployment": "../checkout-api", "replicas": "1"}, {"deployment": "checkout-api\nx", "replicas": "1"},
	} {
		if _, err := r.Run(context.Background(), s, "scale-deployment", false, bad, false); err == nil {
			t.Errorf("%v ran", bad)
		}
	}
}

func TestCommandEnvAllowlistCapTimeoutAndFailure(t *testing.T) {
	prog := script(t, `echo "key=$1 ttl=$2 CACHE_URL=$CACHE_URL TOKEN=${SLACK_BOT_TOKEN:-unset}"; head -c 100000 /dev/zero | tr '\0' 'x'; [ "$2" = "0s" ] && exit 3; exit 0`)
	t.Setenv("CACHE_URL", "redis://cache:6379")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-secret")
	specs := []catalog.Spec{{ID: "flush", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1},
		Params: map[string]*catalog.Param{"key": {Pattern: "[a-z:]+"}, "ttl": {Type: catalog.TypeDuration, Min: 0, Max: 60}},
		Run:    catalog.Exec{Command: &catalog.CommandExec{Argv: []string{prog, "{{.key}}", "{{.ttl}}"}, Env: []string{"CACHE_URL"}}}},
		{ID: "slow", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1}, Timeout: 200 * time.Millisecond, Run: catalog.Exec{Command: &catalog.CommandExec{Argv: []string{"sleep", "30"}}}}}
	s := scoped(t, specs)
	r := &executor.Runner{MaxOutput: 1000}
	res, err := r.Run(context.Background(), s, "flush", false, map[string]string{"key": "sess:a", "ttl": "30s"}, false)
	if err != nil || !strings.HasPrefix(res.Output, "key=sess:a ttl=30s CACHE_URL=redis://cache:6379 TOKEN=unset") || !res.Capped || len(res.Output) != 1000 {
		t.Fatalf("%v %q", err, res.Output[:min(120, len(res.Output))])
	}
	dry, err := r.Run(context.Background(), s, "flush", false, map[string]string{"key": "sess:a", "ttl": "30s"}, true)
	if err != nil || !dry.DryRun || dry.Output != "" || strings.Join(dry.Argv[1:], " ") != "sess:a 30s" {
		t.Fatalf("dry run executed or wrong: %+v %v", dry, err)
	}
	res, err = r.Run(context.Background(), s, "flush", false, map[string]string{"key": "sess:a", "ttl": "0s"}, false)
	if err == nil || res.ExitCode != 3 {
		t.Fatalf("failure not reported: %+v %v", res, err)
	}
	if _, err := r.Run(context.Background(), s, "slow", false, map[string]string{}, false); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("%v", err)
	}
}

func TestHTTPExecutor(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &got) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if got["flag"] == "broken" {
			http.Error(w, "nope", http.StatusConflict)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	specs := []catalog.Spec{{ID: "flag", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1},
		Params: map[string]*catalog.Param{"flag": {Pattern: `[a-z"\\]+`}, "on": {Type: catalog.TypeInt, Min: 0, Max: 1}},
		Run:    catalog.Exec{HTTP: &catalog.HTTPExec{Method: "POST", URL: srv.URL + "/flags", Body: `{"flag":"{{.flag}}","on":{{.on}}}`, Expect: 200}}}}
	s := scoped(t, specs)
	r := &executor.Runner{}
	res, err := r.Run(context.Background(), s, "flag", false, map[string]string{"flag": `fast"path\`, "on": "1"}, false)
	if err != nil || res.ExitCode != 200 || got["flag"] != `fast"path\` || got["on"] != float64(1) {
		t.Fatalf("%+v %v %v", res, err, got)
	}
	if _, err := r.Run(context.Background(), s, "flag", false, map[string]string{"flag": "broken", "on": "0"}, false); err == nil || !strings.Contains(err.Error(), "HTTP 409") {
		t.Fatalf("%v", err)
	}
}

func TestUndoRunsTheDeclaredUndoOnly(t *testing.T) {
	kubectl := script(t, `echo "$@"`)
	specs := []catalog.Spec{{ID: "restart", Risk: catalog.RiskMedium, Approvals: catalog.Approvals{Required: 1},
		Params: map[string]*catalog.Param{"deployment": {EnumFrom: "scope.targets"}},
		Run:    catalog.Exec{Kubectl: []string{"rollout", "restart", "deployment/{{.deployment}}"}},
		Undo:   &catalog.Exec{Kubectl: []string{"rollout", "undo", "deployment/{{.deployment}}"}}},
		{ID: "noundo", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1}, Run: catalog.Exec{Kubectl: []string{"get", "pods"}}}}
	s := scoped(t, specs)
	r := &executor.Runner{Kubectl: kubectl}
	res, err := r.Run(context.Background(), s, "restart", true, map[string]string{"deployment": "checkout-api"}, false)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(res.Output), " rollout undo deployment/checkout-api") {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := r.Run(context.Background(), s, "noundo", true, map[string]string{}, false); !errors.Is(err, catalog.ErrNoUndo) {
		t.Fatalf("%v", err)
	}
}

// --dry-run=server goes among kubectl's flags, before a "--" (after which
// kubectl hands arguments to a container and would run the action for
// real), and only when kubectl's help lists it as a flag — a mention in
// the help's examples does not count.
func TestKubectlDryRunPlacementAndDetection(t *testing.T) {
	specs := []catalog.Spec{{ID: "cleanup", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1},
		Params: map[string]*catalog.Param{"deployment": {EnumFrom: "scope.targets"}},
		Run:    catalog.Exec{Kubectl: []string{"create", "job", "cleanup-{{.deployment}}", "--image=busybox", "--", "/bin/cleanup"}}}}
	s := scoped(t, specs)
	p := map[string]string{"deployment": "checkout-api"}
	withFlag := script(t, `case "$*" in *--help*) echo "Options:"; echo "    --dry-run='none':"; exit 0;; esac; for a in "$@"; do printf '[%s]' "$a"; done`)
	res, err := (&executor.Runner{Kubectl: withFlag}).Run(context.Background(), s, "cleanup", false, p, true)
	if err != nil || !strings.Contains(res.Output, "[--image=busybox][--dry-run=server][--][/bin/cleanup]") {
		t.Fatalf("%+v %v", res, err)
	}
	exampleOnly := script(t, `case "$*" in *--help*) echo "Examples:"; echo "  kubectl rollout undo --dry-run=server deployment/abc"; exit 0;; esac; echo RAN`)
	res, err = (&executor.Runner{Kubectl: exampleOnly}).Run(context.Background(), s, "cleanup", false, p, true)
	if !errors.Is(err, executor.ErrNoDryRun) || strings.Contains(res.Output, "RAN") {
		t.Fatalf("a help example was taken for the flag: %+v %v", res, err)
	}
}
