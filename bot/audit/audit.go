// Package audit is opsgate's append-only audit trail in a Redis Stream,
// made tamper-evident against anyone who can write to Redis but does not
// hold OPSGATE_AUDIT_KEY.
//
// Each entry carries its position (Seq), the MAC of the entry before it
// and its own HMAC-SHA256 under the audit key, so an entry cannot be
// changed, removed from the middle or moved without the chain breaking,
// and a rewritten chain cannot be re-signed. What a key-less writer can
// still do — drop the newest entries and point the head back — is caught
// by anchors: signed (count, head) checkpoints written outside Redis
// (anchor.go). Verify (verify.go) pages through the stream and names the
// first bad position.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys.
const (
	StreamKey = "opsgate:{audit}"      // the stream and its head share a hash slot (one Lua script, Cluster-safe)
	HeadKey   = "opsgate:{audit}:head" // "<entries ever appended> <MAC of the last>"
)

// ErrTampered is wrapped by every verification failure (see Problem).
var ErrTampered = errors.New("audit: chain broken")

// ErrNoKey: the audit key is missing or too short to be a MAC key.
var ErrNoKey = errors.New("audit: OPSGATE_AUDIT_KEY must be at least 32 bytes")

// System is the actor of opsgate's own entries.
const System = "opsgate"

// Entry is one audited act. Details must never hold secret values.
type Entry struct {
	Seq      int64             `json:"seq"` // position in the whole trail, from 0
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`  // Slack user id, "opsgate", ...
	Action   string            `json:"action"` // reveal, reveal_denied, ...
	Incident string            `json:"incident,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
	Prev     string            `json:"prev"` // MAC of entry Seq-1 ("" for entry 0)
	MAC      string            `json:"mac"`  // HMAC-SHA256 of the entry without this field
}

// mac is the entry's HMAC. JSON is canonical here: struct fields in
// declaration order, map keys sorted, and every string valid UTF-8.
func mac(key []byte, e Entry) string {
	e.MAC = ""
	b, _ := json.Marshal(e)
	h := hmac.New(sha256.New, key)
	h.Write([]byte("opsgate audit entry v2\x00"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func validMAC(key []byte, e Entry) bool {
	return hmac.Equal([]byte(mac(key, e)), []byte(e.MAC))
}

var appendScript = redis.NewScript(`
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
if KEYS[3] then
  redis.call('RPUSH', KEYS[3], id)
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return id`)

// IncidentKey lists the stream ids of one incident's entries, so its
// timeline is read without scanning the trail. It is a read aid, not part
// of the chain: Verify never uses it.
func IncidentKey(id string) string { return "opsgate:{audit}:incident:" + id }

// indexFor is how long an incident's index outlives its last entry.
const indexFor = 90 * 24 * time.Hour

// Log appends, reads and verifies entries.
type Log struct {
	rdb redis.Cmdable
	key []byte
	now func() time.Time
}

// New returns a log on rdb whose entries are keyed with key (at least 32
// bytes).
func New(rdb redis.Cmdable, key []byte, now func() time.Time) (*Log, error) {
	if len(key) < 32 {
		return nil, ErrNoKey
	}
	if now == nil {
		now = time.Now
	}
	return &Log{rdb: rdb, key: key, now: now}, nil
}

// Head is the trail's end as Redis records it.
type Head struct {
	Count int64  // entries ever appended (the next entry's Seq)
	MAC   string // the last entry's MAC
}

func (h Head) String() string {
	if h.Count == 0 {
		return ""
	}
	return strconv.FormatInt(h.Count, 10) + " " + h.MAC
}

// ReadHead returns the head; a missing head is the empty trail.
func (l *Log) ReadHead(ctx context.Context) (Head, error) {
	s, err := l.rdb.Get(ctx, HeadKey).Result()
	if errors.Is(err, redis.Nil) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("audit: %w", err)
	}
	n, m, ok := strings.Cut(s, " ")
	count, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || count < 1 {
		return Head{}, fmt.Errorf("%w: the head %q is not \"<count> <mac>\"", ErrTampered, s)
	}
	return Head{Count: count, MAC: m}, nil
}

// Append adds an entry after the current head (compare-and-swap, retried).
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	// Invalid UTF-8 would be MACed one way when written and another when
	// read back (JSON replaces it), breaking the chain: make every field
	// valid.
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
		head, err := l.ReadHead(ctx)
		if err != nil {
			return Entry{}, err
		}
		e.Seq, e.Prev = head.Count, head.MAC
		e.MAC = mac(l.key, e)
		b, _ := json.Marshal(e)
		next := Head{Count: head.Count + 1, MAC: e.MAC}
		keys := []string{StreamKey, HeadKey}
		if e.Incident != "" {
			keys = append(keys, IncidentKey(e.Incident))
		}
		err = appendScript.Run(ctx, l.rdb, keys, head.String(), b, next.String(), indexFor.Milliseconds()).Err()
		if errors.Is(err, redis.Nil) {
			continue // another writer appended first
		}
		if err != nil {
			return Entry{}, fmt.Errorf("audit: %w", err)
		}
		return e, nil
	}
	return Entry{}, fmt.Errorf("audit: too much contention")
}

