// Package tmplstate is each service's template memory: the log templates
// its earlier incidents showed, kept as a miner's saved state (ids,
// templates, merges), so the next incident's lines are matched against
// them — a template that has generalized, or one line of an old event, is
// recognised, and a template keeps its id across incidents.
package tmplstate

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/logtmpl"
	"github.com/opsgate/opsgate/bot/versioned"
)

// Key is the Redis key of a service's saved templates.
func Key(service string) string { return "opsgate:tmpl:" + service }

// MaxTemplates bounds a service's memory: past it, the templates seen
// least recently are forgotten.
const MaxTemplates = 5000

// Store keeps the states in Redis, one sealed document per service.
type Store struct {
	rdb redis.Cmdable
	ttl time.Duration
	// Keys seal the states (nil: plaintext — tests only). Templates are
	// mined from raw lines: a value constant in one event's lines stays in
	// its template.
	Keys versioned.Sealer
}

// New returns a store whose states expire ttl after their last update.
func New(rdb redis.Cmdable, ttl time.Duration) *Store { return &Store{rdb: rdb, ttl: ttl} }

// Load returns the service's saved templates (nil when it has none).
func (s *Store) Load(ctx context.Context, service string) (*logtmpl.State, error) {
	var st logtmpl.State
	_, found, err := versioned.Load(ctx, s.rdb, s.Keys, Key(service), &st)
	if err != nil {
		return nil, fmt.Errorf("template memory %s: %w", service, err)
	}
	if !found {
		return nil, nil
	}
	return &st, nil
}

// Learn mines messages (excerpt.Messages) into the service's saved
// templates, by compare-and-swap: two incidents of one service learning at
// once both land (the loser mines again on the newer state).
func (s *Store) Learn(ctx context.Context, service string, messages []string) error {
	if len(messages) == 0 {
		return nil
	}
	_, err := versioned.Update(ctx, s.rdb, s.Keys, Key(service), s.ttl, func(st *logtmpl.State, found bool) (bool, error) {
		m := logtmpl.NewMiner(logtmpl.Default)
		if found {
			r, err := logtmpl.Restore(logtmpl.Default, *st)
			if err == nil {
				m = r
			} // a state that no longer fits is started afresh
		}
		for _, msg := range messages {
			m.Add(msg)
		}
		*st = m.State(MaxTemplates)
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("template memory %s: %w", service, err)
	}
	return nil
}
