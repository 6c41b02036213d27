// Package fakepagerduty is a stateful stand-in for PagerDuty's REST API
// (incidents, alerts, notes) for tests and `opsgate demo`. It checks what the
// real API checks: the `Token token=` (or OAuth Bearer) header, the v2 Accept
// header, the From header on writes, JSON bodies, and answers with PagerDuty's
// error shape; 429 with ratelimit-* headers can be scripted.
package fakepagerduty

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/faults"
)

const acceptV2 = "application/vnd.pagerduty+json;version=2"

// Incident is the stored incident, in the REST shape.
type Incident struct {
	ID               string         `json:"id"`
	Type             string         `json:"type"`
	Summary          string         `json:"summary"`
	Self             string         `json:"self"`
	HTMLURL          string         `json:"html_url"`
	IncidentNumber   int            `json:"incident_number"`
	Title            string         `json:"title"`
	Status           string         `json:"status"`
	Urgency          string         `json:"urgency"`
	IncidentKey      string         `json:"incident_key"`
	CreatedAt        string         `json:"created_at"`
	Service          map[string]any `json:"service"`
	EscalationPolicy map[string]any `json:"escalation_policy"`
	Priority         map[string]any `json:"priority,omitempty"`
	Assignments      []any          `json:"assignments"`
	Teams            []any          `json:"teams"`
	Description      string         `json:"description,omitempty"`
	LastStatusChange string         `json:"last_status_change_at,omitempty"`
}

// Alert is a stored alert, in the REST shape.
type Alert struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Summary   string         `json:"summary"`
	Status    string         `json:"status"`
	AlertKey  string         `json:"alert_key"`
	Severity  string         `json:"severity"`
	CreatedAt string         `json:"created_at"`
	Body      map[string]any `json:"body"`
}

// Note is a note someone added.
type Note struct {
	IncidentID string
	From       string
	Content    string
}

// Server is the fake. Create with New; Close when done.
type Server struct {
	*httptest.Server
	// FailNext(route, n, status, retryAfter) scripts failures of a route
	// ("GET /incidents/{id}", "GET /incidents/{id}/alerts", "POST
	// /incidents/{id}/notes"); for 429, retryAfter seconds go into
	// ratelimit-reset as PagerDuty sends it.
	faults.Plan
	token string

	mu        sync.Mutex
	incidents map[string]*Incident
	alerts    map[string][]Alert
	notes     []Note
	users     []User
	changes   []StatusChange
	updates   []StatusUpdate
	policies  []Policy
	requests  map[string]int
	// Bodies records each POST body received, to prove retries re-send it whole.
	Bodies [][]byte
}

// New starts a fake that accepts only token.
func New(token string) *Server {
	s := &Server{token: token, incidents: map[string]*Incident{}, alerts: map[string][]Alert{}, requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddIncident stores an incident (and its alerts).
func (s *Server) AddIncident(inc Incident, alerts ...Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inc.Type == "" {
		inc.Type = "incident"
	}
	if inc.Self == "" {
		inc.Self = s.URL + "/incidents/" + inc.ID
	}
	for i := range alerts {
		if alerts[i].Type == "" {
			alerts[i].Type = "alert"
		}
	}
	c := inc
	s.incidents[inc.ID] = &c
	s.alerts[inc.ID] = alerts
}

// Requests counts requests that reached route (including failed ones).
func (s *Server) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[route]
}

// Notes returns the notes added so far.
func (s *Server) Notes() []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Note(nil), s.notes...)
}

