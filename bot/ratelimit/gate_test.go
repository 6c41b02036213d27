package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/ratelimit"
	"github.com/opsgate/opsgate/test/redistest"
)

// clock is an injected clock that sleeping advances.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *clock) took() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.slept
	c.slept = nil
	return out
}

func gate(rdb redis.Cmdable, c *clock) *ratelimit.Gate {
	return &ratelimit.Gate{Redis: rdb, Prefix: "opsgate:slack:", Now: c.Now, Sleep: c.Sleep,
		Pace: map[string]time.Duration{"chat.postMessage": time.Second}, Burst: 2}
}

func TestAHoldBindsEveryReplicaAndOnlyGrows(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	a, b := gate(rdb, c), gate(rdb, c) // two replicas
	end, err := a.Hold(ctx, "chat.update", 7*time.Second)
	if err != nil || !end.Equal(c.Now().Add(7*time.Second)) {
		t.Fatalf("hold ends %v (%v)", end, err)
	}
	if end, err := b.Hold(ctx, "chat.update", 2*time.Second); err != nil || !end.Equal(c.Now().Add(2*time.Second)) { // a shorter Retry-After
		t.Fatalf("own hold %v (%v)", end, err)
	}
	// The caller who sleeps its own 2 s still waits out the other's 7 s.
	if err := b.Wait(ctx, "chat.update", "", c.Now().Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := c.took(); len(got) != 1 || got[0] != 7*time.Second {
		t.Fatalf("waited %v, want [7s]", got)
	}
	// Other methods are not held; a hold the caller already waited out is not waited again.
	end, _ = a.Hold(ctx, "chat.update", 5*time.Second)
	_ = a.Wait(ctx, "chat.getPermalink", "", time.Time{})
	_ = a.Wait(ctx, "chat.update", "", end)
	if got := c.took(); len(got) != 0 {
		t.Fatalf("waited %v, want nothing", got)
	}
}

func TestPostsArePacedPerChannelAcrossReplicas(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	a, b := gate(rdb, c), gate(rdb, c)
	frozen := c.Now() // reservations made at one instant: no sleeping in between
	for i, g := range []*ratelimit.Gate{a, b, a, b} {
		fc := &clock{now: frozen}
		g.Now, g.Sleep = fc.Now, fc.Sleep
		if err := g.Wait(ctx, "chat.postMessage", "C1", time.Time{}); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, 0, time.Second, 2 * time.Second}[i]
		var got time.Duration
		for _, d := range fc.took() {
			got += d
		}
		if got != want {
			t.Fatalf("post %d waited %v, want %v", i, got, want)
		}
	}
	// Another channel has its own pace; unpaced methods are not paced.
	a.Now, a.Sleep = c.Now, c.Sleep
	_ = a.Wait(ctx, "chat.postMessage", "C2", time.Time{})
	_ = a.Wait(ctx, "chat.update", "C1", time.Time{})
	if got := c.took(); len(got) != 0 {
		t.Fatalf("waited %v", got)
	}
}

func TestAGateWithoutRedisLetsCallsGo(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	g := gate(rdb, c)
	if _, err := g.Hold(context.Background(), "chat.postMessage", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(context.Background(), "chat.postMessage", "C1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := c.took(); len(got) != 0 {
		t.Fatalf("waited %v", got)
	}
}
