// Package server is opsgate's HTTP surface: the PagerDuty webhook, Slack's
// slash command and interactivity endpoints, health and metrics. Handlers
// verify, deduplicate and enqueue; the work happens in the queue's workers,
// so every answer comes well within PagerDuty's 5 s and Slack's 3 s.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/metrics"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Body limits.
const (
	MaxWebhookBody     = 512 << 10 // PagerDuty guarantees <=55 KB and drops >256 KB
	MaxSlackBody       = 64 << 10  // slash commands are small
	MaxInteractionBody = 64 << 10  // a click carries its whole message; opsgate's stay far below (render caps them)
	replayTTL          = 10 * time.Minute
	futureSkew         = 15 * time.Minute
)

// Enqueuer queues work, deduplicated on dedupeID for ttl.
type Enqueuer interface {
	Enqueue(ctx context.Context, dedupeID string, ttl time.Duration, kind string, payload []byte) (id string, dup bool, err error)
}

// Incidents reads incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
}

// Server holds the handlers' dependencies.
type Server struct {
	Queue          Enqueuer
	Incidents      Incidents
	Redis          redis.Cmdable
	WebhookSecrets []string
	SigningSecret  string
	TeamID, AppID  string        // when set, requests from other workspaces / apps are refused
	CanFetch       bool          // a PagerDuty API token is configured
	MaxAge         time.Duration // reject webhook events older than this
	Now            func() time.Time
	Log            *slog.Logger
	Metrics        *metrics.Metrics
	// Guard is the last-line check on text answered to Slack (nil: none).
	Guard func(string) string
	// Audit records refused proposal clicks (nil: not recorded).
	Audit Auditor
	// Modals opens Slack modals (Reject asks for a reason); nil: Reject
	// rejects at once, without one.
	Modals Modals

	refused budget
	mux     http.Handler // the routes, for Socket Mode envelopes
}

// Modals opens a modal for the user whose interaction carried triggerID.
type Modals interface {
	OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (slackapi.View, error)
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Metrics == nil {
		s.Metrics = metrics.New()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/pagerduty", s.pagerDuty)
	mux.HandleFunc("POST /slack/commands", s.slashCommand)
	mux.HandleFunc("POST /slack/interactions", s.interaction)
	mux.HandleFunc("POST /slack/events", s.events)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	s.mux = mux
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the JSON error body of every endpoint.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

// readBody reads at most limit bytes; ok=false means an answer was written.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			apiError(w, http.StatusRequestEntityTooLarge, "too_large", "request body is larger than the limit")
			return nil, false
		}
		apiError(w, http.StatusBadRequest, "unreadable", "could not read the request body")
		return nil, false
	}
	return body, true
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.Redis.Ping(ctx).Err(); err != nil {
		s.Log.Warn("not ready: redis unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "redis": "unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "redis": "ok"})
}

// firstSeen records a request fingerprint; false means it was seen before
// (a replay).
func (s *Server) firstSeen(ctx context.Context, kind, fingerprint string) (bool, error) {
	h := sha256.Sum256([]byte(fingerprint))
	return s.Redis.SetNX(ctx, "opsgate:replay:"+kind+":"+hex.EncodeToString(h[:]), 1, replayTTL).Result()
}
