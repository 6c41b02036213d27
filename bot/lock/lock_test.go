package lock_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/opsgate/opsgate/bot/lock"
	"github.com/opsgate/opsgate/test/redistest"
)

// The keep-alive extends the lease every third of its TTL while it is
// held. The lease's clock is synctest's: a tick costs no wall time. Redis
// runs on real time, so the test shortens the key's TTL by hand (as if
// time had passed there) and sees the next tick restore it.
func TestLeaseIsKeptAliveWhileHeld(t *testing.T) {
	srv := redistest.Start(t)
	synctest.Test(t, func(t *testing.T) {
		rdb := srv.Client()
		ctx := context.Background()
		const ttl = 30 * time.Second
		l, err := lock.Acquire(ctx, rdb, "k", ttl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lock.Acquire(ctx, rdb, "k", time.Second); !errors.Is(err, lock.ErrHeld) {
			t.Fatalf("second acquire: %v", err)
		}
		for tick := 0; tick < 3; tick++ {
			rdb.PExpire(ctx, "k", 2*time.Second) // nearly expired in Redis
			time.Sleep(ttl/3 + time.Millisecond)
			synctest.Wait()
			if left := rdb.PTTL(ctx, "k").Val(); left < ttl/2 {
				t.Fatalf("tick %d: the keep-alive did not extend the lease (%v left)", tick, left)
			}
		}
		// Taken over by someone else: the next tick reports the lease lost.
		rdb.Set(ctx, "k", "someone-else", time.Hour)
		time.Sleep(ttl/3 + time.Millisecond)
		synctest.Wait()
		select {
		case <-l.Lost():
		default:
			t.Fatal("a lease taken over is not reported lost")
		}
		// Release never deletes another holder's lease.
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if v := rdb.Get(ctx, "k").Val(); v != "someone-else" {
			t.Fatalf("release deleted another holder's lease: %q", v)
		}
		rdb.Del(ctx, "k")
		l2, err := lock.Acquire(ctx, rdb, "k", time.Second)
		if err != nil {
			t.Fatalf("after release: %v", err)
		}
		_ = l2.Release(ctx)
	})
}

func TestAcquireWaitGivesUp(t *testing.T) {
	srv := redistest.Start(t)
	synctest.Test(t, func(t *testing.T) {
		rdb := srv.Client()
		ctx := context.Background()
		l, err := lock.Acquire(ctx, rdb, "k", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release(ctx)
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := lock.AcquireWait(wctx, rdb, "k", time.Second, 10*time.Millisecond); !errors.Is(err, lock.ErrHeld) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if _, err := lock.AcquireWithin(ctx, rdb, "k", time.Second, 100*time.Millisecond); !errors.Is(err, lock.ErrHeld) {
			t.Fatalf("AcquireWithin: err = %v", err)
		}
	})
}
