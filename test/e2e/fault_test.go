package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
	"github.com/opsgate/opsgate/test/redistest"
)

// child is a worker replica in its own process, killed with SIGKILL.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// spawn starts a worker replica process with e's settings (see
// TestHelperWorker) plus extra environment.
func (e *env) spawn(t *testing.T, extra ...string) *child {
	t.Helper()
	cfg := e.opts.Env
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWorker$")
	cmd.Env = append(os.Environ(),
		"OPSGATE_HELPER_WORKER=1", "REDIS_URL="+e.redis.URL(), "SLACK_BOT_TOKEN="+slackToken, "SLACK_API_URL="+e.slack.APIURL(),
		"SLACK_CHANNEL="+channel, "OPSGATE_WORKERS=3", "OPSGATE_RECLAIM_IDLE=300ms", "OPSGATE_STORM_WINDOW=0", "SLACK_CHANNEL_PACE=0",
		"PAGERDUTY_API_URL="+cfg.PagerDutyAPIURL, "GEMINI_API_KEY="+cfg.GeminiAPIKey.Reveal(), "GEMINI_BASE_URL="+cfg.GeminiBaseURL)
	cmd.Env = append(append(cmd.Env, e.keyVars()...), extra...)
	if logs := os.Getenv("OPSGATE_FAULT_LOGS"); logs != "" { // where a failing run's replica logs go
		if f, err := os.OpenFile(logs, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			cmd.Stdout, cmd.Stderr = f, f
			t.Cleanup(func() { f.Close() })
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.kill() })
	return c
}

func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// deliver posts body until it is answered 202, as PagerDuty retries a
// webhook answered 5xx (here during a Redis restart).
func (e *env) deliver(body []byte) {
	for try := 0; try < 200; try++ {
		if code, _ := e.postWebhook(body, pdSecret); code == 202 {
			return
		}
		time.Sleep(50 * time.Millisecond) // PagerDuty's retry, compressed
	}
	e.t.Errorf("webhook never accepted")
}

