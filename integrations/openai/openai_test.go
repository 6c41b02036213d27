package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/integrations/fakes/fakeopenai"
	"github.com/opsgate/opsgate/integrations/openai"
)

func client(t *testing.T, key string, waits *[]time.Duration) (*fakeopenai.Server, *openai.Client) {
	t.Helper()
	fake := fakeopenai.New("sk-local-secret")
	t.Cleanup(fake.Close)
	p := retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil }}
	return fake, openai.New(fake.URL+"/v1", key, "llama-3.1-70b", map[string]any{"type": "object"}, nil, p)
}

func TestGenerateSendsSchemaAndRetries429WithRetryAfter(t *testing.T) {
	var waits []time.Duration
	fake, c := client(t, "sk-local-secret", &waits)
	fake.FailNext("chat/completions", 1, 429, 7)
	fake.Script(fakeopenai.Reply{Text: `{"summary":"ok"}`})
	got, err := c.Generate(context.Background(), "system text", "user text")
	if err != nil || got != `{"summary":"ok"}` {
		t.Fatalf("%q %v", got, err)
	}
	if len(waits) != 1 || waits[0] != 7*time.Second {
		t.Fatalf("waits %v", waits)
	}
	bodies := fake.Bodies()
	var req struct {
		Model          string `json:"model"`
		ResponseFormat struct {
			Type string `json:"type"`
		} `json:"response_format"`
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	if len(bodies) != 2 || json.Unmarshal([]byte(bodies[1]), &req) != nil || req.Model != "llama-3.1-70b" || req.ResponseFormat.Type != "json_schema" ||
		len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Content != "user text" {
		t.Fatalf("%s", bodies)
	}
}

func TestErrorsAreFinalOrRetriedAndCarryNoKey(t *testing.T) {
	var waits []time.Duration
	_, bad := client(t, "sk-wrong-key", &waits)
	_, err := bad.Generate(context.Background(), "s", "u")
	var ae *openai.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || len(waits) != 0 || strings.Contains(err.Error(), "sk-wrong-key") {
		t.Fatalf("%v waits=%v", err, waits)
	}
	fake, c := client(t, "sk-local-secret", &waits)
	fake.FailNext("chat/completions", 1, 500, 0)
	fake.FailNext("chat/completions", 1, 503, 0)
	fake.FailNext("chat/completions", 1, 502, 0)
	if _, err := c.Generate(context.Background(), "s", "u"); !errors.Is(err, retry.ErrBudgetExhausted) {
		t.Fatalf("%v", err)
	}
	fake.Script(fakeopenai.Reply{Text: ""})
	if _, err := c.Generate(context.Background(), "s", "u"); !errors.Is(err, openai.ErrEmpty) {
		t.Fatalf("%v", err)
	}
}
