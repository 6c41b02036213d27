package threads

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// KindDecision is an Approve or Reject click on a proposal.
const KindDecision = "decision" // payload: DecisionRequest

// DecisionRequest is queued by a click on a proposal's buttons.
type DecisionRequest struct {
	ProposalID  string `json:"proposal_id"`
	Hash        string `json:"hash"` // the proposal hash the clicker saw
	UserID      string `json:"user_id"`
	Approve     bool   `json:"approve"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Runner executes approved actions (nil: proposals can be approved but
// not run).
type Runner interface {
	Run(ctx context.Context, s catalog.Scoped, id string, undo bool, params map[string]string, dryRun bool) (executor.Result, error)
	Verify(ctx context.Context, s catalog.Scoped, id string, params map[string]string) (executor.Verification, error)
}

func (s *Syncer) catalog() *catalog.Catalog {
	if s.Catalog != nil {
		return s.Catalog
	}
	return catalog.MustDefault()
}

func (s *Syncer) scopeFor(rec *incident.Record) catalog.Scope {
	if s.Scope != nil {
		return s.Scope(rec.Snapshot)
	}
	return catalog.For(rec.Snapshot.ServiceName).Scope
}

// propose turns the analysis's checked actions into proposals and posts
// each with its Approve / Reject buttons. A proposal's id is derived from
// the incident and the action's hash, so a redelivery proposes nothing new.
func (s *Syncer) propose(ctx context.Context, rec *incident.Record, actions []rca.Action) error {
	if s.Proposals == nil || len(actions) == 0 || !rec.HasThread() {
		return nil
	}
	scoped := s.catalog().For(s.scopeFor(rec))
	for _, a := range actions {
		spec, ok := scoped.Catalog.Get(a.ID)
		if !ok || scoped.Validate(a.ID, a.Params) != "" {
			continue // checked already; the catalog may have changed since
		}
		id := rec.Snapshot.ID + "-" + approval.Hash(a.ID, a.Params)[:10]
		created, err := s.Proposals.Create(ctx, approval.Proposal{ID: id, IncidentID: rec.Snapshot.ID, ActionID: a.ID, Params: a.Params,
			Source: "rca", Required: spec.Approvals.Required, AllowSelf: spec.Approvals.AllowSelf, ExpiresAt: time.Now().Add(spec.Expiry)})
		if err != nil {
			return err
		}
		if !created {
			continue
		}
		p, err := s.Proposals.Get(ctx, id)
		if err != nil {
			return err
		}
		if s.Audit != nil {
			if _, err := s.Audit.Append(ctx, audit.Entry{Actor: "opsgate", Action: "proposed", Incident: p.IncidentID,
				Details: map[string]string{"proposal": id, "action": a.ID, "params_hash": p.Hash, "source": "rca"}}); err != nil {
				return err
			}
		}
		preview, _ := scoped.Preview(a.ID, a.Params)
		msg := render.ProposalMessage(*p, spec, preview)
		msg.ThreadTS = rec.Thread.TS
		_, ts, err := s.Slack.PostMessage(ctx, rec.Thread.Channel, msg)
		if err != nil {
			return permanent(err)
		}
		if _, err := s.Proposals.SetMessage(ctx, id, rec.Thread.Channel, ts); err != nil {
			return err
		}
	}
	return nil
}

// mayApprove: the action's users and groups, or the config's approvers.
func (s *Syncer) mayApprove(ctx context.Context, user string, a catalog.Approvals) (bool, error) {
	if len(a.Users)+len(a.Groups) == 0 {
		return s.isApprover(ctx, user)
	}
	return s.inAllowlist(ctx, user, a.Users, a.Groups)
}

func (s *Syncer) handleDecision(ctx context.Context, req DecisionRequest) error {
	if s.Proposals == nil {
		return nil
	}
	p, err := s.Proposals.Get(ctx, req.ProposalID)
	if errors.Is(err, approval.ErrNotFound) {
		s.tell(ctx, RevealRequest{UserID: req.UserID, ChannelID: req.ChannelID, ResponseURL: req.ResponseURL}, slackapi.Message{Text: "This proposal no longer exists."})
		return nil
	}
	if err != nil {
		return err
	}
	spec, ok := s.catalog().Get(p.ActionID)
	if !ok {
		return fmt.Errorf("proposal %s: action %s left the catalog: %w", p.ID, p.ActionID, queue.ErrPermanent)
	}
	may, err := s.mayApprove(ctx, req.UserID, spec.Approvals)
	if err != nil {
		return err
	}
	var completed bool
	verb := "approve"
	if req.Approve {
		p, completed, err = s.Proposals.Approve(ctx, p.ID, req.UserID, req.Hash, may)
	} else {
		verb = "reject"
		p, err = s.Proposals.Reject(ctx, p.ID, req.UserID, "", may)
	}
	denied := errors.Is(err, approval.ErrNotApprover) || errors.Is(err, approval.ErrSelfApproval) || errors.Is(err, approval.ErrExpired) ||
		errors.Is(err, approval.ErrNotPending) || errors.Is(err, approval.ErrChanged) || errors.Is(err, approval.ErrAlreadyVoted)
	if err != nil && !denied {
		return err // Redis trouble: the click stays queued and is retried
	}
	entry := audit.Entry{Actor: req.UserID, Action: verb, Incident: p.IncidentID, Details: map[string]string{"proposal": p.ID, "params_hash": p.Hash}}
	answer := ""
	switch {
	case denied:
		entry.Action = verb + "_denied"
		entry.Details["reason"] = err.Error()
		answer = "Not " + verb + "d: " + err.Error() + "."
	case req.Approve:
		answer = fmt.Sprintf("Approved (%d of %d).", len(p.Approvals), p.Required)
	default:
		answer = "Rejected."
	}
	if s.Audit != nil {
		if _, aerr := s.Audit.Append(ctx, entry); aerr != nil {
			return aerr
		}
	}
	s.tell(ctx, RevealRequest{IncidentID: p.IncidentID, UserID: req.UserID, ChannelID: req.ChannelID, ResponseURL: req.ResponseURL}, slackapi.Message{Text: answer})
	if err == nil {
		s.refresh(ctx, p, spec)
	}
	if completed {
		return s.execute(ctx, p, spec)
	}
	return nil
}

// refresh edits the proposal's message in place.
func (s *Syncer) refresh(ctx context.Context, p *approval.Proposal, spec catalog.Spec) {
	if p.TS == "" {
		return
	}
	msg := render.ProposalMessage(*p, spec, nil)
	if err := s.Slack.UpdateMessage(ctx, p.Channel, p.TS, msg); err != nil {
		s.log().Warn("could not update a proposal", "proposal", p.ID, "err", err)
	}
}

// execute runs an approved proposal once: only the caller that wins the
// fence runs it; the outcome, masked output and verification go to the
// thread and the audit trail.
func (s *Syncer) execute(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error {
	if s.Runner == nil {
		return nil
	}
	p, fence, err := s.Proposals.Begin(ctx, p.ID)
	if errors.Is(err, approval.ErrNotApproved) {
		return nil // another worker has it
	}
	if err != nil {
		return err
	}
	rec, err := s.Store.Get(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	scoped := s.catalog().For(s.scopeFor(rec))
	s.refresh(ctx, p, spec)
	res, runErr := s.Runner.Run(ctx, scoped, p.ActionID, false, p.Params, false)
	to, outcome := approval.Succeeded, fmt.Sprintf("exit %d", res.ExitCode)
	if runErr != nil {
		to, outcome = approval.Failed, runErr.Error()
	}
	if s.Vault != nil {
		if sess, err := s.Vault.Session(ctx, p.IncidentID); err == nil {
			outcome, res.Output = sess.String(outcome), sess.String(res.Output)
			_ = s.Vault.Save(ctx, p.IncidentID, sess)
		}
	}
	if p, err = s.Proposals.Finish(ctx, p.ID, fence, to, outcome); err != nil {
		return err
	}
	if s.Audit != nil {
		if _, err := s.Audit.Append(ctx, audit.Entry{Actor: "opsgate", Action: "executed", Incident: p.IncidentID,
			Details: map[string]string{"proposal": p.ID, "state": string(p.State), "output_sha256": res.Digest, "exit": fmt.Sprint(res.ExitCode)}}); err != nil {
			return err
		}
	}
	s.refresh(ctx, p, spec)
	out := strings.TrimSpace(res.Output)
	if len(out) > 2500 {
		out = out[:2500] + "…"
	}
	text := fmt.Sprintf("*%s* `%s`: %s", p.State, p.ActionID, render.Escape(outcome))
	if out != "" {
		text += "\n```" + strings.ReplaceAll(render.Escape(out), "```", "'''") + "```"
	}
	msg := slackapi.Message{Text: text}
	msg.ThreadTS = rec.Thread.TS
	if _, _, err := s.Slack.PostMessage(ctx, rec.Thread.Channel, msg); err != nil {
		s.log().Warn("could not post an action's output", "proposal", p.ID, "err", err)
	}
	if p.State != approval.Succeeded || spec.Verify == nil {
		return nil
	}
	v, err := s.Runner.Verify(ctx, scoped, p.ActionID, p.Params)
	to = approval.Verified
	if err != nil || !v.Holds {
		to = approval.VerifyFailed
	}
	if p, err = s.Proposals.Finish(ctx, p.ID, fence, to, v.Detail); err != nil {
		return err
	}
	if s.Audit != nil {
		if _, err := s.Audit.Append(ctx, audit.Entry{Actor: "opsgate", Action: "verified", Incident: p.IncidentID,
			Details: map[string]string{"proposal": p.ID, "state": string(p.State)}}); err != nil {
			return err
		}
	}
	s.refresh(ctx, p, spec)
	return nil
}
