package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

func TestTriggeredWebhookOpensOneThread(t *testing.T) {
	e := start(t)
	code, body := e.postWebhook(incidentEvent("EVT-T1", "incident.triggered", "PINC001", "triggered", time.Now()), pdSecret)
	if code != http.StatusAccepted || !strings.Contains(body, `"accepted"`) {
		t.Fatalf("status %d body %s", code, body)
	}
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.settled()
	th := e.slack.Threads(channel)
	if len(th) != 1 {
		t.Fatalf("threads = %d", len(th))
	}
	text := blocksText(th[0])
	for _, want := range []string{"#4092 Checkout API 5xx rate above 5%", "checkout-api", "high", "P1", "Triggered", "https://acme.pagerduty.com/incidents/PINC001", "Alice Oncall"} {
		if !strings.Contains(text, want) {
			t.Errorf("parent lacks %q:\n%s", want, text)
		}
	}
	if th[0].Metadata == nil || th[0].Metadata.EventPayload["incident_id"] != "PINC001" {
		t.Errorf("parent metadata = %+v", th[0].Metadata)
	}
	if len(e.slack.Replies(channel, th[0].TS)) != 0 {
		t.Errorf("a trigger must not post a reply")
	}
	rec, err := e.app.Store.Get(context.Background(), "PINC001")
	if err != nil || rec.Thread.TS != th[0].TS || rec.Thread.Channel != channel || rec.Thread.Permalink == "" {
		t.Fatalf("record thread = %+v, err %v", rec.Thread, err)
	}
}

func TestSameEventDeliveredConcurrentlyOpensOneThread(t *testing.T) {
	e := start(t)
	body := incidentEvent("EVT-DUP", "incident.triggered", "PINC002", "triggered", time.Now())
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, b := e.postWebhook(body, pdSecret)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case code == 202 && strings.Contains(b, `"accepted"`):
				statuses["accepted"]++
			case code == 202 && strings.Contains(b, `"duplicate"`):
				statuses["duplicate"]++
			default:
				statuses[b]++
			}
		}()
	}
	wg.Wait()
	if statuses["accepted"] != 1 || statuses["duplicate"] != 19 {
		t.Fatalf("statuses = %v", statuses)
	}
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) >= 1 })
	e.settled()
	if n := len(e.slack.Threads(channel)); n != 1 {
		t.Fatalf("threads = %d, want 1", n)
	}
	if n := e.slack.Calls("chat.postMessage"); n != 1 {
		t.Fatalf("chat.postMessage calls = %d, want 1", n)
	}
}

// Different events of one incident racing on several workers still make
// one thread, and Slack ends showing the latest state.
func TestConcurrentEventsOfOneIncidentShareOneThread(t *testing.T) {
	e := start(t)
	now := time.Now()
	events := [][]byte{
		incidentEvent("EVT-A", "incident.triggered", "PINC003", "triggered", now.Add(-3*time.Second)),
		incidentEvent("EVT-B", "incident.acknowledged", "PINC003", "acknowledged", now.Add(-2*time.Second)),
		incidentEvent("EVT-C", "incident.escalated", "PINC003", "acknowledged", now.Add(-time.Second)),
		incidentEvent("EVT-D", "incident.resolved", "PINC003", "resolved", now),
	}
	var wg sync.WaitGroup
	for _, b := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := e.postWebhook(b, pdSecret); code != 202 {
				t.Errorf("status %d %s", code, body)
			}
		}()
	}
	wg.Wait()
	e.eventually("3 replies", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 1 && len(e.slack.Replies(channel, th[0].TS)) == 3
	})
	e.settled()
	th := e.slack.Threads(channel)
	if len(th) != 1 {
		t.Fatalf("threads = %d", len(th))
	}
	if text := blocksText(th[0]); !strings.Contains(text, "Resolved") {
		t.Fatalf("parent does not show the latest state:\n%s", text)
	}
}

