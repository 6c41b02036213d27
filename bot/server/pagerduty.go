package server

import (
	"errors"
	"net/http"

	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

// pagerDuty receives webhook v3 deliveries: limit, verify (401), parse
// (400), reject stale (400), deduplicate on event.id and enqueue (202).
func (s *Server) pagerDuty(w http.ResponseWriter, r *http.Request) {
	count := func(outcome string) { s.Metrics.Webhooks.WithLabelValues(outcome).Inc() }
	body, ok := readBody(w, r, MaxWebhookBody)
	if !ok {
		count("too_large")
		return
	}
	if err := pagerduty.Verify(r.Header, body, s.WebhookSecrets); errors.Is(err, pagerduty.ErrMalformed) {
		count("malformed")
		apiError(w, http.StatusBadRequest, "malformed", "empty body")
		return
	} else if err != nil {
		count("bad_signature")
		s.Log.Warn("webhook rejected: signature", "remote", r.RemoteAddr, "err", err)
		apiError(w, http.StatusUnauthorized, "bad_signature", "X-PagerDuty-Signature does not match any configured secret")
		return
	}
	ev, err := pagerduty.ParseHeader(body)
	if err != nil {
		count("malformed")
		s.Log.Warn("webhook rejected: malformed", "err", err)
		apiError(w, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	if ev.IsPing() {
		count("ping")
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "pong"})
		return
	}
	now := s.Now()
	if age := now.Sub(ev.OccurredAt); age > s.MaxAge {
		count("stale")
		s.Log.Warn("webhook rejected: stale", "event_id", ev.ID, "age", age.Round(1e9).String())
		apiError(w, http.StatusBadRequest, "stale_event", "event occurred_at is older than the accepted window")
		return
	}
	if ev.OccurredAt.Sub(now) > futureSkew {
		count("malformed")
		apiError(w, http.StatusBadRequest, "future_event", "event occurred_at is in the future")
		return
	}
	// Remember the id for longer than the accepted age: a replay is then
	// either a duplicate or stale, never new.
	_, dup, err := s.Queue.Enqueue(r.Context(), "pd:"+ev.ID, s.MaxAge+2*futureSkew, string(jobs.KindPagerDuty), body)
	if err != nil {
		count("unavailable")
		s.Log.Error("webhook not queued; PagerDuty will retry", "event_id", ev.ID, "err", err)
		apiError(w, http.StatusServiceUnavailable, "unavailable", "could not queue the event; retry later")
		return
	}
	if dup {
		count("duplicate")
		accepted(w, "duplicate", ev.ID)
		return
	}
	count("accepted")
	// Debug: at thousands a second one line each drowns the log; the
	// opsgate_webhooks_total counter has them.
	s.Log.Debug("webhook accepted", "event_id", ev.ID, "type", ev.EventType, "incident", ev.IncidentID)
	accepted(w, "accepted", ev.ID)
}

// accepted answers 202 {"status":…,"event_id":…} without reflection (the
// hot path: every delivery). The id passed pagerduty.ValidID, so it needs
// no escaping.
func accepted(w http.ResponseWriter, status, eventID string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"` + status + `","event_id":"` + eventID + `"}` + "\n"))
}
