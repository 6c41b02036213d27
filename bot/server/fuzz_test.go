package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/bot/server"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

const slackSecret = "fuzz-signing-secret"

// FuzzSlackEndpoints sends arbitrary, correctly signed bodies to the
// command and interaction endpoints (so parsing is reached), and arbitrary
// unsigned ones: no panic, only documented statuses, and an unsigned body
// is always refused.
func FuzzSlackEndpoints(f *testing.F) {
	f.Add("command=%2Ftriage&text=help&user_id=U1&channel_id=C1&response_url=https%3A%2F%2Fhooks.slack.com%2Fx", true)
	f.Add("command=%2Ftriage&text=search+db+refused", true)
	f.Add(`payload={"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"reveal_masked","value":"P1"}]}`, true)
	f.Add("payload=%7B%22type%22%3A%22block_actions%22%7D", true)
	f.Add("%zz&&==", true)
	f.Add("command=%2Ftriage&text=P1", false)
	f.Add("command=%2Ftriage&text=propose+P1ABCDE+scale-deployment+deployment%3Dx+replicas%3D6&user_id=U1&response_url=https%3A%2F%2Fhooks.slack.com%2Fx", true)
	f.Add("command=%2Ftriage&text=reject+P1ABCDE-0123456789+wrong&user_id=U1", true)
	f.Add(`payload={"type":"block_actions","user":{"id":"U1"},"actions":[{"type":"button","block_id":"b","action_id":"proposal_approve","value":"P1ABCDE-0123456789|abcd"}]}`, false)
	f.Add(`payload={"type":"block_actions","user":{"id":"U1"},"actions":[{"type":"button","block_id":"b","action_id":"proposal_undo","value":"P1ABCDE-0123456789|abcd","action_ts":"1.2"}]}`, true)
	srv := redistest.Start(f)
	rdb := srv.Client()
	s := &server.Server{Queue: queue.New(rdb, seal.Ephemeral()), Incidents: incident.NewStore(rdb, time.Hour, nil), Redis: rdb,
		SigningSecret: slackSecret, MaxAge: 49 * time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Audit: testutil.Audit(f, rdb, nil)}
	h := s.Handler()
	allowed := map[int]bool{200: true, 400: true, 401: true, 413: true, 503: true}
	f.Fuzz(func(t *testing.T, body string, signed bool) {
		for _, path := range []string{"/slack/commands", "/slack/interactions"} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			ts, sig := slackapi.Sign(slackSecret, time.Now(), []byte(body))
			req.Header.Set("X-Slack-Request-Timestamp", ts)
			if !signed {
				sig = "v0=00"
			}
			req.Header.Set("X-Slack-Signature", sig)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if !allowed[w.Code] {
				t.Fatalf("%s: status %d: %s", path, w.Code, w.Body.String())
			}
			if !signed && w.Code != http.StatusUnauthorized {
				t.Fatalf("%s: unsigned body answered %d", path, w.Code)
			}
			if strings.Contains(w.Body.String(), slackSecret) {
				t.Fatal("secret in an answer")
			}
		}
	})
}
