package versioned_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/bot/versioned"
	"github.com/opsgate/opsgate/test/redistest"
)

type doc struct{ N int }

func TestSwapIsCompareAndSwap(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	var d doc
	if rev, found, err := versioned.Load(ctx, rdb, nil, "k", &d); err != nil || found || rev != 0 {
		t.Fatal(rev, found, err)
	}
	if ok, err := versioned.Swap(ctx, rdb, nil, "k", 0, doc{1}, time.Hour); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := versioned.Swap(ctx, rdb, nil, "k", 0, doc{9}, time.Hour); ok {
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
				rev, _, err := versioned.Load(ctx, rdb, nil, "k", &cur)
				if err != nil {
					t.Error(err)
					return
				}
				cur.N++
				if ok, err := versioned.Swap(ctx, rdb, nil, "k", rev, cur, time.Hour); err != nil || ok {
					return
				}
			}
		}()
	}
	wg.Wait()
	rev, found, err := versioned.Load(ctx, rdb, nil, "k", &d)
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
		if _, _, err := versioned.Load(ctx, rdb, nil, k, &d); err == nil {
			t.Errorf("%s loaded", k)
		}
	}
}

// Sealed documents show nothing in Redis and refuse to load when edited,
// written by hand or copied under another key.
func TestSealedDocumentsRefuseForgery(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	keys := seal.Ephemeral()
	type approvals struct{ By []string }
	got, err := versioned.Update(ctx, rdb, keys, "p:1", time.Hour, func(a *approvals, _ bool) (bool, error) {
		a.By = append(a.By, "U0ALICE")
		return true, nil
	})
	if err != nil || len(got.By) != 1 {
		t.Fatal(got, err)
	}
	raw := rdb.HGet(ctx, "p:1", "data").Val()
	if strings.Contains(raw, "U0ALICE") {
		t.Fatalf("plaintext in Redis: %s", raw)
	}
	var a approvals
	if _, found, err := versioned.Load(ctx, rdb, keys, "p:1", &a); err != nil || !found || a.By[0] != "U0ALICE" {
		t.Fatal(a, err)
	}
	for name, forge := range map[string]func(){
		"hand-written": func() { rdb.HSet(ctx, "p:1", "data", `{"By":["U0ALICE","U0BOB"]}`) },
		"copied":       func() { rdb.HSet(ctx, "p:2", "rev", "1", "data", raw); rdb.HSet(ctx, "p:1", "data", raw) },
		"edited":       func() { rdb.HSet(ctx, "p:1", "data", raw[:len(raw)-2]+"AA") },
	} {
		forge()
		key := "p:1"
		if name == "copied" {
			key = "p:2"
		}
		if _, _, err := versioned.Load(ctx, rdb, keys, key, &a); !errors.Is(err, versioned.ErrSealed) {
			t.Errorf("%s document loaded: %v", name, err)
		}
		rdb.HSet(ctx, "p:1", "data", raw)
	}
	// An Update on a forged document fails rather than building on it.
	rdb.HSet(ctx, "p:1", "data", `{"By":["U0MALLORY"]}`)
	if _, err := versioned.Update(ctx, rdb, keys, "p:1", time.Hour, func(*approvals, bool) (bool, error) { return true, nil }); !errors.Is(err, versioned.ErrSealed) {
		t.Fatal(err)
	}
}
