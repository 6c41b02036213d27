package execution_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/actions"
	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/execution"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/scope"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

const channel = "C0INC"

// runner stands in for the executor: it counts runs and answers with
// output that carries values to mask.
type runner struct {
	runs  atomic.Int32
	holds bool
}

func (r *runner) Run(_ context.Context, s catalog.Scoped, id string, undo bool, params map[string]string, _ bool) (executor.Result, error) {
	r.runs.Add(1)
	return executor.Result{ExitCode: 0, Output: "recycled pool on 10.20.30.40 password=hunter2hunter2", Digest: "d1"}, nil
}

func (r *runner) Verify(context.Context, catalog.Scoped, string, map[string]string) (executor.Verification, error) {
	return executor.Verification{Holds: r.holds, Attempts: 1, Detail: "checked 10.20.30.40"}, nil
}

// undoer records what the executor asks of the decider.
type undoer struct {
	mu              sync.Mutex
	requested, ends []string
}

func (u *undoer) RequestUndo(_ context.Context, p *approval.Proposal, _ catalog.Spec) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requested = append(u.requested, p.ID)
	return nil
}

func (u *undoer) UndoEnded(_ context.Context, p *approval.Proposal) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ends = append(u.ends, p.ID)
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	slack     *fakeslack.Server
	proposals *approval.Store
	audit     *audit.Log
	x         *execution.Executor
	run       *runner
	undo      *undoer
	clock     *clock
	spec      catalog.Spec
	parent    string
}

var spec = catalog.Spec{ID: "recycle", Risk: catalog.RiskMedium, Params: map[string]*catalog.Param{"service": {EnumFrom: "scope.targets"}},
	Run:       catalog.Exec{Command: &catalog.CommandExec{Argv: []string{"/bin/true", "{{.service}}"}}},
	Undo:      &catalog.Exec{Command: &catalog.CommandExec{Argv: []string{"/bin/true", "undo", "{{.service}}"}}},
	Verify:    &catalog.Verify{Command: &catalog.CommandExec{Argv: []string{"/bin/true"}}, Within: time.Second},
	Approvals: catalog.Approvals{Required: 1}, Timeout: time.Minute, Expiry: time.Hour}

