// Package home keeps each person's App Home tab: the open incidents with
// their threads, and the proposals waiting for *their* approval — those
// they may approve (the action's approvers), did not propose or trigger
// (unless the action allows it) and have not approved yet. It is drawn
// when they open the tab (the Events API's app_home_opened).
package home

import (
	"cmp"
	"context"
	"log/slog"
	"slices"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
)

// Incidents lists the open incidents.
type Incidents interface {
	Open(ctx context.Context, limit int64) ([]*incident.Record, error)
}

// Proposals lists the proposals waiting for approval.
type Proposals interface {
	Waiting(ctx context.Context, limit int64) ([]*approval.Proposal, error)
}

// Masker masks a record as Slack may see it (package view).
type Masker interface {
	Incident(ctx context.Context, rec *incident.Record) (*incident.Record, int, error)
}

// Specs looks actions up in the catalog.
type Specs interface {
	Get(id string) (catalog.Spec, bool)
}

// Approvers says who may approve an action (package access).
type Approvers interface {
	MayApprove(ctx context.Context, user string, a catalog.Approvals) (bool, error)
}

// Publisher sets a user's Home tab (guarded).
type Publisher interface {
	PublishHome(ctx context.Context, user string, v slack.HomeTabViewRequest) error
}

// Handler draws Home tabs.
type Handler struct {
	Incidents Incidents
	Proposals Proposals
	Masker    Masker
	Specs     Specs
	Approvers Approvers
	Publisher Publisher
	Log       *slog.Logger
}

// Handle draws the Home tab of the user who opened it.
func (h *Handler) Handle(ctx context.Context, req jobs.Home) error {
	open, err := h.Incidents.Open(ctx, 30)
	if err != nil {
		return err
	}
	var lines []render.StatusLine
	for _, rec := range open {
		view, _, err := h.Masker.Incident(ctx, rec)
		if err != nil {
			return err
		}
		lines = append(lines, render.StatusLine{Record: view})
	}
	waiting, err := h.Proposals.Waiting(ctx, 200)
	if err != nil {
		return err
	}
	var mine []*approval.Proposal
	for _, p := range waiting {
		ok, err := h.mayApprove(ctx, req.UserID, p)
		if err != nil {
			return err
		}
		if ok {
			mine = append(mine, p)
		}
	}
	if err := h.Publisher.PublishHome(ctx, req.UserID, render.Home(lines, mine)); err != nil {
		return err
	}
	cmp.Or(h.Log, slog.Default()).Debug("home tab drawn", "user", req.UserID, "incidents", len(lines), "waiting", len(mine))
	return nil
}

func (h *Handler) mayApprove(ctx context.Context, user string, p *approval.Proposal) (bool, error) {
	if !p.AllowSelf && (p.Proposer == user || p.Triggerer == user) {
		return false, nil
	}
	if slices.ContainsFunc(p.Approvals, func(a approval.Approval) bool { return a.User == user }) {
		return false, nil
	}
	spec, ok := h.Specs.Get(p.ActionID)
	if !ok {
		return false, nil
	}
	return h.Approvers.MayApprove(ctx, user, spec.Approvals)
}
