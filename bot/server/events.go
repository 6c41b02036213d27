package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/opsgate/opsgate/bot/jobs"
)

// MaxEventBody bounds an Events API request (Slack's events are small;
// opsgate subscribes only to app_home_opened).
const MaxEventBody = 64 << 10

// events receives the Events API: the signed url_verification handshake
// (the challenge echoed back) and app_home_opened, queued so the Home tab
// is drawn by a worker. Slack retries an event it got no 200 for within
// 3 s; the event_id makes a retry one job. Other events are acknowledged
// and ignored.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	count := func(outcome string) { s.Metrics.SlackReqs.WithLabelValues("events", outcome).Inc() }
	body, ok := s.slackBody(w, r, "events", MaxEventBody)
	if !ok {
		return
	}
	var env struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		TeamID    string `json:"team_id"`
		APIAppID  string `json:"api_app_id"`
		EventID   string `json:"event_id"`
		Event     struct {
			Type string `json:"type"`
			User string `json:"user"`
			Tab  string `json:"tab"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Type == "" {
		count("malformed")
		apiError(w, http.StatusBadRequest, "malformed", "not an Events API request")
		return
	}
	switch env.Type {
	case "url_verification":
		if env.Challenge == "" || len(env.Challenge) > 200 {
			count("malformed")
			apiError(w, http.StatusBadRequest, "malformed", "url_verification without a usable challenge")
			return
		}
		count("ok")
		writeJSON(w, http.StatusOK, map[string]string{"challenge": env.Challenge})
		return
	case "event_callback":
	default:
		count("ignored")
		w.WriteHeader(http.StatusOK)
		return
	}
	if !s.workspaceOK(env.TeamID, env.APIAppID) {
		s.foreign(w, r, "events", body)
		return
	}
	count("ok")
	if env.Event.Type != "app_home_opened" || env.Event.Tab != "home" {
		w.WriteHeader(http.StatusOK)
		return
	}
	req := jobs.Home{UserID: env.Event.User}
	key := "" // no id: no dedupe (an empty key would make every such event one)
	if env.EventID != "" && len(env.EventID) <= 64 {
		key = "event:" + env.EventID
	}
	if _, err := jobs.Submit(r.Context(), s.Queue, req, key, time.Hour); err != nil {
		if req.Validate() != nil {
			w.WriteHeader(http.StatusOK) // a malformed user id: nothing to draw, nothing to retry
			return
		}
		apiError(w, http.StatusServiceUnavailable, "unavailable", "try again")
		return
	}
	w.WriteHeader(http.StatusOK)
}
