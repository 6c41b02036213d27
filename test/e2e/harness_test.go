package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/app"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/knowledge/kb"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

const (
	slackToken    = "xoxb-test-bot-token-0123456789"
	signingSecret = "slack-signing-secret-abcdef"
	pdSecret      = "pd-webhook-secret-0001"
	pdSecretOld   = "pd-webhook-secret-0000"
	pdToken       = "pd-api-token-xyz"
	channel       = "C0INCIDENT"
)

// sleeps records retry waits instead of sleeping, so no test waits on Retry-After.
type sleeps struct{ n atomic.Int64 }

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.n.Add(int64(d))
	return ctx.Err()
}

type env struct {
	t      testing.TB
	redis  *redistest.Server
	slack  *fakeslack.Server
	pd     *fakepagerduty.Server
	app    *app.App
	http   *httptest.Server
	waited *sleeps
	logs   *testutil.Buffer
	opts   app.Options // how app was built (a replica reuses them)
}

type opt func(*config.Env)

func withPagerDutyAPI(e *config.Env) { e.PagerDutyAPIToken = pdToken }

func start(t testing.TB, opts ...opt) *env {
	t.Helper()
	e := startWithoutWorkers(t, opts...)
	e.runWorkers()
	return e
}

// runWorkers starts this replica's consumers.
func (e *env) runWorkers() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.app.RunWorkers(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// startWith starts a replica with a config file.
func startWith(t testing.TB, file *config.File, opts ...opt) *env {
	t.Helper()
	e := startFull(t, file, opts...)
	e.runWorkers()
	return e
}

func startWithoutWorkers(t testing.TB, opts ...opt) *env {
	t.Helper()
	return startFull(t, nil, opts...)
}

// logLevel is the replicas' log level: debug, but info (production's
// default) for the load figures. Tests do not run in parallel.
var logLevel = slog.LevelDebug

// smtpTLS is how replicas verify the test's SMTP server (set by a test
// that starts one; tests do not run in parallel).
var smtpTLS *tls.Config

func startFull(t testing.TB, file *config.File, opts ...opt) *env {
	t.Helper()
	return startOn(t, redistest.Start(t), file, opts...)
}

// startOn builds a replica, without workers, on the given Redis.
func startOn(t testing.TB, rs *redistest.Server, file *config.File, opts ...opt) *env {
	t.Helper()
	e := &env{t: t, redis: rs, waited: &sleeps{}, logs: &testutil.Buffer{}}
	e.slack = fakeslack.New(slackToken, map[string]string{channel: "incidents", "C0OTHER": "other"})
	e.slack.AddUser("U0ALICE", "alice")
	t.Cleanup(e.slack.Close)
	e.pd = fakepagerduty.New(pdToken)
	t.Cleanup(e.pd.Close)
	cfg := &config.Env{
		ListenAddr: "127.0.0.1:0", LogLevel: "debug", LogFormat: "text", Workers: 3,
		WebhookMaxAge: 49 * time.Hour, ReclaimIdle: 200 * time.Millisecond,
		RedisURL: config.Secret(e.redis.URL()), SlackBotToken: slackToken, SlackSigningSecret: signingSecret,
		SlackAPIURL: e.slack.APIURL(), SlackChannel: channel,
		PagerDutyWebhookSecrets: config.Secrets{pdSecretOld, pdSecret}, PagerDutyAPIURL: e.pd.URL,
		GeminiModel: "gemini-2.5-flash",
		// Shared by every replica of the test, as in a deployment.
		AuditKey: config.Secret(base64.StdEncoding.EncodeToString(testutil.AuditKey)), VaultKeys: config.Secrets{config.Secret(seal.GenerateKey())},
		AuditAnchor: filepath.Join(t.TempDir(), "audit-anchors.jsonl"),
	}
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	fast := retry.Policy{Attempts: 5, Base: time.Second, Max: 4 * time.Second, Budget: time.Minute, Sleep: e.waited.sleep}
	e.opts = app.Options{Env: cfg, File: file, Log: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: logLevel})),
		SlackRetry: fast, PagerDutyRetry: fast, GeminiRetry: fast, ConsumerBlock: 50 * time.Millisecond, LockWait: 10 * time.Second, LockTTL: time.Second,
		SMTPTLS: smtpTLS}
	t.Cleanup(func() {
		for _, secret := range []string{slackToken, signingSecret, pdSecret, pdSecretOld, pdToken} {
			if strings.Contains(e.logs.String(), secret) {
				t.Errorf("logs contain a secret")
			}
		}
	})
	e.serve() // closed before the logs are checked (cleanups run last-first)
	return e
}

