// Package gemini talks to Google's Gemini API through google.golang.org/genai.
package gemini

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	"google.golang.org/genai"

	"github.com/opsgate/opsgate/bot/retry"
)

// embeddingModel and Dimensions used for the knowledge base.
const (
	embeddingModel = "gemini-embedding-001"
	Dimensions     = 256 // truncated (and re-normalised): enough for retrieval, small to hold 100k in memory
	batchSize      = 100
)

// Embedder embeds texts.
type Embedder struct {
	client *genai.Client
	policy retry.Policy
}

// NewEmbedder connects with an API key; baseURL "" is Google's.
func NewEmbedder(ctx context.Context, apiKey, baseURL string, hc *http.Client, policy retry.Policy) (*Embedder, error) {
	c, err := newClient(ctx, apiKey, baseURL, hc, 20*time.Second)
	if err != nil {
		return nil, err
	}
	if policy.Attempts == 0 {
		policy = retry.Policy{Attempts: 4, Base: time.Second, Max: 8 * time.Second, Budget: 20 * time.Second, Jitter: true}
	}
	return &Embedder{client: c, policy: policy}, nil
}

// newClient connects to the Gemini API with an API key; baseURL "" is
// Google's; hc nil is a client with the given timeout.
func newClient(ctx context.Context, apiKey, baseURL string, hc *http.Client, timeout time.Duration) (*genai.Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: timeout}
	}
	cfg := &genai.ClientConfig{APIKey: apiKey, Backend: genai.BackendGeminiAPI, HTTPClient: hc}
	if baseURL != "" {
		cfg.HTTPOptions = genai.HTTPOptions{BaseURL: baseURL}
	}
	c, err := genai.NewClient(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("gemini: %w", err)
	}
	return c, nil
}

// Classify retries 429, 500, 503, 504 and network errors, not 400/403/404.
func Classify(err error) retry.Verdict {
	var ae genai.APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return retry.Verdict{Retry: true}
		}
		return retry.Verdict{}
	}
	var ne net.Error
	return retry.Verdict{Retry: errors.As(err, &ne)}
}

// Embed returns one normalised vector per text (task: retrieval document
// or query).
func (e *Embedder) Embed(ctx context.Context, texts []string, query bool) ([][]float32, error) {
	task := "RETRIEVAL_DOCUMENT"
	if query {
		task = "RETRIEVAL_QUERY"
	}
	dim := int32(Dimensions)
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += batchSize {
		batch := texts[start:min(start+batchSize, len(texts))]
		contents := make([]*genai.Content, len(batch))
		for i, t := range batch {
			if len(t) > 8000 {
				t = t[:8000]
			}
			contents[i] = genai.NewContentFromText(t, genai.RoleUser)
		}
		var resp *genai.EmbedContentResponse
		err := retry.Do(ctx, e.policy, Classify, func(ctx context.Context) error {
			var err error
			resp, err = e.client.Models.EmbedContent(ctx, embeddingModel, contents, &genai.EmbedContentConfig{TaskType: task, OutputDimensionality: &dim})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("gemini embed: %w", err)
		}
		if len(resp.Embeddings) != len(batch) {
			return nil, fmt.Errorf("gemini embed: %d embeddings for %d texts", len(resp.Embeddings), len(batch))
		}
		for _, em := range resp.Embeddings {
			out = append(out, normalise(em.Values))
		}
	}
	return out, nil
}

func normalise(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(n))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}
