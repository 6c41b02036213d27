package versioned_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/versioned"
	"github.com/opsgate/opsgate/test/redistest"
)

type doc struct{ N int }

func TestSwapIsCompareAndSwap(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	var d doc
	if rev, found, err := versioned.Load(ctx, rdb, "k", &d); err != nil || found || rev != 0 {
		t.Fatal(rev, found, err)
	}
	if ok, err := versioned.Swap(ctx, rdb, "k", 0, doc{1}, time.Hour); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := versioned.Swap(ctx, rdb, "k", 0, doc{9}, time.Hour); ok {
		t.Fatal("created twice")
	}
	// Concurrent read-modify-write loops lose no increment.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var cur doc
				rev, _, err := versioned.Load(ctx, rdb, "k", &cur)
				if err != nil {
					t.Error(err)
					return
				}
				cur.N++
				if ok, err := versioned.Swap(ctx, rdb, "k", rev, cur, time.Hour); err != nil || ok {
					return
				}
			}
		}()
	}
	wg.Wait()
	rev, found, err := versioned.Load(ctx, rdb, "k", &d)
	if err != nil || !found || d.N != 11 || rev != 11 {
		t.Fatal(d, rev, found, err)
	}
	if ttl := rdb.PTTL(ctx, "k").Val(); ttl <= 0 {
		t.Fatal("no expiry", ttl)
	}
	// Corrupt documents are errors, not empty ones.
	rdb.HSet(ctx, "bad", "rev", "x", "data", "{}")
	rdb.HSet(ctx, "bad2", "rev", "1", "data", "{")
	for _, k := range []string{"bad", "bad2"} {
		if _, _, err := versioned.Load(ctx, rdb, k, &d); err == nil {
			t.Errorf("%s loaded", k)
		}
	}
}
