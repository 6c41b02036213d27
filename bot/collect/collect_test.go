package collect_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/integrations/fakes/fakekube"
	"github.com/opsgate/opsgate/integrations/fakes/fakeobs"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0.Add(time.Hour) }

func TestAllSourcesTogether(t *testing.T) {
	loki := fakeobs.NewLoki()
	loki.Tenant = "team-a"
	defer loki.Close()
	loki.Push(
		fakeobs.Entry{Labels: map[string]string{"app": "checkout-api"}, Time: t0.Add(-time.Minute), Line: "ERROR pool exhausted"},
		fakeobs.Entry{Labels: map[string]string{"app": "checkout-api"}, Time: t0.Add(-20 * time.Minute), Line: "ERROR too early"},
		fakeobs.Entry{Labels: map[string]string{"app": "payments"}, Time: t0, Line: "ERROR other service"},
		fakeobs.Entry{Labels: map[string]string{"app": "checkout-api"}, Time: t0, Line: "INFO fine"})
	es := fakeobs.NewElastic()
	es.APIKey = "aWQ6a2V5" // base64("id:key")
	defer es.Close()
	es.Index("logs-2026.11.20", map[string]any{"@timestamp": t0.Add(30 * time.Second).Format(time.RFC3339Nano), "service": "checkout-api", "message": "WARN slow query 2300ms"},
		map[string]any{"@timestamp": t0.Format(time.RFC3339Nano), "service": "payments", "message": "not ours"})
	prom := fakeobs.NewPrometheus()
	defer prom.Close()
	prom.Register(`sum(rate(http_requests_total{service="checkout-api",code=~"5.."}[1m]))`, fakeobs.Series{Labels: map[string]string{}, Value: func(ts time.Time) float64 {
		if ts.Before(t0.Add(-2 * time.Minute)) {
			return 1
		}
		return 40
	}})
	kube := fakekube.New("kube-token")
	defer kube.Close()
	kube.AddPod(fakekube.Pod{Namespace: "prod", Name: "checkout-api-7d9", Labels: map[string]string{"app": "checkout-api"},
		Previous: []fakekube.LogLine{{Time: t0.Add(-30 * time.Second), Line: "panic: nil map write"}}})
	dir := t.TempDir()
	caFile, err := kube.WriteCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "checkout-api.log"), []byte("partial\nline one\nline two\n"), 0o600)
	tokenFile := filepath.Join(dir, "token")
	_ = os.WriteFile(tokenFile, []byte("kube-token\n"), 0o600)
	t.Setenv("ES_KEY", "id:key")

	c, err := collect.New([]collect.Handler{
		{Name: "other", Match: collect.Match{Service: "^payments$"}},
		{Name: "checkout", Match: collect.Match{Service: "checkout", Urgency: "high"},
			Logs: []collect.Source{
				{Name: "loki", Loki: &collect.Loki{URL: loki.URL, Tenant: "team-a", Query: `{app="{{.Service}}"} |= "ERROR"`}},
				{Name: "es", Elasticsearch: &collect.Elastic{URL: es.URL, Index: "logs-*", Query: "service:{{.Service}}", Auth: &collect.Auth{Type: "apikey", Env: "ES_KEY"}}},
				{Name: "k8s", Kubernetes: &collect.Kubernetes{APIURL: kube.URL, TokenFile: tokenFile, CAFile: caFile, Namespace: "prod", Selector: "app={{.Service}}", Previous: true}},
				{Name: "file", File: &collect.File{Glob: filepath.Join(dir, "{{.Service}}.log")}},
				{Name: "cmd", Command: &collect.Command{Argv: []string{"echo", "deploy of {{.Service}} at {{.Start}}"}}},
			},
			Metrics: []collect.Source{{Name: "5xx", Prometheus: &collect.Prometheus{URL: prom.URL, Query: `sum(rate(http_requests_total{service="{{.Service}}",code=~"5.."}[1m]))`}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Now = fixedNow
	res, ok := c.Collect(context.Background(), collect.Incident{ID: "Q1", Service: "checkout-api", Urgency: "high", Start: t0})
	if !ok || res.Handler != "checkout" {
		t.Fatalf("handler %q %v", res.Handler, ok)
	}
	for _, s := range res.Sources {
		if s.Error != "" {
			t.Errorf("%s: %s", s.Source, s.Error)
		}
	}
	text := ""
	for _, l := range res.Lines {
		text += l.Source + "|" + l.Text + "\n"
	}
	for _, want := range []string{"loki|ERROR pool exhausted", "es|WARN slow query 2300ms", "k8s|checkout-api-7d9 panic: nil map write", "file|line two", "cmd|deploy of checkout-api at 2026-11-20T09:45:00Z"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	for _, bad := range []string{"too early", "other service", "not ours", "INFO fine"} {
		if strings.Contains(text, bad) {
			t.Errorf("%q collected:\n%s", bad, text)
		}
	}
	if len(res.Metrics) != 1 || !strings.Contains(res.Metrics[0], "baseline 1, now 40 (40.0× baseline)") || !strings.Contains(res.Metrics[0], "left baseline at 09:58:") {
		t.Fatalf("metrics %q", res.Metrics)
	}
	if q := loki.Queries(); len(q) != 1 || q[0] != `{app="checkout-api"} |= "ERROR"` {
		t.Fatalf("loki queries %q", q)
	}
}

func TestFailingSourceDoesNotStopOthers(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	loki := fakeobs.NewLoki()
	defer loki.Close()
	prom := fakeobs.NewPrometheus()
	defer prom.Close()
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "a.log"), []byte("ok line\n"), 0o600)
	c, err := collect.New([]collect.Handler{{Timeout: 200 * time.Millisecond,
		Logs: []collect.Source{
			{Name: "slow", Loki: &collect.Loki{URL: slow.URL, Query: `{app="x"}`}},
			{Name: "toomany", Loki: &collect.Loki{URL: loki.URL, Query: `{app="x"}`, Limit: 9000}},
			{Name: "badquery", Loki: &collect.Loki{URL: loki.URL, Query: `app=x`}},
			{Name: "nofile", File: &collect.File{Glob: filepath.Join(dir, "none-*.log")}},
			{Name: "fails", Command: &collect.Command{Argv: []string{"false"}}},
			{Name: "good", File: &collect.File{Glob: filepath.Join(dir, "a.log")}},
		},
		Metrics: []collect.Source{{Name: "prom", Prometheus: &collect.Prometheus{URL: prom.URL, Query: "up", Step: time.Millisecond}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c.Now = fixedNow
	res, _ := c.Collect(context.Background(), collect.Incident{Service: "x", Start: t0})
	errs := map[string]string{}
	for _, s := range res.Sources {
		errs[s.Source] = s.Error
	}
	want := map[string]string{"slow": "timed out after 200ms", "badquery": "HTTP 400: parse error", "nofile": "no file matches", "fails": "exit status 1", "good": ""}
	for src, w := range want {
		if (w == "") != (errs[src] == "") || !strings.Contains(errs[src], w) {
			t.Errorf("%s: error %q, want %q", src, errs[src], w)
		}
	}
	if errs["toomany"] != "" { // the collector caps the limit at Loki's 5000 itself
		t.Errorf("toomany: %s", errs["toomany"])
	}
	if errs["prom"] != "" { // the step is raised to stay under 11,000 points
		t.Errorf("prom: %s", errs["prom"])
	}
	if len(res.Lines) != 1 || res.Lines[0].Text != "ok line" {
		t.Fatalf("%+v", res.Lines)
	}
}

func TestParametersComeOnlyFromSafeIncidentFields(t *testing.T) {
	loki := fakeobs.NewLoki()
	defer loki.Close()
	c, _ := collect.New([]collect.Handler{{Logs: []collect.Source{{Loki: &collect.Loki{URL: loki.URL, Query: `{app="{{.Service}}"}`}}}}})
	for _, svc := range []string{`x"} or {app=~".+`, "a|b", "../../etc", "x\ny", strings.Repeat("a", 200)} {
		res, _ := c.Collect(context.Background(), collect.Incident{Service: svc, Start: t0})
		if len(res.Sources) != 1 || !strings.Contains(res.Sources[0].Error, "could change a query") {
			t.Errorf("%q: %+v", svc, res.Sources)
		}
	}
	if n := len(loki.Queries()); n != 0 {
		t.Fatalf("%d queries sent with unsafe parameters", n)
	}
}

func TestCapsAndLimits(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString("line with some text in it number " + string(rune('a'+i%26)) + "\n")
	}
	_ = os.WriteFile(filepath.Join(dir, "big.log"), []byte(b.String()), 0o600)
	c, _ := collect.New([]collect.Handler{{MaxBytes: 1000, MaxLines: 10, Logs: []collect.Source{
		{Name: "f", File: &collect.File{Glob: filepath.Join(dir, "big.log")}},
		{Name: "yes", Command: &collect.Command{Argv: []string{"yes", "spam"}}},
	}}})
	res, _ := c.Collect(context.Background(), collect.Incident{Service: "x", Start: t0})
	per := map[string]int{}
	for _, l := range res.Lines {
		per[l.Source]++
	}
	for _, s := range res.Sources {
		if !s.Capped || per[s.Source] == 0 || per[s.Source] > 10 {
			t.Errorf("%+v (%d lines)", s, per[s.Source])
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, h := range []collect.Handler{
		{Match: collect.Match{Service: "("}},
		{Match: collect.Match{Urgency: "urgent"}},
		{Logs: []collect.Source{{}}},
		{Logs: []collect.Source{{Loki: &collect.Loki{URL: "ftp://x", Query: "{a=\"b\"}"}}}},
		{Logs: []collect.Source{{Prometheus: &collect.Prometheus{URL: "http://p", Query: "up"}}}},
		{Metrics: []collect.Source{{File: &collect.File{Glob: "/x"}}}},
		{Logs: []collect.Source{{Command: &collect.Command{}}}},
	} {
		if _, err := collect.New([]collect.Handler{h}); err == nil {
			t.Errorf("%+v accepted", h)
		}
	}
}

func TestSummarize(t *testing.T) {
	var pts []collect.Point
	for i := 0; i < 20; i++ {
		v := 100.0
		if i >= 12 {
			v = 900
		}
		pts = append(pts, collect.Point{T: t0.Add(time.Duration(i) * time.Minute), V: v})
	}
	got := collect.Summarize(pts, t0.Add(10*time.Minute))
	if got != "baseline 100, now 900 (9.0× baseline), peak 900 at 10:12:00, left baseline at 10:12:00" {
		t.Fatal(got)
	}
	if collect.Summarize(nil, t0) != "no samples" || !strings.Contains(collect.Summarize(pts, t0), "no baseline") {
		t.Fatal("edge cases")
	}
}

func TestAuthSecretNeverInErrors(t *testing.T) {
	es := fakeobs.NewElastic()
	es.APIKey = "right"
	defer es.Close()
	t.Setenv("ES_KEY", "wrong-secret-value")
	c, _ := collect.New([]collect.Handler{{Logs: []collect.Source{{Elasticsearch: &collect.Elastic{URL: es.URL, Index: "logs", Query: "x", Auth: &collect.Auth{Type: "apikey", Env: "ES_KEY"}}}}}})
	res, _ := c.Collect(context.Background(), collect.Incident{Service: "x", Start: t0})
	e := res.Sources[0].Error
	if !strings.Contains(e, "HTTP 401") || !strings.Contains(e, "security_exception") || strings.Contains(e, "wrong-secret-value") {
		t.Fatalf("%q", e)
	}
	if errors.Is(nil, collect.ErrParam) {
		t.Fatal()
	}
}

func TestCommandEdgeCases(t *testing.T) {
	c, _ := collect.New([]collect.Handler{{Timeout: 300 * time.Millisecond, Logs: []collect.Source{
		// a grandchild keeps stdout open past the timeout: the group is killed
		{Name: "grandchild", Command: &collect.Command{Argv: []string{"sh", "-c", "sleep 30 & echo started; sleep 30"}}},
		// lots of stderr must not kill a healthy program
		{Name: "chatty", Command: &collect.Command{Argv: []string{"sh", "-c", "i=0; while [ $i -lt 500 ]; do echo warning-line-$i >&2; i=$((i+1)); done; echo done"}}},
	}}})
	res, _ := c.Collect(context.Background(), collect.Incident{Service: "x", Start: t0})
	st := map[string]collect.Status{}
	for _, s := range res.Sources {
		st[s.Source] = s
	}
	if !strings.Contains(st["grandchild"].Error, "timed out") {
		t.Errorf("grandchild: %+v", st["grandchild"])
	}
	if st["chatty"].Error != "" || st["chatty"].Lines != 1 {
		t.Errorf("chatty: %+v", st["chatty"])
	}
}

func TestOnlyUsedFieldsAreChecked(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "static.log"), []byte("ok\n"), 0o600)
	c, _ := collect.New([]collect.Handler{{Logs: []collect.Source{
		{Name: "static", File: &collect.File{Glob: filepath.Join(dir, "static.log")}},
		{Name: "byservice", File: &collect.File{Glob: filepath.Join(dir, "{{.Service}}.log")}},
	}}})
	res, _ := c.Collect(context.Background(), collect.Incident{Service: "Payments (EU)", Start: t0})
	for _, s := range res.Sources {
		if (s.Source == "static") != (s.Error == "") {
			t.Errorf("%+v", s)
		}
	}
	res, _ = c.Collect(context.Background(), collect.Incident{Service: "..", Start: t0})
	for _, s := range res.Sources {
		if s.Source == "byservice" && !strings.Contains(s.Error, "could change a query") {
			t.Errorf("'..' accepted: %+v", s)
		}
	}
}

// Default actions take their parameters from trusted incident fields
// only; an unsafe field leaves the action out, reported, never filled in.
func TestHandlerActions(t *testing.T) {
	c, err := collect.New([]collect.Handler{{Actions: []collect.Action{
		{ID: "restart-deployment", Params: map[string]string{"deployment": "{{.Service}}"}},
		{ID: "flush-cache", Params: map[string]string{"key": "sessions"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	res, ok := c.Collect(context.Background(), collect.Incident{Service: "checkout-api", Start: t0})
	if !ok || len(res.Actions) != 2 || res.Actions[0].Params["deployment"] != "checkout-api" || res.Actions[1].Params["key"] != "sessions" {
		t.Fatalf("%+v", res.Actions)
	}
	res, _ = c.Collect(context.Background(), collect.Incident{Service: "x; rm -rf /", Start: t0})
	if len(res.Actions) != 1 || res.Actions[0].ID != "flush-cache" {
		t.Fatalf("an action took an unsafe service name: %+v", res.Actions)
	}
	if len(res.Sources) != 1 || res.Sources[0].Kind != "action" || !strings.Contains(res.Sources[0].Error, "could change a query") {
		t.Fatalf("the refused action is not reported: %+v", res.Sources)
	}
}

// A handler's scope is filled from trusted fields; an unsafe one is left
// out and reported.
func TestHandlerScope(t *testing.T) {
	c, err := collect.New([]collect.Handler{{Scope: catalog.Scope{Targets: []string{"{{.Service}}", "{{.Service}}-worker"}, Namespaces: []string{"prod"}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := c.Collect(context.Background(), collect.Incident{Service: "checkout-api", Start: t0})
	if !slices.Equal(res.Scope.Targets, []string{"checkout-api", "checkout-api-worker"}) || !slices.Equal(res.Scope.Namespaces, []string{"prod"}) {
		t.Fatalf("%+v", res.Scope)
	}
	res, _ = c.Collect(context.Background(), collect.Incident{Service: "x|y", Start: t0})
	if len(res.Scope.Targets) != 0 || len(res.Sources) != 2 || res.Sources[0].Kind != "scope" {
		t.Fatalf("%+v %+v", res.Scope, res.Sources)
	}
	if _, err := collect.New([]collect.Handler{{Scope: catalog.Scope{Hosts: []string{"{{.Nope"}}}}); err == nil {
		t.Fatal("a broken scope template was accepted")
	}
}
