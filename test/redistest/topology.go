package redistest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a real Redis Cluster of masters (no replicas) on loopback.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts masters redis-servers in cluster mode, splits the
// 16,384 slots between them and waits until the cluster is ok.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	c := &Cluster{}
	for i := 0; i < masters; i++ {
		c.Nodes = append(c.Nodes, StartWith(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"))
	}
	ctx := context.Background()
	per := 16384 / masters
	for i, n := range c.Nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr()})
		lo, hi := i*per, (i+1)*per-1
		if i == masters-1 {
			hi = 16383
		}
		if err := cl.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			t.Fatalf("redistest: cluster slots: %v", err)
		}
		if i > 0 {
			if err := cl.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(c.Nodes[0].Port)).Err(); err != nil {
				t.Fatalf("redistest: cluster meet: %v", err)
			}
		}
		_ = cl.Close()
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range c.Nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr()})
		for {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", masters)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: the cluster did not become ok: %v %s", err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = cl.Close()
	}
	return c
}

// Addrs are the nodes' host:port.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// Client returns a cluster client closed at cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Sentinel is a master, a replica and one Sentinel watching them, on
// loopback.
type Sentinel struct {
	Master, Replica, Sentinel *Server
	Name                      string
}

// StartSentinel starts the three and waits until the Sentinel knows the
// replica.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	s := &Sentinel{Name: "opsgate-test"}
	s.Master = StartWith(t)
	s.Replica = StartWith(t, "--replicaof", "127.0.0.1", strconv.Itoa(s.Master.Port))
	conf := "port %d\n" +
		"sentinel monitor " + s.Name + " 127.0.0.1 " + strconv.Itoa(s.Master.Port) + " 1\n" +
		"sentinel down-after-milliseconds " + s.Name + " 1000\n" +
		"sentinel failover-timeout " + s.Name + " 5000\n" +
		"sentinel parallel-syncs " + s.Name + " 1\n"
	s.Sentinel = startServer(t, conf)
	ctx := context.Background()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinel.Addr()})
	defer sc.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		reps, err := sc.Replicas(ctx, s.Name).Result()
		if err == nil && len(reps) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: the Sentinel does not see the replica: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The replica has synced.
	rc := redis.NewClient(&redis.Options{Addr: s.Replica.Addr()})
	defer rc.Close()
	for {
		info, _ := rc.Info(ctx, "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: the replica did not sync: %s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addrs are the Sentinels' addresses (REDIS_ADDRS).
func (s *Sentinel) Addrs() []string { return []string{s.Sentinel.Addr()} }

// Failover kills the master (SIGKILL, as a crash) and waits until the
// Sentinel has promoted the replica.
func (s *Sentinel) Failover(t testing.TB) {
	t.Helper()
	s.Master.Kill()
	ctx := context.Background()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinel.Addr()})
	defer sc.Close()
	want := s.Replica.Addr()
	deadline := time.Now().Add(30 * time.Second)
	for {
		addr, err := sc.GetMasterAddrByName(ctx, s.Name).Result()
		if err == nil && len(addr) == 2 && addr[0]+":"+addr[1] == want {
			rc := redis.NewClient(&redis.Options{Addr: want})
			role, _ := rc.Do(ctx, "ROLE").Slice()
			_ = rc.Close()
			if len(role) > 0 && role[0] == "master" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: no failover within 30s: %v %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
