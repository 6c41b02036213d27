package rca

import (
	"sync"
	"time"
)

// Breaker opens after Threshold consecutive failures and lets one call
// through again after Cooldown (half-open).
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	Now       func() time.Time

	mu       sync.Mutex
	failures int
	openedAt time.Time
}

// Allow reports whether a call may go out now.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.Threshold {
		return true
	}
	return b.now().Sub(b.openedAt) >= b.Cooldown
}

// Done records a call's outcome.
func (b *Breaker) Done(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.Threshold {
		b.openedAt = b.now()
	}
}

func (b *Breaker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}
