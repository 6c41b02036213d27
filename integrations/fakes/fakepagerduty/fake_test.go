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
