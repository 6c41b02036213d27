package fakepagerduty

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Policy is an escalation policy: Levels names each level's targets.
type Policy struct {
	ID     string
	Name   string
	Levels []string
}

// AddPolicy stores an escalation policy.
func (s *Server) AddPolicy(p Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policies = append(s.policies, p)
}

func (s *Server) policy(id string) (Policy, bool) {
	for _, p := range s.policies {
		if p.ID == id {
			return p, true
		}
	}
	return Policy{}, false
}

func policyJSON(p Policy) map[string]any {
	rules := []map[string]any{}
	for i, l := range p.Levels {
		rules = append(rules, map[string]any{"id": "PR" + p.ID + string(rune('A'+i)), "escalation_delay_in_minutes": 30,
			"targets": []map[string]any{{"id": "PT" + string(rune('A'+i)), "type": "user_reference", "summary": l}}})
	}
	return map[string]any{"id": p.ID, "type": "escalation_policy", "summary": p.Name, "name": p.Name, "escalation_rules": rules, "teams": []any{}}
}

// servePolicies serves GET /escalation_policies (limit) and GET
// /escalation_policies/{id}.
func (s *Server) servePolicies(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != "" {
		p, ok := s.policy(id)
		if !ok {
			writeError(w, http.StatusNotFound, 2100, "Not Found")
			return
		}
		writeJSON(w, map[string]any{"escalation_policy": policyJSON(p)})
		return
	}
	limit, ok := limitParam(w, r)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, p := range s.policies {
		out = append(out, policyJSON(p))
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	writeJSON(w, map[string]any{"escalation_policies": out, "limit": limit, "offset": 0, "more": more, "total": nil})
}

// update is one incident's requested change, in PagerDuty's shape.
type update struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Assignments []struct {
		Assignee struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"assignee"`
	} `json:"assignments"`
	EscalationLevel  int `json:"escalation_level"`
	EscalationPolicy *struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"escalation_policy"`
}

// manage serves PUT /incidents (bulk, as go-pagerduty sends it) and PUT
// /incidents/{id}: From must name a user of the account who may change
// incidents; a resolved incident cannot be changed; assignees and policies
// must exist; a level must be one of the incident's policy's; one of
// assignments and escalation_policy at most.
func (s *Server) manage(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	var req struct {
		Incidents []update `json:"incidents"`
		Incident  *update  `json:"incident"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "body is not JSON")
		return
	}
	if id != "" {
		if req.Incident == nil {
			writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "incident is required")
			return
		}
		req.Incident.ID = id
		req.Incidents = []update{*req.Incident}
	}
	if len(req.Incidents) == 0 || len(req.Incidents) > 250 {
		writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "incidents must hold 1 to 250 items")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.writer(w, r)
	if !ok {
		return
	}
	for _, x := range req.Incidents {
		if status, msg := s.checkUpdate(x); status == http.StatusNotFound {
			writeError(w, status, 2100, msg)
			return
		} else if status != 0 {
			writeError(w, status, 2001, "Invalid Input Provided", msg)
			return
		}
	}
	var out []Incident
	for _, x := range req.Incidents {
		inc := s.incidents[x.ID]
		c := StatusChange{IncidentID: x.ID, From: u.Email, Status: x.Status, Level: x.EscalationLevel}
		if x.Status != "" {
			inc.Status = x.Status
		}
		if len(x.Assignments) == 1 {
			c.Assignee = x.Assignments[0].Assignee.ID
			inc.Assignments = []any{map[string]any{"assignee": map[string]any{"id": c.Assignee, "type": "user_reference"}}}
		}
		if x.EscalationPolicy != nil {
			c.Policy = x.EscalationPolicy.ID
			p, _ := s.policy(c.Policy)
			inc.EscalationPolicy = map[string]any{"id": p.ID, "type": "escalation_policy_reference", "summary": p.Name}
		}
		s.changes = append(s.changes, c)
		out = append(out, *inc)
	}
	if id != "" {
		writeJSON(w, map[string]any{"incident": out[0]})
		return
	}
	writeJSON(w, map[string]any{"incidents": out})
}

// checkUpdate says what PagerDuty would refuse in x (status 0: nothing).
func (s *Server) checkUpdate(x update) (int, string) {
	inc, ok := s.incidents[x.ID]
	switch {
	case !ok:
		return http.StatusNotFound, "Not Found"
	case x.Type != "incident" && x.Type != "incident_reference":
		return http.StatusBadRequest, "type must be incident_reference"
	case x.Status != "" && x.Status != "acknowledged" && x.Status != "resolved":
		return http.StatusBadRequest, "status must be acknowledged or resolved"
	case x.Status == "" && len(x.Assignments) == 0 && x.EscalationPolicy == nil && x.EscalationLevel == 0:
		return http.StatusBadRequest, "nothing to change"
	case inc.Status == "resolved":
		return http.StatusBadRequest, "Incident Already Resolved"
	case len(x.Assignments) > 0 && x.EscalationPolicy != nil:
		return http.StatusBadRequest, "assignments and escalation_policy cannot both be set"
	case len(x.Assignments) > 1:
		return http.StatusBadRequest, "one assignee at most here"
	}
	if len(x.Assignments) == 1 {
		a := x.Assignments[0].Assignee
		if a.Type != "user_reference" || !s.hasUser(a.ID) {
			return http.StatusBadRequest, "assignee must be a user_reference to an existing user"
		}
	}
	if p := x.EscalationPolicy; p != nil {
		if _, ok := s.policy(p.ID); !ok || p.Type != "escalation_policy_reference" {
			return http.StatusBadRequest, "escalation_policy must reference an existing policy"
		}
	}
	if x.EscalationLevel != 0 {
		pid, _ := inc.EscalationPolicy["id"].(string)
		p, ok := s.policy(pid)
		if !ok || x.EscalationLevel < 1 || x.EscalationLevel > len(p.Levels) {
			return http.StatusBadRequest, "escalation_level is not a level of the incident's escalation policy"
		}
	}
	return 0, ""
}

func (s *Server) hasUser(id string) bool {
	for _, u := range s.users {
		if strings.EqualFold(u.ID, id) {
			return true
		}
	}
	return false
}
