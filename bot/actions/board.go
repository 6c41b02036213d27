// Package actions turns remediation into proposals and decisions: it
// proposes checked catalog actions (from the analysis, the handler's
// runbook steps or an engineer's /triage propose) in the incident's
// thread, and handles Approve, Reject and Undo — who may, how many must,
// and when an approval completes, handing the proposal to the executor.
package actions

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Slack posts and edits thread messages (through the guard).
type Slack interface {
	PostMessage(ctx context.Context, channel string, m slackapi.Message) (string, string, error)
	UpdateMessage(ctx context.Context, channel, ts string, m slackapi.Message) error
}

// Specs looks actions up in the catalog.
type Specs interface {
	Get(id string) (catalog.Spec, bool)
}

// Board is the proposals' side of the thread: each proposal's message
// (posted once, edited in place as its state changes) and replies about
// proposals.
type Board struct {
	Slack Slack
	Specs Specs
	Log   *slog.Logger
}

func (b *Board) log() *slog.Logger { return cmp.Or(b.Log, slog.Default()) }

// Post posts p's message with its buttons in rec's thread and returns
// its ts.
func (b *Board) Post(ctx context.Context, rec *incident.Record, p *approval.Proposal, spec catalog.Spec) (string, error) {
	msg := render.ProposalMessage(*p, spec)
	msg.ThreadTS = rec.Thread.TS
	_, ts, err := b.Slack.PostMessage(ctx, rec.Thread.Channel, msg)
	return ts, err
}

// Refresh edits p's message in place (a proposal whose action left the
// catalog keeps its message). A failure is logged: the message catches up
// at the next change.
func (b *Board) Refresh(ctx context.Context, p *approval.Proposal) {
	spec, ok := b.Specs.Get(p.ActionID)
	if p.TS == "" || !ok {
		return
	}
	if err := b.Slack.UpdateMessage(ctx, p.Channel, p.TS, render.ProposalMessage(*p, spec)); err != nil {
		b.log().Warn("could not update a proposal", "proposal", p.ID, "err", err)
	}
}

// Reply posts text about proposal in rec's thread (logged on failure).
func (b *Board) Reply(ctx context.Context, rec *incident.Record, text, proposal string) {
	msg := slackapi.Message{Text: text, ThreadTS: rec.Thread.TS}
	if _, _, err := b.Slack.PostMessage(ctx, rec.Thread.Channel, msg); err != nil {
		b.log().Warn("could not post to the thread", "proposal", proposal, "err", err)
	}
}
