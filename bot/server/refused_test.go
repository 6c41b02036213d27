package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/metrics"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/bot/server"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

// Forged Approve clicks are refused and audited, but at most 60 a minute:
// the rest are only counted, so forged traffic cannot flood the chain.
// Clicks that are not on a proposal are never audited.
func TestRefusedClicksAuditedWithinBudget(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	log := testutil.Audit(t, rdb, nil)
	m := metrics.New()
	now := time.Date(2026, 11, 21, 10, 0, 30, 0, time.UTC)
	s := &server.Server{Queue: queue.New(rdb, seal.Ephemeral()), Incidents: incident.NewStore(rdb, time.Hour, nil), Redis: rdb, SigningSecret: slackSecret,
		MaxAge: time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m, Audit: log, Now: func() time.Time { return now }}
	h := s.Handler()
	send := func(action, value string) int {
		payload := `{"type":"block_actions","user":{"id":"U0MALLORY"},"actions":[{"type":"button","block_id":"proposal_actions","action_id":"` + action + `","value":"` + value + `","action_ts":"1.1"}]}`
		req := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(url.Values{"payload": {payload}}.Encode()))
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		req.Header.Set("X-Slack-Signature", "v0=forged")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	for i := 0; i < 70; i++ {
		if code := send("proposal_approve", "P1ABCDE-0123456789|ffff"); code != http.StatusUnauthorized {
			t.Fatalf("forged click answered %d", code)
		}
	}
	send("reveal_masked", "P1ABCDE")
	send("proposal_approve", "not-a-proposal|x")
	entries, err := log.Entries(context.Background(), 0, -1)
	if err != nil || len(entries) != 60 {
		t.Fatalf("%d entries audited, want 60 (%v)", len(entries), err)
	}
	e := entries[0]
	if e.Action != "decision_refused" || e.Actor != "U0MALLORY" || e.Incident != "P1ABCDE" || e.Details["user_verified"] != "false" || e.Details["reason"] != "invalid Slack signature" {
		t.Fatalf("%+v", e)
	}
	var c dto.Metric
	if err := m.SlackReqs.WithLabelValues("interactions", "refused_unaudited").Write(&c); err != nil {
		t.Fatal(err)
	}
	if n := c.GetCounter().GetValue(); n != 10 {
		t.Fatalf("unaudited refusals counted %v, want 10", n)
	}
	now = now.Add(time.Minute) // a new minute, a new budget
	send("proposal_reject", "P1ABCDE-0123456789|ffff")
	if entries, _ = log.Entries(context.Background(), 0, -1); len(entries) != 61 {
		t.Fatalf("%d entries", len(entries))
	}
	if _, err := log.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}
