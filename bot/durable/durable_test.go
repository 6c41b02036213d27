package durable_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/durable"
	"github.com/opsgate/opsgate/test/redistest"
)

// A write confirmed by Wait is on the replica; without a replica, Wait
// says so instead of pretending.
func TestWaitConfirmsReplication(t *testing.T) {
	ctx := context.Background()
	s := redistest.StartSentinel(t)
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.Name, SentinelAddrs: s.Addrs()})
	defer rdb.Close()
	w := &durable.Waiter{Redis: rdb, Replicas: 1, Timeout: 2 * time.Second}
	for i := 0; i < 50; i++ {
		if err := rdb.Set(ctx, "opsgate:incident:P1", i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := w.Wait(ctx, "opsgate:incident:P1"); err != nil {
			t.Fatal(err)
		}
		// The replica holds it now.
		rep := redis.NewClient(&redis.Options{Addr: s.Replica.Addr()})
		v, err := rep.Get(ctx, "opsgate:incident:P1").Int()
		rep.Close()
		if err != nil || v != i {
			t.Fatalf("write %d confirmed but the replica has %d (%v)", i, v, err)
		}
	}
	single := redistest.Start(t).Client()
	nw := &durable.Waiter{Redis: single, Replicas: 1, Timeout: 50 * time.Millisecond}
	if err := nw.Wait(ctx, "k"); !errors.Is(err, durable.ErrNotReplicated) {
		t.Fatalf("no replica, yet: %v", err)
	}
	if err := (&durable.Waiter{Redis: single}).Wait(ctx, "k"); err != nil {
		t.Fatal("zero replicas wanted must not wait")
	}
	// On a Cluster the marker goes to the key's master.
	c := redistest.StartCluster(t, 3)
	cw := &durable.Waiter{Redis: c.Client(t), Replicas: 1, Timeout: 50 * time.Millisecond}
	if err := cw.Wait(ctx, "opsgate:{events}"); !errors.Is(err, durable.ErrNotReplicated) {
		t.Fatalf("cluster without replicas: %v", err)
	}
}
