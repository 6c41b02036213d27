package execution

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/render"
)

// Sweep expires proposals nobody decided in time (their buttons go) and
// reports executions whose worker stopped before finishing (they stay
// EXECUTING past their deadline): each once, in its thread and the audit
// trail. Stalled executions are never re-run; an engineer checks and
// settles them (`opsgate proposals settle`). It returns how many stalled
// executions it reported.
func (x *Executor) Sweep(ctx context.Context) (int, error) {
	expired, err := x.Proposals.Expire(ctx)
	for _, p := range expired {
		if _, aerr := x.Audit.Append(ctx, audit.Entry{Actor: audit.System, Action: "expired", Incident: p.IncidentID,
			Details: map[string]string{"proposal": p.ID}}); aerr != nil {
			x.log().Warn("could not audit an expiry", "proposal", p.ID, "err", aerr)
		}
		x.Board.Refresh(ctx, p)
		x.Undo.UndoEnded(ctx, p)
	}
	if err != nil {
		return 0, err
	}
	stalled, err := x.Proposals.Stalled(ctx)
	for _, p := range stalled {
		verification := p.State != approval.Executing
		what := "execution_stalled"
		if verification {
			what = "verification_stalled"
		}
		x.audit(ctx, what, p.IncidentID, map[string]string{"proposal": p.ID, "fence": fmt.Sprint(p.Fence)})
		x.log().Error("worker stopped mid-action; outcome unknown, not re-run", "proposal", p.ID, "action", p.ActionID, "step", what)
		x.Board.Refresh(ctx, p)
		rec, gerr := x.Incidents.Get(ctx, p.IncidentID)
		if gerr != nil || !rec.HasThread() {
			continue
		}
		text := fmt.Sprintf(":warning: `%s` (proposal %s) started at %s on a worker that stopped before reporting. "+
			"Its outcome is unknown and opsgate will not run it again: check by hand, then record it with `opsgate proposals settle %s succeeded|failed`.",
			p.ActionID, p.ID, p.StartedAt.UTC().Format("15:04:05 UTC"), p.ID)
		if verification {
			text = fmt.Sprintf(":warning: `%s` (proposal %s) ran, but the worker verifying it stopped: whether it helped is unknown. Check by hand; Undo is available.", p.ActionID, p.ID)
		}
		x.Board.Reply(ctx, rec, text, p.ID)
	}
	return len(stalled), err
}

// HandleSettled updates a proposal settled by hand: its message, a reply
// in the thread, and, for an undo, what it undid.
func (x *Executor) HandleSettled(ctx context.Context, n jobs.Settled) error {
	p, err := x.Proposals.Get(ctx, n.ProposalID)
	if errors.Is(err, approval.ErrNotFound) {
		return fmt.Errorf("settled proposal %s: %w", n.ProposalID, queue.ErrPermanent)
	}
	if err != nil {
		return err
	}
	if _, ok := x.Scopes.Actions().Get(p.ActionID); !ok {
		return nil // left the catalog: nothing to render
	}
	x.Board.Refresh(ctx, p)
	if rec, err := x.Incidents.Get(ctx, p.IncidentID); err == nil && rec.HasThread() {
		x.Board.Reply(ctx, rec, fmt.Sprintf("`%s` (proposal %s) was settled by hand as *%s* by %s.", p.ActionID, p.ID, p.State, render.Escape(n.By)), p.ID)
	}
	if p.IsUndo() && p.State == approval.Succeeded {
		x.markUndone(ctx, p)
	}
	return nil
}