// The fault suite: worker replicas in their own processes do the work
// while they are killed with SIGKILL mid-triage and mid-execution, Redis is
// killed and restarted on its append-only file, Slack answers 429 and 503
// in stretches and the model is down. Afterwards: one thread per incident,
// no reply twice, every status shown, the approved action run once, nothing
// dead-lettered.
func TestFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite takes about a minute")
	}
	rs := redistest.StartWith(t, "--appendonly", "yes", "--appendfsync", "always")
	fg := fakegemini.New(geminiKey)
	t.Cleanup(fg.Close)
	dir := t.TempDir()
	runs, started := filepath.Join(dir, "runs"), filepath.Join(dir, "started") // started: before the action's work; runs: after it
	act := filepath.Join(dir, "act")
	_ = os.WriteFile(act, []byte("#!/bin/sh\necho \"$*\" >> "+started+"\nsleep 1\necho \"$*\" >> "+runs+"\necho done\n"), 0o755)
	cfgPath := filepath.Join(dir, "opsgate.yaml")
	_ = os.WriteFile(cfgPath, []byte(fmt.Sprintf(`approvers:
  users: [U0ALICE]
actions:
  - id: flush-cache
    risk: low
    params: {key: {pattern: '[a-z:]+'}}
    run: {command: {argv: [%q, flush, "{{.key}}"]}}
    approvals: {required: 1}
`, act)), 0o600)
	file, err := config.LoadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	e := startOn(t, rs, file, withGemini(fg))
	e.slack.AddUser("U0BOB", "bob")
	replica := func() *child { return e.spawn(t, "OPSGATE_CONFIG="+cfgPath) }
	a, b := replica(), replica()

	const n = 30
	at := time.Now().Add(-time.Minute)
	trigger := func(i int) []byte {
		id := fmt.Sprintf("PFAULT%02d", i)
		return incidentEvent("E-T-"+id, "incident.triggered", id, "triggered", at)
	}
	ack := func(i int) []byte {
		id := fmt.Sprintf("PFAULT%02d", i)
		return incidentEvent("E-A-"+id, "incident.acknowledged", id, "acknowledged", at.Add(time.Second))
	}
	resolve := func(i int) []byte {
		id := fmt.Sprintf("PFAULT%02d", i)
		return incidentEvent("E-R-"+id, "incident.resolved", id, "resolved", at.Add(2*time.Second))
	}
	send := func(bodies func(int) []byte, upto int) {
		var wg sync.WaitGroup
		for i := 0; i < upto; i++ {
			for range 2 { // every event delivered twice
				wg.Add(1)
				go func() { defer wg.Done(); e.deliver(bodies(i)) }()
			}
		}
		wg.Wait()
	}

	// Phase 1: triggers, with the model down, Slack failing and a replica killed mid-triage.
	fg.FailNext("generateContent", 40, 503, 0)
	e.slack.FailNext("chat.postMessage", 3, 429, 1)
	send(trigger, n/2)
	waitFor(t, e, "triage under way", func() bool { return e.slack.Calls("chat.postMessage") > 5 })
	a.kill()
	a = replica()
	e.slack.FailNext("chat.update", 3, 503, 0)
	send(trigger, n)
	// Redis is killed and comes back from its append-only file.
	rs.Restart()
	waitFor(t, e, "redis back", func() bool { return e.app.Redis.Ping(context.Background()).Err() == nil })
	send(ack, n)
	b.kill()
	b = replica()
	e.slack.FailNext("chat.postMessage", 3, 503, 0)
	send(resolve, n/3)
	waitFor(t, e, "every thread", func() bool { return len(e.slack.Threads(channel)) >= n })

	// Phase 2: an approved action, its replica killed mid-execution.
	e.postSlack("/slack/commands", slashFormAs("U0BOB", "propose PFAULT03 flush-cache key=sessions", e.slack.ResponseURL("p")), time.Now(), signingSecret)
	var value string
	waitFor(t, e, "the proposal", func() bool {
		for _, m := range anyButton.FindAllStringSubmatch(allBlocks(e), -1) {
			if m[1] == "proposal_approve" {
				value = m[2] + "|" + m[3]
				return true
			}
		}
		return false
	})
	if t.Failed() {
		t.Logf("answers: %+v", e.slack.ResponseURLPosts())
	}
	click(e, "U0ALICE", "proposal_approve", value, "1.1")
	waitFor(t, e, "the action to start", func() bool { _, err := os.Stat(started); return err == nil })
	a.kill()
	b.kill()
	a, b = replica(), replica()

	// Settle, with a healthy world.
	waitFor(t, e, "everything handled", func() bool {
		q, _ := e.app.Queue.Len(context.Background())
		p, _ := e.app.Queue.Pending(context.Background())
		return q == 0 && p == 0
	})
	ctx := context.Background()
	threads := e.slack.Threads(channel)
	if len(threads) != n {
		t.Fatalf("%d threads for %d incidents\n%s", len(threads), n, e.slack.Transcript(channel))
	}
	seen := map[string]bool{}
	for _, th := range threads {
		id, _ := th.Metadata.EventPayload["incident_id"].(string)
		if seen[id] {
			t.Fatalf("two threads for %s", id)
		}
		seen[id] = true
		keys := map[string]int{}
		for _, r := range e.slack.Replies(channel, th.TS) {
			if r.Metadata != nil && r.Metadata.EventType == render.ReplyEventType {
				k, _ := r.Metadata.EventPayload["reply"].(string)
				if keys[k]++; keys[k] > 1 {
					t.Fatalf("%s: reply %s posted twice", id, k)
				}
			}
		}
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("PFAULT%02d", i)
		rec, err := e.app.Store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := incident.StatusAcknowledged
		if i < n/3 {
			want = incident.StatusResolved
		}
		if rec.Snapshot.Status != want || !rec.Synced() {
			t.Fatalf("%s: status %s (want %s), synced %v", id, rec.Snapshot.Status, want, rec.Synced())
		}
	}
	// The click whose replica died was reclaimed and handled: the fence
	// kept the action from starting again (a stalled run is reported by
	// the sweep, never re-run).
	got, _ := os.ReadFile(started)
	if c := strings.Count(string(got), "flush"); c != 1 {
		t.Fatalf("the action started %d times", c)
	}
	if dead, _ := e.app.Queue.Dead(ctx); len(dead) != 0 {
		t.Fatalf("dead letters: %v", dead)
	}
}

func allBlocks(e *env) string {
	var b strings.Builder
	for _, th := range e.slack.Threads(channel) {
		for _, r := range e.slack.Replies(channel, th.TS) {
			b.Write(r.Blocks)
		}
	}
	return b.String()
}

// waitFor polls cond with a generous bound for a multi-process run (a
// hang bound, not a timing assertion).
func waitFor(t *testing.T, e *env, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\nanswers: %+v", what, answersOf(e))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func answersOf(e *env) string {
	var b strings.Builder
	for _, p := range e.slack.ResponseURLPosts() {
		fmt.Fprintln(&b, p.Body["text"])
	}
	for _, x := range e.slack.Ephemerals() {
		fmt.Fprintln(&b, x.Text)
	}
	return b.String()
}
