// Package durable makes a write survive a failover before opsgate acts on
// it: it waits until enough replicas hold it (Redis WAIT).
//
// WAIT covers the writes of the connection it is sent on, and opsgate's
// writes go through a pool. But a master replicates its writes in one
// ordered stream: once a later write reaches the replicas, every earlier
// one of that master has. So Wait writes a marker on one connection of the
// master that owns the key — a key in the same hash slot — and sends WAIT
// right after it on that connection.
package durable

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated: the replicas did not acknowledge in time; the write
// may still be lost in a failover, so it must not be acted on yet.
var ErrNotReplicated = errors.New("durable: not replicated in time")

// Waiter waits for replicas; the zero value (Replicas 0) waits for none.
type Waiter struct {
	Redis    redis.Cmdable
	Replicas int
	Timeout  time.Duration
}

// Wait returns once Replicas replicas hold every write made so far to the
// master that owns key.
func (w *Waiter) Wait(ctx context.Context, key string) error {
	if w == nil || w.Replicas <= 0 {
		return nil
	}
	node := w.Redis
	if c, ok := w.Redis.(*redis.ClusterClient); ok {
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			return fmt.Errorf("durable: %w", err)
		}
		node = m
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	marker, err := markerFor(key)
	if err != nil {
		return err
	}
	p := node.Pipeline() // one connection: the marker, then WAIT for it
	p.Set(ctx, marker, "1", time.Minute)
	n := p.Do(ctx, "WAIT", w.Replicas, timeout.Milliseconds())
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if got, _ := n.Int64(); got < int64(w.Replicas) {
		return fmt.Errorf("%w: %d of %d replicas within %s", ErrNotReplicated, got, w.Replicas, timeout)
	}
	return nil
}

// markerFor names a key in key's hash slot: by key's hash tag when it has
// one ("opsgate:{events}" → "{events}:durable"), else by the whole key.
func markerFor(key string) (string, error) {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return "{" + key[i+1:i+1+j] + "}:durable", nil
		}
		return "", fmt.Errorf("durable: key %q has a brace but no hash tag", key)
	}
	if strings.IndexByte(key, '}') >= 0 {
		return "", fmt.Errorf("durable: key %q has a brace but no hash tag", key)
	}
	return "{" + key + "}:durable", nil
}