func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// pageSize bounds what one read holds: the trail is read in pages, so
// verifying or exporting a long trail takes constant memory.
const pageSize = 500

// Stored is an entry as read, with its stream id; Err is set when the
// stream entry is not an entry at all.
type Stored struct {
	ID    string
	Entry Entry
	Err   error
}

// Each calls fn for every stored entry after stream id after ("" = from
// the start), in stream order, a page at a time; fn's error stops it.
func (l *Log) Each(ctx context.Context, after string, fn func(Stored) error) error {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	for {
		msgs, err := l.rdb.XRangeN(ctx, StreamKey, start, "+", pageSize).Result()
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		for _, m := range msgs {
			s := Stored{ID: m.ID}
			raw, _ := m.Values["e"].(string)
			if err := json.Unmarshal([]byte(raw), &s.Entry); err != nil {
				s.Err = errors.New("not an audit entry")
			}
			if err := fn(s); err != nil {
				return err
			}
		}
		if len(msgs) < pageSize {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// ForIncident calls fn with an incident's entries in order, from its
// index; an incident without one (entries written before the index
// existed) is found by reading the whole trail. Entries trimmed by
// retention are skipped.
func (l *Log) ForIncident(ctx context.Context, incident string, fn func(Stored) error) error {
	ids, err := l.rdb.LRange(ctx, IncidentKey(incident), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if len(ids) == 0 {
		return l.Each(ctx, "", func(s Stored) error {
			if s.Entry.Incident != incident {
				return nil
			}
			return fn(s)
		})
	}
	for start := 0; start < len(ids); start += pageSize {
		batch := ids[start:min(start+pageSize, len(ids))]
		cmds, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range batch {
				p.XRange(ctx, StreamKey, id, id)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("audit: %w", err)
		}
		for _, c := range cmds {
			for _, m := range c.(*redis.XMessageSliceCmd).Val() {
				s := Stored{ID: m.ID}
				raw, _ := m.Values["e"].(string)
				if err := json.Unmarshal([]byte(raw), &s.Entry); err != nil {
					s.Err = errors.New("not an audit entry")
				}
				if s.Err == nil && s.Entry.Incident != incident {
					continue // the index is a read aid: it cannot add another incident's entry
				}
				if err := fn(s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Entries returns the entries at stream positions [from, to] (-1 = last);
// meant for small trails and tests — Each pages.
func (l *Log) Entries(ctx context.Context, from, to int64) ([]Entry, error) {
	var all []Entry
	err := l.Each(ctx, "", func(s Stored) error {
		if s.Err != nil {
			return fmt.Errorf("%w at stream id %s: %v", ErrTampered, s.ID, s.Err)
		}
		all = append(all, s.Entry)
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := int64(len(all))
	if to < 0 {
		to = n + to
	}
	if from < 0 {
		from = max(n+from, 0)
	}
	if to >= n {
		to = n - 1
	}
	if from > to {
		return nil, nil
	}
	return all[from : to+1], nil
}
