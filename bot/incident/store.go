package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrConflict is returned when Update lost the compare-and-swap race too
// many times in a row.
var ErrConflict = errors.New("incident: too much contention")

// ErrNotFound is returned by Get for an unknown incident.
var ErrNotFound = errors.New("incident: not found")

// cas writes data only if the stored revision is still ARGV[1].
var cas = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'rev')
if (cur or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'data', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)

// Store keeps records in Redis hashes {rev, data}.
type Store struct {
	rdb redis.Cmdable
	ttl time.Duration
	now func() time.Time
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
	vals, err := s.rdb.HMGet(ctx, Key(id), "rev", "data").Result()
	if err != nil {
		return nil, 0, fmt.Errorf("incident %s: load: %w", id, err)
	}
	if vals[0] == nil || vals[1] == nil {
		return nil, 0, nil
	}
	rev, err := strconv.ParseInt(vals[0].(string), 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("incident %s: corrupt revision", id)
	}
	var r Record
	if err := json.Unmarshal([]byte(vals[1].(string)), &r); err != nil {
		return nil, 0, fmt.Errorf("incident %s: corrupt record: %w", id, err)
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
	for attempt := 0; attempt < 100; attempt++ {
		r, rev, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if r == nil {
			r = &Record{Snapshot: Snapshot{ID: id}}
		}
		changed, err := fn(r)
		if err != nil {
			return nil, err
		}
		if !changed {
			return r, nil
		}
		data, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("incident %s: encode: %w", id, err)
		}
		ok, err := cas.Run(ctx, s.rdb, []string{Key(id)}, rev, rev+1, data, s.ttl.Milliseconds()).Int()
		if err != nil {
			return nil, fmt.Errorf("incident %s: store: %w", id, err)
		}
		if ok == 1 {
			return r, nil
		}
	}
	return nil, fmt.Errorf("incident %s: %w", id, ErrConflict)
}

// Apply stores u into the incident's record.
func (s *Store) Apply(ctx context.Context, id string, u Update) (*Record, error) {
	now := s.now()
	return s.Update(ctx, id, func(r *Record) (bool, error) { return Apply(r, u, now), nil })
}
