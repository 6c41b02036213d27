package fakeobs_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/fakeobs"
)

func get(t *testing.T, u string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestLokiChecksTenantQueryAndWindow(t *testing.T) {
	l := fakeobs.NewLoki()
	defer l.Close()
	l.Tenant = "team-a"
	l.Push(fakeobs.Entry{Labels: map[string]string{"app": "x"}, Time: t0, Line: "ERROR in window"},
		fakeobs.Entry{Labels: map[string]string{"app": "x"}, Time: t0.Add(-2 * time.Hour), Line: "ERROR too early"},
		fakeobs.Entry{Labels: map[string]string{"app": "y"}, Time: t0, Line: "ERROR other app"})
	q := url.Values{"query": {`{app="x"}`}, "start": {strconv.FormatInt(t0.Add(-time.Minute).UnixNano(), 10)}, "end": {strconv.FormatInt(t0.Add(time.Minute).UnixNano(), 10)}}
	u := l.URL + "/loki/api/v1/query_range?" + q.Encode()
	if code, _ := get(t, u); code != 401 {
		t.Fatalf("no tenant: %d", code)
	}
	code, body := get(t, u, "X-Scope-OrgID", "team-a")
	if code != 200 || !strings.Contains(body, "in window") || strings.Contains(body, "too early") || strings.Contains(body, "other app") {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := get(t, l.URL+"/loki/api/v1/query_range?query=app", "X-Scope-OrgID", "team-a"); code != 400 || !strings.Contains(body, "parse error") {
		t.Fatalf("%d %s", code, body)
	}
}

func TestPrometheusAnswersRegisteredQueriesAndRefusesBadOnes(t *testing.T) {
	p := fakeobs.NewPrometheus()
	defer p.Close()
	p.Register(`up`, fakeobs.Series{Labels: map[string]string{"job": "a"}, Value: func(ts time.Time) float64 { return 1 }})
	q := url.Values{"query": {"up"}, "start": {strconv.FormatInt(t0.Unix(), 10)}, "end": {strconv.FormatInt(t0.Add(time.Minute).Unix(), 10)}, "step": {"15"}}
	code, body := get(t, p.URL+"/api/v1/query_range?"+q.Encode())
	var r struct {
		Status string
		Data   struct{ Result []any }
	}
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
		t.Fatalf("%d %s", code, body)
	}
	q.Set("end", "yesterday")
	if code, body := get(t, p.URL+"/api/v1/query_range?"+q.Encode()); code != 400 || !strings.Contains(body, "bad_data") {
		t.Fatalf("%d %s", code, body)
	}
}

func TestElasticChecksKeyAndBody(t *testing.T) {
	e := fakeobs.NewElastic()
	defer e.Close()
	e.APIKey = "k"
	e.Index("logs-1", map[string]any{"message": "ERROR x", "@timestamp": t0.Format(time.RFC3339)})
	post := func(path, auth, body string) (int, string) {
		req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/logs-*/_search", "ApiKey wrong", `{}`); code != 401 || !strings.Contains(body, "security_exception") {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := post("/logs-*/_search", "ApiKey k", `{`); code != 400 || !strings.Contains(body, "parsing_exception") {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := post("/logs-*/_search", "ApiKey k", `{"size":10}`); code != 200 || !strings.Contains(body, "ERROR x") {
		t.Fatalf("%d %s", code, body)
	}
}
