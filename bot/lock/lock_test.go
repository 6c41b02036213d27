package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/lock"
	"github.com/opsgate/opsgate/test/redistest"
)

func TestLeaseExclusiveKeptAliveAndReleased(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	l, err := lock.Acquire(ctx, rdb, "k", 600*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Acquire(ctx, rdb, "k", time.Second); !errors.Is(err, lock.ErrHeld) {
		t.Fatalf("second acquire: %v", err)
	}
	// Held well past its TTL thanks to the keep-alive.
	time.Sleep(1500 * time.Millisecond)
	if _, err := lock.Acquire(ctx, rdb, "k", time.Second); !errors.Is(err, lock.ErrHeld) {
		t.Fatalf("lease expired while held: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l2, err := lock.Acquire(ctx, rdb, "k", time.Second)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	defer l2.Release(ctx)
}

func TestReleaseDoesNotDeleteAnotherHoldersLease(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	l, err := lock.Acquire(ctx, rdb, "k", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rdb.Set(ctx, "k", "someone-else", time.Hour) // our lease was lost and taken over
	select {
	case <-l.Lost():
		t.Fatal("lost too early") // keep-alive runs every 20 min here
	default:
	}
	_ = l.Release(ctx)
	if v := rdb.Get(ctx, "k").Val(); v != "someone-else" {
		t.Fatalf("release deleted another holder's lease: %q", v)
	}
}

func TestAcquireWaitGivesUp(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	l, _ := lock.Acquire(ctx, rdb, "k", time.Hour)
	defer l.Release(ctx)
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := lock.AcquireWait(wctx, rdb, "k", time.Second, 10*time.Millisecond); !errors.Is(err, lock.ErrHeld) {
		t.Fatalf("err = %v", err)
	}
}
