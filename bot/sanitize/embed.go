package sanitize

import (
	"context"

	"github.com/opsgate/opsgate/bot/redact"
)

// Embedder turns texts into vectors (the embedding model: an egress).
type Embedder interface {
	Embed(ctx context.Context, texts []string, query bool) ([][]float32, error)
}

// MaskedEmbedder masks every text — secrets and personal data, not only
// what the last-line guard looks for — before it goes to the embedding
// model, whoever asks: ticket ingestion, an incident's similar-ticket
// search, /triage search, the offline triage. The placeholders are the
// text's own (a fresh session per text): an embedding needs the shape of
// the text, not which value was where.
type MaskedEmbedder struct {
	Embedder Embedder
	Engine   *redact.Engine
	// OnMask, when set, is told how many values one call masked.
	OnMask func(n int)
}

// Embed masks, then embeds.
func (m MaskedEmbedder) Embed(ctx context.Context, texts []string, query bool) ([][]float32, error) {
	masked := make([]string, len(texts))
	n := 0
	for i, t := range texts {
		s := m.Engine.NewSession()
		masked[i] = s.String(t)
		n += s.Len()
	}
	if m.OnMask != nil {
		m.OnMask(n)
	}
	return m.Embedder.Embed(ctx, masked, query)
}
