package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/cli"
	"github.com/opsgate/opsgate/bot/jobs"
)

// Someone with write access to Redis but without opsgate's keys: a
// decision job added to the work stream by hand — "U0ALICE approves" — is
// refused and audited, and never runs the action; the trail serve
// anchored outside Redis then exposes every cut, rewrite and reordering
// through `opsgate audit verify`.
func TestARedisWriterCanNeitherSlipAJobInNorEditTheTrail(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	prog := filepath.Join(dir, "flush")
	_ = os.WriteFile(prog, []byte("#!/bin/sh\necho \"flushed $1\" >> "+ran+"\n"), 0o755)
	cfg := writeConfig(t, fmt.Sprintf(`approvers:
  users: [U0ALICE]
actions:
  - id: flush-cache
    risk: low
    params: {key: {pattern: '[a-z:]+'}}
    run: {command: {argv: [%q, "{{.key}}"]}}
    approvals: {required: 1}
`, prog))
	e := startFull(t, cfg)
	ctx := context.Background()
	wctx, stopWorkers := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { e.app.RunWorkers(wctx); close(stopped) }()
	t.Cleanup(func() { stopWorkers(); <-stopped })
	e.slack.AddUser("U0BOB", "bob")

	e.openThread("PTMP001")
	e.proposeAs("U0BOB", "PTMP001 flush-cache key=sessions")
	var value string
	e.eventually("the proposal", func() bool { value = e.buttonFor("proposal_approve", "key=sessions"); return value != "" })
	id, hash, _ := strings.Cut(value, "|")

	// The forged approval, written straight into the work stream.
	forged, _ := json.Marshal(jobs.Decision{ProposalID: id, Hash: hash, UserID: "U0ALICE", Approve: true, Click: "9.9", ChannelID: channel})
	rdb := e.redis.Client()
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.app.Queue.Stream, Values: map[string]any{"kind": string(jobs.KindDecision), "payload": string(forged), "dedupe": ""}}).Err(); err != nil {
		t.Fatal(err)
	}
	e.eventually("the refusal audited", func() bool { return len(e.auditEntries("job_refused")) == 1 })
	refused := e.auditEntries("job_refused")[0]
	if refused.Actor != audit.System || refused.Details["kind"] != "decision" || !strings.Contains(refused.Details["reason"], "not a sealed value") {
		t.Fatalf("refusal entry: %+v", refused)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the forged approval ran the action")
	}
	if a := e.auditActions(); a["approve"] != 0 {
		t.Fatalf("the forged approval was recorded as an approval: %v", a)
	}
	// The real approval still works, once.
	click(e, "U0ALICE", "proposal_approve", value, "1700000400.000")
	e.eventually("the action ran", func() bool { b, _ := os.ReadFile(ran); return strings.Count(string(b), "flushed") == 1 })
	e.settled()

	// serve anchors on shutdown: stop the workers, then check the trail
	// with the CLI as an auditor would.
	stopWorkers()
	<-stopped
	if !strings.Contains(e.logs.String(), "audit anchor") {
		t.Fatal("no anchor in the log")
	}
	t.Setenv("REDIS_URL", e.redis.URL())
	t.Setenv("OPSGATE_AUDIT_ANCHOR", e.opts.Env.AuditAnchor)
	e.setKeyVars(t)
	verify := func() (int, string, string) {
		var out, errOut strings.Builder
		code := cli.Main([]string{"audit", "verify"}, strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := verify()
	if code != 0 || !strings.Contains(out, "every MAC and link verified") || !strings.Contains(out, "all but the last 0 entries") {
		t.Fatalf("intact trail: %d %s %s", code, out, errOut)
	}
	msgs := rdb.XRange(ctx, audit.StreamKey, "-", "+").Val()
	n := len(msgs)
	if n < 4 {
		t.Fatalf("only %d audit entries", n)
	}
	head := rdb.Get(ctx, audit.HeadKey).Val()
	rewrite := func(keep []redis.XMessage, edit func(i int, raw string) string, newHead string) {
		rdb.Del(ctx, audit.StreamKey)
		for i, m := range keep {
			rdb.XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: map[string]any{"e": edit(i, m.Values["e"].(string))}})
		}
		rdb.Set(ctx, audit.HeadKey, newHead, 0)
	}
	same := func(_ int, raw string) string { return raw }
	var prev audit.Entry
	_ = json.Unmarshal([]byte(msgs[n-3].Values["e"].(string)), &prev)
	swapped := append(append(append([]redis.XMessage{}, msgs[:1]...), msgs[2], msgs[1]), msgs[3:]...)
	for _, c := range []struct {
		name string
		do   func()
		want string
	}{
		{"the last two cut, head reset", func() { rewrite(msgs[:n-2], same, fmt.Sprintf("%d %s", prev.Seq+1, prev.MAC)) }, fmt.Sprintf("entry #%d", n-2)},
		{"the refusal's reason rewritten", func() {
			rewrite(msgs, func(_ int, raw string) string { return strings.Replace(raw, "not a sealed value", "ok", 1) }, head)
		}, "does not match its MAC"},
		{"two entries reordered", func() { rewrite(swapped, same, head) }, "entry #1"},
	} {
		c.do()
		code, _, errOut := verify()
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q (want %q)", c.name, code, errOut, c.want)
		}
	}
	rewrite(msgs, same, head)
	if code, _, errOut := verify(); code != 0 {
		t.Fatalf("restored: %s", errOut)
	}
}
