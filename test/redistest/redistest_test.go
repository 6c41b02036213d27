package redistest_test

import (
	"context"
	"testing"

	"github.com/opsgate/opsgate/test/redistest"
)

// A server of one's own, killed and restarted on the same port, empty
// (it keeps nothing on disk, like a Redis that lost its data), and clients
// reconnect.
func TestKillAndRestartKeepData(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a killed server answered")
	}
	s.Restart()
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("after restart: %d %v", n, err)
	}
	if other := redistest.Start(t); other.Port == s.Port {
		t.Fatal("two servers on one port")
	}
}
