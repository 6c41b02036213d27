package approval

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Expire moves pending proposals past their expiry to EXPIRED and returns
// them (each once), so their buttons can be taken away.
func (s *Store) Expire(ctx context.Context) ([]*Proposal, error) {
	return s.sweep(ctx, PendingKey, "expire proposals", expire,
		func(p *Proposal) bool { return p.State == Proposed })
}

// Stalled returns the executions past their deadline, each marked stalled
// exactly once (the caller reports it), and the verifications past theirs
// (SUCCEEDED, Verifying cleared: their result is unknown); finished ones
// leave the index.
func (s *Store) Stalled(ctx context.Context) ([]*Proposal, error) {
	return s.sweep(ctx, ExecutingKey, "stalled executions", func(p *Proposal, now time.Time) bool {
		switch {
		case p.State == Executing && !p.Stalled:
			p.Stalled = true
			return true
		case p.Verifying && !now.Before(p.VerifyBy):
			p.Verifying = false
			p.Outcome = clipOutcome(p.Outcome + " · verification did not finish: the worker running it stopped")
			return true
		}
		return false
	}, func(p *Proposal) bool { return p.Verifying })
}

// sweep takes the ids in index key whose deadline has passed, marks each
// under compare-and-swap (mark reports a change) and returns the marked
// ones; ids that keep (scores are rounded down to the second, so one may
// not be due yet) stay indexed, the rest leave it.
func (s *Store) sweep(ctx context.Context, key, what string, mark func(p *Proposal, now time.Time) bool, keep func(p *Proposal) bool) ([]*Proposal, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: fmt.Sprint(s.now().Unix())}).Result()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var out []*Proposal
	for _, id := range ids {
		marked := false
		p, err := s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
			marked = mark(p, now)
			return marked, nil
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return out, err
		}
		if marked {
			out = append(out, p)
		}
		if p != nil && keep(p) {
			continue
		}
		if err := s.rdb.ZRem(ctx, key, id).Err(); err != nil {
			return out, fmt.Errorf("%s: %w", what, err)
		}
	}
	return out, nil
}

// Settle records, by hand, the outcome of a stalled execution that an
// engineer has checked (SUCCEEDED or FAILED).
func (s *Store) Settle(ctx context.Context, id string, to State, outcome string) (*Proposal, error) {
	return s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
		if p.Stalled && p.State == to {
			return false, nil // settled already: the caller may audit and notify again
		}
		if p.State != Executing || !p.Stalled {
			return false, ErrNotStalled
		}
		if to != Succeeded && to != Failed {
			return false, fmt.Errorf("%w: %s → %s", ErrBadTransition, p.State, to)
		}
		p.State, p.Outcome = to, clipOutcome(outcome)
		return true, nil
	})
}
