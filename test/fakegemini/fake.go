// Package fakegemini is a stateful stand-in for the Gemini API's embedding
// endpoint (models/{m}:batchEmbedContents) for tests and the demo. It checks
// the x-goog-api-key header and the request shape, answers with Gemini's
// error shape ({"error":{code,message,status}}), and can be told to answer
// 429 RESOURCE_EXHAUSTED. Embeddings are deterministic hashed bags of words,
// so texts that share words have similar vectors.
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
	"unicode"
)

// Server is the fake.
type Server struct {
	*httptest.Server
	key string

	mu       sync.Mutex
	fail     []int
	requests int
	texts    int
}

// New starts a fake that accepts only key.
func New(key string) *Server {
	s := &Server{key: key}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// FailNext makes the next n requests answer status (429 or 5xx).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.fail = append(s.fail, status)
	}
}

// Requests counts requests; Texts counts texts embedded.
func (s *Server) Requests() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.texts
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
	var fail int
	if len(s.fail) > 0 {
		fail, s.fail = s.fail[0], s.fail[1:]
	}
	s.mu.Unlock()
	if r.Header.Get("x-goog-api-key") != s.key {
		apiError(w, http.StatusForbidden, "PERMISSION_DENIED", "API key not valid. Please pass a valid API key.")
		return
	}
	if fail != 0 {
		status := "INTERNAL"
		if fail == http.StatusTooManyRequests {
			status = "RESOURCE_EXHAUSTED"
		}
		apiError(w, fail, status, "try again later")
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
