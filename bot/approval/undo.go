package approval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/opsgate/opsgate/bot/jobs"
)

// UndoID is the id of the proposal that undoes id: derived, so a double
// click on Undo asks once; attempt > 0 names a fresh undo after an earlier
// one was rejected, expired or failed.
func UndoID(id string, attempt int) string {
	inc, ok := jobs.ParseProposalID(id)
	if !ok {
		inc = id // not a proposal id (tests): keep it recognisable
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("undo\x00%s\x00%d", id, attempt)))
	return jobs.ProposalID(inc, hex.EncodeToString(sum[:]))
}

// Dead reports whether p ended without doing anything — rejected, expired,
// or failed before it ran — so an undo may be asked for again. An undo
// that ran and failed is not dead: it may have done part of its work.
func (p *Proposal) Dead() bool {
	return p.State == Rejected || p.State == Expired || (p.State == Failed && p.NotRun)
}

// ClearUndo unlinks an undo that ended without undoing (rejected, expired,
// failed), so the action can be undone again.
func (s *Store) ClearUndo(ctx context.Context, id, undoID string) (*Proposal, error) {
	return s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
		if p.UndoID != undoID || p.State == Undone {
			return false, nil
		}
		p.UndoID = ""
		return true, nil
	})
}

// RequestUndo records that undoID undoes id — only after the action ran,
// and only while no live undo is linked (a link to a dead undo is
// replaced). It reports whether this call made the link.
func (s *Store) RequestUndo(ctx context.Context, id, undoID string) (*Proposal, bool, error) {
	linked := false
	p, err := s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
		linked = false
		switch {
		case !p.Ran():
			return false, ErrNotUndoable
		case p.UndoID == undoID:
			return false, nil
		case p.UndoID != "":
			// Dead is terminal, so reading it outside the swap is safe. A
			// linked undo not created yet is live (its request is under way
			// and a retry of it links the same id).
			prev, err := s.Get(ctx, p.UndoID)
			if errors.Is(err, ErrNotFound) || (err == nil && !prev.Dead()) {
				return false, ErrUndoRequested
			}
			if err != nil {
				return false, err
			}
		}
		p.UndoID, linked = undoID, true
		return true, nil
	})
	return p, linked, err
}
