package gemini

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/genai"

	"github.com/opsgate/opsgate/bot/retry"
)

// ErrBlocked is returned when Gemini returns no candidate (prompt blocked or
// an empty answer).
var ErrBlocked = errors.New("gemini: no answer")

// Generator asks a Gemini model for JSON that follows a schema.
type Generator struct {
	client *genai.Client
	model  string
	schema *genai.Schema
	policy retry.Policy
}

// NewGenerator connects; baseURL "" is Google's.
func NewGenerator(ctx context.Context, apiKey, baseURL, model string, schema *genai.Schema, hc *http.Client, policy retry.Policy) (*Generator, error) {
	c, err := newClient(ctx, apiKey, baseURL, hc, 60*time.Second)
	if err != nil {
		return nil, err
	}
	if policy.Attempts == 0 {
		policy = retry.Policy{Attempts: 3, Base: time.Second, Max: 8 * time.Second, Budget: 20 * time.Second, Jitter: true}
	}
	return &Generator{client: c, model: model, schema: schema, policy: policy}, nil
}

// MaxOutputTokens bounds a reply: an analysis is a few hundred tokens,
// and opsgate refuses (rca.MaxReplyBytes) anything near this anyway.
const MaxOutputTokens = 4096

// Name is the backend's name.
func (g *Generator) Name() string { return "gemini" }

// Generate returns the model's JSON text.
func (g *Generator) Generate(ctx context.Context, system, user string) (string, error) {
	temp := float32(0.2)
	cfg := &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText(system, genai.RoleUser),
		Temperature:       &temp,
		MaxOutputTokens:   MaxOutputTokens,
		ResponseMIMEType:  "application/json",
		ResponseSchema:    g.schema,
	}
	var text string
	err := retry.Do(ctx, g.policy, Classify, func(ctx context.Context) error {
		resp, err := g.client.Models.GenerateContent(ctx, g.model, genai.Text(user), cfg)
		if err != nil {
			return err
		}
		if len(resp.Candidates) == 0 {
			return ErrBlocked
		}
		text = resp.Text()
		if text == "" {
			return ErrBlocked
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("gemini generate: %w", err)
	}
	return text, nil
}
