// Package tmplstate remembers, per service, which log templates have been
// seen in earlier incidents, so a template never seen before stands out.
package tmplstate

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key is the Redis set of a service's known template ids.
func Key(service string) string { return "opsgate:templates:" + service }

// Store keeps the sets in Redis.
type Store struct {
	rdb redis.Cmdable
	ttl time.Duration
}

// New returns a store whose sets expire ttl after their last update.
func New(rdb redis.Cmdable, ttl time.Duration) *Store { return &Store{rdb: rdb, ttl: ttl} }

// Known returns the subset of ids already seen for the service.
func (s *Store) Known(ctx context.Context, service string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	res, err := s.rdb.SMIsMember(ctx, Key(service), members...).Result()
	if err != nil {
		return nil, fmt.Errorf("template state %s: %w", service, err)
	}
	for i, ok := range res {
		if ok {
			out[ids[i]] = true
		}
	}
	return out, nil
}

// Remember records ids as seen for the service.
func (s *Store) Remember(ctx context.Context, service string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, Key(service), members...)
		p.PExpire(ctx, Key(service), s.ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("template state %s: %w", service, err)
	}
	return nil
}