func TestAckAndResolveEditParentInPlace(t *testing.T) {
	e := start(t)
	now := time.Now().Add(-time.Minute)
	e.postWebhook(incidentEvent("EVT-1", "incident.triggered", "PINC004", "triggered", now), pdSecret)
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.postWebhook(incidentEvent("EVT-2", "incident.acknowledged", "PINC004", "acknowledged", now.Add(10*time.Second)), pdSecret)
	e.eventually("ack reply", func() bool { return len(e.slack.Replies(channel, e.slack.Threads(channel)[0].TS)) == 1 })
	parent := e.slack.Threads(channel)[0]
	if parent.Edits < 1 || !strings.Contains(blocksText(parent), "Acknowledged") {
		t.Fatalf("parent not edited to acknowledged (edits %d):\n%s", parent.Edits, blocksText(parent))
	}
	e.postWebhook(incidentEvent("EVT-3", "incident.resolved", "PINC004", "resolved", now.Add(20*time.Second)), pdSecret)
	e.eventually("resolve reply", func() bool { return len(e.slack.Replies(channel, parent.TS)) == 2 })
	e.settled()
	parent = e.slack.Threads(channel)[0]
	if len(e.slack.Threads(channel)) != 1 || parent.Edits < 2 || !strings.Contains(blocksText(parent), "Resolved") {
		t.Fatalf("want one thread edited twice showing Resolved; edits=%d\n%s", parent.Edits, e.slack.Transcript(channel))
	}
	replies := e.slack.Replies(channel, parent.TS)
	if !strings.Contains(blocksText(replies[0]), "Acknowledged by Alice Oncall") || !strings.Contains(blocksText(replies[1]), "Resolved by Alice Oncall") {
		t.Fatalf("replies:\n%s", e.slack.Transcript(channel))
	}
	if n := e.slack.Calls("chat.update"); n != 2 {
		t.Fatalf("chat.update calls = %d, want 2", n)
	}
}

// An event older than the last applied one (a late retry) does not roll the
// parent back; its reply is still posted.
func TestOutOfOrderEventDoesNotRollBack(t *testing.T) {
	e := start(t)
	now := time.Now().Add(-time.Minute)
	e.postWebhook(incidentEvent("EVT-R", "incident.resolved", "PINC005", "resolved", now.Add(time.Minute)), pdSecret)
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
	e.postWebhook(incidentEvent("EVT-K", "incident.acknowledged", "PINC005", "acknowledged", now), pdSecret)
	e.eventually("2 replies", func() bool { return len(e.slack.Replies(channel, e.slack.Threads(channel)[0].TS)) == 2 })
	e.settled()
	if text := blocksText(e.slack.Threads(channel)[0]); !strings.Contains(text, "Resolved") {
		t.Fatalf("rolled back:\n%s", text)
	}
}

func TestRejectedDeliveriesPostNothing(t *testing.T) {
	e := start(t)
	good := incidentEvent("EVT-X", "incident.triggered", "PINC006", "triggered", time.Now())
	big := bytes.Repeat([]byte("x"), 600<<10)
	cases := []struct {
		name   string
		body   []byte
		secret string
		header string
		want   int
	}{
		{"forged signature", good, "not-the-secret", "", 401},
		{"missing signature", good, "", "", 401},
		{"garbage signature header", good, "", "v1=zz,t=1", 401},
		{"body changed after signing", append(append([]byte{}, good[:len(good)-2]...), []byte(" }}")...), "", pagerduty.Sign(good, pdSecret), 401},
		{"stale event", incidentEvent("EVT-OLD", "incident.triggered", "PINC006", "triggered", time.Now().Add(-50*time.Hour)), pdSecret, "", 400},
		{"future event", incidentEvent("EVT-FUT", "incident.triggered", "PINC006", "triggered", time.Now().Add(time.Hour)), pdSecret, "", 400},
		{"malformed JSON", []byte(`{"event": {"id": "E1", `), pdSecret, "", 400},
		{"not an object", []byte(`[1,2,3]`), pdSecret, "", 400},
		{"missing event id", []byte(`{"event":{"event_type":"incident.triggered","occurred_at":"2026-11-21T00:00:00Z","data":null}}`), pdSecret, "", 400},
		{"bad incident id", bytes.Replace(good, []byte(`"id":"PINC006"`), []byte(`"id":"../../x"`), 1), pdSecret, "", 400},
		{"empty body", []byte{}, pdSecret, "", 400},
		{"oversized body", big, pdSecret, "", 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/webhooks/pagerduty", bytes.NewReader(c.body))
			switch {
			case c.header != "":
				req.Header.Set(pagerduty.SignatureHeader, c.header)
			case c.secret != "":
				req.Header.Set(pagerduty.SignatureHeader, pagerduty.Sign(c.body, c.secret))
			}
			code, body := do(t, req)
			if code != c.want {
				t.Fatalf("status %d, want %d (%s)", code, c.want, body)
			}
			for _, s := range []string{pdSecret, pdSecretOld} {
				if strings.Contains(body, s) {
					t.Fatal("error body contains a secret")
				}
			}
		})
	}
	if n, _ := e.app.Queue.Len(context.Background()); n != 0 {
		t.Fatalf("queued %d rejected events", n)
	}
	if n := e.slack.TotalMessages(); n != 0 {
		t.Fatalf("posted %d messages", n)
	}
	// A valid delivery after all that still works, and the rejected stale
	// event's id was not remembered.
	if code, _ := e.postWebhook(good, pdSecret); code != 202 {
		t.Fatalf("good delivery: %d", code)
	}
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
}

