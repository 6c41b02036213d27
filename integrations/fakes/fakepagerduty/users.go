package fakepagerduty

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// User is a PagerDuty user. Role is PagerDuty's: "user", "admin",
// "limited_user", "observer", "restricted_access", … — observers and
// restricted users may not change incidents (403).
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

// StatusChange is one accepted incident update, with who asked for it.
type StatusChange struct {
	IncidentID, From, Status string
	Assignee, Policy         string // reassigned to a user or a policy
	Level                    int    // escalated to this level
}

// StatusUpdate is a published status update, with who published it.
type StatusUpdate struct {
	IncidentID, From, Message string
}

// StatusUpdates returns the status updates published so far.
func (s *Server) StatusUpdates() []StatusUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StatusUpdate(nil), s.updates...)
}

// writer is the user From names, or an error answer: From must name a
// user of the account who may change incidents.
func (s *Server) writer(w http.ResponseWriter, r *http.Request) (User, bool) {
	u, ok := s.userByEmail(r.Header.Get("From"))
	if !ok {
		writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "A valid From header is required: no user with that e-mail")
		return User{}, false
	}
	if u.Role == "observer" || u.Role == "restricted_access" || u.Role == "read_only_user" || u.Role == "read_only_limited_user" {
		writeError(w, http.StatusForbidden, 2010, "Access Denied", "The user does not have permission to change incidents")
		return User{}, false
	}
	return u, true
}

// statusUpdate serves POST /incidents/{id}/status_updates: a known
// incident, a From who may change it, a non-empty message.
func (s *Server) statusUpdate(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	var req struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &req); err != nil || strings.TrimSpace(req.Message) == "" {
		writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "message is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.incidents[id]; !ok {
		writeError(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	u, ok := s.writer(w, r)
	if !ok {
		return
	}
	s.updates = append(s.updates, StatusUpdate{IncidentID: id, From: u.Email, Message: req.Message})
	writeJSON(w, map[string]any{"status_update": map[string]any{"id": fmt.Sprintf("PSU%d", len(s.updates)), "message": req.Message,
		"sender": map[string]any{"id": u.ID, "type": "user_reference", "summary": u.Name}}})
}

// AddUser stores a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Role == "" {
		u.Role = "user"
	}
	s.users = append(s.users, u)
}

// StatusChanges returns the incident updates accepted so far.
func (s *Server) StatusChanges() []StatusChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StatusChange(nil), s.changes...)
}

// listUsers serves GET /users?query= (a case-insensitive match on name or
// e-mail) with limit/offset.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(r.URL.Query().Get("query"))
	limit, ok := limitParam(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	out := []map[string]any{}
	for _, u := range s.users {
		if q == "" || strings.Contains(strings.ToLower(u.Email), q) || strings.Contains(strings.ToLower(u.Name), q) {
			out = append(out, map[string]any{"id": u.ID, "type": "user", "name": u.Name, "email": u.Email, "role": u.Role,
				"summary": u.Name, "self": s.URL + "/users/" + u.ID})
		}
	}
	s.mu.Unlock()
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	writeJSON(w, map[string]any{"users": out, "limit": limit, "offset": 0, "more": more, "total": nil})
}

func (s *Server) userByEmail(email string) (User, bool) {
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) {
			return u, true
		}
	}
	return User{}, false
}
