package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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
	// Change one entry's content.
	raw := rdb.LIndex(ctx, audit.ListKey, 5).Val()
	var e audit.Entry
	_ = json.Unmarshal([]byte(raw), &e)
	e.Actor = "U666"
	b, _ := json.Marshal(e)
	rdb.LSet(ctx, audit.ListKey, 5, b)
	if n, err := l.Verify(ctx); !errors.Is(err, audit.ErrTampered) || n != 5 {
		t.Fatalf("tampered content: %d %v", n, err)
	}
	rdb.LSet(ctx, audit.ListKey, 5, raw)
	// Drop the last entry.
	rdb.RPop(ctx, audit.ListKey)
	if _, err := l.Verify(ctx); !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("truncated: %v", err)
	}
}
