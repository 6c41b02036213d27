package threads

import (
	"context"
	"errors"
	"fmt"
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
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// stallGrace is how long past its timeout an execution may stay
// EXECUTING before it is reported as stalled.
const stallGrace = time.Minute

// execute runs an approved proposal once: only the caller that wins the
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
func (s *Syncer) execute(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error {
	if s.Runner == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	p, fence, err := s.Proposals.Begin(ctx, p.ID, spec.Timeout+stallGrace)
	if errors.Is(err, approval.ErrNotApproved) {
		return nil // another worker has it, or had it
	}
	if err != nil {
		return err // not begun: the click is retried
	}
	var rec *incident.Record
	if err := s.persist(ctx, "load incident", func(ctx context.Context) (err error) { rec, err = s.Store.Get(ctx, p.IncidentID); return err }); err != nil {
		return nil // not run; the sweep reports it stalled
	}
	scoped := s.scoped(rec)
	if why := s.stillValid(ctx, scoped, p); why != "" {
		s.finishRun(ctx, rec, p, spec, fence, approval.Failed, "not run: "+why, executor.Result{}, true)
		return nil
	}
	s.refresh(ctx, p)
	runCtx, cancel := context.WithDeadline(ctx, p.StartedAt.Add(spec.Timeout)) // the stall deadline bounds the run
	res, runErr := s.Runner.Run(runCtx, scoped, p.ActionID, p.IsUndo(), p.Params, false)
	cancel()
	to, outcome := approval.Succeeded, fmt.Sprintf("exit %d", res.ExitCode)
	if e := spec.Exec(p.IsUndo()); e != nil && e.HTTP != nil {
		outcome = fmt.Sprintf("HTTP %d", res.ExitCode)
	}
	if runErr != nil {
		to, outcome = approval.Failed, runErr.Error()
	}
	s.finishRun(ctx, rec, p, spec, fence, to, outcome, res, false)
	return nil
}

// persist retries an idempotent bookkeeping step in place (Redis blips):
// after Begin there is no redelivery to fall back on. Errors that are
// answers (final) are returned at once.
func (s *Syncer) persist(ctx context.Context, what string, fn func(ctx context.Context) error, final ...error) error {
	isFinal := func(err error) bool {
		return slices.ContainsFunc(final, func(f error) bool { return errors.Is(err, f) })
	}
	err := retry.Do(ctx, retry.Policy{Attempts: 8, Base: 250 * time.Millisecond, Max: 5 * time.Second, Sleep: s.Sleep},
		func(err error) retry.Verdict { return retry.Verdict{Retry: !isFinal(err)} }, fn)
	if err != nil && !isFinal(err) {
		s.log().Error("action bookkeeping failed", "step", what, "err", err)
	}
	return err
}

// stillValid says why p may not run now ("" when it may): its command
// must render as its approvers saw it, and an undo must still be the
// undo its action is waiting for.
func (s *Syncer) stillValid(ctx context.Context, scoped catalog.Scoped, p *approval.Proposal) string {
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
	orig, err := s.Proposals.Get(ctx, p.UndoOf)
	if err != nil {
		return "the action it undoes is gone"
	}
	if orig.UndoID != p.ID || !orig.Ran() {
		return fmt.Sprintf("%s is no longer waiting for this undo (%s)", orig.ID, orig.State)
	}
	return ""
}

// finishRun records an execution's outcome (masked), posts it, and goes on
// to verification or, for an undo, to marking what it undid.
func (s *Syncer) finishRun(ctx context.Context, rec *incident.Record, p *approval.Proposal, spec catalog.Spec, fence int64, to approval.State, outcome string, res executor.Result, notRun bool) {
	s.mask(ctx, p.IncidentID, &outcome, &res.Output)
	info := approval.RunInfo{NotRun: notRun}
	if to == approval.Succeeded && !p.IsUndo() && spec.Verify != nil {
		info.VerifyWithin = spec.Verify.Within + stallGrace
	}
	var done *approval.Proposal
	err := s.persist(ctx, "record outcome", func(ctx context.Context) (err error) {
		done, err = s.Proposals.FinishRun(ctx, p.ID, fence, to, outcome, info)
		return err
	}, approval.ErrBadTransition, approval.ErrFenced)
	if errors.Is(err, approval.ErrBadTransition) || errors.Is(err, approval.ErrFenced) {
		// Settled by hand after it was reported stalled: keep the real
		// outcome in the audit trail and tell the thread.
		s.auditLogged(ctx, "late_outcome", p.IncidentID, map[string]string{"proposal": p.ID, "state": string(to), "output_sha256": res.Digest})
		s.reply(ctx, rec, fmt.Sprintf(":warning: `%s` (proposal %s) finished as *%s* after it was settled by hand; check the settlement.", p.ActionID, p.ID, to), p.ID)
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
	s.auditLogged(ctx, "executed", p.IncidentID, d)
	s.refresh(ctx, p)
	s.postOutput(ctx, rec, p, outcome, res.Output)
	switch {
	case p.IsUndo() && p.State == approval.Succeeded:
		s.markUndone(ctx, p)
	case p.IsUndo():
		s.undoEnded(ctx, p)
	case p.Verifying:
		s.verify(ctx, rec, p, spec)
	}
}

// verify runs the action's check and records the result; a failed check
// proposes the undo.
func (s *Syncer) verify(ctx context.Context, rec *incident.Record, p *approval.Proposal, spec catalog.Spec) {
	v, err := s.Runner.Verify(ctx, s.scoped(rec), p.ActionID, p.Params)
	to := approval.Verified
	if err != nil || !v.Holds {
		to = approval.VerifyFailed
	}
	detail := v.Detail
	s.mask(ctx, p.IncidentID, &detail)
	var done *approval.Proposal
	err = s.persist(ctx, "record verification", func(ctx context.Context) (err error) {
		done, err = s.Proposals.Finish(ctx, p.ID, 0, to, detail) // from SUCCEEDED: no fence to present
		return err
	}, approval.ErrBadTransition) // undone meanwhile: the verification no longer matters
	if err != nil {
		return
	}
	s.auditLogged(ctx, "verified", done.IncidentID, map[string]string{"proposal": done.ID, "state": string(done.State), "attempts": fmt.Sprint(v.Attempts)})
	s.refresh(ctx, done)
	if done.State == approval.VerifyFailed && spec.Undo != nil {
		// The undo goes through the same approvals as any other proposal.
		if _, _, err := s.requestUndo(ctx, done, spec, "", "", "", false); err != nil && !denial(err) {
			s.log().Warn("undo not proposed after a failed verification", "proposal", done.ID, "err", err)
		}
	}
}

// markUndone moves what an undo undid to UNDONE.
func (s *Syncer) markUndone(ctx context.Context, undo *approval.Proposal) {
	var orig *approval.Proposal
	err := s.persist(ctx, "mark undone", func(ctx context.Context) (err error) {
		orig, err = s.Proposals.Finish(ctx, undo.UndoOf, 0, approval.Undone, "undone by "+undo.ID)
		return err
	}, approval.ErrBadTransition) // already undone
	if err != nil {
		return
	}
	s.auditLogged(ctx, "undone", orig.IncidentID, map[string]string{"proposal": orig.ID, "by": undo.ID})
	s.refresh(ctx, orig)
}

// postOutput posts an execution's masked, truncated output as a reply.
func (s *Syncer) postOutput(ctx context.Context, rec *incident.Record, p *approval.Proposal, outcome, output string) {
	out := render.Truncate(strings.TrimSpace(output), 2500)
	what := "`" + p.ActionID + "`"
	if p.IsUndo() {
		what = "undo of " + what
	}
	text := fmt.Sprintf("*%s* %s: %s", p.State, what, render.Escape(outcome))
	if out != "" {
		text += "\n```" + strings.ReplaceAll(render.Escape(out), "```", "'''") + "```"
	}
	s.reply(ctx, rec, text, p.ID)
}

func (s *Syncer) reply(ctx context.Context, rec *incident.Record, text, proposal string) {
	msg := slackapi.Message{Text: text}
	msg.ThreadTS = rec.Thread.TS
	if _, _, err := s.Slack.PostMessage(ctx, rec.Thread.Channel, msg); err != nil {
		s.log().Warn("could not post to the thread", "proposal", proposal, "err", err)
	}
}

// record appends an audit entry (no audit log: nothing to do).
func (s *Syncer) record(ctx context.Context, e audit.Entry) error {
	if s.Audit == nil {
		return nil
	}
	_, err := s.Audit.Append(ctx, e)
	return err
}

// auditAppend records one of opsgate's own entries.
func (s *Syncer) auditAppend(ctx context.Context, action, incidentID string, details map[string]string) error {
	return s.record(ctx, audit.Entry{Actor: "opsgate", Action: action, Incident: incidentID, Details: details})
}

// auditLogged appends opsgate's own entry, retried in place; a failure is
// logged (the action's bookkeeping goes on).
func (s *Syncer) auditLogged(ctx context.Context, action, incidentID string, details map[string]string) {
	_ = s.persist(ctx, "audit "+action, func(ctx context.Context) error { return s.auditAppend(ctx, action, incidentID, details) })
}
