package threads

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// stallGrace is how long past its timeout an execution may stay
// EXECUTING before it is reported as stalled.
const stallGrace = time.Minute

// execute runs an approved proposal once: only the caller that wins the
// fence runs it; the outcome, masked output and verification go to the
// thread and the audit trail. An undo that succeeds marks what it undid
// UNDONE; a verification that fails proposes the undo.
func (s *Syncer) execute(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error {
	if s.Runner == nil {
		return nil
	}
	p, fence, err := s.Proposals.Begin(ctx, p.ID, spec.Timeout+stallGrace)
	if errors.Is(err, approval.ErrNotApproved) {
		return nil // another worker has it
	}
	if err != nil {
		return err
	}
	rec, err := s.Store.Get(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	scoped := s.catalog().For(s.scopeFor(rec))
	s.refresh(ctx, p, spec)
	res, runErr := s.Runner.Run(ctx, scoped, p.ActionID, p.IsUndo(), p.Params, false)
	to, outcome := approval.Succeeded, fmt.Sprintf("exit %d", res.ExitCode)
	if e := spec.Run; (p.IsUndo() && spec.Undo != nil && spec.Undo.HTTP != nil) || (!p.IsUndo() && e.HTTP != nil) {
		outcome = fmt.Sprintf("HTTP %d", res.ExitCode)
	}
	if runErr != nil {
		to, outcome = approval.Failed, runErr.Error()
	}
	if s.Vault != nil {
		if sess, err := s.Vault.Session(ctx, p.IncidentID); err == nil {
			outcome, res.Output = sess.String(outcome), sess.String(res.Output)
			_ = s.Vault.Save(ctx, p.IncidentID, sess)
		}
	}
	if p, err = s.Proposals.Finish(ctx, p.ID, fence, to, outcome); err != nil {
		return err
	}
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
		return s.markUndone(ctx, p, spec)
	}
	if p.State != approval.Succeeded || spec.Verify == nil {
		return nil
	}
	v, err := s.Runner.Verify(ctx, scoped, p.ActionID, p.Params)
	to = approval.Verified
	if err != nil || !v.Holds {
		to = approval.VerifyFailed
	}
	if p, err = s.Proposals.Finish(ctx, p.ID, fence, to, v.Detail); err != nil {
		return err
	}
	if err := s.auditAppend(ctx, "verified", p.IncidentID, map[string]string{"proposal": p.ID, "state": string(p.State), "attempts": fmt.Sprint(v.Attempts)}); err != nil {
		return err
	}
	s.refresh(ctx, p, spec)
	if p.State == approval.VerifyFailed && spec.Undo != nil {
		// The undo goes through the same approvals as any other proposal.
		if _, _, err := s.requestUndo(ctx, p, spec, "", "", false); err != nil && !denial(err) {
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
			p.ActionID, p.ID, p.UpdatedAt.UTC().Format("15:04:05 UTC"), p.ID), p.ID)
	}
	return len(stalled), err
}
