package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
)

func click(e *env, user, action, value, actionTs string) (int, string) {
	return clickAt(e, user, action, value, actionTs, time.Now(), signingSecret)
}

var buttonValue = regexp.MustCompile(`"action_id":"proposal_approve","value":"([^"]+)"`)

func TestApprovedActionRunsOnceAndIsAudited(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "runs")
	prog := filepath.Join(dir, "flush")
	_ = os.WriteFile(prog, []byte("#!/bin/sh\necho \"flushed $1\" >> "+counter+"\necho flushed $1 for 10.20.30.40\n"), 0o755)
	cfg := writeConfig(t, fmt.Sprintf(`approvers:
  users: [U0CAROL]
actions:
  - id: flush-cache
    risk: low
    params: {key: {pattern: '[a-z:]+'}}
    run: {command: {argv: [%q, "{{.key}}"]}}
    approvals: {required: 1, users: [U0ALICE]}
`, prog))
	gm := fakegemini.New(geminiKey)
	t.Cleanup(gm.Close)
	gm.Script(fakegemini.Reply{Text: `{"summary":"stale cache","confidence":0.7,"insufficient_evidence":false,
		"evidence":[{"claim":"refusals","citations":["L3","L4"]}],
		"proposed_actions":[{"action_id":"flush-cache","params":{"key":"sessions"},"reason":"stale entries"}]}`})
	e := startWith(t, cfg, withPagerDutyAPI, withGemini(gm))
	e.slack.AddUser("U0BOB", "bob")
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PAPR001", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "errors", Severity: "critical", Body: map[string]any{"details": map[string]any{"log": alertLog()}}})
	e.postWebhook(incidentEvent("EVT-A1", "incident.triggered", "PAPR001", "triggered", time.Now()), pdSecret)
	var value string
	e.eventually("proposal with buttons", func() bool {
		th := e.slack.Threads(channel)
		if len(th) != 1 {
			return false
		}
		for _, r := range e.slack.Replies(channel, th[0].TS) {
			if m := buttonValue.FindStringSubmatch(string(r.Blocks)); m != nil {
				value = m[1]
				return true
			}
		}
		return false
	})
	if !strings.Contains(e.slack.Transcript(channel), "Will run:") {
		t.Fatalf("no preview:\n%s", e.slack.Transcript(channel))
	}
	// Not an approver: refused, told why, nothing runs.
	click(e, "U0BOB", "proposal_approve", value, "1700000100.000")
	e.eventually("denial", func() bool { return len(e.slack.Ephemerals())+len(e.slack.ResponseURLPosts()) >= 1 })
	// A forged value (another hash) is refused too.
	id, _, _ := strings.Cut(value, "|")
	click(e, "U0ALICE", "proposal_approve", id+"|0000000000000000", "1700000101.000")
	// Clicks are handled from the queue: let the forged one be answered
	// before the real ones can approve (else it is "no longer waiting").
	e.eventually("forged click answered", func() bool { return len(e.slack.Ephemerals())+len(e.slack.ResponseURLPosts()) >= 2 })
	// 20 concurrent clicks by the approver: one execution.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			click(e, "U0ALICE", "proposal_approve", value, fmt.Sprintf("17000002%02d.000", i))
		}(i)
	}
	wg.Wait()
	e.eventually("output in the thread", func() bool { return strings.Contains(e.slack.Transcript(channel), "SUCCEEDED") })
	e.settled()
	runs, _ := os.ReadFile(counter)
	if n := strings.Count(string(runs), "flushed"); n != 1 {
		t.Fatalf("executed %d times", n)
	}
	for _, r := range e.slack.Replies(channel, e.slack.Threads(channel)[0].TS) {
		if strings.Contains(string(r.Blocks), "proposal_approve") {
			t.Fatalf("buttons still offered after execution: %s", r.Blocks)
		}
	}
	tr := e.slack.Transcript(channel)
	if !strings.Contains(tr, "Succeeded") {
		t.Fatalf("proposal message not updated in place:\n%s", tr)
	}
	if strings.Contains(tr, "10.20.30.40") || !strings.Contains(tr, "[IP_ADDRESS_") {
		t.Fatalf("output not masked:\n%s", tr)
	}
	answers := ""
	for _, x := range e.slack.Ephemerals() {
		answers += x.Text + "\n"
	}
	for _, x := range e.slack.ResponseURLPosts() {
		answers += fmt.Sprint(x.Body["text"]) + "\n"
	}
	for _, want := range []string{"not an approver", "changed since it was shown", "Approved (1 of 1)", "no longer waiting"} {
		if !strings.Contains(answers, want) {
			t.Errorf("answers lack %q:\n%s", want, answers)
		}
	}
	actions := e.auditActions()
	if actions["proposed"] != 1 || actions["approve"] != 1 || actions["executed"] != 1 || actions["approve_denied"] < 2 {
		t.Fatalf("audit: %v", actions)
	}
	if _, err := e.app.Audit.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// What the dashboard and the alert rules read (deploy/grafana, deploy/prometheus).
	e.settled()
	m := e.metricsText()
	for _, want := range []string{`opsgate_proposal_transitions_total{state="PROPOSED"} 1`, `opsgate_proposal_transitions_total{state="SUCCEEDED"} 1`,
		`opsgate_model_calls_total{backend="gemini",outcome="ok"} 1`, `opsgate_pagerduty_api_calls_total{op="list alerts",outcome="ok"}`,
		"opsgate_queue_length 0", "opsgate_queue_pending 0", "opsgate_queue_lag_seconds 0", "opsgate_dead_letters 0",
		"opsgate_executions_stalled 0", "opsgate_model_circuit_open 0", "opsgate_dead_letters_total 0",
		`opsgate_audit_anchors_total{outcome="error"} 0`, `opsgate_redaction_guard_hits_total{kind="PASSWORD"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
