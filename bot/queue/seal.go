package queue

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrRefused: an entry that is not a job opsgate queued — it does not
// open under the key, or it repeats a finished or expired job.
var ErrRefused = errors.New("queue: entry refused")

// envelope: 16-byte job id, 8-byte queue time (Unix ms), then the payload.
const envHeader = 16 + 8

// aad binds a sealed payload to where it was queued and as what: moving it
// to another stream, kind or dedupe id makes it fail to open.
func (q *Queue) aad(kind, dedupe string) []byte {
	return []byte("opsgate queue v1\x00" + q.Stream + "\x00" + kind + "\x00" + dedupe)
}

func (q *Queue) seal(kind, dedupe string, payload []byte) []byte {
	env := make([]byte, envHeader, envHeader+len(payload))
	_, _ = rand.Read(env[:16])
	binary.BigEndian.PutUint64(env[16:], uint64(q.Now().UnixMilli()))
	env = append(env, payload...)
	return q.keys.Seal(env, q.aad(kind, dedupe))
}

// open authenticates and decrypts an entry read from the stream.
func (q *Queue) open(e Entry) (Entry, error) {
	env, err := q.keys.Open([]byte(e.sealed), q.aad(e.Kind, e.Dedupe))
	if err != nil {
		return e, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if len(env) < envHeader {
		return e, fmt.Errorf("%w: sealed envelope too short", ErrRefused)
	}
	e.JobID = hex.EncodeToString(env[:16])
	e.QueuedAt = time.UnixMilli(int64(binary.BigEndian.Uint64(env[16:24])))
	e.Payload = env[envHeader:]
	return e, nil
}

// admit opens an entry and refuses a copy of a job that already finished
// (its id is remembered for replayWindow) or one queued longer ago than
// that (its id may have been forgotten).
func (q *Queue) admit(ctx context.Context, e Entry, now time.Time, replayWindow time.Duration) (Entry, error) {
	e, err := q.open(e)
	if err != nil {
		return e, err
	}
	if age := now.Sub(e.QueuedAt); age > replayWindow {
		return e, fmt.Errorf("%w: queued %s ago, longer than any job may wait (a copied entry?)", ErrRefused, age.Round(time.Second))
	}
	ranAs, err := q.rdb.Get(ctx, q.doneKey(e.JobID)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return e, nil
	case err != nil:
		return e, err // Redis trouble: not a verdict, retry later
	case ranAs == e.ID:
		// This very entry finished on another worker while this one held
		// a reclaimed delivery of it: nothing to do, nothing forged.
		return e, errFinished
	}
	return e, fmt.Errorf("%w: job %s already ran (a copied entry)", ErrRefused, e.JobID[:8])
}

// errFinished: the entry was handled and acked by another worker after
// this one received it (a reclaim racing the first worker's ack).
var errFinished = errors.New("entry already handled")

// Refusal describes a refused entry without its content: the payload may
// be anyone's text, so only its size and digest are kept.
type Refusal struct {
	StreamID string
	Kind     string // as written in the stream: untrusted
	Reason   string
	Bytes    int
	SHA256   string
}

func refusal(e Entry, err error) Refusal {
	sum := sha256.Sum256([]byte(e.sealed))
	kind := e.Kind
	if len(kind) > 40 {
		kind = kind[:40]
	}
	return Refusal{StreamID: e.ID, Kind: kind, Reason: err.Error(), Bytes: len(e.sealed), SHA256: hex.EncodeToString(sum[:8])}
}

// refuse dead-letters a refused entry (without its payload) and acks it.
func (q *Queue) refuse(ctx context.Context, r Refusal) error {
	if q.Redact != nil {
		r.Kind = q.Redact(r.Kind)
	}
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		q.deadLetter(ctx, p, "kind", r.Kind, "id", r.StreamID, "error", "refused: "+r.Reason,
			"payload_bytes", r.Bytes, "payload_sha256", r.SHA256)
		p.XAck(ctx, q.Stream, q.Group, r.StreamID)
		p.XDel(ctx, q.Stream, r.StreamID)
		return nil
	})
	return err
}