// serve builds an app from e.opts and its HTTP server.
func (e *env) serve() {
	a, err := app.New(context.Background(), e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	e.app, e.http = a, srv
	e.t.Cleanup(func() { srv.Close(); a.Close() })
}

// replica starts a second opsgate instance — its own HTTP server and
// workers — on the same Redis, Slack and PagerDuty.
func (e *env) replica() *env {
	r := *e
	r.serve()
	r.runWorkers()
	return &r
}

// incidentEvent builds a webhook v3 body for an incident event.
func incidentEvent(eventID, eventType, incidentID, status string, at time.Time) []byte {
	body := map[string]any{"event": map[string]any{
		"id": eventID, "event_type": eventType, "resource_type": "incident", "occurred_at": at.UTC().Format(time.RFC3339Nano),
		"agent":  map[string]any{"id": "PUSER1", "type": "user_reference", "summary": "Alice Oncall", "html_url": "https://acme.pagerduty.com/users/PUSER1"},
		"client": nil,
		"data": map[string]any{
			"id": incidentID, "type": "incident", "self": "https://api.pagerduty.com/incidents/" + incidentID,
			"html_url": "https://acme.pagerduty.com/incidents/" + incidentID, "number": 4092, "status": status,
			"incident_key": "k-" + incidentID, "created_at": at.Add(-time.Minute).UTC().Format(time.RFC3339),
			"title":             "Checkout API 5xx rate above 5%",
			"service":           map[string]any{"id": "PSVC001", "type": "service_reference", "summary": "checkout-api", "html_url": "https://acme.pagerduty.com/services/PSVC001"},
			"assignees":         []any{map[string]any{"id": "PUSER1", "type": "user_reference", "summary": "Alice Oncall"}},
			"escalation_policy": map[string]any{"id": "PEP1", "type": "escalation_policy_reference", "summary": "Checkout"},
			"teams":             []any{}, "priority": map[string]any{"id": "PPRI1", "type": "priority_reference", "summary": "P1"},
			"urgency": "high", "conference_bridge": nil, "resolve_reason": nil,
		},
	}}
	b, _ := json.Marshal(body)
	return b
}

func (e *env) postWebhook(body []byte, secret string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/webhooks/pagerduty", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	if secret != "" {
		req.Header.Set(pagerduty.SignatureHeader, pagerduty.Sign(body, secret))
	}
	return do(e.t, req)
}

func do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func slackSign(body []byte, ts time.Time, secret string) (string, string) {
	return slackapi.Sign(secret, ts, body)
}

func (e *env) postSlack(path string, form url.Values, ts time.Time, secret string) (int, string) {
	e.t.Helper()
	body := []byte(form.Encode())
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	stamp, sig := slackSign(body, ts, secret)
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", sig)
	return do(e.t, req)
}

func slashForm(text, responseURL string) url.Values { return slashFormAs("U0ALICE", text, responseURL) }

func slashFormAs(user, text, responseURL string) url.Values {
	return url.Values{"token": {"legacy"}, "team_id": {"T1"}, "team_domain": {"acme"}, "channel_id": {channel}, "channel_name": {"incidents"},
		"user_id": {user}, "user_name": {strings.ToLower(user)}, "command": {"/triage"}, "text": {text}, "api_app_id": {"A1"},
		"response_url": {responseURL}, "trigger_id": {"1.2.3"}}
}

// eventually polls cond; it fails the test after a generous deadline (this
// bounds a hang, it is not a timing assertion).
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s\nslack:\n%s\nlogs:\n%s", what, e.slack.Transcript(channel), e.logs.String())
		}
		select {
		case <-e.slack.Changed():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// settled waits until the queue is empty and nothing is pending.
func (e *env) settled() {
	e.t.Helper()
	e.eventually("queue drained", func() bool {
		n, err := e.app.Queue.Len(context.Background())
		return err == nil && n == 0
	})
}

func blocksText(m fakeslack.Message) string {
	return strings.Join(fakeslack.BlocksText(m.Blocks), "\n")
}

var _ = slack.New
var _ = fmt.Sprint

// keyVars are the app's keys as environment variables, for a child
// process or a CLI command working on the same Redis.
func (e *env) keyVars() []string {
	return []string{"OPSGATE_AUDIT_KEY=" + e.opts.Env.AuditKey.Reveal(), "OPSGATE_VAULT_KEY=" + strings.Join(e.opts.Env.VaultKeys.Reveal(), ",")}
}

// setKeyVars sets keyVars for the test.
func (e *env) setKeyVars(t *testing.T) {
	for _, kv := range e.keyVars() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// kbStore reads the app's knowledge base tickets (sealed with its keys).
func (e *env) kbStore() *kb.Store {
	s := kb.NewStore(e.app.Redis)
	s.Keys = e.app.Keys
	return s
}

// metricsText is GET /metrics.
func (e *env) metricsText() string {
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// noEmailInSlack fails if an e-mail address of the tests' users reached
// Slack.
func (e *env) noEmailInSlack() {
	e.t.Helper()
	for _, s := range e.slack.Sent() {
		if strings.Contains(strings.ToLower(s), "acme.example") || strings.Contains(s, "elsewhere.example") {
			e.t.Fatalf("an e-mail address reached Slack: %s", s)
		}
	}
}
