package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsgate/opsgate/integrations/pagerduty"
)

var loadN = flag.Int("load.n", 4000, "webhooks per load run (go test ./test/e2e -run TestLoad -v -load.n 40000)")

// loadResult is one load run's figures.
type loadResult struct {
	n        int
	took     time.Duration
	p50, p99 time.Duration
	failed   int
}

func (r loadResult) perSec() float64 { return float64(r.n) / r.took.Seconds() }

func (r loadResult) String() string {
	return fmt.Sprintf("%8.0f/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests, %d failed)", r.perSec(),
		float64(r.p50.Microseconds())/1000, float64(r.p99.Microseconds())/1000, r.n, r.failed)
}

// hammer POSTs bodies to url from conc keep-alive connections and times
// each request.
func hammer(url string, bodies [][]byte, sign func([]byte) string, conc int) loadResult {
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc,
		DialContext: (&net.Dialer{KeepAlive: time.Minute}).DialContext}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([]time.Duration, len(bodies))
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				if sign != nil {
					req.Header.Set(pagerduty.SignatureHeader, sign(bodies[i]))
				}
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != http.StatusAccepted {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	slices.Sort(lat)
	return loadResult{n: len(bodies), took: took, p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], failed: int(failed.Load())}
}

// bare is the yardstick: a net/http handler that reads the body and
// answers 202, on the same machine in the same run.
func bare() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
}

// TestLoad prints webhook ingest figures next to a bare net/http handler
// and checks that every accepted webhook is queued exactly once. The
// figures depend on the machine; the test asserts only what must hold
// anywhere. Run bigger: go test ./test/e2e -run TestLoad -v -load.n 40000
func TestLoad(t *testing.T) {
	e := startWithoutWorkers(t)
	now := time.Now()
	bodies := make([][]byte, *loadN)
	for i := range bodies {
		bodies[i] = incidentEvent(fmt.Sprintf("EVT-LOAD%d", i), "incident.triggered", fmt.Sprintf("PLOAD%d", i), "triggered", now)
	}
	sigs := map[string]string{}
	for _, b := range bodies {
		sigs[string(b)] = pagerduty.Sign(b, pdSecret)
	}
	sign := func(b []byte) string { return sigs[string(b)] }
	const conc = 32
	b := bare()
	defer b.Close()
	hammer(b.URL, bodies[:min(len(bodies), 1000)], nil, conc) // warm both up
	base := hammer(b.URL, bodies, nil, conc)
	got := hammer(e.http.URL+"/webhooks/pagerduty", bodies, sign, conc)
	t.Logf("bare net/http 202: %s", base)
	t.Logf("opsgate webhook:   %s", got)
	if got.failed != 0 {
		t.Fatalf("%d webhooks refused", got.failed)
	}
	n, err := e.app.Queue.Len(t.Context())
	if err != nil || n != int64(len(bodies)) {
		t.Fatalf("queued %d (%v), want %d", n, err, len(bodies))
	}
	// Redelivered: all acknowledged, none queued twice.
	again := hammer(e.http.URL+"/webhooks/pagerduty", bodies[:len(bodies)/4], sign, conc)
	t.Logf("redeliveries:      %s", again)
	if n2, _ := e.app.Queue.Len(t.Context()); again.failed != 0 || n2 != n {
		t.Fatalf("redeliveries: %d failed, queue %d → %d", again.failed, n, n2)
	}
}
