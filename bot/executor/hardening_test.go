package executor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/integrations/fakes/fakeobs"
	"github.com/opsgate/opsgate/test/testutil"
)

// An action's HTTP request and every verify check go to the URL the
// catalog names: a redirect is an answer, never followed.
func TestNoRedirectIsFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`))
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	specs := []catalog.Spec{
		{ID: "flag", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1},
			Run:    catalog.Exec{HTTP: &catalog.HTTPExec{Method: "POST", URL: redirector.URL + "/flags", Body: `{"on":true}`}},
			Verify: &catalog.Verify{HTTP: &catalog.HTTPExec{Method: "GET", URL: redirector.URL + "/healthz"}, Within: time.Second}},
		{ID: "prom", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1}, Run: catalog.Exec{Kubectl: []string{"get", "pods"}},
			Verify: &catalog.Verify{Prometheus: `up == 1`, Within: time.Second}},
	}
	s := scoped(t, specs)
	r := &executor.Runner{PrometheusURL: redirector.URL, VerifyEvery: time.Second, Sleep: func(context.Context, time.Duration) error { return nil }}
	res, err := r.Run(context.Background(), s, "flag", false, map[string]string{}, false)
	if err == nil || res.ExitCode != http.StatusTemporaryRedirect || !strings.Contains(err.Error(), "HTTP 307, expected 200") {
		t.Fatalf("the action: %+v %v", res, err)
	}
	for _, id := range []string{"flag", "prom"} {
		if v, _ := r.Verify(context.Background(), s, id, map[string]string{}); v.Holds {
			t.Errorf("%s: a redirected check held: %+v", id, v)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("%d requests followed a redirect", n)
	}
}

// A timed-out command takes everything it started with it.
func TestATimeoutKillsTheWholeProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	prog := script(t, `sleep 30 &
echo $! > `+pidFile+`
wait`)
	specs := []catalog.Spec{{ID: "slow", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1}, Timeout: 300 * time.Millisecond,
		Run: catalog.Exec{Command: &catalog.CommandExec{Argv: []string{prog}}}}}
	r := &executor.Runner{}
	if _, err := r.Run(context.Background(), scoped(t, specs), "slow", false, map[string]string{}, false); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("%v", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	testutil.Eventually(t, "the child gone", nil, func() bool { return !running(pid) })
}

// running reports whether pid is a live process (a zombie awaiting its
// reaper is not).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return rest != "" && rest[0] != 'Z' && rest[0] != 'X'
}

// A value cannot close its PromQL string and make a check hold that does
// not.
func TestPromQLValuesAreEscaped(t *testing.T) {
	prom := fakeobs.NewPrometheus()
	defer prom.Close()
	value := `x"} or vector(1) or up{deployment="x`
	prom.Instant(`up{deployment="`+value+`"} == 0`, func() bool { return true }) // what the injection would ask
	specs := []catalog.Spec{{ID: "restart", Risk: catalog.RiskMedium, Approvals: catalog.Approvals{Required: 1},
		Params: map[string]*catalog.Param{"deployment": {Pattern: `[a-z"{}()= 1]+`}},
		Run:    catalog.Exec{Kubectl: []string{"rollout", "restart", "deployment/{{.deployment}}"}},
		Verify: &catalog.Verify{Prometheus: `up{deployment="{{.deployment}}"} == 0`, Within: time.Second}}}
	r := &executor.Runner{PrometheusURL: prom.URL, VerifyEvery: time.Second, Sleep: func(context.Context, time.Duration) error { return nil }}
	v, err := r.Verify(context.Background(), scoped(t, specs), "restart", map[string]string{"deployment": value})
	if err != nil || v.Holds {
		t.Fatalf("the injected condition held: %+v %v", v, err)
	}
	if q := prom.Queries[0]; q != `up{deployment="x\"} or vector(1) or up{deployment=\"x"} == 0` {
		t.Fatalf("query %q", q)
	}
}
