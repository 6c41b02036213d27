package kb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Redis keys.
const (
	idsKey     = "opsgate:kb:ids"
	changesKey = "opsgate:kb:changes"
)

// ticketKey holds one ticket's JSON.
func ticketKey(id string) string { return "opsgate:kb:t:" + id }

// ErrNotFound is returned for an unknown ticket id.
var ErrNotFound = errors.New("kb: ticket not found")

// Store keeps tickets in Redis (the source of truth) and announces each
// change on a stream that replicas follow.
type Store struct{ rdb redis.UniversalClient }

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Put writes tickets (one round trip per call): an existing id is
// replaced, never duplicated.
func (s *Store) Put(ctx context.Context, ts ...Ticket) error {
	if len(ts) == 0 {
		return nil
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i := range ts {
			data, err := json.Marshal(&ts[i])
			if err != nil {
				return err
			}
			p.Set(ctx, ticketKey(ts[i].ID), data, 0)
			p.SAdd(ctx, idsKey, ts[i].ID)
			p.XAdd(ctx, &redis.XAddArgs{Stream: changesKey, MaxLen: 200000, Approx: true, Values: map[string]any{"id": ts[i].ID}})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kb store: %w", err)
	}
	return nil
}

// Get reads one ticket.
func (s *Store) Get(ctx context.Context, id string) (Ticket, error) {
	data, err := s.rdb.Get(ctx, ticketKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("kb store: %w", err)
	}
	var t Ticket
	if err := json.Unmarshal(data, &t); err != nil {
		return Ticket{}, fmt.Errorf("kb store: ticket %s is corrupt: %w", id, err)
	}
	return t, nil
}

// Count is the number of tickets.
func (s *Store) Count(ctx context.Context) (int64, error) { return s.rdb.SCard(ctx, idsKey).Result() }

// Each calls fn for every ticket, reading in batches.
func (s *Store) Each(ctx context.Context, fn func(Ticket) error) error {
	var cursor uint64
	for {
		ids, next, err := s.rdb.SScan(ctx, idsKey, cursor, "", 500).Result()
		if err != nil {
			return fmt.Errorf("kb store: %w", err)
		}
		if len(ids) > 0 {
			keys := make([]string, len(ids))
			for i, id := range ids {
				keys[i] = ticketKey(id)
			}
			vals, err := s.rdb.MGet(ctx, keys...).Result()
			if err != nil {
				return fmt.Errorf("kb store: %w", err)
			}
			for _, v := range vals {
				str, ok := v.(string)
				if !ok {
					continue
				}
				var t Ticket
				if json.Unmarshal([]byte(str), &t) != nil {
					continue
				}
				if err := fn(t); err != nil {
					return err
				}
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// LastChange is the id of the newest change ("0-0" when none).
func (s *Store) LastChange(ctx context.Context) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, changesKey, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("kb store: %w", err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// Changes returns ticket ids changed after the stream id `after`.
func (s *Store) Changes(ctx context.Context, after string, count int64) ([]string, string, error) {
	msgs, err := s.rdb.XRangeN(ctx, changesKey, "("+after, "+", count).Result()
	if err != nil {
		return nil, after, fmt.Errorf("kb store: %w", err)
	}
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if id, ok := m.Values["id"].(string); ok {
			ids = append(ids, id)
		}
		after = m.ID
	}
	return ids, after, nil
}
