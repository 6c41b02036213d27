package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (e *env) postEvent(body string, ts time.Time, secret string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/slack/events", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	stamp, sig := slackSign([]byte(body), ts, secret)
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", sig)
	return do(e.t, req)
}

func homeOpened(user, eventID string) string {
	return `{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"` + eventID + `","event_time":1,` +
		`"event":{"type":"app_home_opened","user":"` + user + `","channel":"D0HOME","tab":"home","event_ts":"1.2"}}`
}

// The Events API: the signed URL verification handshake; app_home_opened
// draws that person's Home tab — the open incidents and the proposals
// waiting for *their* approval (not their own); Slack's retry of an event
// draws it once; forged, stale and malformed requests are refused.
func TestAppHomeShowsWhatWaitsForTheViewer(t *testing.T) {
	f := newActions(t, "U0ALICE, U0CAROL", "")
	e := startWith(t, f.file)
	openProposal(t, e, "PHOME01", "flush-cache key=sessions") // proposed by U0CAROL
	e.slack.AddUser("U0CAROL", "carol")

	if code, body := e.postEvent(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`, time.Now(), signingSecret); code != 200 ||
		!strings.Contains(body, `"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"`) {
		t.Fatalf("url_verification: %d %s", code, body)
	}
	for name, c := range map[string]struct {
		body   string
		ts     time.Time
		secret string
		want   int
	}{
		"forged":    {homeOpened("U0ALICE", "Ev1"), time.Now(), "not-the-secret", 401},
		"stale":     {homeOpened("U0ALICE", "Ev1"), time.Now().Add(-10 * time.Minute), signingSecret, 401},
		"malformed": {`{"type":`, time.Now(), signingSecret, 400},
	} {
		if code, body := e.postEvent(c.body, c.ts, c.secret); code != c.want {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	for _, ts := range []time.Time{time.Now(), time.Now().Add(time.Second)} { // Slack's retry: a new signature, the same event_id
		if code, _ := e.postEvent(homeOpened("U0ALICE", "Ev0001"), ts, signingSecret); code != 200 {
			t.Fatal(code)
		}
	}
	e.postEvent(homeOpened("U0CAROL", "Ev0002"), time.Now(), signingSecret)
	e.eventually("both Home tabs", func() bool { return e.slack.Home("U0ALICE") != nil && e.slack.Home("U0CAROL") != nil })
	e.settled()
	alice, carol := string(e.slack.Home("U0ALICE")), string(e.slack.Home("U0CAROL"))
	if !strings.Contains(alice, "Waiting for your approval: 1") || !strings.Contains(alice, "flush-cache") || !strings.Contains(alice, "PHOME01") {
		t.Fatalf("alice's home: %s", alice)
	}
	if !strings.Contains(carol, "Waiting for your approval:* nothing") || !strings.Contains(carol, "PHOME01") {
		t.Fatalf("carol (the proposer) is asked to approve her own proposal, or sees no incident: %s", carol)
	}
	if n := e.slack.Calls("views.publish"); n != 2 {
		t.Fatalf("views.publish called %d times, want 2 (one per person; the retry is one)", n)
	}
}