func writeError(w http.ResponseWriter, status, code int, msg string, errs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"message": msg, "code": code}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	route := r.Method + " /" + strings.Join(parts, "/")
	if len(parts) >= 2 && parts[0] == "incidents" {
		parts2 := append([]string{"incidents", "{id}"}, parts[2:]...)
		route = r.Method + " /" + strings.Join(parts2, "/")
	}
	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		var err error
		if body, err = io.ReadAll(io.LimitReader(r.Body, 1<<20)); err != nil {
			writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided")
			return
		}
	}
	s.mu.Lock()
	s.requests[route]++
	if body != nil {
		s.Bodies = append(s.Bodies, body)
	}
	s.mu.Unlock()
	f, failing := s.Take(route)

	auth := r.Header.Get("Authorization")
	if auth != "Token token="+s.token && auth != "Bearer "+s.token {
		writeError(w, http.StatusUnauthorized, 2006, "Unauthorized")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Accept"), acceptV2) {
		writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Accept header must request version=2")
		return
	}
	if failing {
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("ratelimit-limit", "960")
			w.Header().Set("ratelimit-remaining", "0")
			w.Header().Set("ratelimit-reset", strconv.Itoa(f.RetryAfter))
			writeError(w, f.Status, 2020, "Rate Limit Exceeded")
			return
		}
		writeError(w, f.Status, 0, http.StatusText(f.Status))
		return
	}
	switch {
	case route == "GET /incidents/{id}" && len(parts) == 2:
		s.mu.Lock()
		inc, ok := s.incidents[parts[1]]
		var c Incident
		if ok {
			c = *inc
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, 2100, "Not Found")
			return
		}
		writeJSON(w, map[string]any{"incident": c})
	case route == "GET /incidents/{id}/alerts":
		s.mu.Lock()
		_, ok := s.incidents[parts[1]]
		alerts := append([]Alert{}, s.alerts[parts[1]]...)
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, 2100, "Not Found")
			return
		}
		limit, ok := limitParam(w, r)
		if !ok {
			return
		}
		more := len(alerts) > limit
		if more {
			alerts = alerts[:limit]
		}
		writeJSON(w, map[string]any{"alerts": alerts, "limit": limit, "offset": 0, "more": more, "total": nil})
	case route == "GET /incidents" || route == "GET /incidents/":
		s.listIncidents(w, r)
	case route == "GET /incidents/{id}/notes":
		s.mu.Lock()
		_, ok := s.incidents[parts[1]]
		var out []map[string]any
		for i, n := range s.notes {
			if n.IncidentID == parts[1] {
				out = append(out, map[string]any{"id": fmt.Sprintf("PNOTE%d", i+1), "content": n.Content, "created_at": "2026-01-01T00:00:00Z",
					"user": map[string]any{"id": "PUSER1", "type": "user_reference", "summary": n.From}})
			}
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, 2100, "Not Found")
			return
		}
		if out == nil {
			out = []map[string]any{}
		}
		writeJSON(w, map[string]any{"notes": out})
	case route == "POST /incidents/{id}/notes":
		s.addNote(w, r, parts[1], body)
	case route == "POST /incidents/{id}/status_updates":
		s.statusUpdate(w, r, parts[1], body)
	case route == "GET /escalation_policies":
		s.servePolicies(w, r, "")
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "escalation_policies":
		s.servePolicies(w, r, parts[1])
	case route == "GET /users":
		s.listUsers(w, r)
	case route == "PUT /incidents":
		s.manage(w, r, "", body)
	case route == "PUT /incidents/{id}" && len(parts) == 2:
		s.manage(w, r, parts[1], body)
	default:
		writeError(w, http.StatusNotFound, 2100, "Not Found")
	}
}

// limitParam reads the limit of a list request (PagerDuty: 1..100,
// default 25); false means the error was answered.
func limitParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 25, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "limit must be 1..100")
		return 0, false
	}
	return n, true
}

// listIncidents serves GET /incidents with since/until (RFC 3339, on
// created_at), statuses[] and limit/offset pagination (limit ≤ 100).
func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset := 0
	limit, ok := limitParam(w, r)
	if !ok {
		return
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "offset must be ≥ 0")
			return
		}
		offset = n
	}
	var since, until time.Time
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", p.name+" must be ISO 8601")
				return
			}
			*p.dst = t
		}
	}
	statuses := q["statuses[]"]
	s.mu.Lock()
	var all []Incident
	for _, inc := range s.incidents {
		created, _ := time.Parse(time.RFC3339, inc.CreatedAt)
		if (!since.IsZero() && created.Before(since)) || (!until.IsZero() && !created.Before(until)) {
			continue
		}
		if len(statuses) > 0 && !contains(statuses, inc.Status) {
			continue
		}
		all = append(all, *inc)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	page := []Incident{}
	if offset < len(all) {
		page = all[offset:min(offset+limit, len(all))]
	}
	writeJSON(w, map[string]any{"incidents": page, "limit": limit, "offset": offset, "more": offset+limit < len(all), "total": nil})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	s.mu.Lock()
	_, ok := s.incidents[id]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	from := r.Header.Get("From")
	if _, err := mail.ParseAddress(from); err != nil {
		writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "A valid From header is required")
		return
	}
	var req struct {
		Note *struct {
			Content string `json:"content"`
		} `json:"note"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Note == nil || strings.TrimSpace(req.Note.Content) == "" {
		writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Note content is required")
		return
	}
	s.mu.Lock()
	s.notes = append(s.notes, Note{IncidentID: id, From: from, Content: req.Note.Content})
	n := len(s.notes)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"note": map[string]any{
		"id": fmt.Sprintf("PNOTE%d", n), "content": req.Note.Content, "created_at": time.Now().UTC().Format(time.RFC3339),
		"user": map[string]any{"id": "PUSER1", "type": "user_reference", "summary": from}}})
}
