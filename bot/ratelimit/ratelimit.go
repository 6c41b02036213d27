// Package ratelimit counts events per key in fixed windows in Redis, so
// every replica enforces one limit.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// take increments the window's count, starting the window's expiry on its
// first event, atomically (a crash between the two would leave a count
// that never expires).
var take = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// Window allows Limit events per key per Per.
type Window struct {
	Redis  redis.Cmdable
	Prefix string // Redis key prefix, e.g. "opsgate:rate:propose:"
	Limit  int64
	Per    time.Duration
}

// Allow counts one event for key and reports whether it is within the
// limit, and the count so far in this window.
func (w *Window) Allow(ctx context.Context, key string) (bool, int64, error) {
	n, err := take.Run(ctx, w.Redis, []string{w.Prefix + key}, w.Per.Milliseconds()).Int64()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	return n <= w.Limit, n, nil
}
