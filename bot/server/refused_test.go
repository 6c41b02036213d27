package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/metrics"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/bot/server"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

type slackFixture struct {
	h     http.Handler
	log   *audit.Log
	m     *metrics.Metrics
	queue *queue.Queue
	now   *time.Time
}

func newSlackFixture(t *testing.T, configure func(*server.Server)) *slackFixture {
	t.Helper()
	rdb := redistest.Start(t).Client()
	f := &slackFixture{log: testutil.Audit(t, rdb, nil), m: metrics.New(), queue: queue.New(rdb, seal.Ephemeral())}
	now := time.Date(2026, 11, 21, 10, 0, 30, 0, time.UTC)
	f.now = &now
	s := &server.Server{Queue: f.queue, Incidents: incident.NewStore(rdb, time.Hour, nil), Redis: rdb, SigningSecret: slackSecret,
		MaxAge: time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: f.m, Audit: f.log, Now: func() time.Time { return *f.now }}
	if configure != nil {
		configure(s)
	}
	f.h = s.Handler()
	return f
}

func clickBody(user, action, value, actionTs, team string) []byte {
	payload := `{"type":"block_actions","user":{"id":"` + user + `"},"team":{"id":"` + team + `"},"api_app_id":"A0OPSGATE","actions":[{"type":"button","block_id":"proposal_actions","action_id":"` +
		action + `","value":"` + value + `","action_ts":"` + actionTs + `"}]}`
	return []byte(url.Values{"payload": {payload}}.Encode())
}

