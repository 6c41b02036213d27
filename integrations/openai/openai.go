// Package openai talks to an OpenAI-compatible chat-completions endpoint
// (vLLM, Ollama, LocalAI, llama.cpp server, Azure-style gateways) for
// on-premises models, behind the same interface as the Gemini generator.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/retry"
)

// ErrEmpty is an answer without content (refusal, filtered, length).
var ErrEmpty = errors.New("openai: empty answer")

// APIError is a non-2xx answer in the OpenAI error shape.
type APIError struct {
	Status     int
	Type, Msg  string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("openai: HTTP %d %s: %s", e.Status, e.Type, e.Msg)
}

// Client calls POST {base}/chat/completions.
type Client struct {
	base, key, model string
	schema           map[string]any // JSON schema for response_format (nil: json_object)
	hc               *http.Client
	policy           retry.Policy
}

// New returns a client; base is e.g. http://vllm:8000/v1.
func New(base, key, model string, schema map[string]any, hc *http.Client, policy retry.Policy) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 120 * time.Second}
	}
	if policy.Attempts == 0 {
		policy = retry.Policy{Attempts: 3, Base: time.Second, Max: 8 * time.Second, Budget: 20 * time.Second, Jitter: true}
	}
	return &Client{base: strings.TrimRight(base, "/"), key: key, model: model, schema: schema, hc: hc, policy: policy}
}

// Name is the backend's name.
func (c *Client) Name() string { return "openai" }

// Classify: 429 and 5xx (and network errors) are retried, honouring Retry-After.
func Classify(err error) retry.Verdict {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status == http.StatusTooManyRequests || ae.Status >= 500 {
			return retry.Verdict{Retry: true, After: ae.RetryAfter}
		}
		return retry.Verdict{}
	}
	var ne net.Error
	return retry.Verdict{Retry: errors.As(err, &ne)}
}

// Generate returns the model's JSON text.
func (c *Client) Generate(ctx context.Context, system, user string) (string, error) {
	format := map[string]any{"type": "json_object"}
	if c.schema != nil {
		format = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "rca", "strict": false, "schema": c.schema}}
	}
	body, err := json.Marshal(map[string]any{
		"model": c.model, "temperature": 0.2, "response_format": format, "max_tokens": 4096, // a bounded reply, as with Gemini
		"messages": []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": user}},
	})
	if err != nil {
		return "", err
	}
	var text string
	err = retry.Do(ctx, c.policy, Classify, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/chat/completions", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode/100 != 2 {
			ae := &APIError{Status: resp.StatusCode}
			var e struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			if json.Unmarshal(raw, &e) == nil {
				ae.Type, ae.Msg = e.Error.Type, e.Error.Message
			}
			if len(ae.Msg) > 300 {
				ae.Msg = ae.Msg[:300] + "…"
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				ae.RetryAfter = time.Duration(s) * time.Second
			}
			return ae
		}
		var out struct {
			Choices []struct {
				Message struct {
					Content *string `json:"content"`
					Refusal *string `json:"refusal"`
				} `json:"message"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return fmt.Errorf("openai: answer is not JSON: %w", err)
		}
		if len(out.Choices) == 0 || out.Choices[0].Message.Content == nil || *out.Choices[0].Message.Content == "" {
			return ErrEmpty
		}
		text = *out.Choices[0].Message.Content
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("openai generate: %w", err)
	}
	return text, nil
}
