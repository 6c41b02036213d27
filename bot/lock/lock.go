// Package lock is a Redis lease: SET NX PX with a random token, released and
// extended only by its holder (compare-and-delete / compare-and-pexpire in
// Lua), kept alive while held.
package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrHeld is returned when someone else holds the lease.
var ErrHeld = errors.New("lock: held by another worker")

var (
	release = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
	extend  = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
)

// Lease is a held lock.
type Lease struct {
	rdb   redis.Cmdable
	key   string
	token string
	ttl   time.Duration
	stop  chan struct{}
	done  sync.WaitGroup
	lost  chan struct{}
	once  sync.Once
}

// Lost is closed when the keep-alive finds the lease taken over or expired.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Acquire tries once to take key for ttl; ErrHeld when taken. The lease is
// extended every ttl/3 until Release.
func Acquire(ctx context.Context, rdb redis.Cmdable, key string, ttl time.Duration) (*Lease, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	ok, err := rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if !ok {
		return nil, ErrHeld
	}
	l := &Lease{rdb: rdb, key: key, token: token, ttl: ttl, stop: make(chan struct{}), lost: make(chan struct{})}
	l.done.Add(1)
	go l.keepAlive()
	return l, nil
}

// AcquireWithin is AcquireWait for at most wait (polling every 25ms);
// the lease, once held, is not bound by wait.
func AcquireWithin(ctx context.Context, rdb redis.Cmdable, key string, ttl, wait time.Duration) (*Lease, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return AcquireWait(wctx, rdb, key, ttl, 25*time.Millisecond)
}

// AcquireWait retries Acquire every poll until ctx ends; giving up is
// ErrHeld (with ctx's error), even when ctx ended during an attempt.
func AcquireWait(ctx context.Context, rdb redis.Cmdable, key string, ttl, poll time.Duration) (*Lease, error) {
	for {
		l, err := Acquire(ctx, rdb, key, ttl)
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("lock %s: %w: %w", key, ErrHeld, ctx.Err())
		}
		if !errors.Is(err, ErrHeld) {
			return l, err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock %s: %w: %w", key, ErrHeld, ctx.Err())
		case <-t.C:
		}
	}
}

func (l *Lease) keepAlive() {
	defer l.done.Done()
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
			n, err := extend.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
			cancel()
			if err == nil && n == 0 {
				l.once.Do(func() { close(l.lost) })
				return
			}
		}
	}
}

// Release gives the lease back if still held.
func (l *Lease) Release(ctx context.Context) error {
	close(l.stop)
	l.done.Wait()
	return release.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
}
