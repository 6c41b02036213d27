package queue_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/queue"
)

// refusals runs a consumer that records what it handled and refused.
type refusals struct {
	mu      sync.Mutex
	handled []string
	refused []queue.Refusal
}

func (r *refusals) consumer(q *queue.Queue, now func() time.Time) *queue.Consumer {
	return &queue.Consumer{Queue: q, Name: "c1", Block: 20 * time.Millisecond, MaxAge: time.Hour, Now: now,
		Handle: func(_ context.Context, e queue.Entry) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.handled = append(r.handled, e.Kind+":"+string(e.Payload))
			return nil
		},
		Refused: func(_ context.Context, x queue.Refusal) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.refused = append(r.refused, x)
		}}
}

func (r *refusals) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.handled), len(r.refused)
}

// Entries written to the stream by hand — a forged job, a real one copied
// after it ran, one moved to another kind, one with fields missing — are
// refused, dead-lettered without their payload and reported; none runs.
func TestEntriesOpsgateDidNotQueueAreRefused(t *testing.T) {
	q, srv := setup(t)
	rdb := srv.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &refusals{}
	stopped := make(chan struct{})
	go func() { _ = rec.consumer(q, nil).Run(ctx); close(stopped) }()
	if _, _, err := q.Enqueue(ctx, "", 0, "decision", []byte(`{"user":"U0ALICE","approve":true}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the real job", func() bool { h, _ := rec.counts(); return h == 1 })
	// Capture a sealed entry as it sits in the stream (the consumer
	// stopped), then let it run.
	cancel()
	<-stopped
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	if _, _, err := q.Enqueue(ctx2, "", 0, "decision", []byte(`{"user":"U0ALICE","approve":true}`)); err != nil {
		t.Fatal(err)
	}
	msgs := rdb.XRange(ctx2, q.Stream, "-", "+").Val()
	if len(msgs) != 1 {
		t.Fatalf("%d entries", len(msgs))
	}
	orig := msgs[0].Values
	if strings.Contains(orig["payload"].(string), "U0ALICE") {
		t.Fatalf("the payload is in plaintext in the stream: %v", orig)
	}
	go rec.consumer(q, nil).Run(ctx2)
	waitFor(t, "the second real job", func() bool { h, _ := rec.counts(); return h == 2 })

	forged := []map[string]any{
		{"kind": "decision", "payload": `{"user":"U0ALICE","approve":true}`, "dedupe": ""}, // written by hand
		orig, // a copy of a job that already ran
		{"kind": "reveal", "payload": orig["payload"], "dedupe": ""},        // moved to another kind
		{"kind": "decision", "payload": orig["payload"], "dedupe": "other"}, // or another dedupe id
		{"kind": "decision"}, // fields missing
		{"kind": strings.Repeat("k", 500), "payload": "s1.00000000.AAAA", "dedupe": ""}, // garbage
	}
	for _, f := range forged {
		rdb.XAdd(ctx2, &redis.XAddArgs{Stream: q.Stream, Values: f})
	}
	waitFor(t, "every forged entry refused", func() bool { _, r := rec.counts(); return r == len(forged) })
	if h, _ := rec.counts(); h != 2 {
		t.Fatalf("a forged entry ran: %v", rec.handled)
	}
	for _, r := range rec.refused {
		if r.StreamID == "" || r.Reason == "" || len(r.Kind) > 40 {
			t.Errorf("refusal lacks its facts: %+v", r)
		}
	}
	if !strings.Contains(rec.refused[1].Reason, "already ran") {
		t.Errorf("the copy was not refused as one: %+v", rec.refused[1])
	}
	dead, err := q.Dead(ctx2)
	if err != nil || len(dead) != len(forged) {
		t.Fatalf("%d dead letters: %v", len(dead), err)
	}
	for _, m := range rdb.XRange(ctx2, q.DeadKey(), "-", "+").Val() {
		if _, ok := m.Values["payload"]; ok || strings.Contains(m.Values["error"].(string), "U0ALICE") {
			t.Fatalf("a refused payload was kept: %v", m.Values)
		}
	}
	if n, _ := q.Len(ctx2); n != 0 {
		t.Fatalf("%d entries left in the stream", n)
	}
}

// An entry queued longer ago than any job may wait is refused: its job id
// may have been forgotten, so it could be a copy.
func TestAnEntryOlderThanTheReplayWindowIsRefused(t *testing.T) {
	q, _ := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	past := time.Now().Add(-3 * time.Hour)
	q.Now = func() time.Time { return past }
	if _, _, err := q.Enqueue(ctx, "", 0, "k", []byte("p")); err != nil {
		t.Fatal(err)
	}
	q.Now = time.Now
	rec := &refusals{}
	go rec.consumer(q, nil).Run(ctx) // MaxAge 1h: window 2h
	waitFor(t, "refusal", func() bool { _, r := rec.counts(); return r == 1 })
	if h, _ := rec.counts(); h != 0 || !strings.Contains(rec.refused[0].Reason, "longer than any job may wait") {
		t.Fatalf("%v %+v", rec.handled, rec.refused)
	}
}

// Dead letters keep their payload sealed, their error masked, and expire.
func TestDeadLettersAreSealedMaskedAndExpire(t *testing.T) {
	q, srv := setup(t)
	rdb := srv.Client()
	q.Redact = func(s string) string { return strings.ReplaceAll(s, "10.1.2.3", "[IP_ADDRESS_1]") }
	q.DeadTTL = 48 * time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A letter from long ago (by Redis' clock, which stream ids follow).
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.DeadKey(), ID: "1000-0", Values: map[string]any{"kind": "old", "error": "old"}})
	c := &queue.Consumer{Queue: q, Name: "c1", Block: 20 * time.Millisecond, MaxAge: 24 * time.Hour,
		Handle: func(context.Context, queue.Entry) error { return queue.PermanentIf(errBadHost, errBadHost) }}
	go c.Run(ctx)
	if _, _, err := q.Enqueue(ctx, "", 0, "pagerduty", []byte(`{"title":"db 10.1.2.3 down password=hunter2"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool { d, _ := q.Dead(ctx); return len(d) == 1 && d[0] != "old" })
	m := rdb.XRange(ctx, q.DeadKey(), "-", "+").Val()[0].Values
	if strings.Contains(m["payload"].(string), "hunter2") || strings.Contains(m["error"].(string), "10.1.2.3") || !strings.Contains(m["error"].(string), "[IP_ADDRESS_1]") {
		t.Fatalf("dead letter in plaintext: %v", m)
	}
	if ttl := rdb.PTTL(ctx, q.DeadKey()).Val(); ttl <= 0 || ttl > 48*time.Hour {
		t.Fatalf("dead letters never expire: %v", ttl)
	}
}

var errBadHost = badHost{}

type badHost struct{}

func (badHost) Error() string { return "no channel for service on 10.1.2.3" }
