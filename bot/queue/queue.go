// Package queue is opsgate's durable work queue: a Redis Stream read by a
// consumer group. Enqueue deduplicates (SET NX + TTL) and appends in one Lua
// script; an entry is acked (and deleted) only after its handler succeeded,
// so a crashed worker's entries stay pending and are reclaimed by another
// consumer with XAUTOCLAIM.
package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrPermanent marks handler errors that no retry can fix: the entry is
// moved to the dead-letter stream and acked.
var ErrPermanent = errors.New("permanent failure")

// Names of the Redis keys.
const (
	defaultStream = "opsgate:events"
	defaultGroup  = "opsgate-workers"
	deadSuffix    = ":dead"
)

// enqueue: if the dedupe key is new, set it with TTL and XADD; else report
// the duplicate. Atomic, so a crash cannot record an event as seen without
// queueing it.
var enqueue = redis.NewScript(`
if ARGV[1] ~= '' then
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) == false then return '' end
end
return redis.call('XADD', KEYS[1], '*', 'kind', ARGV[3], 'payload', ARGV[4], 'dedupe', ARGV[1])`)

// Queue is one stream and its consumer group.
type Queue struct {
	rdb    redis.Cmdable
	Stream string
	Group  string
}

// New returns the default queue on rdb.
func New(rdb redis.Cmdable) *Queue {
	return &Queue{rdb: rdb, Stream: defaultStream, Group: defaultGroup}
}

// Setup creates the stream and group if missing.
func (q *Queue) Setup(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.Stream, q.Group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("queue setup: %w", err)
	}
	return nil
}

// DedupeKey is the Redis key remembering a delivery id.
func (q *Queue) DedupeKey(id string) string { return q.Stream + ":seen:" + id }

// Enqueue appends an entry of kind with payload. With a non-empty dedupeID
// the entry is added only if that id was not seen within ttl; dup reports a
// repeat.
func (q *Queue) Enqueue(ctx context.Context, dedupeID string, ttl time.Duration, kind string, payload []byte) (id string, dup bool, err error) {
	key := q.Stream + ":seen:-"
	if dedupeID != "" {
		key = q.DedupeKey(dedupeID)
	}
	res, err := enqueue.Run(ctx, q.rdb, []string{q.Stream, key}, dedupeID, ttl.Milliseconds(), kind, payload).Text()
	if err != nil {
		return "", false, fmt.Errorf("enqueue: %w", err)
	}
	if res == "" {
		return "", true, nil
	}
	return res, false, nil
}

// Entry is one queued item.
type Entry struct {
	ID      string
	Kind    string
	Payload []byte
	Dedupe  string
}

// EnqueuedAt is when the entry was added (from its stream id).
func (e Entry) EnqueuedAt() time.Time {
	ms, err := strconv.ParseInt(strings.SplitN(e.ID, "-", 2)[0], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func toEntry(m redis.XMessage) (Entry, bool) {
	kind, ok1 := m.Values["kind"].(string)
	payload, ok2 := m.Values["payload"].(string)
	dedupe, _ := m.Values["dedupe"].(string)
	return Entry{ID: m.ID, Kind: kind, Payload: []byte(payload), Dedupe: dedupe}, ok1 && ok2
}

// ack removes a finished entry; dead also copies it to the dead-letter stream.
func (q *Queue) ack(ctx context.Context, e Entry, dead string) error {
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if dead != "" {
			p.XAdd(ctx, &redis.XAddArgs{Stream: q.Stream + deadSuffix, MaxLen: 10000, Approx: true,
				Values: map[string]any{"kind": e.Kind, "payload": e.Payload, "id": e.ID, "error": dead}})
		}
		p.XAck(ctx, q.Stream, q.Group, e.ID)
		p.XDel(ctx, q.Stream, e.ID)
		return nil
	})
	return err
}

// Pending counts entries delivered but not yet acked.
func (q *Queue) Pending(ctx context.Context) (int64, error) {
	p, err := q.rdb.XPending(ctx, q.Stream, q.Group).Result()
	if err != nil {
		return 0, err
	}
	return p.Count, nil
}

// Len counts entries in the stream (queued or pending).
func (q *Queue) Len(ctx context.Context) (int64, error) { return q.rdb.XLen(ctx, q.Stream).Result() }

// Dead returns the dead-letter entries' errors.
func (q *Queue) Dead(ctx context.Context) ([]string, error) {
	msgs, err := q.rdb.XRange(ctx, q.Stream+deadSuffix, "-", "+").Result()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		s, _ := m.Values["error"].(string)
		out = append(out, s)
	}
	return out, nil
}

// PermanentIf marks err permanent when it is final (errors.Is): an error
// of a dependency that no retry can fix, such as a Slack answer
// "channel_not_found".
func PermanentIf(err, final error) error {
	if err != nil && errors.Is(err, final) {
		return fmt.Errorf("%w: %w", err, ErrPermanent)
	}
	return err
}
