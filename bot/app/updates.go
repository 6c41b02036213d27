package app

import (
	"context"
	"time"

	"github.com/opsgate/opsgate/bot/actions"
	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/mail"
	"github.com/opsgate/opsgate/bot/ratelimit"
	"github.com/opsgate/opsgate/bot/stakeholder"
)

// updateSpecs is the catalog with the built-in stakeholder-update action.
func updateSpecs(file *config.File, cat actions.Specs) stakeholder.Specs {
	var ap *catalog.Approvals
	if file != nil && file.Stakeholders != nil {
		ap = file.Stakeholders.Approvals
	}
	return stakeholder.Specs{Catalog: cat, Update: stakeholder.Spec(ap)}
}

// updateParts are what stakeholder updates are wired from.
type updateParts struct {
	file     *config.File
	specs    stakeholder.Specs
	out      slackOut
	modals   stakeholder.Modals
	proposer *actions.Proposer
	board    stakeholder.Board
	pd       stakeholder.StatusUpdater // nil: no PagerDuty token
}

// wireUpdates registers the stakeholder update jobs and returns the
// executor of approved updates.
func (a *App) wireUpdates(ctx context.Context, p updateParts) (*stakeholder.Sender, error) {
	targets := func(rec *incident.Record) *config.Stakeholders {
		return p.file.StakeholdersFor(rec.Snapshot.ServiceID, rec.Snapshot.ServiceName)
	}
	drafter := &stakeholder.Drafter{Incidents: a.Store, Contexts: a.Contexts, Masker: a.Vault, Trail: a.Audit, Targets: targets,
		Modals: p.modals, Teller: p.out, Guard: a.Guard.Mask, Now: a.opts.Now, Log: a.Log}
	model, err := newUpdateModel(ctx, a.Env, a.opts.GeminiRetry)
	if err != nil {
		return nil, err
	}
	if model != nil {
		drafter.Model = model
	}
	offer := &stakeholder.Proposer{Incidents: a.Store, Masker: a.Vault, Targets: targets, Spec: p.specs.Update, Offer: p.proposer,
		Limiter: &ratelimit.Window{Redis: a.Redis, Prefix: "opsgate:rate:update:", Limit: 10, Per: time.Hour},
		Teller:  p.out, Now: a.opts.Now, Log: a.Log}
	out := stakeholder.Outlets{Slack: p.out, From: a.Env.PagerDutyFromEmail, Guard: a.Guard.Mask,
		LogMask: func(s string) string { return a.Guard.Engine.NewSession().String(s) }}
	if p.pd != nil {
		out.PagerDuty = p.pd
	}
	if u := a.Env.SMTPURL.Reveal(); u != "" {
		c, err := mail.ParseURL(u)
		if err != nil {
			return nil, invalid(err)
		}
		out.Mail = &mail.Sender{Config: c, From: a.Env.SMTPFrom, TLS: a.opts.SMTPTLS, Now: a.opts.Now}
	}
	a.Jobs.Register(jobs.KindDraftUpdate, jobs.Typed(drafter.Handle))
	a.Jobs.Register(jobs.KindProposeUpdate, jobs.Typed(offer.Handle))
	return &stakeholder.Sender{Proposals: a.Proposals, Incidents: a.Store, Targets: targets, Out: out, Board: p.board, Audit: a.Audit, Log: a.Log}, nil
}

// hasStakeholders: the parent offers Draft update.
func hasStakeholders(file *config.File) func(rec *incident.Record) bool {
	return func(rec *incident.Record) bool {
		return !file.StakeholdersFor(rec.Snapshot.ServiceID, rec.Snapshot.ServiceName).Empty()
	}
}

// executors hands approved stakeholder updates to their sender and every
// other proposal to the action executor.
type executors struct {
	actions, updates actions.Executor
}

func (e executors) Execute(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error {
	if p.ActionID == stakeholder.ActionID {
		return e.updates.Execute(ctx, p, spec)
	}
	return e.actions.Execute(ctx, p, spec)
}
