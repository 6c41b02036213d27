package pipeline

import (
	"context"
	"errors"

	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// ContextViewer returns an incident's gathered context as it may leave
// opsgate (package view).
type ContextViewer interface {
	Context(ctx context.Context, incidentID string, r *enrich.Record) (*enrich.Record, error)
}

// Replies renders the ledger replies of the stages above, each from the
// masked view of the incident's context.
type Replies struct {
	Contexts interface {
		Get(ctx context.Context, id string) (*enrich.Record, error)
	}
	Viewer ContextViewer
}

func (r Replies) load(ctx context.Context, rec *incident.Record) (*enrich.Record, error) {
	c, err := r.Contexts.Get(ctx, rec.Snapshot.ID)
	if err != nil {
		return nil, err
	}
	return r.Viewer.Context(ctx, rec.Snapshot.ID, c)
}

var errNoAnalysis = errors.New("no analysis stored")

// Excerpt renders the log excerpt reply.
func (r Replies) Excerpt(ctx context.Context, rec *incident.Record) (slackapi.Message, error) {
	c, err := r.load(ctx, rec)
	if err != nil {
		return slackapi.Message{}, err
	}
	return render.ExcerptReply(c.Excerpt, c.Sources, c.Metrics), nil
}

// Similar renders the similar-incidents reply.
func (r Replies) Similar(ctx context.Context, rec *incident.Record) (slackapi.Message, error) {
	c, err := r.load(ctx, rec)
	if err != nil {
		return slackapi.Message{}, err
	}
	return render.SimilarReply(c.Similar), nil
}

// Analysis renders the root-cause analysis reply.
func (r Replies) Analysis(ctx context.Context, rec *incident.Record) (slackapi.Message, error) {
	c, err := r.load(ctx, rec)
	if err != nil {
		return slackapi.Message{}, err
	}
	if c.Analysis == nil {
		return slackapi.Message{}, errNoAnalysis
	}
	return render.RCAReply(c.Analysis, lineTexts(c), c.Similar, rec.Snapshot.ID), nil
}