func TestRotatedSecretAccepted(t *testing.T) {
	e := start(t)
	if code, body := e.postWebhook(incidentEvent("EVT-ROT", "incident.triggered", "PINC007", "triggered", time.Now()), pdSecretOld); code != 202 {
		t.Fatalf("old secret rejected: %d %s", code, body)
	}
	// PagerDuty sends several v1= values during rotation; any match counts.
	body := incidentEvent("EVT-ROT2", "incident.acknowledged", "PINC007", "acknowledged", time.Now())
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/webhooks/pagerduty", bytes.NewReader(body))
	req.Header.Set(pagerduty.SignatureHeader, pagerduty.Sign(body, "retired-secret")+","+pagerduty.Sign(body, pdSecret))
	if code, b := do(t, req); code != 202 {
		t.Fatalf("multi-signature rejected: %d %s", code, b)
	}
	e.eventually("ack reply", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 1 && len(e.slack.Replies(channel, th[0].TS)) == 1
	})
}

func TestPingAndIgnoredEvents(t *testing.T) {
	e := start(t)
	ping := []byte(`{"event":{"id":"PING1","event_type":"pagey.ping","resource_type":"pagey","occurred_at":"` + time.Now().UTC().Format(time.RFC3339) + `","agent":null,"client":null,"data":{"message":"Hello from your friend Pagey!","type":"ping"}}}`)
	if code, body := e.postWebhook(ping, pdSecret); code != 202 || !strings.Contains(body, "pong") {
		t.Fatalf("ping: %d %s", code, body)
	}
	svc := []byte(`{"event":{"id":"SVC1","event_type":"service.updated","resource_type":"service","occurred_at":"` + time.Now().UTC().Format(time.RFC3339) + `","agent":null,"client":null,"data":{"id":"PSVC1","type":"service","summary":"x"}}}`)
	if code, _ := e.postWebhook(svc, pdSecret); code != 202 {
		t.Fatalf("service event: %d", code)
	}
	e.settled()
	if n := e.slack.TotalMessages(); n != 0 {
		t.Fatalf("posted %d messages for ping/service events", n)
	}
}

func TestWebhookAnswers503WhenRedisIsDownAndRecovers(t *testing.T) {
	e := start(t)
	e.redis.Kill()
	code, _ := e.postWebhook(incidentEvent("EVT-DOWN", "incident.triggered", "PINC008", "triggered", time.Now()), pdSecret)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 so PagerDuty retries", code)
	}
	resp, err := http.Get(e.http.URL + "/readyz")
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("readyz with Redis down: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	e.redis.Restart()
	// go-redis re-dials a failed pool in the background (about once a second).
	e.eventually("redis reachable again", func() bool { return e.app.Redis.Ping(context.Background()).Err() == nil })
	if err := e.app.Queue.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	// PagerDuty's retries of the same event land once the pool has
	// re-dialled (one pooled connection may still be a dead one: 503, and
	// PagerDuty retries again).
	e.eventually("a retry accepted", func() bool {
		code, _ := e.postWebhook(incidentEvent("EVT-DOWN", "incident.triggered", "PINC008", "triggered", time.Now()), pdSecret)
		return code == 202
	})
	e.eventually("thread", func() bool { return len(e.slack.Threads(channel)) == 1 })
}

func TestHealthAndReadiness(t *testing.T) {
	e := start(t)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		resp, err := http.Get(e.http.URL + path)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("%s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	resp, _ := http.Get(e.http.URL + "/webhooks/pagerduty")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET webhook: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

var _ = incident.StatusResolved
