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
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// stallGrace is how long past its timeout an execution may stay
// EXECUTING before it is reported as stalled.
const stallGrace = time.Minute

// execute runs an approved proposal once: only the caller that wins the
// fence runs it; the outcome, masked output and verification go to the
// thread and the audit trail. Once begun it is not cancelled by a
// shutdown (the drain waits for it), and it runs only what its approvers
// saw: if the catalog or scope changed since, it fails without running.
// An undo that succeeds marks what it undid UNDONE; a verification that
// fails proposes the undo.
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
		return err
	}
	rec, err := s.Store.Get(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	scoped := s.catalog().For(s.scopeFor(rec))
	if why := s.stillValid(ctx, scoped, p); why != "" {
		return s.finishRun(ctx, rec, p, spec, fence, approval.Failed, "not run: "+why, executor.Result{})
	}
	s.refresh(ctx, p, spec)
	runCtx, cancel := context.WithDeadline(ctx, p.StartedAt.Add(spec.Timeout)) // the stall deadline bounds the run
	res, runErr := s.Runner.Run(runCtx, scoped, p.ActionID, p.IsUndo(), p.Params, false)
	cancel()
	to, outcome := approval.Succeeded, fmt.Sprintf("exit %d", res.ExitCode)
	if e := runExec(spec, p); e != nil && e.HTTP != nil {
		outcome = fmt.Sprintf("HTTP %d", res.ExitCode)
	}
	if runErr != nil {
		to, outcome = approval.Failed, runErr.Error()
	}
	return s.finishRun(ctx, rec, p, spec, fence, to, outcome, res)
}

func runExec(spec catalog.Spec, p *approval.Proposal) *catalog.Exec {
	if p.IsUndo() {
		return spec.Undo
	}
	return &spec.Run
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
	if orig.UndoID != p.ID || (orig.State != approval.Succeeded && orig.State != approval.Verified && orig.State != approval.VerifyFailed) {
		return fmt.Sprintf("%s is no longer waiting for this undo (%s)", orig.ID, orig.State)
	}
	return ""
}

// finishRun records an execution's outcome (masked), posts it, and goes on
// to verification or, for an undo, to marking what it undid.
func (s *Syncer) finishRun(ctx context.Context, rec *incident.Record, p *approval.Proposal, spec catalog.Spec, fence int64, to approval.State, outcome string, res executor.Result) error {
	s.mask(ctx, p.IncidentID, &outcome, &res.Output)
	done, err := s.Proposals.Finish(ctx, p.ID, fence, to, outcome)
	if errors.Is(err, approval.ErrBadTransition) || errors.Is(err, approval.ErrFenced) {
		// Settled by hand after it was reported stalled: keep the real
		// outcome in the audit trail, change nothing else.
		return s.auditAppend(ctx, "late_outcome", p.IncidentID, map[string]string{"proposal": p.ID, "state": string(to), "output_sha256": res.Digest})
	}
	if err != nil {
		return err
	}
	p = done
	d := map[string]string{"proposal": p.ID, "state": string(p.State), "output_sha256": res.Digest, "exit": fmt.Sprint(res.ExitCode)}
	if p.IsUndo() {
		d["undo_of"] = p.UndoOf
	}
	if err := s.auditAppend(ctx, "executed", p.IncidentID, d); err != nil {
		return err
	}
	s.refresh(ctx, p, spec)
	s.postOutput(ctx, rec, p, outcome, res.Output)
	if p.IsUndo() {
		if p.State == approval.Failed {
			s.undoEnded(ctx, p)
			return nil
		}
		return s.markUndone(ctx, p, spec)
	}
	if p.State != approval.Succeeded || spec.Verify == nil {
		return nil
	}
	return s.verify(ctx, rec, p, spec, fence)
}

// verify runs the action's check and records the result; a failed check
// proposes the undo.
func (s *Syncer) verify(ctx context.Context, rec *incident.Record, p *approval.Proposal, spec catalog.Spec, fence int64) error {
	v, err := s.Runner.Verify(ctx, s.catalog().For(s.scopeFor(rec)), p.ActionID, p.Params)
	to := approval.Verified
	if err != nil || !v.Holds {
		to = approval.VerifyFailed
	}
	detail := v.Detail
	s.mask(ctx, p.IncidentID, &detail)
	done, err := s.Proposals.Finish(ctx, p.ID, fence, to, detail)
	if errors.Is(err, approval.ErrBadTransition) {
		return nil // undone meanwhile: the verification no longer matters
	}
	if err != nil {
		return err
	}
	if err := s.auditAppend(ctx, "verified", done.IncidentID, map[string]string{"proposal": done.ID, "state": string(done.State), "attempts": fmt.Sprint(v.Attempts)}); err != nil {
		return err
	}
	s.refresh(ctx, done, spec)
	if done.State == approval.VerifyFailed && spec.Undo != nil {
		// The undo goes through the same approvals as any other proposal.
		if _, _, err := s.requestUndo(ctx, done, spec, "", "", "", false); err != nil && !denial(err) {
			return err
		}
	}
	return nil
}

