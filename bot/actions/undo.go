package actions

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/catalog"
)

// maxUndoAttempts bounds fresh undo proposals per action.
const maxUndoAttempts = 5

// RequestUndo proposes the undo of p on opsgate's own behalf (after its
// verification failed); the undo goes through the action's approvals like
// any other proposal. A refusal (the action has no undo, one is pending…)
// is not an error.
func (d *Decider) RequestUndo(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error {
	_, _, err := d.requestUndo(ctx, p, spec, "", "", "", false)
	if denial(err) != nil {
		return nil
	}
	return err
}

// requestUndo proposes the undo of p. requester "" is opsgate itself.
// The undo is its own proposal (its id derives from p's, so a double
// click asks once); for a low-risk action that needs one approval the
// requester's click is that approval (one-click undo). After an undo was
// rejected, expired or failed before running, a fresh one may be asked
// for. It returns the undo proposal and whether it is approved.
func (d *Decider) requestUndo(ctx context.Context, p *approval.Proposal, spec catalog.Spec, requester, hash, click string, may bool) (*approval.Proposal, bool, error) {
	switch {
	case spec.Undo == nil:
		return nil, false, fmt.Errorf("%s: %w", p.ActionID, catalog.ErrNoUndo)
	case p.IsUndo():
		return nil, false, approval.ErrNotUndoable
	case requester != "" && !may:
		return nil, false, approval.ErrNotApprover
	case requester != "" && hash != p.Hash:
		return nil, false, approval.ErrChanged
	case p.Verifying:
		return nil, false, ErrVerifying
	}
	rec, err := d.Proposer.Incidents.Get(ctx, p.IncidentID)
	if err != nil {
		return nil, false, err
	}
	scoped, err := d.Proposer.Scopes.For(ctx, rec)
	if err != nil {
		return nil, false, err
	}
	oneClick := spec.Risk == catalog.RiskLow && spec.Approvals.Required <= 1 && requester != ""
	for attempt := 0; attempt < maxUndoAttempts; attempt++ {
		undoID := approval.UndoID(p.ID, attempt)
		if prev, err := d.Proposals.Get(ctx, undoID); err == nil && prev.Dead() {
			continue // that undo ended without undoing: ask afresh
		} else if err != nil && !errors.Is(err, approval.ErrNotFound) {
			return nil, false, err
		}
		orig, linked, err := d.Proposals.RequestUndo(ctx, p.ID, undoID)
		if err != nil {
			return nil, false, err
		}
		u := d.Proposer.New(rec, spec, p.ActionID, p.Params, SourceUndo, requester, 0)
		u.ID, u.UndoOf, u.Triggerer = undoID, p.ID, p.Triggerer
		if requester == "" {
			u.Source = SourceVerify
		}
		if oneClick {
			u.Proposer, u.Requester = "", requester
		}
		undo, _, err := d.Proposer.Open(ctx, rec, scoped, spec, u)
		if err != nil {
			// Unlink what this call linked, so that the action is not left
			// "undo requested" with no undo to approve.
			if linked {
				if _, cerr := d.Proposals.ClearUndo(ctx, p.ID, undoID); cerr != nil {
					d.log().Warn("could not unlink a failed undo", "proposal", p.ID, "err", cerr)
				}
			}
			return nil, false, err
		}
		d.Board.Refresh(ctx, orig)
		if undo.State == approval.Failed {
			return nil, false, ErrUndoFailed
		}
		if !oneClick {
			return undo, false, nil
		}
		approved, done, err := d.Proposals.ApproveClick(ctx, undoID, requester, undo.Hash, click, true)
		if errors.Is(err, approval.ErrSelfApproval) {
			// The requester opened the triage (allow_self: false): the
			// undo stays proposed for another approver.
			return undo, false, nil
		}
		return approved, done, err
	}
	return nil, false, fmt.Errorf("%w (%d undos were asked for already)", approval.ErrUndoRequested, maxUndoAttempts)
}

// UndoEnded unlinks an undo that ended without undoing (rejected, expired,
// failed before running) from its action, whose Undo button comes back.
func (d *Decider) UndoEnded(ctx context.Context, undo *approval.Proposal) {
	if !undo.IsUndo() || !undo.Dead() {
		return
	}
	orig, err := d.Proposals.ClearUndo(ctx, undo.UndoOf, undo.ID)
	if err != nil {
		d.log().Warn("could not unlink an undo", "undo", undo.ID, "err", err)
		return
	}
	d.Board.Refresh(ctx, orig)
}
