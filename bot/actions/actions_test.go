package actions_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/access"
	"github.com/opsgate/opsgate/bot/actions"
	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/ratelimit"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/scope"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

const channel = "C0INC"

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// executor records what the decider hands it and wins the fence with,
// as package execution does: handing a proposal over twice is allowed
// (a redelivered completing click), running it twice is not.
type executor struct {
	proposals *approval.Store
	mu        sync.Mutex
	got       []string
}

func (x *executor) Execute(ctx context.Context, p *approval.Proposal, _ catalog.Spec) error {
	if _, _, err := x.proposals.Begin(ctx, p.ID, time.Minute); err != nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.got = append(x.got, p.ID)
	return nil
}

func (x *executor) calls() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.got...)
}

type fixture struct {
	slack     *fakeslack.Server
	store     *incident.Store
	proposals *approval.Store
	audit     *audit.Log
	proposer  *actions.Proposer
	decider   *actions.Decider
	exec      *executor
}

func setup(t *testing.T) *fixture {
	rdb := redistest.Start(t).Client()
	fs, client := testutil.Slack(t, map[string]string{channel: "incidents"})
	now := func() time.Time { return t0 }
	cat, err := catalog.New([]catalog.Spec{
		{ID: "restart-worker", Risk: catalog.RiskMedium, Params: map[string]*catalog.Param{"service": {EnumFrom: "scope.targets"}},
			Run:  catalog.Exec{Command: &catalog.CommandExec{Argv: []string{"/bin/true", "restart", "{{.service}}"}}},
			Undo: &catalog.Exec{Command: &catalog.CommandExec{Argv: []string{"/bin/true", "unrestart", "{{.service}}"}}}, Approvals: catalog.Approvals{Required: 2}},
		{ID: "flush-cache", Risk: catalog.RiskLow, Params: map[string]*catalog.Param{"key": {Pattern: "[a-z:]+"}},
			Run:  catalog.Exec{Command: &catalog.CommandExec{Argv: []string{"/bin/true", "flush", "{{.key}}"}}},
			Undo: &catalog.Exec{Command: &catalog.CommandExec{Argv: []string{"/bin/true", "unflush", "{{.key}}"}}}, Approvals: catalog.Approvals{Required: 1}},
		{ID: "scale", Risk: catalog.RiskLow, Params: map[string]*catalog.Param{"service": {EnumFrom: "scope.targets"}, "replicas": {Type: catalog.TypeInt, Min: 1, Max: 99}},
			Run: catalog.Exec{Command: &catalog.CommandExec{Argv: []string{"/bin/true", "scale", "{{.service}}", "{{.replicas}}"}}}, Approvals: catalog.Approvals{Required: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{slack: fs, store: incident.NewStore(rdb, time.Hour, now), proposals: approval.NewStore(rdb, time.Hour, time.Now),
		audit: testutil.Audit(t, rdb, now)}
	f.exec = &executor{proposals: f.proposals}
	for _, u := range []string{"U0ANN", "U0BO", "U0CY", "U0MALLORY", "U0CAROL"} {
		fs.AddUser(u, strings.ToLower(u))
	}
	scopes := &scope.Resolver{Catalog: cat}
	log, _ := testutil.Logger()
	board := &actions.Board{Slack: client, Specs: cat, Log: log}
	f.proposer = &actions.Proposer{Proposals: f.proposals, Incidents: f.store, Scopes: scopes, Board: board,
		Masker: view.NewVault(rdb, redact.Default(), time.Hour), Audit: f.audit, Responder: client, Now: time.Now, Log: log,
		Limiter: &ratelimit.Window{Redis: rdb, Prefix: "rate:", Limit: actions.ProposalLimit, Per: actions.ProposalWindow}}
	f.decider = &actions.Decider{Proposals: f.proposals, Specs: cat, Access: &access.Checker{Approvers: access.List{Users: []string{"U0ANN", "U0BO", "U0CY"}}},
		Proposer: f.proposer, Board: board, Audit: f.audit, Clicks: rdb, Executor: f.exec, Teller: client, Log: log}
	ctx := context.Background()
	_, parent, err := client.PostMessage(ctx, channel, slackapi.Message{Text: "incident PACT1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Update(ctx, "PACT1", func(r *incident.Record) (bool, error) {
		incident.Apply(r, incident.Update{EventID: "E1", Type: "incident.triggered", OccurredAt: t0,
			Snapshot: &incident.Snapshot{ID: "PACT1", Title: "t", ServiceName: "checkout-api"}}, t0)
		r.Thread = incident.Thread{Channel: channel, TS: parent}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) actionsAudited(t *testing.T) map[string]int {
	t.Helper()
	es, err := f.audit.Entries(context.Background(), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range es {
		out[e.Action]++
	}
	return out
}

func (f *fixture) answers() string {
	var b strings.Builder
	for _, e := range f.slack.Ephemerals() {
		b.WriteString(e.Text + "\n")
	}
	for _, r := range f.slack.ResponseURLPosts() {
		t, _ := r.Body["text"].(string)
		b.WriteString(t + "\n")
	}
	return b.String()
}

func TestProposeIsIdempotentAndChecksTheScope(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	acts := []rca.Action{
		{ID: "restart-worker", Params: map[string]string{"service": "checkout-api"}},
		{ID: "restart-worker", Params: map[string]string{"service": "payments"}}, // outside the incident's scope
		{ID: "no-such-action"},
	}
	for range 3 { // a redelivery, and the analysis proposing what the handler did
		if err := f.proposer.Propose(ctx, "PACT1", acts, actions.SourceHandler); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.slack.Messages(channel)); n != 2 {
		t.Fatalf("%d proposal messages", n)
	}
	if a := f.actionsAudited(t); a["proposed"] != 1 {
		t.Fatalf("audit %v", a)
	}
	p, err := f.proposals.Get(ctx, jobs.ProposalID("PACT1", approval.Hash("restart-worker", map[string]string{"service": "checkout-api"})))
	if err != nil || p.TS == "" || p.Required != 2 || p.Source != actions.SourceHandler || p.Preview[1] != "restart" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestTriageProposeAnswersEveryCase(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	ask := func(action string, params map[string]string) {
		t.Helper()
		if err := f.proposer.Handle(ctx, jobs.Propose{IncidentID: "PACT1", ActionID: action, Params: params, UserID: "U0CAROL",
			ChannelID: channel, ResponseURL: f.slack.ResponseURL("p")}); err != nil {
			t.Fatal(err)
		}
	}
	ask("nope", nil)
	ask("flush-cache", map[string]string{"key": "ses;rm -rf /"})
	ask("flush-cache", map[string]string{"key": "sessions"})
	ask("flush-cache", map[string]string{"key": "sessions"})
	if err := f.proposer.Handle(ctx, jobs.Propose{IncidentID: "PNOPE1", ActionID: "flush-cache", UserID: "U0CAROL", ResponseURL: f.slack.ResponseURL("p")}); err != nil {
		t.Fatal(err)
	}
	got := f.answers()
	for _, want := range []string{"There is no action \"nope\". Actions: restart-worker, flush-cache, scale.", "Not proposed:",
		"Proposed `flush-cache`", "already proposed", "has no opsgate thread yet"} {
		if !strings.Contains(got, want) {
			t.Errorf("no answer %q in:\n%s", want, got)
		}
	}
	if a := f.actionsAudited(t); a["propose_denied"] != 1 || a["proposed"] != 1 {
		t.Fatalf("audit %v", a)
	}
}

func (f *fixture) open(t *testing.T, action string, params map[string]string, proposer string) *approval.Proposal {
	t.Helper()
	ctx := context.Background()
	if err := f.proposer.Handle(ctx, jobs.Propose{IncidentID: "PACT1", ActionID: action, Params: params, UserID: proposer, ResponseURL: f.slack.ResponseURL("x")}); err != nil {
		t.Fatal(err)
	}
	p, err := f.proposals.Get(ctx, jobs.ProposalID("PACT1", approval.Hash(action, params)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApprovalsCountOncePerPersonAndCompleteOnce(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	p := f.open(t, "restart-worker", map[string]string{"service": "checkout-api"}, "U0ANN")
	click := func(user, ts string, approve bool) {
		t.Helper()
		if err := f.decider.Handle(ctx, jobs.Decision{ProposalID: p.ID, Hash: p.Hash, UserID: user, Approve: approve, Click: ts, ChannelID: channel}); err != nil {
			t.Fatal(err)
		}
	}
	click("U0MALLORY", "1.1", true) // not an approver
	click("U0ANN", "1.2", true)     // the proposer
	click("U0BO", "1.3", true)      // 1 of 2
	click("U0BO", "1.3", true)      // the same click, redelivered
	click("U0BO", "1.4", true)      // a second click of the same person
	if len(f.exec.calls()) != 0 {
		t.Fatal("ran before M-of-N")
	}
	click("U0CY", "1.5", true) // 2 of 2
	click("U0CY", "1.5", true) // redelivered after completion
	if got := f.exec.calls(); len(got) != 1 || got[0] != p.ID {
		t.Fatalf("executions %v", got)
	}
	got := f.answers()
	for _, want := range []string{"Not approved: not an approver for this action.", "Not approved: the proposer", "Approved (1 of 2).",
		"counted already", "Not approved: you already approved this proposal.", "Approved (2 of 2)."} {
		if !strings.Contains(got, want) {
			t.Errorf("no answer %q in:\n%s", want, got)
		}
	}
	a := f.actionsAudited(t)
	if a["approve"] != 2 || a["approve_denied"] != 3 {
		t.Fatalf("audit %v", a)
	}
	// Answers to clicks never carry Go error text beyond the refusal.
	if strings.Contains(got, "redis") || strings.Contains(got, "%!") {
		t.Fatal(got)
	}
}

func TestRejectAndOneClickUndo(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	p := f.open(t, "flush-cache", map[string]string{"key": "sessions"}, "U0ANN")
	if err := f.decider.Handle(ctx, jobs.Decision{ProposalID: p.ID, UserID: "U0BO", Reason: "wrong cache", ChannelID: channel}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.proposals.Get(ctx, p.ID); got.State != approval.Rejected || got.Reason != "wrong cache" {
		t.Fatalf("%+v", got)
	}
	// Undo of an action that ran: one click for a low-risk action.
	q := f.open(t, "flush-cache", map[string]string{"key": "carts"}, "U0ANN")
	if err := f.decider.Handle(ctx, jobs.Decision{ProposalID: q.ID, Hash: q.Hash, UserID: "U0BO", Approve: true, Click: "2.1", ChannelID: channel}); err != nil {
		t.Fatal(err)
	}
	begun, err := f.proposals.Get(ctx, q.ID)
	if err != nil || begun.State != approval.Executing {
		t.Fatal(begun, err)
	}
	if _, err := f.proposals.FinishRun(ctx, q.ID, begun.Fence, approval.Succeeded, "exit 0", approval.RunInfo{}); err != nil {
		t.Fatal(err)
	}
	if err := f.decider.Handle(ctx, jobs.Decision{ProposalID: q.ID, Hash: q.Hash, UserID: "U0CY", Undo: true, Click: "2.2", ChannelID: channel}); err != nil {
		t.Fatal(err)
	}
	undoID := approval.UndoID(q.ID, 0)
	if got := f.exec.calls(); len(got) != 2 || got[1] != undoID {
		t.Fatalf("executions %v", got)
	}
	if u, _ := f.proposals.Get(ctx, undoID); u.UndoOf != q.ID || u.State != approval.Executing || u.Source != actions.SourceUndo || u.Requester != "U0CY" {
		t.Fatalf("%+v", u)
	}
	if !strings.Contains(f.answers(), "Undoing (one click") {
		t.Fatal(f.answers())
	}
	// An opsgate-requested undo (after a failed verification) waits for an
	// approver; asking again changes nothing.
	for range 2 {
		if err := f.decider.RequestUndo(ctx, p, catalog.Spec{ID: "flush-cache"}); err != nil {
			t.Fatal(err) // no undo declared: a refusal, not an error
		}
	}
}

// The same action written differently ("07", "007", "7") is one
// proposal, and one person cannot flood a thread with proposals: past
// the limit they are refused (the first refusal audited).
func TestNoPerPersonFloodOfProposals(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	for i, n := range []string{"7", "07", "007", "0007"} {
		if err := f.proposer.Handle(ctx, jobs.Propose{IncidentID: "PACT1", ActionID: "scale", Params: map[string]string{"service": "checkout-api", "replicas": n},
			UserID: "U0MALLORY", ChannelID: channel, ResponseURL: f.slack.ResponseURL(fmt.Sprint("r", i))}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.slack.Messages(channel)); n != 2 { // the incident's parent and one proposal
		t.Fatalf("%d messages: equal values made separate proposals", n)
	}
	if !strings.Contains(f.answers(), "already proposed") {
		t.Fatalf("answers: %s", f.answers())
	}
	for i := 4; i < 20; i++ {
		_ = f.proposer.Handle(ctx, jobs.Propose{IncidentID: "PACT1", ActionID: "scale", Params: map[string]string{"service": "checkout-api", "replicas": fmt.Sprint(i)},
			UserID: "U0MALLORY", ChannelID: channel, ResponseURL: f.slack.ResponseURL(fmt.Sprint("r", i))})
	}
	// The first four asks made one proposal; of the next six, "7" was
	// already proposed: 1 parent + 1 + 5.
	if n := len(f.slack.Messages(channel)); n != 7 {
		t.Fatalf("%d messages after 20 asks", n)
	}
	if !strings.Contains(f.answers(), "you have made 10 proposals") {
		t.Fatalf("answers: %s", f.answers())
	}
	if a := f.actionsAudited(t); a["propose_denied"] != 1 {
		t.Fatalf("refusals audited: %v", a)
	}
	// Someone else may still propose.
	if err := f.proposer.Handle(ctx, jobs.Propose{IncidentID: "PACT1", ActionID: "scale", Params: map[string]string{"service": "checkout-api", "replicas": "42"},
		UserID: "U0CAROL", ChannelID: channel, ResponseURL: f.slack.ResponseURL("carol")}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.slack.Messages(channel)); n != 8 {
		t.Fatalf("%d messages", n)
	}
}
