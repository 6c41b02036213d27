package fakepagerduty_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
)

func call(t *testing.T, method, url, token, accept, from, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Token token="+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if from != "" {
		req.Header.Set("From", from)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

// The fake refuses what PagerDuty refuses, in PagerDuty's error shape.
func TestFakeChecksWhatPagerDutyChecks(t *testing.T) {
	s := fakepagerduty.New("tok")
	defer s.Close()
	s.AddIncident(fakepagerduty.Incident{ID: "Q1", Title: "t", Status: "triggered"}, fakepagerduty.Alert{ID: "A1", Summary: "a"})
	const v2 = "application/vnd.pagerduty+json;version=2"
	if code, _, m := call(t, "GET", s.URL+"/incidents/Q1", "wrong", v2, "", ""); code != 401 || m["error"] == nil {
		t.Fatalf("a wrong token: %d %v", code, m)
	}
	if code, _, _ := call(t, "GET", s.URL+"/incidents/Q1", "tok", "application/json", "", ""); code != 400 {
		t.Fatalf("no v2 Accept header: %d", code)
	}
	if code, _, m := call(t, "GET", s.URL+"/incidents/Q1", "tok", v2, "", ""); code != 200 || m["incident"].(map[string]any)["id"] != "Q1" {
		t.Fatalf("%d %v", code, m)
	}
	if code, _, m := call(t, "GET", s.URL+"/incidents/Q1/alerts", "tok", v2, "", ""); code != 200 || len(m["alerts"].([]any)) != 1 {
		t.Fatalf("%d %v", code, m)
	}
	if code, _, _ := call(t, "GET", s.URL+"/incidents/NOPE", "tok", v2, "", ""); code != 404 {
		t.Fatalf("an unknown incident: %d", code)
	}
	note := `{"note":{"content":"hi"}}`
	if code, _, _ := call(t, "POST", s.URL+"/incidents/Q1/notes", "tok", v2, "", note); code != 400 {
		t.Fatalf("a note without From: %d", code)
	}
	if code, _, _ := call(t, "POST", s.URL+"/incidents/Q1/notes", "tok", v2, "sre@example.com", note); code != 201 || len(s.Notes()) != 1 {
		t.Fatalf("a note: %d %v", code, s.Notes())
	}
	s.FailNext("GET /incidents/{id}", 1, 429, 3)
	if code, h, _ := call(t, "GET", s.URL+"/incidents/Q1", "tok", v2, "", ""); code != 429 || h.Get("ratelimit-reset") != "3" {
		t.Fatalf("a scripted 429: %d %v", code, h)
	}
	if n := s.Requests("GET /incidents/{id}"); n != 5 {
		t.Fatalf("requests counted %d", n)
	}
}

// Incident updates: From must be a user of the account who may change
// incidents; a resolved incident is not acknowledged again.
func TestFakeChecksIncidentUpdatesAsPagerDutyDoes(t *testing.T) {
	s := fakepagerduty.New("tok")
	defer s.Close()
	s.AddIncident(fakepagerduty.Incident{ID: "Q1", Title: "t", Status: "triggered"})
	s.AddUser(fakepagerduty.User{ID: "PU1", Name: "Alice", Email: "alice@acme.example"})
	s.AddUser(fakepagerduty.User{ID: "PU2", Name: "Obs", Email: "obs@acme.example", Role: "observer"})
	const v2 = "application/vnd.pagerduty+json;version=2"
	ack := `{"incidents":[{"id":"Q1","type":"incident_reference","status":"acknowledged"}]}`
	for _, c := range []struct {
		from, body string
		want       int
	}{
		{"", ack, 400},                    // no From
		{"nobody@acme.example", ack, 400}, // not a user
		{"obs@acme.example", ack, 403},    // may not change incidents
		{"alice@acme.example", `{"incidents":[{"id":"Q1","type":"incident_reference","status":"snoozed"}]}`, 400},
		{"alice@acme.example", `{"incidents":[{"id":"Q9","type":"incident_reference","status":"acknowledged"}]}`, 404},
		{"alice@acme.example", `{"incidents":[]}`, 400},
		{"alice@acme.example", ack, 200},
		{"alice@acme.example", `{"incidents":[{"id":"Q1","type":"incident_reference","status":"resolved"}]}`, 200},
		{"alice@acme.example", ack, 400}, // already resolved
	} {
		if code, _, body := call(t, "PUT", s.URL+"/incidents", "tok", v2, c.from, c.body); code != c.want {
			t.Fatalf("%s %s: %d %v, want %d", c.from, c.body, code, body, c.want)
		}
	}
	if ch := s.StatusChanges(); len(ch) != 2 || ch[0].From != "alice@acme.example" || ch[1].Status != "resolved" {
		t.Fatalf("changes %+v", ch)
	}
	_, _, body := call(t, "GET", s.URL+"/users?query=ALICE@acme", "tok", v2, "", "")
	if users, _ := body["users"].([]any); len(users) != 1 {
		t.Fatalf("users %v", body)
	}
}
