// Package execution runs approved proposals: once, under a fencing token,
// only as their approvers saw them; it records and posts the masked
// outcome, verifies it, marks what an undo undid, and — in the sweep —
// expires undecided proposals and reports runs whose worker died (never
// re-running them).
package execution

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/bot/retry"
)

// stallGrace is how long past its timeout an execution may stay
// EXECUTING before it is reported as stalled.
const stallGrace = time.Minute

// Incidents reads incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
}

// Scopes scopes the catalog to an incident (package scope).
type Scopes interface {
	For(ctx context.Context, rec *incident.Record) (catalog.Scoped, error)
	Actions() *catalog.Catalog
}

// Runner executes actions and their checks (package executor).
type Runner interface {
	Run(ctx context.Context, s catalog.Scoped, id string, undo bool, params map[string]string, dryRun bool) (executor.Result, error)
	Verify(ctx context.Context, s catalog.Scoped, id string, params map[string]string) (executor.Verification, error)
}

// Board edits proposal messages and replies in the thread (package actions).
type Board interface {
	Refresh(ctx context.Context, p *approval.Proposal)
	Reply(ctx context.Context, rec *incident.Record, text, proposal string)
}

// Undoer proposes undos and unlinks those that ended (package actions).
type Undoer interface {
	RequestUndo(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error
	UndoEnded(ctx context.Context, undo *approval.Proposal)
}

// Masker masks texts with the incident's placeholders, withholding them
// when it cannot (package view).
type Masker interface {
	Texts(ctx context.Context, incidentID string, texts ...*string) error
}

// Auditor appends to the audit trail.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Executor runs approved proposals.
type Executor struct {
	Proposals *approval.Store
	Incidents Incidents
	Scopes    Scopes
	Runner    Runner
	Board     Board
	Undo      Undoer
	Masker    Masker
	Audit     Auditor
	Sleep     retry.Sleeper // between in-place retries of bookkeeping (nil: a real timer)
	Log       *slog.Logger
}

func (x *Executor) log() *slog.Logger { return cmp.Or(x.Log, slog.Default()) }

// Execute runs an approved proposal once: only the caller that wins the
// fence runs it; the outcome, masked output and verification go to the
// thread and the audit trail. It runs only what its approvers saw: if the
// catalog or scope changed since, it fails without running. An undo that
// succeeds marks what it undid UNDONE; a verification that fails proposes
// the undo.
//
// Once begun, nothing here is left to a redelivery (a redelivered click
// finds the proposal past APPROVED and cannot resume it): it is not
// cancelled by a shutdown, its bookkeeping is retried in place, and what
// still fails is logged — a run whose outcome could not be recorded stays
// EXECUTING and the sweep reports it.
func (x *Executor) Execute(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error {
	ctx = context.WithoutCancel(ctx)
	p, fence, err := x.Proposals.Begin(ctx, p.ID, spec.Timeout+stallGrace)
	if errors.Is(err, approval.ErrNotApproved) {
		return nil // another worker has it, or had it
	}
	if err != nil {
		return err // not begun: the click is retried
	}
	var rec *incident.Record
	var scoped catalog.Scoped
	if err := x.persist(ctx, "load incident", func(ctx context.Context) (err error) {
		if rec, err = x.Incidents.Get(ctx, p.IncidentID); err == nil {
			scoped, err = x.Scopes.For(ctx, rec)
		}
		return err
	}); err != nil {
		return nil // not run; the sweep reports it stalled
	}
	if why := x.stillValid(ctx, scoped, p); why != "" {
		x.finishRun(ctx, rec, scoped, p, spec, fence, approval.Failed, "not run: "+why, executor.Result{}, true)
		return nil
	}
	x.Board.Refresh(ctx, p)
	runCtx, cancel := context.WithDeadline(ctx, p.StartedAt.Add(spec.Timeout)) // the stall deadline bounds the run
	res, runErr := x.Runner.Run(runCtx, scoped, p.ActionID, p.IsUndo(), p.Params, false)
	cancel()
	to, outcome := approval.Succeeded, fmt.Sprintf("exit %d", res.ExitCode)
	if e := spec.Exec(p.IsUndo()); e != nil && e.HTTP != nil {
		outcome = fmt.Sprintf("HTTP %d", res.ExitCode)
	}
	if runErr != nil {
		to, outcome = approval.Failed, runErr.Error()
	}
	x.finishRun(ctx, rec, scoped, p, spec, fence, to, outcome, res, false)
	return nil
}

// persist retries an idempotent bookkeeping step in place (Redis blips):
// after Begin there is no redelivery to fall back on. Errors that are
// answers (final) are returned at once.
func (x *Executor) persist(ctx context.Context, what string, fn func(ctx context.Context) error, final ...error) error {
	isFinal := func(err error) bool {
		return slices.ContainsFunc(final, func(f error) bool { return errors.Is(err, f) })
	}
	err := retry.Do(ctx, retry.Policy{Attempts: 8, Base: 250 * time.Millisecond, Max: 5 * time.Second, Sleep: x.Sleep},
		func(err error) retry.Verdict { return retry.Verdict{Retry: !isFinal(err)} }, fn)
	if err != nil && !isFinal(err) {
		x.log().Error("action bookkeeping failed", "step", what, "err", err)
	}
	return err
}

// stillValid says why p may not run now ("" when it may): its command
// must render as its approvers saw it, and an undo must still be the
// undo its action is waiting for.
func (x *Executor) stillValid(ctx context.Context, scoped catalog.Scoped, p *approval.Proposal) string {
	argv, err := scoped.Render(p.ActionID, p.IsUndo(), p.Params)
	if err != nil {
		return "the catalog or the incident's scope changed since it was approved (" + err.Error() + "); propose it again"
	}
	if p.Preview != nil && !slices.Equal(argv, p.Preview) {
		return "the command changed since it was approved; propose it again"
	}
	if !p.IsUndo() {
		return ""
	}
	orig, err := x.Proposals.Get(ctx, p.UndoOf)
	if err != nil {
		return "the action it undoes is gone"
	}
	if orig.UndoID != p.ID || !orig.Ran() {
		return fmt.Sprintf("%s is no longer waiting for this undo (%s)", orig.ID, orig.State)
	}
	return ""
}

// mask masks texts, logging (and withholding them) when it cannot.
func (x *Executor) mask(ctx context.Context, incidentID string, texts ...*string) {
	if err := x.Masker.Texts(ctx, incidentID, texts...); err != nil {
		x.log().Warn("masking unavailable: output withheld", "incident", incidentID, "err", err)
	}
}

// finishRun records an execution's outcome (masked), posts it, and goes on
// to verification or, for an undo, to marking what it undid.
func (x *Executor) finishRun(ctx context.Context, rec *incident.Record, scoped catalog.Scoped, p *approval.Proposal, spec catalog.Spec, fence int64, to approval.State, outcome string, res executor.Result, notRun bool) {
	x.mask(ctx, p.IncidentID, &outcome, &res.Output)
	info := approval.RunInfo{NotRun: notRun}
	if to == approval.Succeeded && !p.IsUndo() && spec.Verify != nil {
		info.VerifyWithin = spec.Verify.Within + stallGrace
	}
	var done *approval.Proposal
	err := x.persist(ctx, "record outcome", func(ctx context.Context) (err error) {
		done, err = x.Proposals.FinishRun(ctx, p.ID, fence, to, outcome, info)
		return err
	}, approval.ErrBadTransition, approval.ErrFenced)
	if errors.Is(err, approval.ErrBadTransition) || errors.Is(err, approval.ErrFenced) {
		// Settled by hand after it was reported stalled: keep the real
		// outcome in the audit trail and tell the thread.
		x.audit(ctx, "late_outcome", p.IncidentID, map[string]string{"proposal": p.ID, "state": string(to), "output_sha256": res.Digest})
		x.Board.Reply(ctx, rec, fmt.Sprintf(":warning: `%s` (proposal %s) finished as *%s* after it was settled by hand; check the settlement.", p.ActionID, p.ID, to), p.ID)
		return
	}
	if err != nil {
		return // stays EXECUTING: the sweep reports it
	}
	p = done
	d := map[string]string{"proposal": p.ID, "state": string(p.State), "output_sha256": res.Digest, "exit": fmt.Sprint(res.ExitCode)}
	if p.IsUndo() {
		d["undo_of"] = p.UndoOf
	}
	x.audit(ctx, "executed", p.IncidentID, d)
	x.Board.Refresh(ctx, p)
	x.Board.Reply(ctx, rec, outputText(p, outcome, res.Output), p.ID)
	switch {
	case p.IsUndo() && p.State == approval.Succeeded:
		x.markUndone(ctx, p)
	case p.IsUndo():
		x.Undo.UndoEnded(ctx, p)
	case p.Verifying:
		x.verify(ctx, scoped, p, spec)
	}
}

// verify runs the action's check and records the result; a failed check
// proposes the undo.
func (x *Executor) verify(ctx context.Context, scoped catalog.Scoped, p *approval.Proposal, spec catalog.Spec) {
	v, err := x.Runner.Verify(ctx, scoped, p.ActionID, p.Params)
	to := approval.Verified
	if err != nil || !v.Holds {
		to = approval.VerifyFailed
	}
	detail := v.Detail
	x.mask(ctx, p.IncidentID, &detail)
	var done *approval.Proposal
	err = x.persist(ctx, "record verification", func(ctx context.Context) (err error) {
		done, err = x.Proposals.Finish(ctx, p.ID, 0, to, detail) // from SUCCEEDED: no fence to present
		return err
	}, approval.ErrBadTransition) // undone meanwhile: the verification no longer matters
	if err != nil {
		return
	}
	x.audit(ctx, "verified", done.IncidentID, map[string]string{"proposal": done.ID, "state": string(done.State), "attempts": fmt.Sprint(v.Attempts)})
	x.Board.Refresh(ctx, done)
	if done.State == approval.VerifyFailed && spec.Undo != nil {
		// The undo goes through the same approvals as any other proposal.
		if err := x.Undo.RequestUndo(ctx, done, spec); err != nil {
			x.log().Warn("undo not proposed after a failed verification", "proposal", done.ID, "err", err)
		}
	}
}

// markUndone moves what an undo undid to UNDONE.
func (x *Executor) markUndone(ctx context.Context, undo *approval.Proposal) {
	var orig *approval.Proposal
	err := x.persist(ctx, "mark undone", func(ctx context.Context) (err error) {
		orig, err = x.Proposals.Finish(ctx, undo.UndoOf, 0, approval.Undone, "undone by "+undo.ID)
		return err
	}, approval.ErrBadTransition) // already undone
	if err != nil {
		return
	}
	x.audit(ctx, "undone", orig.IncidentID, map[string]string{"proposal": orig.ID, "by": undo.ID})
	x.Board.Refresh(ctx, orig)
}

// outputText is the reply for an execution: its state, what ran, the
// outcome and its masked, truncated output.
func outputText(p *approval.Proposal, outcome, output string) string {
	out := render.Truncate(strings.TrimSpace(output), 2500)
	what := "`" + p.ActionID + "`"
	if p.IsUndo() {
		what = "undo of " + what
	}
	text := fmt.Sprintf("*%s* %s: %s", p.State, what, render.Escape(outcome))
	if out != "" {
		text += "\n```" + strings.ReplaceAll(render.Escape(out), "```", "'''") + "```"
	}
	return text
}

// audit appends one of opsgate's own entries, retried in place; a failure
// is logged (the action's bookkeeping goes on).
func (x *Executor) audit(ctx context.Context, action, incidentID string, details map[string]string) {
	_ = x.persist(ctx, "audit "+action, func(ctx context.Context) error {
		_, err := x.Audit.Append(ctx, audit.Entry{Actor: audit.System, Action: action, Incident: incidentID, Details: details})
		return err
	})
}
