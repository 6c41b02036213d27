// Package kbsearch answers /triage search: the knowledge base's best
// matches, masked as the thread masks them (secrets and personal data),
// and only where incidents are discussed — the channels opsgate posts
// incidents to (and any configured for search), or to approvers anywhere.
package kbsearch

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/opsgate/opsgate/bot/access"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/knowledge/kb"
)

// Knowledge is the knowledge base.
type Knowledge interface {
	Search(q kb.Query, n int) []kb.Result
}

// Access says who is an approver (package access).
type Access interface {
	IsApprover(ctx context.Context, user string) (bool, error)
}

// Responder answers through a response_url (guarded).
type Responder interface {
	Respond(ctx context.Context, responseURL string, m slackapi.Message) error
}

// Handler answers searches.
type Handler struct {
	Knowledge Knowledge
	Access    Access
	// AllowedIn reports whether searches are answered in a channel.
	AllowedIn func(channel string) bool
	Engine    *redact.Engine
	Responder Responder
	Log       *slog.Logger
}

// Refusal is the answer outside the allowed channels, for non-approvers.
const Refusal = "/triage search answers in the channels opsgate posts incidents to, or to approvers. Ask there."

// Handle searches and answers, or refuses.
func (h *Handler) Handle(ctx context.Context, req jobs.Search) error {
	ok, err := access.MayAsk(ctx, h.Access, h.AllowedIn, req.ChannelID, req.UserID)
	if err != nil {
		return err
	}
	if !ok {
		h.respond(ctx, req, Refusal)
		return nil
	}
	s := h.Engine.NewSession()
	var items []enrich.Similar
	for _, r := range h.Knowledge.Search(kb.Query{Title: req.Text}, 5) {
		items = append(items, enrich.Similar{ID: r.ID, Title: s.String(r.Title), URL: r.URL, Similarity: r.Similarity, Resolution: s.String(r.Resolution)})
	}
	h.respond(ctx, req, render.SearchAnswer(items))
	return nil
}

func (h *Handler) respond(ctx context.Context, req jobs.Search, text string) {
	if err := h.Responder.Respond(ctx, req.ResponseURL, slackapi.Message{Text: text}); err != nil {
		cmp.Or(h.Log, slog.Default()).Warn("could not answer /triage search", "err", err)
	}
}