func setup(t *testing.T) *fixture {
	rdb := redistest.Start(t).Client()
	fs, client := testutil.Slack(t, map[string]string{channel: "incidents"})
	c := &clock{now: time.Now().UTC()}
	cat, err := catalog.New([]catalog.Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	store := incident.NewStore(rdb, time.Hour, c.Now)
	f := &fixture{slack: fs, proposals: approval.NewStore(rdb, time.Hour, c.Now), audit: testutil.Audit(t, rdb, c.Now), run: &runner{holds: true}, undo: &undoer{}, clock: c}
	f.spec, _ = cat.Get("recycle")
	log, _ := testutil.Logger()
	f.x = &execution.Executor{Proposals: f.proposals, Incidents: store, Scopes: &scope.Resolver{Catalog: cat}, Runner: f.run,
		Board: &actions.Board{Slack: client, Specs: cat, Log: log}, Undo: f.undo, Masker: view.NewVault(rdb, redact.Default(), time.Hour),
		Audit: f.audit, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }, Log: log}
	ctx := context.Background()
	_, f.parent, err = client.PostMessage(ctx, channel, slackapi.Message{Text: "incident"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(ctx, "PEXE1", func(r *incident.Record) (bool, error) {
		incident.Apply(r, incident.Update{EventID: "E1", Type: "incident.triggered", OccurredAt: c.Now(), Snapshot: &incident.Snapshot{ID: "PEXE1", ServiceName: "checkout-api"}}, c.Now())
		r.Thread = incident.Thread{Channel: channel, TS: f.parent}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// approved creates an approved proposal of recycle for service.
func (f *fixture) approved(t *testing.T, service string) *approval.Proposal {
	t.Helper()
	ctx := context.Background()
	params := map[string]string{"service": service}
	p := approval.Proposal{ID: jobs.ProposalID("PEXE1", approval.Hash("recycle", params)), IncidentID: "PEXE1", ActionID: "recycle", Params: params,
		Preview: []string{"/bin/true", service}, Required: 1, ExpiresAt: f.clock.Now().Add(time.Hour), Source: "human", Proposer: "U0ANN"}
	if _, err := f.proposals.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, done, err := f.proposals.Approve(ctx, p.ID, "U0BO", approval.Hash("recycle", params), true)
	if err != nil || !done {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) thread() string {
	var b strings.Builder
	for _, m := range f.slack.Replies(channel, f.parent) {
		b.WriteString(m.Text + "\n")
	}
	return b.String()
}

func (f *fixture) audited(t *testing.T) map[string]int {
	t.Helper()
	es, err := f.audit.Entries(context.Background(), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, e := range es {
		m[e.Action]++
	}
	return m
}

func TestExecuteRunsOnceMasksAndVerifies(t *testing.T) {
	f := setup(t)
	p := f.approved(t, "checkout-api")
	var wg sync.WaitGroup
	for range 4 { // redelivered clicks and racing replicas
		wg.Add(1)
		go func() { defer wg.Done(); _ = f.x.Execute(context.Background(), p, f.spec) }()
	}
	wg.Wait()
	if n := f.run.runs.Load(); n != 1 {
		t.Fatalf("ran %d times", n)
	}
	got, _ := f.proposals.Get(context.Background(), p.ID)
	if got.State != approval.Verified {
		t.Fatalf("%s: %s", got.State, got.Outcome)
	}
	thread := f.thread()
	if !strings.Contains(thread, "*SUCCEEDED* `recycle`: exit 0") || strings.Contains(thread, "10.20.30.40") || strings.Contains(thread, "hunter2") {
		t.Fatalf("thread:\n%s", thread)
	}
	if strings.Contains(got.Outcome, "10.20.30.40") {
		t.Fatal("the stored outcome holds a raw value")
	}
	if a := f.audited(t); a["executed"] != 1 || a["verified"] != 1 {
		t.Fatalf("audit %v", a)
	}
}

func TestAFailedVerificationProposesTheUndo(t *testing.T) {
	f := setup(t)
	f.run.holds = false
	p := f.approved(t, "checkout-api")
	if err := f.x.Execute(context.Background(), p, f.spec); err != nil {
		t.Fatal(err)
	}
	got, _ := f.proposals.Get(context.Background(), p.ID)
	if got.State != approval.VerifyFailed || len(f.undo.requested) != 1 || f.undo.requested[0] != p.ID {
		t.Fatalf("%s, undo requested %v", got.State, f.undo.requested)
	}
}

// What its approvers saw is what runs: a proposal whose command no longer
// renders the same fails without running.
func TestAChangedCommandDoesNotRun(t *testing.T) {
	f := setup(t)
	p := f.approved(t, "payments") // not in the incident's scope
	if err := f.x.Execute(context.Background(), p, f.spec); err != nil {
		t.Fatal(err)
	}
	got, _ := f.proposals.Get(context.Background(), p.ID)
	if f.run.runs.Load() != 0 || got.State != approval.Failed || !got.NotRun || !strings.Contains(got.Outcome, "not run") {
		t.Fatalf("%+v", got)
	}
}

func TestSweepReportsStalledOnceAndExpiresUndecided(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	p := f.approved(t, "checkout-api")
	if _, _, err := f.proposals.Begin(ctx, p.ID, time.Minute); err != nil { // a worker began it, then died
		t.Fatal(err)
	}
	undecided := approval.Proposal{ID: jobs.ProposalID("PEXE1", "ffffffffff"), IncidentID: "PEXE1", ActionID: "recycle", Params: map[string]string{"service": "checkout-api"},
		Required: 1, ExpiresAt: f.clock.Now().Add(time.Minute)}
	if _, err := f.proposals.Create(ctx, undecided); err != nil {
		t.Fatal(err)
	}
	if n, err := f.x.Sweep(ctx); err != nil || n != 0 {
		t.Fatal("reported before the deadline", n, err)
	}
	f.clock.Add(2 * time.Minute)
	for i, want := range []int{1, 0} {
		if n, err := f.x.Sweep(ctx); err != nil || n != want {
			t.Fatalf("sweep %d: %d %v", i, n, err)
		}
	}
	if u, _ := f.proposals.Get(ctx, undecided.ID); u.State != approval.Expired || len(f.undo.ends) != 1 {
		t.Fatalf("%s %v", u.State, f.undo.ends)
	}
	if !strings.Contains(f.thread(), "opsgate will not run it again") || f.run.runs.Load() != 0 {
		t.Fatal(f.thread())
	}
	if a := f.audited(t); a["execution_stalled"] != 1 || a["expired"] != 1 {
		t.Fatalf("audit %v", a)
	}
	// Settled by hand: the thread says so.
	if _, err := f.proposals.Settle(ctx, p.ID, approval.Succeeded, "checked"); err != nil {
		t.Fatal(err)
	}
	if err := f.x.HandleSettled(ctx, jobs.Settled{ProposalID: p.ID, By: "ann <!channel>"}); err != nil {
		t.Fatal(err)
	}
	if th := f.thread(); !strings.Contains(th, "settled by hand as *SUCCEEDED* by ann &lt;!channel&gt;") {
		t.Fatal(th)
	}
}
