package rca

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/genai"

	"github.com/opsgate/opsgate/prompts"
)

// Model answers a prompt with JSON text.
type Model interface {
	Name() string
	Generate(ctx context.Context, system, user string) (string, error)
}

// Analyzer runs the analysis with its safeguards.
type Analyzer struct {
	Model   Model    // nil: extractive only
	Breaker *Breaker // nil: none
	// Guard is the last-line check on the prompt (masks secrets; nil: none).
	Guard   func(string) string
	Timeout time.Duration
	Log     *slog.Logger
	// Observe is told each model request's outcome (ok, error,
	// circuit_open); nil: nobody.
	Observe func(backend, outcome string)
}

func (a *Analyzer) observe(outcome string) {
	if a.Observe != nil {
		a.Observe(a.Model.Name(), outcome)
	}
}

// Schema is the JSON response schema given to Gemini.
func Schema() *genai.Schema {
	str := &genai.Schema{Type: genai.TypeString}
	return &genai.Schema{
		Type: genai.TypeObject,
		Properties: map[string]*genai.Schema{
			"summary":               str,
			"root_cause":            str,
			"category":              {Type: genai.TypeString, Enum: []string{"config-change", "deploy", "capacity", "dependency", "network", "hardware", "database", "security", "code-bug", "unknown"}},
			"confidence":            {Type: genai.TypeNumber},
			"insufficient_evidence": {Type: genai.TypeBoolean},
			"evidence": {Type: genai.TypeArray, Items: &genai.Schema{Type: genai.TypeObject, Required: []string{"claim", "citations"},
				Properties: map[string]*genai.Schema{"claim": str, "citations": {Type: genai.TypeArray, Items: str}}}},
			"proposed_actions": {Type: genai.TypeArray, Items: &genai.Schema{Type: genai.TypeObject, Required: []string{"action_id"},
				Properties: map[string]*genai.Schema{"action_id": str, "follows_ticket": str, "reason": str,
					"params": {Type: genai.TypeObject, Description: "parameter name → value"}}}},
		},
		Required: []string{"summary", "confidence", "insufficient_evidence", "evidence"},
	}
}

// JSONSchema is Schema as JSON Schema, for OpenAI-compatible endpoints.
func JSONSchema() map[string]any {
	str := map[string]any{"type": "string"}
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"summary": str, "root_cause": str,
			"category":              map[string]any{"type": "string", "enum": Schema().Properties["category"].Enum},
			"confidence":            map[string]any{"type": "number"},
			"insufficient_evidence": map[string]any{"type": "boolean"},
			"evidence": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []string{"claim", "citations"},
				"properties": map[string]any{"claim": str, "citations": map[string]any{"type": "array", "items": str}}}},
			"proposed_actions": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []string{"action_id"},
				"properties": map[string]any{"action_id": str, "follows_ticket": str, "reason": str,
					"params": map[string]any{"type": "object", "additionalProperties": str}}}},
		},
		"required": []string{"summary", "confidence", "insufficient_evidence", "evidence"},
	}
}

// Prompt renders the prompts for a context (exported for tests and the
// offline triage command).
func Prompt(c Context) (string, string, error) {
	in := prompts.RCAInput{IncidentID: c.IncidentID, Service: c.Service, Title: c.Title, Alerts: c.Alerts, Lines: c.PromptLines, Metrics: c.Metrics,
		Withheld: c.Withheld, Actions: c.Actions}
	for _, t := range c.Tickets {
		in.Tickets = append(in.Tickets, prompts.Ticket{ID: t.ID, Date: t.Date, Title: t.Title, RootCause: t.RootCause, Resolution: t.Resolution})
	}
	user, err := prompts.RCAUser(in)
	return prompts.RCASystem(), user, err
}

// Analyze returns the checked analysis, or the extractive one when the
// model is unset, the breaker is open, or the model fails.
func (a *Analyzer) Analyze(ctx context.Context, c Context) Analysis {
	if a.Model == nil {
		return extractive(c)
	}
	fallback := func(why string) Analysis {
		x := extractive(c)
		x.Dropped = append(x.Dropped, why)
		if a.Log != nil {
			a.Log.Warn("RCA falls back to extractive", "incident", c.IncidentID, "why", why)
		}
		return x
	}
	system, user, err := Prompt(c)
	if err != nil {
		return fallback(err.Error())
	}
	// Allow comes last before the call: a half-open breaker's probe must
	// always be followed by Done.
	if a.Breaker != nil && !a.Breaker.Allow() {
		a.observe("circuit_open")
		return fallback(a.Model.Name() + " skipped: circuit breaker open after repeated failures")
	}
	if a.Guard != nil {
		user = a.Guard(user)
	}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 45 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	text, err := a.Model.Generate(cctx, system, user)
	cancel()
	if a.Breaker != nil {
		a.Breaker.Done(err)
	}
	if err != nil {
		a.observe("error")
	} else {
		a.observe("ok")
	}
	if err != nil {
		return fallback(a.Model.Name() + " unavailable: " + err.Error())
	}
	if len(text) > MaxReplyBytes {
		return fallback(fmt.Sprintf("%s answered with %d bytes, more than an analysis may take (%d)", a.Model.Name(), len(text), MaxReplyBytes))
	}
	var r raw
	if err := json.Unmarshal([]byte(stripFences(text)), &r); err != nil {
		return fallback(fmt.Sprintf("%s answered with malformed JSON", a.Model.Name()))
	}
	out := Check(r, c, a.Model.Name())
	out.PromptVersion = prompts.RCAVersion
	return out
}

func stripFences(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```json")
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	}
	return strings.TrimSpace(s)
}
