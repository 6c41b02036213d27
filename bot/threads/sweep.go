package threads

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/render"
)

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
		s.refresh(ctx, p)
		s.undoEnded(ctx, p)
	}
	if err != nil {
		return 0, err
	}
	stalled, err := s.Proposals.Stalled(ctx)
	for _, p := range stalled {
		verification := p.State != approval.Executing
		what := "execution_stalled"
		if verification {
			what = "verification_stalled"
		}
		s.auditLogged(ctx, what, p.IncidentID, map[string]string{"proposal": p.ID, "fence": fmt.Sprint(p.Fence)})
		s.log().Error("worker stopped mid-action; outcome unknown, not re-run", "proposal", p.ID, "action", p.ActionID, "step", what)
		s.refresh(ctx, p)
		rec, gerr := s.Store.Get(ctx, p.IncidentID)
		if gerr != nil || !rec.HasThread() {
			continue
		}
		text := fmt.Sprintf(":warning: `%s` (proposal %s) started at %s on a worker that stopped before reporting. "+
			"Its outcome is unknown and opsgate will not run it again: check by hand, then record it with `opsgate proposals settle %s succeeded|failed`.",
			p.ActionID, p.ID, p.StartedAt.UTC().Format("15:04:05 UTC"), p.ID)
		if verification {
			text = fmt.Sprintf(":warning: `%s` (proposal %s) ran, but the worker verifying it stopped: whether it helped is unknown. Check by hand; Undo is available.", p.ActionID, p.ID)
		}
		s.reply(ctx, rec, text, p.ID)
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
	if errors.Is(err, approval.ErrNotFound) {
		return fmt.Errorf("settled proposal %s: %w", n.ProposalID, queue.ErrPermanent)
	}
	if err != nil {
		return err
	}
	if _, ok := s.catalog().Get(p.ActionID); !ok {
		return nil // left the catalog: nothing to render
	}
	s.refresh(ctx, p)
	if rec, err := s.Store.Get(ctx, p.IncidentID); err == nil && rec.HasThread() {
		s.reply(ctx, rec, fmt.Sprintf("`%s` (proposal %s) was settled by hand as *%s* by %s.", p.ActionID, p.ID, p.State, render.Escape(n.By)), p.ID)
	}
	if p.IsUndo() && p.State == approval.Succeeded {
		s.markUndone(ctx, p)
	}
	return nil
}