// post sends body to path with the given timestamp and signature headers.
func (f *slackFixture) post(path string, body []byte, ts, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func (f *slackFixture) signed(path string, body []byte) *httptest.ResponseRecorder {
	ts, sig := slackapi.Sign(slackSecret, time.Now(), body)
	return f.post(path, body, ts, sig)
}

func (f *slackFixture) counted(endpoint, outcome string) float64 {
	var c dto.Metric
	_ = f.m.SlackReqs.WithLabelValues(endpoint, outcome).Write(&c)
	return c.GetCounter().GetValue()
}

func (f *slackFixture) entries(t *testing.T) []audit.Entry {
	t.Helper()
	es, err := f.log.Entries(context.Background(), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Forged clicks (bad signature, stale timestamp) are refused and counted,
// never audited: anyone can send them. Replays of a real click are
// audited, within a budget of 60 a minute.
func TestOnlyAuthenticatedRefusedClicksAreAudited(t *testing.T) {
	f := newSlackFixture(t, nil)
	click := clickBody("U0MALLORY", "proposal_approve", "P1ABCDE-0123456789|ffff", "1.1", "T0ACME")
	for i := 0; i < 100; i++ {
		if w := f.post("/slack/interactions", click, "1700000000", "v0=forged"); w.Code != http.StatusUnauthorized {
			t.Fatalf("forged click answered %d", w.Code)
		}
	}
	stale, staleSig := slackapi.Sign(slackSecret, time.Now().Add(-10*time.Minute), click)
	if w := f.post("/slack/interactions", click, stale, staleSig); w.Code != http.StatusUnauthorized {
		t.Fatalf("stale click answered %d", w.Code)
	}
	if n := len(f.entries(t)); n != 0 {
		t.Fatalf("%d unauthenticated clicks audited", n)
	}
	if f.counted("interactions", "bad_signature") != 100 || f.counted("interactions", "stale") != 1 {
		t.Fatal("unauthenticated clicks not counted")
	}
	// A real click, then 70 replays of it: each replay is authenticated
	// and audited, up to the budget.
	ts, sig := slackapi.Sign(slackSecret, time.Now(), click)
	if w := f.post("/slack/interactions", click, ts, sig); w.Code != http.StatusOK {
		t.Fatalf("real click answered %d %s", w.Code, w.Body)
	}
	for i := 0; i < 70; i++ {
		if w := f.post("/slack/interactions", click, ts, sig); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "already handled") {
			t.Fatalf("replay answered %d %s", w.Code, w.Body)
		}
	}
	es := f.entries(t)
	if len(es) != 60 {
		t.Fatalf("%d replays audited, want 60", len(es))
	}
	if e := es[0]; e.Action != "decision_refused" || e.Actor != "U0MALLORY" || e.Incident != "P1ABCDE" || !strings.Contains(e.Details["reason"], "replayed") {
		t.Fatalf("%+v", e)
	}
	if f.counted("interactions", "refused_unaudited") != 10 {
		t.Fatal("replays beyond the budget not counted")
	}
	*f.now = f.now.Add(time.Minute) // a new minute, a new budget
	f.post("/slack/interactions", click, ts, sig)
	if n := len(f.entries(t)); n != 61 {
		t.Fatalf("%d entries", n)
	}
}

// The replay guard keys on the signature's bytes: the same signature in
// upper-case hex is the same request.
func TestAnUpperCasedSignatureIsStillAReplay(t *testing.T) {
	f := newSlackFixture(t, nil)
	reveal := []byte(url.Values{"payload": {`{"type":"block_actions","user":{"id":"U0ALICE"},"actions":[{"type":"button","block_id":"parent_actions","action_id":"reveal_masked","value":"P1ABCDE","action_ts":"1.1"}]}`}}.Encode())
	ts, sig := slackapi.Sign(slackSecret, time.Now(), reveal)
	if w := f.post("/slack/interactions", reveal, ts, sig); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "already handled") {
		t.Fatalf("first reveal: %d %s", w.Code, w.Body)
	}
	upper := "v0=" + strings.ToUpper(strings.TrimPrefix(sig, "v0="))
	w := f.post("/slack/interactions", reveal, ts, upper)
	if w.Code == http.StatusOK && !strings.Contains(w.Body.String(), "already handled") {
		t.Fatalf("an upper-cased replay was handled: %d %s", w.Code, w.Body)
	}
	if n, _ := f.queue.Len(context.Background()); n != 1 {
		t.Fatalf("%d reveal jobs queued, want 1", n)
	}
}

// With SLACK_TEAM_ID / SLACK_APP_ID set, signed requests from another
// workspace or app are refused (and, being authenticated, audited).
func TestRequestsFromAnotherWorkspaceOrAppAreRefused(t *testing.T) {
	f := newSlackFixture(t, func(s *server.Server) { s.TeamID, s.AppID = "T0ACME", "A0OPSGATE" })
	if w := f.signed("/slack/interactions", clickBody("U0EVE", "proposal_approve", "P1ABCDE-0123456789|ffff", "1.1", "T0OTHER")); w.Code != http.StatusForbidden {
		t.Fatalf("foreign click: %d %s", w.Code, w.Body)
	}
	cmd := func(team, app string) []byte {
		return []byte(url.Values{"command": {"/triage"}, "text": {"help"}, "user_id": {"U0EVE"}, "team_id": {team}, "api_app_id": {app}}.Encode())
	}
	for _, body := range [][]byte{cmd("T0OTHER", "A0OPSGATE"), cmd("T0ACME", "A0OTHER"), cmd("", "")} {
		if w := f.signed("/slack/commands", body); w.Code != http.StatusForbidden {
			t.Fatalf("foreign command %s: %d %s", body, w.Code, w.Body)
		}
	}
	if w := f.signed("/slack/commands", cmd("T0ACME", "A0OPSGATE")); w.Code != http.StatusOK {
		t.Fatalf("own command: %d %s", w.Code, w.Body)
	}
	if w := f.signed("/slack/interactions", clickBody("U0ALICE", "proposal_approve", "P1ABCDE-0123456789|ffff", "1.2", "T0ACME")); w.Code != http.StatusOK {
		t.Fatalf("own click: %d %s", w.Code, w.Body)
	}
	es := f.entries(t)
	if len(es) != 1 || !strings.Contains(es[0].Details["reason"], "another Slack workspace") {
		t.Fatalf("%+v", es)
	}
	if f.counted("commands", "foreign") != 3 || f.counted("interactions", "foreign") != 1 {
		t.Fatal("foreign requests not counted")
	}
}

// An interaction body over 64 KiB is refused before it is parsed.
func TestOversizedInteractionsAreRefusedBeforeParsing(t *testing.T) {
	f := newSlackFixture(t, nil)
	big := clickBody("U0ALICE", "proposal_approve", "P1ABCDE-0123456789|"+strings.Repeat("f", 70<<10), "1.1", "T0ACME")
	if w := f.signed("/slack/interactions", big); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d", w.Code)
	}
	if n := len(f.entries(t)); n != 0 {
		t.Fatal("an oversized click was audited")
	}
}
