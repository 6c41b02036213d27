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
	idsKey     = "opsgate:{kb}:ids" // every kb key shares a hash slot: Put is one MULTI, Each one MGET
	changesKey = "opsgate:{kb}:changes"
)

// ticketKey holds one ticket's JSON.
func ticketKey(id string) string { return "opsgate:{kb}:t:" + id }

// ErrNotFound is returned for an unknown ticket id.
var ErrNotFound = errors.New("kb: ticket not found")

// Sealer encrypts tickets and snapshots at rest (a *seal.Keyring).
type Sealer interface {
	Seal(plain, aad []byte) []byte
	Open(sealed, aad []byte) ([]byte, error)
	SealBinary(plain, aad []byte) []byte
	OpenBinary(sealed, aad []byte) ([]byte, error)
}

// Store keeps tickets in Redis (the source of truth) and announces each
// change on a stream that replicas follow.
type Store struct {
	rdb redis.UniversalClient
	// Keys encrypt each ticket in Redis, bound to its id (nil: plaintext).
	// Tickets hold whatever their source held — hosts, names, pasted
	// logs — so they are kept as closely as the vault. A ticket that does
	// not open (written by hand, or under a removed key) is never indexed.
	Keys Sealer
}

func (s *Store) encode(t *Ticket) ([]byte, error) {
	data, err := json.Marshal(t)
	if err != nil || s.Keys == nil {
		return data, err
	}
	return s.Keys.Seal(data, []byte(ticketKey(t.ID))), nil
}

func (s *Store) decode(id string, data []byte) (Ticket, error) {
	var t Ticket
	if s.Keys != nil {
		plain, err := s.Keys.Open(data, []byte(ticketKey(id)))
		if err != nil {
			return t, err
		}
		data = plain
	}
	err := json.Unmarshal(data, &t)
	if err == nil && t.ID != id {
		err = fmt.Errorf("ticket %s stored as %s", t.ID, id)
	}
	return t, err
}

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Put writes tickets (one round trip per call): an existing id is
// replaced, never duplicated. It returns the change-stream ids it wrote.
func (s *Store) Put(ctx context.Context, ts ...Ticket) ([]string, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ts))
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i := range ts {
			data, err := s.encode(&ts[i])
			if err != nil {
				return err
			}
			p.Set(ctx, ticketKey(ts[i].ID), data, 0)
			p.SAdd(ctx, idsKey, ts[i].ID)
			cmds[i] = p.XAdd(ctx, &redis.XAddArgs{Stream: changesKey, MaxLen: 200000, Approx: true, Values: map[string]any{"id": ts[i].ID}})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kb store: %w", err)
	}
	ids := make([]string, len(cmds))
	for i, c := range cmds {
		ids[i] = c.Val()
	}
	return ids, nil
}

// GetMany reads tickets by id in one round trip; unknown or unreadable
// ones are left out.
func (s *Store) GetMany(ctx context.Context, ids []string) ([]Ticket, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = ticketKey(id)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k) // one key per command: keys may live on different cluster slots
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("kb store: %w", err)
	}
	out := make([]Ticket, 0, len(ids))
	for i, c := range cmds {
		b, err := c.Bytes()
		if err != nil {
			continue
		}
		if t, err := s.decode(ids[i], b); err == nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// Change is one entry of the change stream.
type Change struct{ StreamID, TicketID string }

// Get reads one ticket.
func (s *Store) Get(ctx context.Context, id string) (Ticket, error) {
	data, err := s.rdb.Get(ctx, ticketKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("kb store: %w", err)
	}
	t, err := s.decode(id, data)
	if err != nil {
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
			for i, v := range vals {
				str, ok := v.(string)
				if !ok {
					continue
				}
				t, err := s.decode(ids[i], []byte(str))
				if err != nil {
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

// Changes returns the changes after the stream id `after` (at most count)
// and the id of the last one read.
func (s *Store) Changes(ctx context.Context, after string, count int64) ([]Change, string, error) {
	msgs, err := s.rdb.XRangeN(ctx, changesKey, "("+after, "+", count).Result()
	if err != nil {
		return nil, after, fmt.Errorf("kb store: %w", err)
	}
	out := make([]Change, 0, len(msgs))
	for _, m := range msgs {
		if id, ok := m.Values["id"].(string); ok {
			out = append(out, Change{StreamID: m.ID, TicketID: id})
		}
		after = m.ID
	}
	return out, after, nil
}
