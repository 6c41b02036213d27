package queue

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

// take enqueues one entry and reads it as consumer A.
func take(t *testing.T, q *Queue) string {
	t.Helper()
	ctx := context.Background()
	if err := q.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Enqueue(ctx, "E", time.Hour, "k", []byte("slow")); err != nil {
		t.Fatal(err)
	}
	res, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.Group, Consumer: "A", Streams: []string{q.Stream, ">"}, Count: 1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatal(res, err)
	}
	return res[0].Messages[0].ID
}

// idleOf is how long Redis says the entry has been idle.
func idleOf(t *testing.T, q *Queue, id string) time.Duration {
	t.Helper()
	p, err := q.rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: q.Stream, Group: q.Group, Start: id, End: id, Count: 1}).Result()
	if err != nil || len(p) != 1 {
		t.Fatal(p, err)
	}
	return p[0].Idle
}

// A live consumer working longer than MinIdle keeps its entry: its
// heartbeat resets the entry's idle time, so another consumer's
// XAUTOCLAIM passes it by. The heartbeat's ticker runs on synctest's
// clock; Redis's idle time is set by hand to "an hour" first.
func TestHeartbeatKeepsALongHandlersEntry(t *testing.T) {
	rdb := redistest.Start(t).Client()
	q := New(rdb, seal.Ephemeral())
	id := take(t, q)
	ctx := context.Background()
	if err := rdb.Do(ctx, "XCLAIM", q.Stream, q.Group, "A", 0, id, "IDLE", time.Hour.Milliseconds(), "JUSTID").Err(); err != nil {
		t.Fatal(err)
	}
	if idleOf(t, q, id) < time.Hour {
		t.Fatal("could not age the entry")
	}
	log, logs := testutil.Logger()
	synctest.Test(t, func(t *testing.T) {
		c := &Consumer{Queue: q, Name: "A", MinIdle: 30 * time.Second, Log: log}
		hctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { c.heartbeat(hctx, id); close(done) }()
		time.Sleep(c.MinIdle/3 + time.Millisecond) // one beat
		synctest.Wait()
		stop()
		<-done
	})
	if idle := idleOf(t, q, id); idle >= 30*time.Second {
		t.Fatalf("the heartbeat did not reset the entry's idle time (%v)", idle)
	}
	msgs, _, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: q.Stream, Group: q.Group, Consumer: "B", MinIdle: 30 * time.Second, Start: "0-0"}).Result()
	if err != nil || len(msgs) != 0 {
		t.Fatalf("another consumer reclaimed a live handler's entry: %v %v", msgs, err)
	}
	if logs.String() != "" {
		t.Fatal(logs.String())
	}
}

// The heartbeat claims only what its consumer still owns, and its script
// runs on the embedded store (demo, no REDIS_URL) too.
func TestHeartbeatScriptOnTheEmbeddedStore(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	q := New(rdb, seal.Ephemeral())
	id := take(t, q)
	ctx := context.Background()
	if err := keepOwned.Run(ctx, rdb, []string{q.Stream}, q.Group, id, "A").Err(); err != nil {
		t.Fatal(err)
	}
	if err := keepOwned.Run(ctx, rdb, []string{q.Stream}, q.Group, id, "B").Err(); err != redis.Nil {
		t.Fatalf("a consumer that does not own the entry claimed it: %v", err)
	}
	p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: q.Stream, Group: q.Group, Start: "-", End: "+", Count: 10}).Result()
	if err != nil || len(p) != 1 || p[0].Consumer != "A" {
		t.Fatal(p, err)
	}
}
