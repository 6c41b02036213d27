// Package jobs is the contract between opsgate's HTTP surface and its
// workers: the kinds of queued work, their payloads (each checks itself),
// the proposal-id format, and a registry that hands each kind to one
// handler. The server imports this package, never the workers.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opsgate/opsgate/bot/queue"
)

// Kind names a queued job.
type Kind string

// Job kinds. The strings are stored in the queue: keep them stable.
const (
	KindPagerDuty Kind = "pagerduty" // payload: the webhook body, as received
	KindTriage    Kind = "triage"    // Triage
	KindReveal    Kind = "reveal"    // Reveal
	KindVerdict   Kind = "verdict"   // Verdict
	KindDecision  Kind = "decision"  // Decision
	KindPropose   Kind = "propose"   // Propose
	KindSettled   Kind = "settled"   // Settled
	KindSearch    Kind = "search"    // Search
	KindIncident  Kind = "incident"  // IncidentAction
	KindOverview  Kind = "overview"  // Overview
	KindHome      Kind = "home"      // Home
)

// ErrMalformed marks a payload that can never be handled; it wraps
// queue.ErrPermanent so the entry is dead-lettered, not retried.
var ErrMalformed = fmt.Errorf("malformed job: %w", queue.ErrPermanent)

// Job is a typed payload.
type Job interface {
	Kind() Kind
	// Validate reports what makes the payload unusable (nil: usable).
	Validate() error
}

// Enqueuer is the queue as producers see it.
type Enqueuer interface {
	Enqueue(ctx context.Context, dedupeID string, ttl time.Duration, kind string, payload []byte) (id string, dup bool, err error)
}

// Submit validates and queues j; with a dedupe id, a second submission
// within ttl is dropped and reported as dup.
func Submit(ctx context.Context, q Enqueuer, j Job, dedupeID string, ttl time.Duration) (dup bool, err error) {
	if err := j.Validate(); err != nil {
		return false, fmt.Errorf("%s job: %w", j.Kind(), err)
	}
	payload, err := json.Marshal(j)
	if err != nil {
		return false, fmt.Errorf("%s job: %w", j.Kind(), err)
	}
	_, dup, err = q.Enqueue(ctx, dedupeID, ttl, string(j.Kind()), payload)
	return dup, err
}

// Handler handles one job's raw payload.
type Handler func(ctx context.Context, payload []byte) error

// Typed adapts a handler of one payload type: the payload is decoded and
// validated first, and a malformed one is refused as ErrMalformed.
func Typed[T any, P interface {
	*T
	Job
}](fn func(ctx context.Context, j T) error) Handler {
	return func(ctx context.Context, payload []byte) error {
		var j T
		if err := json.Unmarshal(payload, &j); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if err := P(&j).Validate(); err != nil {
			return fmt.Errorf("%s: %w: %v", P(&j).Kind(), ErrMalformed, err)
		}
		return fn(ctx, j)
	}
}

// Mux hands each job to the handler registered for its kind.
type Mux struct{ handlers map[Kind]Handler }

// Register sets the handler of kind; registering a kind twice is a wiring
// error and panics.
func (m *Mux) Register(k Kind, h Handler) {
	if m.handlers == nil {
		m.handlers = map[Kind]Handler{}
	}
	if _, dup := m.handlers[k]; dup {
		panic("jobs: kind registered twice: " + string(k))
	}
	m.handlers[k] = h
}

// ErrUnknownKind: no handler is registered for the job's kind.
var ErrUnknownKind = errors.New("unknown job kind")

// Handle is the queue handler.
func (m *Mux) Handle(ctx context.Context, e queue.Entry) error {
	h, ok := m.handlers[Kind(e.Kind)]
	if !ok {
		return fmt.Errorf("%w %q: %w", ErrUnknownKind, e.Kind, queue.ErrPermanent)
	}
	return h(ctx, e.Payload)
}
