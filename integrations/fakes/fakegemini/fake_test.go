package fakegemini_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
)

func post(t *testing.T, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("x-goog-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestFakeChecksWhatGeminiChecks(t *testing.T) {
	s := fakegemini.New("key")
	defer s.Close()
	gen := s.URL + "/v1beta/models/gemini-2.5-flash:generateContent"
	ok := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	if code, m := post(t, gen, "wrong", ok); code != 403 || m["error"].(map[string]any)["status"] != "PERMISSION_DENIED" {
		t.Fatalf("%d %v", code, m)
	}
	if code, m := post(t, gen, "key", `{"contents":[]}`); code != 400 || m["error"].(map[string]any)["status"] != "INVALID_ARGUMENT" {
		t.Fatalf("%d %v", code, m)
	}
	s.Script(fakegemini.Reply{Text: "scripted"})
	if code, m := post(t, gen, "key", ok); code != 200 || !strings.Contains(mustJSON(m), "scripted") {
		t.Fatalf("%d %v", code, m)
	}
	s.FailNext("generateContent", 1, 429, 0)
	if code, m := post(t, gen, "key", ok); code != 429 || m["error"].(map[string]any)["status"] != "RESOURCE_EXHAUSTED" {
		t.Fatalf("%d %v", code, m)
	}
	if n := len(s.Prompts()); n != 2 { // the malformed one is not a prompt; the failed one was received
		t.Fatalf("%d prompts", n)
	}
	emb := s.URL + "/v1beta/models/gemini-embedding-001:batchEmbedContents"
	body := `{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"db refused"}]},"outputDimensionality":8}]}`
	code, m := post(t, emb, "key", body)
	if code != 200 || len(m["embeddings"].([]any)) != 1 {
		t.Fatalf("%d %v", code, m)
	}
	if code, _ := post(t, s.URL+"/v1beta/models/x:countTokens", "key", ok); code != 404 {
		t.Fatalf("an unknown method: %d", code)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
