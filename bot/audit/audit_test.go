package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/test/redistest"
)

func TestChainAppendVerifyAndTamper(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	l := audit.New(rdb, func() time.Time { return time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) })
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Append(ctx, audit.Entry{Actor: "U1", Action: "reveal", Incident: fmt.Sprint("P", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, err := l.Verify(ctx); err != nil || n != 20 {
		t.Fatalf("verify: %d %v", n, err)
	}
	msgs := rdb.XRange(ctx, audit.StreamKey, "-", "+").Val()
	rewrite := func(edit func(i int, e *audit.Entry) bool) {
		rdb.Del(ctx, audit.StreamKey)
		for i, m := range msgs {
			var e audit.Entry
			_ = json.Unmarshal([]byte(m.Values["e"].(string)), &e)
			if !edit(i, &e) {
				continue
			}
			b, _ := json.Marshal(e)
			rdb.XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: map[string]any{"e": string(b)}})
		}
	}
	// Rebuild the stream with one entry's content changed (hashes kept).
	rewrite(func(i int, e *audit.Entry) bool {
		if i == 5 {
			e.Actor = "U666"
		}
		return true
	})
	if n, err := l.Verify(ctx); !errors.Is(err, audit.ErrTampered) || n != 5 {
		t.Fatalf("tampered content: %d %v", n, err)
	}
	// Remove an entry in the middle.
	rewrite(func(i int, e *audit.Entry) bool { return i != 7 })
	if n, err := l.Verify(ctx); !errors.Is(err, audit.ErrTampered) || n != 7 {
		t.Fatalf("removed entry: %d %v", n, err)
	}
	// Drop the last entry.
	rewrite(func(i int, e *audit.Entry) bool { return i != len(msgs)-1 })
	if _, err := l.Verify(ctx); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("truncated: %v", err)
	}
	// Intact again.
	rewrite(func(int, *audit.Entry) bool { return true })
	if n, err := l.Verify(ctx); err != nil || n != 20 {
		t.Fatalf("restored: %d %v", n, err)
	}
}

// Invalid UTF-8 in any field (a forged request's user id, say) must not
// break the chain: it is made valid before hashing.
func TestInvalidUTF8KeepsTheChain(t *testing.T) {
	srv := redistest.Start(t)
	l := audit.New(srv.Client(), nil)
	ctx := context.Background()
	bad := strings.Repeat("A", 31) + "\xe2\x82" // a cut "€"
	if _, err := l.Append(ctx, audit.Entry{Actor: bad, Action: "decision_refused", Details: map[string]string{bad: bad}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, audit.Entry{Actor: "U1", Action: "reveal"}); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Verify(ctx); err != nil || n != 2 {
		t.Fatalf("%d %v", n, err)
	}
}