// markUndone moves what an undo undid to UNDONE.
func (s *Syncer) markUndone(ctx context.Context, undo *approval.Proposal, spec catalog.Spec) error {
	if undo.State != approval.Succeeded {
		return nil
	}
	orig, err := s.Proposals.Finish(ctx, undo.UndoOf, 0, approval.Undone, "undone by "+undo.ID)
	if errors.Is(err, approval.ErrBadTransition) {
		return nil // already undone
	}
	if err != nil {
		return err
	}
	if err := s.auditAppend(ctx, "undone", orig.IncidentID, map[string]string{"proposal": orig.ID, "by": undo.ID}); err != nil {
		return err
	}
	s.refresh(ctx, orig, spec)
	return nil
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

func (s *Syncer) auditAppend(ctx context.Context, action, incidentID string, details map[string]string) error {
	if s.Audit == nil {
		return nil
	}
	_, err := s.Audit.Append(ctx, audit.Entry{Actor: "opsgate", Action: action, Incident: incidentID, Details: details})
	return err
}

// Sweep expires proposals nobody decided in time (their buttons go) and
// reports executions whose worker stopped before finishing (they stay
// EXECUTING past their deadline): each once, in its thread and the audit
// trail. Stalled executions are never re-run; an engineer checks and
// settles them (`opsgate proposals settle`). It returns how many stalled
// executions it reported.
func (s *Syncer) Sweep(ctx context.Context) (int, error) {
	if s.Proposals == nil {
		return 0, nil
	}
	expired, err := s.Proposals.Expire(ctx)
	for _, p := range expired {
		if aerr := s.auditAppend(ctx, "expired", p.IncidentID, map[string]string{"proposal": p.ID}); aerr != nil {
			s.log().Warn("could not audit an expiry", "proposal", p.ID, "err", aerr)
		}
		if spec, ok := s.catalog().Get(p.ActionID); ok {
			s.refresh(ctx, p, spec)
		}
		s.undoEnded(ctx, p)
	}
	if err != nil {
		return 0, err
	}
	stalled, err := s.Proposals.Stalled(ctx)
	for _, p := range stalled {
		if aerr := s.auditAppend(ctx, "execution_stalled", p.IncidentID, map[string]string{"proposal": p.ID, "fence": fmt.Sprint(p.Fence)}); aerr != nil {
			s.log().Error("could not audit a stalled execution", "proposal", p.ID, "err", aerr)
		}
		s.log().Error("execution stalled: its worker stopped; outcome unknown, not re-run", "proposal", p.ID, "action", p.ActionID)
		if spec, ok := s.catalog().Get(p.ActionID); ok {
			s.refresh(ctx, p, spec)
		}
		rec, gerr := s.Store.Get(ctx, p.IncidentID)
		if gerr != nil || !rec.HasThread() {
			continue
		}
		s.reply(ctx, rec, fmt.Sprintf(":warning: `%s` (proposal %s) started at %s on a worker that stopped before reporting. "+
			"Its outcome is unknown and opsgate will not run it again: check by hand, then record it with `opsgate proposals settle %s succeeded|failed`.",
			p.ActionID, p.ID, p.StartedAt.UTC().Format("15:04:05 UTC"), p.ID), p.ID)
	}
	return len(stalled), err
}

// KindSettled is queued by `opsgate proposals settle`: the thread learns
// the outcome an engineer recorded by hand.
const KindSettled = "settled" // payload: SettledNotice

// SettledNotice names a proposal settled by hand.
type SettledNotice struct {
	ProposalID string `json:"proposal_id"`
	By         string `json:"by"`
}

// handleSettled updates a settled proposal's message, says so in the
// thread, and, for an undo, marks (or unlinks) what it undid.
func (s *Syncer) handleSettled(ctx context.Context, n SettledNotice) error {
	if s.Proposals == nil {
		return nil
	}
	p, err := s.Proposals.Get(ctx, n.ProposalID)
	if err != nil {
		return err
	}
	spec, ok := s.catalog().Get(p.ActionID)
	if !ok {
		return nil
	}
	s.refresh(ctx, p, spec)
	if rec, err := s.Store.Get(ctx, p.IncidentID); err == nil && rec.HasThread() {
		s.reply(ctx, rec, fmt.Sprintf("`%s` (proposal %s) was settled by hand as *%s* by %s.", p.ActionID, p.ID, p.State, render.Escape(n.By)), p.ID)
	}
	if p.IsUndo() {
		if p.State == approval.Succeeded {
			return s.markUndone(ctx, p, spec)
		}
		s.undoEnded(ctx, p)
	}
	return nil
}
