package ratelimit

import (
	"cmp"
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/retry"
)

// Gate shares an API's rate limits between every caller on every replica:
// a 429's Retry-After holds all callers of that method (Slack limits are
// per method and workspace, not per process), and calls that name a
// channel are paced per channel (chat.postMessage: about one message per
// second per channel, with short bursts). State lives in Redis; a Redis
// error lets the call go (the API still answers 429, and the caller's own
// retry honours it).
type Gate struct {
	Redis  redis.Cmdable
	Prefix string // e.g. "opsgate:slack:"
	// Pace is the per-channel interval by method; methods not listed are
	// not paced.
	Pace  map[string]time.Duration
	Burst int // calls per channel allowed at once before pacing (0 = 1)
	Now   func() time.Time
	Sleep retry.Sleeper // nil = real timer
	Log   *slog.Logger
	// Observe, when set, is told each wait: "held" (a shared Retry-After)
	// or "paced" (the per-channel rate).
	Observe func(method, reason string, d time.Duration)
}

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Gate) sleep(ctx context.Context, d time.Duration) error {
	if g.Sleep != nil {
		return g.Sleep(ctx, d)
	}
	return retry.RealSleep(ctx, d)
}

func (g *Gate) holdKey(method string) string { return g.Prefix + "hold:" + method }

// raise moves the hold's end later, never earlier (a shorter Retry-After
// from a concurrent caller must not shorten a longer one).
var raise = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = tonumber(ARGV[1])
if want > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return want
end
return cur`)

// reserve books the next slot of a per-key pace (GCRA): up to burst calls
// go at once, then one per interval. It returns how long the caller waits
// for its slot.
var reserve = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait < 0 then wait = 0 end
tat = tat + interval
redis.call('SET', KEYS[1], tat, 'PX', tat - now + 1000)
return wait`)

// Hold makes every caller of method wait until d from now (a longer hold
// already set stays), and returns the end of this caller's own hold — the
// wait it will sleep itself; a longer hold by another caller is still
// waited for in Wait.
func (g *Gate) Hold(ctx context.Context, method string, d time.Duration) (time.Time, error) {
	until := g.now().Add(d)
	if err := raise.Run(ctx, g.Redis, []string{g.holdKey(method)}, until.UnixMilli(), max(d.Milliseconds(), 1)).Err(); err != nil {
		g.log().Warn("rate limit hold not shared", "method", method, "err", err)
	}
	return until, nil
}

// Wait blocks until a call of method (to channel; "" = none) may go out:
// past any shared hold — except one ending by seen, which this caller has
// already waited out — and, for paced methods, until the channel's slot.
func (g *Gate) Wait(ctx context.Context, method, channel string, seen time.Time) error {
	for range 3 { // a hold may be raised while we wait: look again, a bounded number of times
		v, err := g.Redis.Get(ctx, g.holdKey(method)).Result()
		if err != nil {
			if err != redis.Nil {
				g.log().Warn("rate limit hold unreadable", "method", method, "err", err)
			}
			break
		}
		ms, _ := strconv.ParseInt(v, 10, 64)
		until := time.UnixMilli(ms)
		d := until.Sub(g.now())
		if d <= 0 || !until.After(seen) {
			break
		}
		g.observe(method, "held", d)
		if err := g.sleep(ctx, d); err != nil {
			return err
		}
		seen = until
	}
	interval, paced := g.Pace[method]
	if !paced || interval <= 0 || channel == "" {
		return nil
	}
	ms, err := reserve.Run(ctx, g.Redis, []string{g.Prefix + "pace:" + method + ":" + channel},
		g.now().UnixMilli(), interval.Milliseconds(), max(g.Burst, 1)).Int64()
	if err != nil {
		g.log().Warn("channel pace not shared", "method", method, "err", err)
		return nil
	}
	if ms <= 0 {
		return nil
	}
	d := time.Duration(ms) * time.Millisecond
	g.observe(method, "paced", d)
	return g.sleep(ctx, d)
}

func (g *Gate) observe(method, reason string, d time.Duration) {
	if g.Observe != nil {
		g.Observe(method, reason, d)
	}
}

func (g *Gate) log() *slog.Logger { return cmp.Or(g.Log, slog.Default()) }
