package queue_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/queue"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// The embedded store (demo, no REDIS_URL) runs the heartbeat script too.
func TestHeartbeatOnEmbeddedStore(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	q := queue.New(rdb)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := q.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuf
	done := make(chan struct{})
	c := &queue.Consumer{Queue: q, Name: "A", Block: 20 * time.Millisecond, MinIdle: 60 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Handle: func(ctx context.Context, e queue.Entry) error {
			time.Sleep(200 * time.Millisecond)
			close(done)
			return nil
		}}
	go c.Run(ctx)
	if _, _, err := q.Enqueue(ctx, "E", time.Hour, "k", []byte("p")); err != nil {
		t.Fatal(err)
	}
	<-done
	waitFor(t, "ack", func() bool { p, _ := q.Pending(ctx); return p == 0 })
	if strings.Contains(logs.String(), "heartbeat failed") {
		t.Fatal(logs.String())
	}
}
