// Package fakeopenai is a stateful fake of an OpenAI-compatible
// /v1/chat/completions endpoint: it checks the bearer key and the request
// shape, records every request and answers from a script (or with errors in
// the OpenAI error shape: FailNext("chat/completions", n, status,
// retryAfter), 429 with Retry-After).
package fakeopenai

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"

	"github.com/opsgate/opsgate/integrations/fakes/faults"
)

// Reply is a scripted answer.
type Reply struct {
	Text string
}

// Server is the fake.
type Server struct {
	*httptest.Server
	faults.Plan
	key     string
	mu      sync.Mutex
	replies []Reply
	bodies  []string
}

// New starts a fake accepting only key.
func New(key string) *Server {
	s := &Server{key: key}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Script queues replies.
func (s *Server) Script(r ...Reply) { s.mu.Lock(); s.replies = append(s.replies, r...); s.mu.Unlock() }

// Bodies returns the request bodies received.
func (s *Server) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		apiError(w, http.StatusNotFound, "invalid_request_error", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.key {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "Incorrect API key provided.")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		ResponseFormat *struct {
			Type string `json:"type"`
		} `json:"response_format"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" || len(req.Messages) == 0 {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "'model' and 'messages' are required")
		return
	}
	for _, m := range req.Messages {
		if m.Role != "system" && m.Role != "user" && m.Role != "assistant" {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid role "+strconv.Quote(m.Role))
			return
		}
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	s.mu.Unlock()
	if f, ok := s.Take("chat/completions"); ok {
		f.Header(w)
		typ := "server_error"
		if f.Status == http.StatusTooManyRequests {
			typ = "rate_limit_exceeded"
		}
		apiError(w, f.Status, typ, "scripted failure")
		return
	}
	s.mu.Lock()
	reply := Reply{Text: `{"summary":"default","confidence":0.1,"insufficient_evidence":true,"evidence":[]}`}
	if len(s.replies) > 0 {
		reply, s.replies = s.replies[0], s.replies[1:]
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion", "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": reply.Text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": len(body) / 4, "completion_tokens": len(reply.Text) / 4, "total_tokens": (len(body) + len(reply.Text)) / 4}})
}
