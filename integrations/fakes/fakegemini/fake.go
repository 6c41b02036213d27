// Package fakegemini is a stateful stand-in for the Gemini API for tests:
// models/{m}:generateContent (scripted answers, blocked prompts, delays;
// every request body kept) and models/{m}:batchEmbedContents (deterministic
// hashed bags of words, so texts that share words have similar vectors).
// It checks the x-goog-api-key header and the request shape, and answers
// with Gemini's error shape ({"error":{code,message,status}}); failures are
// scripted per method with FailNext ("generateContent",
// "batchEmbedContents"), 429 as RESOURCE_EXHAUSTED.
package fakegemini

import (
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/opsgate/opsgate/integrations/fakes/faults"
)

// Server is the fake.
type Server struct {
	*httptest.Server
	faults.Plan
	key string

	mu       sync.Mutex
	requests int
	texts    int
	embedded []string // every text embedded, in order
	replies  []Reply
	bodies   []string // generateContent request bodies, in order
}

// Reply scripts one generateContent answer: the candidate's text, a
// blocked prompt, or a delay (for timeouts). Failures are FailNext's.
type Reply struct {
	Text    string
	Blocked bool
	Delay   time.Duration
}

// Script queues generateContent replies (after the queue: a default answer).
func (s *Server) Script(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, r...)
}

// Prompts returns every generateContent request body received.
func (s *Server) Prompts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// New starts a fake that accepts only key.
func New(key string) *Server {
	s := &Server{key: key}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Embedded returns every text embedded so far.
func (s *Server) Embedded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.embedded...)
}

// Requests counts requests; Texts counts texts embedded.
func (s *Server) Requests() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.texts
}

// failed answers a scripted failure of method, if one is due (after the
// request was read and checked, as a real overloaded server would).
func (s *Server) failed(w http.ResponseWriter, method string) bool {
	f, ok := s.Take(method)
	if !ok {
		return false
	}
	status := "INTERNAL"
	switch f.Status {
	case http.StatusTooManyRequests:
		status = "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		status = "UNAVAILABLE"
	case http.StatusBadRequest:
		status = "INVALID_ARGUMENT"
	}
	f.Header(w)
	apiError(w, f.Status, status, "scripted failure")
	return true
}

func apiError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

type part struct {
	Text string `json:"text"`
}

type request struct {
	Model   string `json:"model"`
	Content *struct {
		Parts []part `json:"parts"`
	} `json:"content"`
	TaskType             string `json:"taskType"`
	OutputDimensionality int    `json:"outputDimensionality"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if r.Header.Get("x-goog-api-key") != s.key {
		apiError(w, http.StatusForbidden, "PERMISSION_DENIED", "API key not valid. Please pass a valid API key.")
		return
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1beta/models/") && strings.HasSuffix(r.URL.Path, ":generateContent") {
		s.generate(w, r)
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v1beta/models/") || !strings.HasSuffix(r.URL.Path, ":batchEmbedContents") {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "unknown method "+r.URL.Path)
		return
	}
	model := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":batchEmbedContents")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	var req struct {
		Requests []request `json:"requests"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Requests) == 0 {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "requests must be a non-empty list")
		return
	}
	if s.failed(w, "batchEmbedContents") {
		return
	}
	if len(req.Requests) > 100 {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "at most 100 requests in one batch")
		return
	}
	out := make([]map[string]any, 0, len(req.Requests))
	for _, q := range req.Requests {
		if q.Model != "models/"+model || q.Content == nil || len(q.Content.Parts) == 0 {
			apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "each request needs model models/"+model+" and content.parts")
			return
		}
		dim := q.OutputDimensionality
		if dim == 0 {
			dim = 3072
		}
		if dim < 1 || dim > 3072 {
			apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "outputDimensionality out of range")
			return
		}
		var text strings.Builder
		for _, p := range q.Content.Parts {
			text.WriteString(p.Text + " ")
		}
		out = append(out, map[string]any{"values": vector(text.String(), dim)})
		s.mu.Lock()
		s.embedded = append(s.embedded, text.String())
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.texts += len(req.Requests)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"embeddings": out})
}

// vector hashes lower-cased words into dim buckets (normalised).
func vector(text string, dim int) []float32 {
	v := make([]float32, dim)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) < 3 {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(w))
		x := h.Sum32()
		sign := float32(1)
		if x&1 == 1 {
			sign = -1
		}
		v[int(x>>1)%dim] += sign
	}
	var n float64
	for _, x := range v {
		n += float64(x * x)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for i := range v {
			v[i] *= inv
		}
	}
	return v
}

// DefaultAnswer is the reply when no script is queued.
const DefaultAnswer = `{"summary":"default answer","confidence":0.5,"insufficient_evidence":true,"evidence":[]}`

func (s *Server) generate(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	var req struct {
		Contents []struct {
			Role  string `json:"role"`
			Parts []part `json:"parts"`
		} `json:"contents"`
		SystemInstruction *struct {
			Parts []part `json:"parts"`
		} `json:"systemInstruction"`
		GenerationConfig *struct {
			ResponseMimeType string `json:"responseMimeType"`
			ResponseSchema   any    `json:"responseSchema"`
			ResponseJSON     any    `json:"responseJsonSchema"`
		} `json:"generationConfig"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Contents) == 0 || len(req.Contents[0].Parts) == 0 {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "contents must be a non-empty list of parts")
		return
	}
	if gc := req.GenerationConfig; gc != nil && gc.ResponseSchema != nil && gc.ResponseJSON != nil {
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "responseSchema and responseJsonSchema are mutually exclusive")
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	s.mu.Unlock()
	if s.failed(w, "generateContent") {
		return
	}
	s.mu.Lock()
	reply := Reply{Text: DefaultAnswer}
	if len(s.replies) > 0 {
		reply, s.replies = s.replies[0], s.replies[1:]
	}
	s.mu.Unlock()
	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.Blocked {
		_ = json.NewEncoder(w).Encode(map[string]any{"promptFeedback": map[string]any{"blockReason": "SAFETY"}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"candidates":    []any{map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": reply.Text}}}, "finishReason": "STOP", "index": 0}},
		"usageMetadata": map[string]any{"promptTokenCount": len(body) / 4, "candidatesTokenCount": len(reply.Text) / 4, "totalTokenCount": (len(body) + len(reply.Text)) / 4},
		"modelVersion":  "fake-gemini",
	})
}
