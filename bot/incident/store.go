package incident

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/versioned"
)

// ErrNotFound is returned by Get for an unknown incident.
var ErrNotFound = errors.New("incident: not found")

// Store keeps records in Redis hashes {rev, data}.
type Store struct {
	rdb redis.Cmdable
	ttl time.Duration
	now func() time.Time
	// Keys seal the records in Redis (nil: plaintext — tests only).
	Keys versioned.Sealer
}

// NewStore returns a store whose records expire ttl after their last change.
func NewStore(rdb redis.Cmdable, ttl time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, ttl: ttl, now: now}
}

// Key is the Redis key of an incident's record.
func Key(id string) string { return "opsgate:incident:" + id }

func (s *Store) load(ctx context.Context, id string) (*Record, int64, error) {
	var r Record
	rev, found, err := versioned.Load(ctx, s.rdb, s.Keys, Key(id), &r)
	if err != nil || !found {
		return nil, 0, err
	}
	return &r, rev, nil
}

// Get returns the record or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	r, _, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, ErrNotFound
	}
	return r, nil
}

// Update applies fn to the current record (a zero record with the id set if
// none exists) and stores the result by compare-and-swap, re-running fn on
// conflict. fn must be pure; it returns false when nothing changed (no
// write). The stored record is returned.
func (s *Store) Update(ctx context.Context, id string, fn func(r *Record) (bool, error)) (*Record, error) {
	rec, err := versioned.Update(ctx, s.rdb, s.Keys, Key(id), s.ttl, func(r *Record, found bool) (bool, error) {
		if !found {
			r.Snapshot.ID = id
		}
		return fn(r)
	})
	if err == nil && rec != nil && rec.StateVersion > 0 {
		s.index(ctx, rec)
	}
	return rec, err
}

// OpenKey indexes the open incidents by when opsgate first saw them (for
// /triage status). It follows the records: every update puts an open
// incident in and takes a resolved one out, so a missed write is mended by
// the incident's next one; Open skips what the index holds wrongly.
const OpenKey = "opsgate:incidents:open"

func (s *Store) index(ctx context.Context, r *Record) {
	if r.Snapshot.Status == StatusResolved {
		s.rdb.ZRem(ctx, OpenKey, r.Snapshot.ID)
		return
	}
	s.rdb.ZAdd(ctx, OpenKey, redis.Z{Score: float64(r.FirstSeenAt.Unix()), Member: r.Snapshot.ID})
}

// Open returns up to limit open incidents, oldest first.
func (s *Store) Open(ctx context.Context, limit int64) ([]*Record, error) {
	ids, err := s.rdb.ZRange(ctx, OpenKey, 0, limit-1).Result()
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	var out []*Record
	for _, id := range ids {
		r, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			s.rdb.ZRem(ctx, OpenKey, id) // expired
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.Snapshot.Status == StatusResolved {
			s.rdb.ZRem(ctx, OpenKey, id)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// Apply stores u into the incident's record.
func (s *Store) Apply(ctx context.Context, id string, u Update) (*Record, error) {
	now := s.now()
	return s.Update(ctx, id, func(r *Record) (bool, error) { return Apply(r, u, now), nil })
}
