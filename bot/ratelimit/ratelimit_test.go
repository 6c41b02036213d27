package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/ratelimit"
	"github.com/opsgate/opsgate/test/redistest"
)

func TestAWindowAllowsItsLimitAcrossReplicas(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	a := &ratelimit.Window{Redis: rdb, Prefix: "rl:", Limit: 10, Per: time.Hour}
	b := &ratelimit.Window{Redis: rdb, Prefix: "rl:", Limit: 10, Per: time.Hour} // another replica
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := a
			if i%2 == 1 {
				w = b
			}
			ok, _, err := w.Allow(ctx, "U0ALICE")
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 10 {
		t.Fatalf("%d allowed, want 10", allowed.Load())
	}
	if ok, _, _ := a.Allow(ctx, "U0BOB"); !ok {
		t.Fatal("another key shares the count")
	}
	if ttl := rdb.PTTL(ctx, "rl:U0ALICE").Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("the window never ends: %v", ttl)
	}
	// The window ends: the count starts again.
	rdb.Del(ctx, "rl:U0ALICE")
	if ok, n, _ := a.Allow(ctx, "U0ALICE"); !ok || n != 1 {
		t.Fatal(ok, n)
	}
}
