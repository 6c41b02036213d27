package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/test/redistest"
)

// pathOnTopology runs webhook → thread → proposal → approval → one
// execution on whatever Redis the env names.
func pathOnTopology(t *testing.T, topology opt) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	e := startWith(t, f.file, topology)
	value := openProposal(t, e, "PTOP001", "flush-cache key=sessions")
	if code, _ := click(e, "U0ALICE", "proposal_approve", value, "1.1"); code != http.StatusOK {
		t.Fatal(code)
	}
	e.eventually("the execution", func() bool { return strings.Contains(e.slack.Transcript(channel), "SUCCEEDED") })
	e.settled()
	if n := len(f.ran()); n != 1 {
		t.Fatalf("ran %d times", n)
	}
	if n := len(e.slack.Threads(channel)); n != 1 {
		t.Fatalf("%d threads", n)
	}
	if _, err := e.app.Audit.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// The whole path on a real 3-master Redis Cluster: every multi-key
// script and transaction stays within one hash slot.
func TestThePathOnARedisCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	pathOnTopology(t, func(e *config.Env) {
		e.RedisURL, e.RedisAddrs, e.RedisWaitReplicas = "", c.Addrs(), 0 // masters only: no replica to wait for
	})
}

// The whole path on a Sentinel-managed master.
func TestThePathOnSentinel(t *testing.T) {
	s := redistest.StartSentinel(t)
	pathOnTopology(t, func(e *config.Env) {
		e.RedisURL, e.RedisAddrs, e.RedisMasterName = "", s.Addrs(), s.Name
	})
}

// A burst of webhooks while the Sentinel master is killed: every webhook
// answered 2xx — each waited for the replica — has its thread, none has
// two. A 503 during the failover is what PagerDuty retries, and so do
// these senders.
func TestAcceptedWebhooksSurviveASentinelFailover(t *testing.T) {
	s := redistest.StartSentinel(t)
	e := start(t, func(c *config.Env) {
		c.RedisURL, c.RedisAddrs, c.RedisMasterName, c.RedisWaitTimeout = "", s.Addrs(), s.Name, 2*time.Second
	})
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[string]bool{}
	send := func(i int) {
		defer wg.Done()
		id := fmt.Sprintf("PFO%03d", i)
		body := incidentEvent("EVT-"+id, "incident.triggered", id, "triggered", time.Now())
		for try := 0; try < 200; try++ {
			code, _ := e.postWebhook(body, pdSecret)
			if code == http.StatusAccepted {
				mu.Lock()
				accepted[id] = true
				mu.Unlock()
				return
			}
			time.Sleep(100 * time.Millisecond) // PagerDuty's retry, compressed
		}
		t.Errorf("%s never accepted", id)
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go send(i)
		if i == n/2 {
			s.Failover(t) // kill -9 the master mid-burst
		}
	}
	wg.Wait()
	e.eventually("every accepted incident's thread", func() bool { return len(e.slack.Threads(channel)) >= len(accepted) })
	e.settled()
	threads := map[string]int{}
	for _, m := range e.slack.Threads(channel) {
		if m.Metadata != nil {
			id, _ := m.Metadata.EventPayload["incident_id"].(string)
			threads[id]++
		}
	}
	for id := range accepted {
		if threads[id] != 1 {
			t.Errorf("%s: %d threads", id, threads[id])
		}
	}
	if len(accepted) != n {
		t.Fatalf("%d of %d accepted", len(accepted), n)
	}
}
