package deploy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/opsgate/opsgate/bot/metrics"
)

var deployDir = filepath.Join("..", "..", "deploy")

// exported is every series name opsgate's /metrics can show.
func exported() map[string]bool {
	m := metrics.New()
	m.WatchState(noState{})
	out := map[string]bool{}
	for _, n := range m.Names() {
		out[n] = true
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			out[n+s] = true
		}
	}
	return out
}

type noState struct{}

func (noState) QueueLength(context.Context) (int64, error)       { return 0, nil }
func (noState) QueuePending(context.Context) (int64, error)      { return 0, nil }
func (noState) QueueLag(context.Context) (time.Duration, error)  { return 0, nil }
func (noState) DeadLetters(context.Context) (int64, error)       { return 0, nil }
func (noState) StalledExecutions(context.Context) (int64, error) { return 0, nil }
func (noState) CircuitOpen() bool                                { return false }

var metricName = regexp.MustCompile(`\b(opsgate_[a-z0-9_]+)`)

func checkExprMetrics(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	names := metricName.FindAllString(expr, -1)
	if len(names) == 0 {
		t.Errorf("%s: reads no opsgate metric: %s", where, expr)
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: %s is not a metric opsgate exports", where, n)
		}
	}
}

// anchors are the GitHub anchors of a Markdown file's headings.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			out[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	return out
}

// Every alert reads metrics opsgate exports, has a severity and a summary,
// and links to a runbook section that exists in docs/operations.md; the
// chart's rules and deploy/prometheus/rules.yaml are one file.
func TestAlertRules(t *testing.T) {
	path := filepath.Join(deployDir, "prometheus", "rules.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inChart, err := os.ReadFile(filepath.Join(chart, "files", "prometheus-rules.yaml"))
	if err != nil || string(inChart) != string(b) {
		t.Fatalf("deploy/prometheus/rules.yaml and the chart's rules differ (%v)", err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	known, docs := exported(), anchors(t, filepath.Join("..", "..", "docs", "operations.md"))
	var alerts []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			checkExprMetrics(t, r.Alert, r.Expr, known)
			if r.Labels["severity"] != "warning" && r.Labels["severity"] != "critical" {
				t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
			}
			url := r.Annotations["runbook_url"]
			_, anchor, _ := strings.Cut(url, "docs/operations.md#")
			if r.Annotations["summary"] == "" || !docs[anchor] {
				t.Errorf("%s: runbook %q has no section in docs/operations.md", r.Alert, url)
			}
		}
	}
	for _, want := range []string{"OpsgateQueueLagging", "OpsgateDeadLetters", "OpsgateExecutionStalled", "OpsgateSlackRateLimited", "OpsgateModelCircuitOpen", "OpsgateAuditAnchorFailing"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no %s alert", want)
		}
	}
}

// Every dashboard panel queries metrics opsgate exports, and the
// dashboard covers what operators look at.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "opsgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil || d.UID == "" {
		t.Fatalf("dashboard JSON: %v", err)
	}
	known := exported()
	read := map[string]bool{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			checkExprMetrics(t, p.Title, q.Expr, known)
			for _, n := range metricName.FindAllString(q.Expr, -1) {
				read[strings.TrimSuffix(n, "_bucket")] = true
			}
		}
	}
	for _, want := range []string{"opsgate_webhook_requests_total", "opsgate_queue_lag_seconds", "opsgate_slack_api_calls_total", "opsgate_pagerduty_api_calls_total",
		"opsgate_model_calls_total", "opsgate_redaction_guard_hits_total", "opsgate_proposal_transitions_total", "opsgate_executions_stalled", "opsgate_dead_letters"} {
		if !read[want] {
			t.Errorf("no panel reads %s", want)
		}
	}
}

// The compose file: opsgate built from the Dockerfile, Redis with its
// append-only file, a local SMTP server; opsgate read-only and without
// capabilities.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	o, r, m := c.Services["opsgate"], c.Services["redis"], c.Services["mailpit"]
	if o == nil || r == nil || m == nil {
		t.Fatalf("services %v", c.Services)
	}
	cmd := strings.Join(toStrings(r["command"]), " ")
	if !strings.Contains(cmd, "--appendonly yes") {
		t.Fatalf("redis without AOF: %s", cmd)
	}
	envs := o["environment"].(map[string]any)
	if !strings.HasPrefix(envs["REDIS_URL"].(string), "redis://redis:") || !strings.HasPrefix(envs["SMTP_URL"].(string), "smtp://mailpit:") {
		t.Fatalf("opsgate env %v", envs)
	}
	if o["read_only"] != true || strings.Join(toStrings(o["cap_drop"]), ",") != "ALL" {
		t.Fatalf("opsgate not hardened: %v", o)
	}
	if _, err := os.Stat(filepath.Join(deployDir, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
