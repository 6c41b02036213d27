package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/incident"
)

// stormEvent is incidentEvent with another title and service.
func stormEvent(eventID, eventType, incidentID, status, title, serviceID string, at time.Time) []byte {
	var m map[string]any
	_ = json.Unmarshal(incidentEvent(eventID, eventType, incidentID, status, at), &m)
	data := m["event"].(map[string]any)["data"].(map[string]any)
	data["title"] = title
	data["service"].(map[string]any)["id"] = serviceID
	b, _ := json.Marshal(m)
	return b
}

func withStorms(e *config.Env) { e.StormWindow = 5 * time.Minute }

// An alert storm — 30 incidents of one cause, delivered twice each, to two
// replicas at once — gives one thread whose parent lists the other 29 with
// their live status; an unrelated incident still gets its own; a member's
// acknowledgement shows on its line; /triage split gives one member its
// own, fully enriched, thread.
func TestAnAlertStormIsOneThread(t *testing.T) {
	e := start(t, withStorms)
	r := e.replica()
	at := time.Now().Add(-time.Minute)
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("PSTORM%02d", i)
		// Planted: an e-mail address in every title; the leader's parent lists them all, masked.
		body := stormEvent("E-"+id, "incident.triggered", id, "triggered", fmt.Sprintf(`Checkout API 5xx rate above %d%% for "user%d@corp.example.com"`, 5+i, i), "PSVC001", at)
		for _, x := range []*env{e, r} { // every event twice, to either replica
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, _ := x.postWebhook(body, pdSecret); code != 202 {
					t.Errorf("webhook answered %d", code)
				}
			}()
		}
	}
	wg.Wait()
	e.postWebhook(stormEvent("E-OTHER", "incident.triggered", "POTHER1", "triggered", "Payment gateway timeouts", "PSVC001", at), pdSecret)
	e.eventually("the storm thread lists 29", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 2 && strings.Contains(e.slack.Transcript(channel), "Storm: 29 more incident(s)")
	})
	e.settled()
	if tr := e.slack.Transcript(channel); strings.Contains(tr, "corp.example.com") || !strings.Contains(tr, "[EMAIL_ADDRESS_") {
		t.Fatalf("a planted address reached Slack unmasked:\n%s", tr)
	}
	ctx := context.Background()
	var leader *incident.Record
	members := 0
	for i := 0; i < 30; i++ {
		rec, err := e.app.Store.Get(ctx, fmt.Sprintf("PSTORM%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case rec.StormSig != "" && rec.HasThread():
			leader = rec
		case rec.StormOf != "" && !rec.HasThread():
			members++
		}
	}
	if leader == nil || members != 29 || leader.StormTotal != 29 {
		t.Fatalf("leader %v, %d members", leader, members)
	}
	// Members cost nothing: no excerpt, analysis or proposal of their own.
	if n := len(e.slack.Replies(channel, leader.Thread.TS)); n > 3 {
		t.Fatalf("%d replies in the storm thread", n)
	}
	// A member's acknowledgement shows in the leader's parent, in place.
	member := "PSTORM07"
	if member == leader.Snapshot.ID {
		member = "PSTORM08"
	}
	e.postWebhook(stormEvent("E-ACK-"+member, "incident.acknowledged", member, "acknowledged", "Checkout API 5xx rate above 12%", "PSVC001", at.Add(time.Second)), pdSecret)
	e.eventually("the member's line acknowledged", func() bool {
		tr := e.slack.Transcript(channel)
		return strings.Contains(tr, "(28 triggered · 1 acknowledged")
	})
	if rec, _ := e.app.Store.Get(ctx, member); rec.Snapshot.Status != incident.StatusAcknowledged {
		t.Fatalf("member status %s", rec.Snapshot.Status)
	}
	// /triage <member> points at the storm thread; split gives it its own.
	_, body := e.postSlack("/slack/commands", slashForm(member, e.slack.ResponseURL("m")), time.Now(), signingSecret)
	if !strings.Contains(body, "grouped into") || !strings.Contains(body, "split "+member) {
		t.Fatalf("/triage %s: %s", member, body)
	}
	_, body = e.postSlack("/slack/commands", slashForm("split "+member, e.slack.ResponseURL("s")), time.Now(), signingSecret)
	if !strings.Contains(body, "out of the storm") {
		t.Fatalf("/triage split: %s", body)
	}
	e.eventually("the member's own thread", func() bool {
		return len(e.slack.Threads(channel)) == 3 && strings.Contains(e.slack.Transcript(channel), "Storm: 28 more incident(s)")
	})
	e.settled()
	rec, _ := e.app.Store.Get(ctx, member)
	if !rec.HasThread() || rec.StormOf != "" || !rec.Split {
		t.Fatalf("split member %+v", rec)
	}
	// A redelivered trigger of the split member does not group it again.
	e.postWebhook(stormEvent("E-"+member, "incident.triggered", member, "triggered", "Checkout API 5xx rate above 12%", "PSVC001", at), pdSecret)
	e.settled()
	if n := len(e.slack.Threads(channel)); n != 3 || !strings.Contains(e.slack.Transcript(channel), "Storm: 28 more") {
		t.Fatalf("%d threads after a redelivery", n)
	}
	// The leader resolves: the storm closes, the next incident of the kind leads a new one.
	e.postWebhook(stormEvent("E-RES", "incident.resolved", leader.Snapshot.ID, "resolved", leader.Snapshot.Title, "PSVC001", at.Add(2*time.Second)), pdSecret)
	e.settled()
	e.postWebhook(stormEvent("E-NEW", "incident.triggered", "PSTORMNEW", "triggered", "Checkout API 5xx rate above 50%", "PSVC001", at.Add(3*time.Second)), pdSecret)
	e.eventually("a new storm's thread", func() bool { return len(e.slack.Threads(channel)) == 4 })
}

// With storms off for a route, the same burst opens a thread each.
func TestStormsOffForARouteOpenAThreadEach(t *testing.T) {
	off := false
	file := &config.File{Routes: []config.Route{{ServiceID: "PSVC001", Channel: channel, Storm: &config.Storm{Enabled: &off}}}}
	e := startWith(t, file, withStorms)
	at := time.Now().Add(-time.Minute)
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("PNOSTORM%d", i)
		e.postWebhook(stormEvent("E-"+id, "incident.triggered", id, "triggered", fmt.Sprintf("Disk %d%% full", 90+i), "PSVC001", at), pdSecret)
	}
	e.eventually("five threads", func() bool { return len(e.slack.Threads(channel)) == 5 })
	if strings.Contains(e.slack.Transcript(channel), "Storm:") {
		t.Fatal("grouped although off")
	}
}
