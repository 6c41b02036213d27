package redistest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestClusterAndSentinelStart(t *testing.T) {
	ctx := context.Background()
	c := StartCluster(t, 3)
	cl := c.Client(t)
	for i := 0; i < 30; i++ { // keys land on every master
		if err := cl.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var masters atomic.Int32 // ForEachMaster calls back concurrently
	_ = cl.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		if m.DBSize(ctx).Val() > 0 {
			masters.Add(1)
		}
		return nil
	})
	if n := masters.Load(); n != 3 {
		t.Fatalf("keys on %d masters", n)
	}
	s := StartSentinel(t)
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.Name, SentinelAddrs: s.Addrs()})
	defer fc.Close()
	if err := fc.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := fc.Wait(ctx, 1, 0).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT %d %v", n, err)
	}
	s.Failover(t)
	if v, err := fc.Get(ctx, "before").Result(); err != nil || v != "1" {
		t.Fatalf("after failover: %q %v", v, err)
	}
}
