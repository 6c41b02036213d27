package fakeopenai_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/integrations/fakes/fakeopenai"
)

func TestFakeChecksWhatTheAPIChecks(t *testing.T) {
	s := fakeopenai.New("sk-x")
	defer s.Close()
	call := func(key, body string) (int, http.Header, map[string]any) {
		req, _ := http.NewRequest("POST", s.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, resp.Header, m
	}
	ok := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	if code, _, m := call("wrong", ok); code != 401 || m["error"] == nil {
		t.Fatalf("%d %v", code, m)
	}
	if code, _, _ := call("sk-x", `{"model":"m","messages":[{"role":"wizard","content":"hi"}]}`); code != 400 {
		t.Fatalf("an invalid role: %d", code)
	}
	s.FailNext("chat/completions", 1, 429, 4)
	if code, h, m := call("sk-x", ok); code != 429 || h.Get("Retry-After") != "4" || m["error"].(map[string]any)["type"] != "rate_limit_exceeded" {
		t.Fatalf("%d %v %v", code, h, m)
	}
	s.Script(fakeopenai.Reply{Text: "answer"})
	if code, _, m := call("sk-x", ok); code != 200 || !strings.Contains(m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string), "answer") {
		t.Fatalf("%d %v", code, m)
	}
	if len(s.Bodies()) != 2 { // the 429 and the answer; the invalid one was refused unread
		t.Fatalf("bodies %d", len(s.Bodies()))
	}
}
