package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/queue"
)

// openThread triggers incidentID by webhook and waits for its thread.
func (e *env) openThread(incidentID string) {
	e.t.Helper()
	e.postWebhook(incidentEvent("EVT-"+incidentID, "incident.triggered", incidentID, "triggered", time.Now()), pdSecret)
	e.eventually("the thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.settled()
}

// openProposal opens an incident thread and U0CAROL's proposal of
// proposal ("<action> key=value ..."); it returns the button value
// "id|hash" once the proposal has recorded its message.
func openProposal(t *testing.T, e *env, incidentID, proposal string) string {
	t.Helper()
	e.slack.AddUser("U0BOB", "bob")
	e.openThread(incidentID)
	e.proposeAs("U0CAROL", incidentID+" "+proposal)
	action, _, _ := strings.Cut(proposal, " ")
	var value string
	e.eventually("the proposal", func() bool { value = e.buttonFor("proposal_approve", action); return value != "" })
	e.settled()
	return value
}

func (e *env) handle(kind string, v any) error {
	b, _ := json.Marshal(v)
	return e.app.Jobs.Handle(context.Background(), queue.Entry{ID: "0-1", Kind: kind, Payload: b})
}

// A worker recorded the completing approval and died before it began the
// execution: the queue redelivers the same click, which runs the action
// (once); another click by the same approver does not.
func TestRedeliveredCompletingClickRunsTheAction(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	e := startWith(t, f.file)
	value := openProposal(t, e, "PRED001", "flush-cache key=sessions")
	id, hash, _ := strings.Cut(value, "|")
	if _, done, err := e.app.Proposals.ApproveClick(context.Background(), id, "U0BOB", hash, "1700000900.000", true); err != nil || !done {
		t.Fatal(done, err)
	}
	req := jobs.Decision{ProposalID: id, Hash: hash, UserID: "U0BOB", Approve: true, Click: "1700000900.000", ChannelID: channel}
	if err := e.handle(string(jobs.KindDecision), req); err != nil {
		t.Fatal(err)
	}
	req.Click = "1700000901.000"
	if err := e.handle(string(jobs.KindDecision), req); err != nil {
		t.Fatal(err)
	}
	e.eventually("the execution", func() bool { return strings.Contains(e.slack.Transcript(channel), "SUCCEEDED") })
	// The same click delivered once more after the run: counted already,
	// not a denial.
	req.Click = "1700000900.000"
	if err := e.handle(string(jobs.KindDecision), req); err != nil {
		t.Fatal(err)
	}
	e.eventually("the answer", func() bool { return strings.Contains(e.answers(), "counted already") })
	if got := f.ran(); len(got) != 1 {
		t.Fatalf("ran %v", got)
	}
	if a := e.auditActions(); a["approve_denied"] != 1 || a["executed"] != 1 {
		t.Fatalf("audit: %v", a)
	}
}

// An undo that ran and failed may have done part of its work: it stays
// linked (no second undo, no Undo button) until someone checks by hand.
func TestFailedUndoIsNotRepeated(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	f.file.Actions[1].Undo.Command.Argv = append([]string{"/bin/sh", "-c", `"$0" "$@"; exit 3`}, f.file.Actions[1].Undo.Command.Argv...)
	e := startWith(t, f.file)
	value := openProposal(t, e, "PFUN001", "flush-cache key=sessions")
	click(e, "U0BOB", "proposal_approve", value, "1700001100.000")
	var undo string
	e.eventually("Undo", func() bool { undo = e.buttonFor("proposal_undo", "flush-cache"); return undo != "" })
	click(e, "U0ALICE", "proposal_undo", undo, "1700001101.000")
	e.eventually("the failed undo", func() bool { return strings.Contains(e.slack.Transcript(channel), "*FAILED* undo of") })
	e.settled()
	if e.buttonFor("proposal_undo", "flush-cache") != "" {
		t.Fatal("Undo offered again after an undo that ran and failed")
	}
	click(e, "U0ALICE", "proposal_undo", undo, "1700001102.000")
	e.eventually("the refusal", func() bool { return strings.Contains(e.answers(), "its undo ran and failed") })
	e.settled()
	if got := f.ran(); len(got) != 2 || got[1] != "unflush_sessions" {
		t.Fatalf("runs %v: the undo must run once", got)
	}
}

// A worker that stopped while verifying: the sweep says the result is
// unknown, and the action becomes undoable.
func TestStalledVerificationLetsUndo(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	e := startWith(t, f.file)
	value := openProposal(t, e, "PSVF001", "restart-worker service=checkout-api")
	id, hash, _ := strings.Cut(value, "|")
	ctx := context.Background()
	st := e.app.Proposals
	st.Approve(ctx, id, "U0BOB", hash, true)
	_, fence, err := st.Begin(ctx, id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// It ran; its worker stopped while verifying (a deadline gone by).
	if _, err := st.FinishRun(ctx, id, fence, approval.Succeeded, "exit 0", approval.RunInfo{VerifyWithin: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the sweep", func() bool { n, _ := e.app.Executor.Sweep(ctx); return n == 1 })
	e.eventually("the report", func() bool { return strings.Contains(e.slack.Transcript(channel), "whether it helped is unknown") })
	e.eventually("Undo", func() bool { return e.buttonFor("proposal_undo", "restart-worker") != "" })
	if a := e.auditActions(); a["verification_stalled"] != 1 {
		t.Fatalf("audit: %v", a)
	}
}

// An approved proposal whose command no longer renders as its approvers
// saw it (the catalog changed, e.g. during a rolling deploy) fails
// without running.
func TestChangedCommandIsNotRun(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	e := startWith(t, f.file)
	openProposal(t, e, "PCHG001", "flush-cache key=sessions")
	ctx := context.Background()
	st := e.app.Proposals
	stale := approval.Proposal{ID: "PCHG001-00000000aa", IncidentID: "PCHG001", ActionID: "flush-cache", Params: map[string]string{"key": "sessions"},
		Source: "human", Proposer: "U0CAROL", Required: 1, ExpiresAt: time.Now().Add(time.Hour), Preview: []string{"/usr/bin/old-flush", "sessions"}}
	if ok, err := st.Create(ctx, stale); !ok || err != nil {
		t.Fatal(ok, err)
	}
	p, _ := st.Get(ctx, stale.ID)
	if err := e.handle(string(jobs.KindDecision), jobs.Decision{ProposalID: p.ID, Hash: p.Hash, UserID: "U0BOB", Approve: true, Click: "1.1", ChannelID: channel}); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, stale.ID)
	if got.State != approval.Failed || !strings.Contains(got.Outcome, "not run: the command changed") || len(f.ran()) != 0 {
		t.Fatalf("%s %q ran=%v", got.State, got.Outcome, f.ran())
	}
}

// Undo of a medium-risk action needs another approver; when that undo is
// rejected, the action offers Undo again and a fresh undo can be asked for.
func TestRejectedUndoOffersUndoAgain(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	f.file.Actions[0].Verify = nil // restart-worker: undoable at once
	e := startWith(t, f.file)
	value := openProposal(t, e, "PRUN001", "restart-worker service=checkout-api")
	click(e, "U0BOB", "proposal_approve", value, "1700001000.000")
	var undo string
	e.eventually("Undo", func() bool { undo = e.buttonFor("proposal_undo", "restart-worker"); return undo != "" })
	click(e, "U0ALICE", "proposal_undo", undo, "1700001001.000") // medium risk: a proposal, not one click
	var first string
	e.eventually("the undo proposal", func() bool { first = e.buttonFor("proposal_approve", "Proposed undo of"); return first != "" })
	e.settled() // the Undo click is handled: the action's message was edited
	if e.buttonFor("proposal_undo", "restart-worker") != "" {
		t.Fatal("Undo is offered while an undo is pending")
	}
	click(e, "U0ALICE", "proposal_approve", first, "1700001002.000") // she asked for it: not hers to approve
	e.eventually("self-approval refused", func() bool { return strings.Contains(e.answers(), "proposer") })
	click(e, "U0BOB", "proposal_reject", first, "1700001003.000")
	e.eventually("Undo offered again", func() bool { return e.buttonFor("proposal_undo", "restart-worker") != "" })
	click(e, "U0ALICE", "proposal_undo", undo, "1700001004.000")
	var second string
	e.eventually("a fresh undo proposal", func() bool {
		second = e.buttonFor("proposal_approve", "Proposed undo of")
		return second != "" && second != first
	})
	click(e, "U0BOB", "proposal_approve", second, "1700001005.000")
	e.eventually("undone", func() bool { return strings.Contains(e.slack.Transcript(channel), "Undone") })
	e.settled()
	if got := f.ran(); len(got) != 2 || got[1] != "unrestart_checkout-api" {
		t.Fatalf("runs %v", got)
	}
}

// The handler's scope widens what the incident's actions may name: its
// worker deployment, templated from the service; nothing else.
func TestHandlerScopeAllowsItsTargets(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", `handlers:
  - name: checkout
    match: {service: "^checkout-api$"}
    scope: {targets: ["{{.Service}}-worker"]}
`)
	e := startWith(t, f.file)
	e.openThread("PSCP001")
	e.proposeAs("U0CAROL", "PSCP001 restart-worker service=payments-api")
	e.eventually("out of scope", func() bool { return strings.Contains(e.answers(), "Not proposed") })
	e.proposeAs("U0CAROL", "PSCP001 restart-worker service=checkout-api-worker")
	e.eventually("in scope", func() bool { return e.buttonFor("proposal_approve", "checkout-api-worker") != "" })
}
