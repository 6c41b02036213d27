// Package audit is opsgate's append-only, hash-chained audit trail in a
// Redis Stream.
// Each entry carries the hash of the one before it; Verify walks the chain
// and reports the first entry that was changed, removed or reordered.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys.
const (
	StreamKey = "opsgate:audit"
	headKey   = "opsgate:audit:head"
)

// ErrTampered is returned by Verify when the chain does not hold.
var ErrTampered = errors.New("audit: chain broken")

// System is the actor of opsgate's own entries.
const System = "opsgate"

// Entry is one audited act. Details must never hold secret values.
type Entry struct {
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`  // Slack user id, "opsgate", ...
	Action   string            `json:"action"` // reveal, reveal_denied, ...
	Incident string            `json:"incident,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
	Prev     string            `json:"prev"`
	Hash     string            `json:"hash"`
}

func (e Entry) digest() string {
	e.Hash = ""
	b, _ := json.Marshal(e)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

var appendScript = redis.NewScript(`
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
return 1`)

// Log appends and verifies entries.
type Log struct {
	rdb redis.Cmdable
	now func() time.Time
}

// New returns a log on rdb.
func New(rdb redis.Cmdable, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{rdb: rdb, now: now}
}

// Append adds an entry after the current head (compare-and-swap, retried).
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	// Invalid UTF-8 would hash one way when written and another when read
	// back (JSON replaces it), breaking the chain: make every field valid.
	e.Actor, e.Action, e.Incident = valid(e.Actor), valid(e.Action), valid(e.Incident)
	if len(e.Details) > 0 {
		d := make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			d[valid(k)] = valid(v)
		}
		e.Details = d
	}
	for attempt := 0; attempt < 10000; attempt++ {
		if err := ctx.Err(); err != nil {
			return Entry{}, err
		}
		head, err := l.rdb.Get(ctx, headKey).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return Entry{}, fmt.Errorf("audit: %w", err)
		}
		e.Prev = head
		e.Hash = e.digest()
		b, _ := json.Marshal(e)
		ok, err := appendScript.Run(ctx, l.rdb, []string{StreamKey, headKey}, head, b, e.Hash).Int()
		if err != nil {
			return Entry{}, fmt.Errorf("audit: %w", err)
		}
		if ok == 1 {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("audit: too much contention")
}

func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// Entries returns entries [from, to] by position (-1 = last).
func (l *Log) Entries(ctx context.Context, from, to int64) ([]Entry, error) {
	msgs, err := l.rdb.XRange(ctx, StreamKey, "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	n := int64(len(msgs))
	if to < 0 {
		to = n + to
	}
	if from < 0 {
		from = max(n+from, 0)
	}
	if to >= n {
		to = n - 1
	}
	var out []Entry
	for i := from; i <= to; i++ {
		var e Entry
		raw, _ := msgs[i].Values["e"].(string)
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("%w: entry %d is not JSON", ErrTampered, i)
		}
		out = append(out, e)
	}
	return out, nil
}

// Verify checks the whole chain and the head.
func (l *Log) Verify(ctx context.Context) (int, error) {
	entries, err := l.Entries(ctx, 0, -1)
	if err != nil {
		return 0, err
	}
	prev := ""
	for i, e := range entries {
		if e.Prev != prev {
			return i, fmt.Errorf("%w at entry %d: previous hash does not match", ErrTampered, i)
		}
		if e.digest() != e.Hash {
			return i, fmt.Errorf("%w at entry %d: content does not match its hash", ErrTampered, i)
		}
		prev = e.Hash
	}
	head, err := l.rdb.Get(ctx, headKey).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return len(entries), fmt.Errorf("audit: %w", err)
	}
	if head != prev {
		return len(entries), fmt.Errorf("%w: head does not match the last entry (entries removed?)", ErrTampered)
	}
	return len(entries), nil
}
