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
	ids, err := s.rdb.ZRangeByScore(ctx, PendingKey, &redis.ZRangeBy{Min: "-inf", Max: fmt.Sprint(s.now().Unix())}).Result()
	if err != nil {
		return nil, fmt.Errorf("expire proposals: %w", err)
	}
	var out []*Proposal
	for _, id := range ids {
		expired := false
		p, err := s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
			expired = expire(p, now)
			return expired, nil
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return out, err
		}
		if expired {
			out = append(out, p)
		}
		if p != nil && p.State == Proposed {
			continue // not yet due (its score was rounded): keep it indexed
		}
		if err := s.rdb.ZRem(ctx, PendingKey, id).Err(); err != nil {
			return out, fmt.Errorf("expire proposals: %w", err)
		}
	}
	return out, nil
}

// Stalled returns the executions past their deadline, each marked stalled
// exactly once (the caller reports it), and the verifications past theirs
// (SUCCEEDED, Verifying cleared: their result is unknown); finished ones
// leave the index.
func (s *Store) Stalled(ctx context.Context) ([]*Proposal, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, ExecutingKey, &redis.ZRangeBy{Min: "-inf", Max: fmt.Sprint(s.now().Unix())}).Result()
	if err != nil {
		return nil, fmt.Errorf("stalled executions: %w", err)
	}
	var out []*Proposal
	for _, id := range ids {
		marked := false
		p, err := s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
			switch {
			case p.State == Executing && !p.Stalled:
				p.Stalled, marked = true, true
			case p.Verifying && !now.Before(p.VerifyBy):
				p.Verifying, marked = false, true
				p.Outcome = clipOutcome(p.Outcome + " · verification did not finish: the worker running it stopped")
			}
			return marked, nil
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return out, err
		}
		if marked {
			out = append(out, p)
		}
		if p != nil && p.Verifying {
			continue // not yet due (its score was rounded down): keep it indexed
		}
		if err := s.rdb.ZRem(ctx, ExecutingKey, id).Err(); err != nil {
			return out, fmt.Errorf("stalled executions: %w", err)
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
