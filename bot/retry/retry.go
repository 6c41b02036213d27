// Package retry runs a call again after transient failures, with capped
// exponential backoff, server-given waits (Retry-After) and an overall
// budget. Sleeping is injected so tests never wait on a real clock.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrBudgetExhausted is wrapped around the last error when the next wait
// would not fit in the policy's budget or the attempts are used up.
var ErrBudgetExhausted = errors.New("retry budget exhausted")

// Verdict is what a classifier says about an error.
type Verdict struct {
	Retry bool          // worth trying again
	After time.Duration // server-requested wait (Retry-After); 0 = use backoff
}

// Sleeper waits for d or until ctx ends.
type Sleeper func(ctx context.Context, d time.Duration) error

// Policy bounds the retries.
type Policy struct {
	Attempts int           // total tries, >= 1
	Base     time.Duration // first backoff
	Max      time.Duration // cap for one backoff wait
	Budget   time.Duration // cap for the sum of all waits (0 = no cap)
	Sleep    Sleeper       // nil = real timer
	Jitter   bool          // add up to 20% random jitter to backoff waits
}

// RealSleep waits on a timer.
func RealSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do calls fn until it succeeds, classify says the error is final, or the
// attempts or budget run out. It returns fn's last error (wrapped with
// ErrBudgetExhausted when retries ran out on a retryable error).
func Do(ctx context.Context, p Policy, classify func(error) Verdict, fn func(ctx context.Context) error) error {
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	sleep := p.Sleep
	if sleep == nil {
		sleep = RealSleep
	}
	var waited time.Duration
	backoff := p.Base
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		v := classify(err)
		if !v.Retry {
			return err
		}
		if attempt >= p.Attempts {
			return fmt.Errorf("%w after %d attempts: %w", ErrBudgetExhausted, attempt, err)
		}
		wait := v.After
		if wait <= 0 {
			wait = backoff
			if p.Jitter && wait > 0 {
				wait += rand.N(wait/5 + 1)
			}
			backoff *= 2
			if p.Max > 0 && backoff > p.Max {
				backoff = p.Max
			}
		}
		if p.Budget > 0 && waited+wait > p.Budget {
			return fmt.Errorf("%w: next wait %s exceeds budget %s: %w", ErrBudgetExhausted, wait, p.Budget, err)
		}
		if serr := sleep(ctx, wait); serr != nil {
			return err
		}
		waited += wait
	}
}
