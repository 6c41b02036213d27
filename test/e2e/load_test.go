package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsgate/opsgate/integrations/pagerduty"
)

var (
	loadN    = flag.Int("load.n", 4000, "webhooks per load run (go test ./test/e2e -run TestLoad -v -load.n 40000)")
	loadConc = flag.Int("load.conc", 16, "concurrent senders (keep-alive connections)")
)

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
	logLevel = slog.LevelInfo // as deployed (OPSGATE_LOG_LEVEL=info)
	e := startWithoutWorkers(t)
	logLevel = slog.LevelDebug
	now := time.Now()
	bodies := make([][]byte, *loadN)
	for i := range bodies {
		bodies[i] = incidentEvent(fmt.Sprintf("EVT-LOAD%d", i), "incident.triggered", fmt.Sprintf("PLOAD%d", i), "triggered", now)
	}
	sigs := map[string]string{}
	for _, b := range bodies {
		// The first configured secret: one HMAC per delivery, as with one
		// secret (a rotation's second secret costs one more).
		sigs[string(b)] = pagerduty.Sign(b, pdSecretOld)
	}
	sign := func(b []byte) string { return sigs[string(b)] }
	conc := *loadConc
	b := bare()
	defer b.Close()
	hammer(b.URL, bodies[:min(len(bodies), 1000)], nil, conc) // warm both up
	base := hammer(b.URL, bodies, nil, conc)
	got := hammer(e.http.URL+"/webhooks/pagerduty", bodies, sign, conc)
	t.Logf("%d concurrent senders", conc)
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

var loadRate = flag.Int("load.rate", 100, "incidents per second for TestFirstPostLatency")

// TestFirstPostLatency triggers incidents at a steady rate (-load.rate)
// and measures webhook POST → parent message in Slack, with zero-latency
// stand-ins for Slack and PagerDuty (the fakes answer at once; real Slack
// adds its own latency and per-channel pacing). It asserts only that
// every incident got exactly one thread.
func TestFirstPostLatency(t *testing.T) {
	logLevel = slog.LevelInfo
	e := start(t)
	logLevel = slog.LevelDebug
	n := *loadN / 10
	now := time.Now()
	sent := make(map[string]time.Time, n)
	tick := time.NewTicker(time.Second / time.Duration(*loadRate))
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		id := fmt.Sprintf("PLAT%d", i)
		body := incidentEvent("EVT-"+id, "incident.triggered", id, "triggered", now)
		sent[id] = time.Now()
		if code, _ := e.postWebhook(body, pdSecretOld); code != 202 {
			t.Fatalf("webhook answered %d", code)
		}
	}
	e.eventually("every thread", func() bool { return len(e.slack.Threads(channel)) == n })
	var lat []time.Duration
	for _, m := range e.slack.Threads(channel) {
		id, _ := m.Metadata.EventPayload["incident_id"].(string)
		at, err := tsTime(m.TS)
		if err != nil || sent[id].IsZero() {
			t.Fatalf("thread %s (%s): %v", m.TS, id, err)
		}
		lat = append(lat, at.Sub(sent[id]))
		delete(sent, id)
	}
	if len(sent) != 0 {
		t.Fatalf("incidents without their own thread: %d", len(sent))
	}
	slices.Sort(lat)
	t.Logf("%d incidents at %d/s: webhook → parent posted p50 %.1f ms, p99 %.1f ms, max %.1f ms", n, *loadRate,
		ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// tsTime reads a Slack ts ("seconds.micros"); the fake stamps it with the
// wall clock when it stores the message.
func tsTime(ts string) (time.Time, error) {
	sec, micro, ok := strings.Cut(ts, ".")
	if !ok {
		return time.Time{}, fmt.Errorf("bad ts %q", ts)
	}
	s, err1 := strconv.ParseInt(sec, 10, 64)
	u, err2 := strconv.ParseInt(micro, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, fmt.Errorf("bad ts %q", ts)
	}
	return time.Unix(s, u*1000), nil
}
