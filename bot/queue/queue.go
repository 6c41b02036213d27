// Package queue is opsgate's durable work queue: a Redis Stream read by a
// consumer group. Enqueue deduplicates (SET NX + TTL) and appends in one Lua
// script; an entry is acked (and deleted) only after its handler succeeded,
// so a crashed worker's entries stay pending and are reclaimed by another
// consumer with XAUTOCLAIM.
//
// Every entry is sealed (AES-GCM, so encrypted and authenticated) together
// with a fresh job id and the time it was queued, bound to its stream,
// kind and dedupe id. An entry written to the stream by anyone without the
// key — or one copied from an earlier job — is refused, dead-lettered and
// reported, never handled (seal.go).
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
	defaultStream = "opsgate:{events}" // one hash slot for the stream and its dedupe, done and dead keys (Cluster: one Lua script, one MULTI)
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

// Sealer encrypts and authenticates entries (a *seal.Keyring).
type Sealer interface {
	Seal(plain, aad []byte) []byte
	Open(sealed, aad []byte) ([]byte, error)
}

// Queue is one stream and its consumer group.
type Queue struct {
	rdb    redis.Cmdable
	keys   Sealer
	Stream string
	Group  string
	// Redact masks the error text kept with a dead letter (nil: kept as is).
	Redact func(string) string
	// DeadTTL is how long dead letters are kept (default 7 days).
	DeadTTL time.Duration
	// Now stamps entries and dead letters (default time.Now).
	Now func() time.Time
	// Durable, when set, makes Enqueue return only once the entry is on
	// enough replicas to survive a failover (an accepted webhook is never
	// lost); nil or no replicas wanted: at once.
	Durable Waiter

	batch batcher // concurrent Enqueues share round trips (batch.go)
}

// Waiter waits until the replicas hold the writes to a key's master (a
// *durable.Waiter).
type Waiter interface {
	Wait(ctx context.Context, key string) error
}

// New returns the default queue on rdb, sealing entries with keys.
func New(rdb redis.Cmdable, keys Sealer) *Queue {
	return &Queue{rdb: rdb, keys: keys, Stream: defaultStream, Group: defaultGroup, DeadTTL: 7 * 24 * time.Hour, Now: time.Now}
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
	sealed := q.seal(kind, dedupeID, payload)
	res, err := q.run(ctx, []string{q.Stream, key}, dedupeID, ttl.Milliseconds(), kind, sealed)
	if err != nil {
		return "", false, fmt.Errorf("enqueue: %w", err)
	}
	// A duplicate waits too: the first delivery may have been answered 503
	// for want of replicas, and this is its retry.
	if q.Durable != nil {
		if err := q.Durable.Wait(ctx, q.Stream); err != nil {
			return "", false, fmt.Errorf("enqueue: %w", err)
		}
	}
	if res == "" {
		return "", true, nil
	}
	return res, false, nil
}

// Entry is one queued item, opened.
type Entry struct {
	ID       string // stream id
	Kind     string
	Payload  []byte
	Dedupe   string
	JobID    string    // fresh per Enqueue: a copied entry repeats it
	QueuedAt time.Time // when Enqueue sealed it (authenticated, unlike the stream id)
	sealed   string
}

// EnqueuedAt is when the entry was queued.
func (e Entry) EnqueuedAt() time.Time {
	if !e.QueuedAt.IsZero() {
		return e.QueuedAt
	}
	ms, err := strconv.ParseInt(strings.SplitN(e.ID, "-", 2)[0], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// raw reads a stream message's fields; ok is false when one is missing.
func raw(m redis.XMessage) (Entry, bool) {
	kind, ok1 := m.Values["kind"].(string)
	payload, ok2 := m.Values["payload"].(string)
	dedupe, _ := m.Values["dedupe"].(string)
	return Entry{ID: m.ID, Kind: kind, Dedupe: dedupe, sealed: payload}, ok1 && ok2
}

// addDead appends a dead letter and drops those older than ARGV[1] ms by
// Redis' own clock (stream ids are Redis time: a replica's clock would
// trim too much or too little), then lets the whole stream expire after
// as long.
var addDead = redis.NewScript(`
local t = redis.call('TIME')
local minid = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1]))
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[1], 'MINID', minid, '*', unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`)

func (q *Queue) deadLetter(ctx context.Context, p redis.Pipeliner, fields ...any) {
	args := append([]any{q.DeadTTL.Milliseconds()}, fields...)
	args = append(args, "at", q.Now().UTC().Format(time.RFC3339))
	addDead.Eval(ctx, p, []string{q.DeadKey()}, args...)
}

// DeadKey is the dead-letter stream.
func (q *Queue) DeadKey() string { return q.Stream + deadSuffix }

// doneKey remembers a finished job id, so a copy of its entry is refused.
func (q *Queue) doneKey(jobID string) string { return q.Stream + ":done:" + jobID }

// ack removes a finished entry and remembers its job id for doneFor;
// dead also records it in the dead-letter stream (its payload still
// sealed, the error masked), which keeps DeadTTL worth of letters.
func (q *Queue) ack(ctx context.Context, e Entry, dead string, doneFor time.Duration) error {
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if dead != "" {
			if q.Redact != nil {
				dead = q.Redact(dead)
			}
			q.deadLetter(ctx, p, "kind", e.Kind, "payload", e.sealed, "id", e.ID, "error", dead)
		}
		if e.JobID != "" {
			p.Set(ctx, q.doneKey(e.JobID), e.ID, doneFor) // the stream id: a reclaimed copy of this very entry is no forgery
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

// DeadLen counts dead letters.
func (q *Queue) DeadLen(ctx context.Context) (int64, error) {
	return q.rdb.XLen(ctx, q.DeadKey()).Result()
}

// Lag is the age of the oldest entry still waiting: delivered and not
// acknowledged, or not delivered yet (0: none). Stream ids begin with the
// entry's time in milliseconds.
func (q *Queue) Lag(ctx context.Context) (time.Duration, error) {
	var oldest string
	p, err := q.rdb.XPending(ctx, q.Stream, q.Group).Result()
	if err != nil {
		return 0, err
	}
	if p.Count > 0 {
		oldest = p.Lower
	}
	groups, err := q.rdb.XInfoGroups(ctx, q.Stream).Result()
	if err != nil {
		return 0, err
	}
	for _, g := range groups {
		if g.Name != q.Group {
			continue
		}
		next, err := q.rdb.XRangeN(ctx, q.Stream, "("+g.LastDeliveredID, "+", 1).Result()
		if err != nil {
			return 0, err
		}
		if len(next) == 1 && (oldest == "" || idMillis(next[0].ID) < idMillis(oldest)) {
			oldest = next[0].ID
		}
	}
	if oldest == "" {
		return 0, nil
	}
	return max(0, q.Now().Sub(time.UnixMilli(idMillis(oldest)))), nil
}

// idMillis is a stream id's time part.
func idMillis(id string) int64 {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return n
}

// Dead returns the dead-letter entries' errors.
func (q *Queue) Dead(ctx context.Context) ([]string, error) {
	msgs, err := q.rdb.XRange(ctx, q.DeadKey(), "-", "+").Result()
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
