package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Handler processes one entry. nil acks it; an error wrapping ErrPermanent
// dead-letters it; any other error leaves it pending for a later retry.
type Handler func(ctx context.Context, e Entry) error

// Consumer reads the group as one named consumer.
type Consumer struct {
	Queue   *Queue
	Name    string
	Handle  Handler
	Block   time.Duration // XREADGROUP block time
	MinIdle time.Duration // reclaim entries pending at least this long
	MaxAge  time.Duration // give up (dead-letter) entries older than this that still fail
	Log     *slog.Logger
	Now     func() time.Time
	// Observe, when set, is told each handled entry's kind and result
	// ("ok", "retry", "dead", "refused" — a refused entry's kind is
	// "unknown": it was written by someone else).
	Observe func(kind, result string, took time.Duration)
	// Refused, when set, is told of every refused entry before it is
	// dead-lettered (opsgate audits it).
	Refused func(ctx context.Context, r Refusal)
}

// replayWindow is how long a finished job's id is remembered, and so how
// old an entry may be and still be handled.
func (c *Consumer) replayWindow() time.Duration { return 2 * c.MaxAge }

func (c *Consumer) defaults() {
	if c.Block <= 0 {
		c.Block = 2 * time.Second
	}
	if c.MinIdle <= 0 {
		c.MinIdle = 30 * time.Second
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Run consumes until ctx ends. Redis errors are logged and retried.
func (c *Consumer) Run(ctx context.Context) error {
	c.defaults()
	claimCursor := "0-0"
	nextClaim := time.Time{}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if now := c.Now(); !now.Before(nextClaim) {
			msgs, cursor, err := c.Queue.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: c.Queue.Stream, Group: c.Queue.Group, Consumer: c.Name, MinIdle: c.MinIdle, Start: claimCursor, Count: 10,
			}).Result()
			if err == nil {
				claimCursor = cursor
				if cursor == "0-0" {
					nextClaim = now.Add(c.MinIdle / 2)
				}
				for _, m := range msgs {
					c.process(ctx, m, true)
				}
			} else if ctx.Err() == nil {
				c.Log.Warn("reclaim failed", "err", err)
			}
		}
		streams, err := c.Queue.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: c.Queue.Group, Consumer: c.Name, Streams: []string{c.Queue.Stream, ">"}, Count: 1, Block: c.Block,
		}).Result()
		if err != nil {
			if errors.Is(err, redis.Nil) || ctx.Err() != nil {
				continue
			}
			if isNoGroup(err) {
				_ = c.Queue.Setup(ctx)
			}
			c.Log.Warn("read failed", "err", err)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, s := range streams {
			for _, m := range s.Messages {
				c.process(ctx, m, false)
			}
		}
	}
	return ctx.Err()
}

func isNoGroup(err error) bool {
	return err != nil && len(err.Error()) >= 7 && err.Error()[:7] == "NOGROUP"
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (c *Consumer) process(ctx context.Context, m redis.XMessage, reclaimed bool) {
	e, ok := raw(m)
	var err error
	if ok {
		e, err = c.Queue.admit(ctx, e, c.Now(), c.replayWindow())
	} else {
		err = fmt.Errorf("%w: not a job entry (fields missing)", ErrRefused)
	}
	if errors.Is(err, errFinished) {
		if aerr := c.Queue.rdb.XAck(ctx, c.Queue.Stream, c.Queue.Group, e.ID).Err(); aerr != nil {
			c.Log.Warn("ack failed; entry will be redelivered", "id", e.ID, "err", aerr)
		}
		c.Log.Debug("entry already handled by another worker", "id", e.ID)
		return
	}
	if err != nil {
		if !errors.Is(err, ErrRefused) { // Redis trouble: not a verdict
			c.Log.Warn("entry not checked; will retry", "id", e.ID, "err", err)
			return
		}
		c.refuse(ctx, refusal(e, err))
		return
	}
	start := c.Now()
	// The heartbeat and the ack outlive a shutdown that begins while the
	// handler runs (an action, once begun, finishes): otherwise another
	// replica reclaims the entry and handles it again.
	hctx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	beat := make(chan struct{})
	go func() { c.heartbeat(hctx, e.ID); close(beat) }()
	err = c.Handle(ctx, e)
	stopBeat()
	<-beat
	took := c.Now().Sub(start)
	result := "ok"
	switch {
	case err == nil:
		if aerr := c.Queue.ack(context.WithoutCancel(ctx), e, "", c.replayWindow()); aerr != nil {
			c.Log.Warn("ack failed; entry will be redelivered", "id", e.ID, "err", aerr)
		}
	case ctx.Err() != nil:
		// shutting down (or killed): leave it pending for another consumer
		result = "retry"
	case errors.Is(err, ErrPermanent) || c.Now().Sub(e.EnqueuedAt()) > c.MaxAge:
		result = "dead"
		c.Log.Error("entry failed for good; moved to dead-letter stream", "id", e.ID, "kind", e.Kind, "err", err)
		if aerr := c.Queue.ack(ctx, e, err.Error(), c.replayWindow()); aerr != nil {
			c.Log.Warn("dead-letter failed", "id", e.ID, "err", aerr)
		}
	default:
		result = "retry"
		c.Log.Warn("entry failed; will retry", "id", e.ID, "kind", e.Kind, "reclaimed", reclaimed, "retry_after", c.MinIdle, "err", err)
	}
	if c.Observe != nil {
		c.Observe(e.Kind, result, took)
	}
}

// refuse reports, audits and dead-letters an entry opsgate did not queue;
// it is never handled.
func (c *Consumer) refuse(ctx context.Context, r Refusal) {
	if c.Queue.Redact != nil {
		r.Kind = c.Queue.Redact(r.Kind)
	}
	c.Log.Error("queue entry refused: not a job opsgate queued; dead-lettered", "id", r.StreamID, "kind", r.Kind, "reason", r.Reason)
	if c.Refused != nil {
		c.Refused(ctx, r)
	}
	if err := c.Queue.refuse(context.WithoutCancel(ctx), r); err != nil {
		c.Log.Warn("refused entry not dead-lettered; will be refused again", "id", r.StreamID, "err", err)
	}
	if c.Observe != nil {
		c.Observe("unknown", "refused", 0)
	}
}

// keepOwned resets the idle time of an entry this consumer still owns, so
// a long handler (a slow model, a slow context source) is not reclaimed by
// another replica while it works. It never takes an entry from another.
var keepOwned = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if p[1] and p[1][2] == ARGV[3] then
  return redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
end
return false`)

func (c *Consumer) heartbeat(ctx context.Context, id string) {
	t := time.NewTicker(max(c.MinIdle/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := keepOwned.Run(ctx, c.Queue.rdb, []string{c.Queue.Stream}, c.Queue.Group, id, c.Name).Err(); err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				c.Log.Warn("heartbeat failed", "id", id, "err", err)
			}
		}
	}
}
