package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

func setup(t *testing.T) (*queue.Queue, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	q := queue.New(srv.Client(), seal.Ephemeral())
	if err := q.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := q.Setup(context.Background()); err != nil { // idempotent
		t.Fatalf("second setup: %v", err)
	}
	return q, srv
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, what, nil, cond)
}

func TestEnqueueDedupesConcurrentDeliveries(t *testing.T) {
	q, _ := setup(t)
	ctx := context.Background()
	var added, dups atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, dup, err := q.Enqueue(ctx, "EVT1", time.Hour, "pagerduty", []byte(`{}`))
			if err != nil {
				t.Error(err)
				return
			}
			if dup {
				dups.Add(1)
			} else {
				added.Add(1)
			}
		}()
	}
	wg.Wait()
	if added.Load() != 1 || dups.Load() != 19 {
		t.Fatalf("added=%d dups=%d", added.Load(), dups.Load())
	}
	if n, _ := q.Len(ctx); n != 1 {
		t.Fatalf("stream len = %d", n)
	}
}

// Hundreds of concurrent deliveries share round trips (batch.go): each id
// is queued once and every caller gets its own answer — also right after
// Redis lost its script cache (NOSCRIPT in a pipeline).
func TestBatchedEnqueuesAnswerEachCaller(t *testing.T) {
	q, srv := setup(t)
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		if round == 1 {
			srv.Client().ScriptFlush(ctx)
		}
		var added, dups atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 400; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, dup, err := q.Enqueue(ctx, fmt.Sprintf("R%d-EVT%d", round, i%200), time.Hour, "pagerduty", []byte(`{}`))
				if err != nil {
					t.Error(err)
					return
				}
				if dup {
					dups.Add(1)
				} else {
					added.Add(1)
				}
			}()
		}
		wg.Wait()
		if added.Load() != 200 || dups.Load() != 200 {
			t.Fatalf("round %d: added=%d dups=%d", round, added.Load(), dups.Load())
		}
	}
	if n, _ := q.Len(ctx); n != 400 {
		t.Fatalf("stream len = %d", n)
	}
}

func TestAckOnlyAfterSuccessAndRetry(t *testing.T) {
	q, _ := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	c := &queue.Consumer{Queue: q, Name: "c1", Block: 50 * time.Millisecond, MinIdle: 100 * time.Millisecond,
		Handle: func(ctx context.Context, e queue.Entry) error {
			if calls.Add(1) < 3 {
				return errors.New("slack down")
			}
			return nil
		}}
	go c.Run(ctx)
	if _, _, err := q.Enqueue(ctx, "E", time.Hour, "k", []byte("p")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three attempts and an ack", func() bool {
		n, _ := q.Len(ctx)
		return calls.Load() >= 3 && n == 0
	})
	if p, _ := q.Pending(ctx); p != 0 {
		t.Fatalf("pending = %d", p)
	}
}

func TestPermanentGoesToDeadLetter(t *testing.T) {
	q, _ := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &queue.Consumer{Queue: q, Name: "c1", Block: 50 * time.Millisecond,
		Handle: func(ctx context.Context, e queue.Entry) error {
			return fmt.Errorf("channel_not_found: %w", queue.ErrPermanent)
		}}
	go c.Run(ctx)
	if _, _, err := q.Enqueue(ctx, "E", time.Hour, "k", []byte("p")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool { d, _ := q.Dead(ctx); return len(d) == 1 })
	if n, _ := q.Len(ctx); n != 0 {
		t.Fatalf("stream len = %d", n)
	}
}

// A consumer that read an entry and died before acking: another consumer
// reclaims it with XAUTOCLAIM and processes it.
func TestCrashedConsumersEntryIsReclaimed(t *testing.T) {
	q, _ := setup(t)
	ctx := context.Background()
	readByA := make(chan struct{})
	ctxA, killA := context.WithCancel(ctx)
	a := &queue.Consumer{Queue: q, Name: "A", Block: 50 * time.Millisecond, MinIdle: time.Hour,
		Handle: func(ctx context.Context, e queue.Entry) error {
			close(readByA)
			<-ctx.Done() // hangs until killed, never acks
			return ctx.Err()
		}}
	doneA := make(chan struct{})
	go func() { a.Run(ctxA); close(doneA) }()
	if _, _, err := q.Enqueue(ctx, "E", time.Hour, "k", []byte("payload")); err != nil {
		t.Fatal(err)
	}
	<-readByA
	killA()
	<-doneA
	if p, _ := q.Pending(ctx); p != 1 {
		t.Fatalf("pending after crash = %d, want 1", p)
	}
	got := make(chan string, 1)
	ctxB, stopB := context.WithCancel(ctx)
	defer stopB()
	b := &queue.Consumer{Queue: q, Name: "B", Block: 50 * time.Millisecond, MinIdle: 100 * time.Millisecond,
		Handle: func(ctx context.Context, e queue.Entry) error { got <- string(e.Payload); return nil }}
	go b.Run(ctxB)
	select {
	case p := <-got:
		if p != "payload" {
			t.Fatalf("payload = %q", p)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("entry never reclaimed")
	}
	waitFor(t, "ack", func() bool { p, _ := q.Pending(ctx); return p == 0 })
}

func TestEnqueueSurvivesRedisRestartWithError(t *testing.T) {
	q, srv := setup(t)
	ctx := context.Background()
	srv.Kill()
	if _, _, err := q.Enqueue(ctx, "E", time.Hour, "k", []byte("p")); err == nil {
		t.Fatal("enqueue with Redis down must fail")
	}
	srv.Restart()
	if err := q.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, dup, err := q.Enqueue(ctx, "E", time.Hour, "k", []byte("p")); err != nil || dup {
		t.Fatalf("after restart: dup=%v err=%v", dup, err)
	}
}

// Lag is the age of the oldest waiting entry, delivered or not, by the
// queue's clock; an empty queue has none.
func TestLagIsTheOldestWaitingEntry(t *testing.T) {
	q, srv := setup(t)
	ctx := context.Background()
	if d, err := q.Lag(ctx); err != nil || d != 0 {
		t.Fatalf("empty queue: %v %v", d, err)
	}
	for _, id := range []string{"L1", "L2"} {
		if _, _, err := q.Enqueue(ctx, id, time.Hour, "pagerduty", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := srv.Client().XRange(ctx, q.Stream, "-", "+").Result()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stream %v %v", msgs, err)
	}
	ms, _ := strconv.ParseInt(strings.SplitN(msgs[0].ID, "-", 2)[0], 10, 64)
	first := time.UnixMilli(ms)
	q.Now = func() time.Time { return first.Add(90 * time.Second) }
	if d, err := q.Lag(ctx); err != nil || d != 90*time.Second {
		t.Fatalf("undelivered: %v %v", d, err)
	}
	// The first entry delivered, not acknowledged: still the oldest waiting.
	if _, err := srv.Client().XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.Group, Consumer: "c1", Streams: []string{q.Stream, ">"}, Count: 1}).Result(); err != nil {
		t.Fatal(err)
	}
	if d, err := q.Lag(ctx); err != nil || d != 90*time.Second {
		t.Fatalf("pending: %v %v", d, err)
	}
	if n, err := q.DeadLen(ctx); err != nil || n != 0 {
		t.Fatalf("dead %d %v", n, err)
	}
}
