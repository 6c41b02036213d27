package rca

import (
	"context"
	"errors"
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
	probing  bool // half-open: one call is out
}

// Allow reports whether a call may go out now.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.Threshold {
		return true
	}
	if b.probing || b.now().Sub(b.openedAt) < b.Cooldown {
		return false
	}
	b.probing = true // half-open: this call is the probe
	return true
}

// Open reports whether the breaker has tripped: Threshold failures in a
// row and no success since (between probes too — a metric that followed
// the cooldown alone would read closed most of an outage).
func (b *Breaker) Open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures >= b.Threshold
}

// Done records a call's outcome.
func (b *Breaker) Done(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if err == nil {
		b.failures = 0
		return
	}
	if errors.Is(err, context.Canceled) {
		return // our shutdown, not the model's failure
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
