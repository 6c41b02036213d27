package threads

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// KindDecision is an Approve, Reject or Undo click on a proposal.
const KindDecision = "decision" // payload: DecisionRequest

// DecisionRequest is queued by a click on a proposal's buttons.
type DecisionRequest struct {
	ProposalID  string `json:"proposal_id"`
	Hash        string `json:"hash"` // the proposal hash the clicker saw
	UserID      string `json:"user_id"`
	Approve     bool   `json:"approve"`
	Undo        bool   `json:"undo,omitempty"`
	Reason      string `json:"reason,omitempty"` // a rejection's reason (/triage reject)
	Click       string `json:"click,omitempty"`  // Slack's action_ts: identifies a redelivered click
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Runner executes approved actions (nil: proposals can be approved but
// not run).
type Runner interface {
	Run(ctx context.Context, s catalog.Scoped, id string, undo bool, params map[string]string, dryRun bool) (executor.Result, error)
	Verify(ctx context.Context, s catalog.Scoped, id string, params map[string]string) (executor.Verification, error)
}

// mayApprove: the action's users and groups, or the config's approvers.
func (s *Syncer) mayApprove(ctx context.Context, user string, a catalog.Approvals) (bool, error) {
	if len(a.Users)+len(a.Groups) == 0 {
		return s.isApprover(ctx, user)
	}
	return s.inAllowlist(ctx, user, a.Users, a.Groups)
}

// denial reports whether err is a refusal to answer (not a failure to retry).
func denial(err error) bool {
	for _, d := range []error{approval.ErrNotApprover, approval.ErrSelfApproval, approval.ErrExpired, approval.ErrNotPending,
		approval.ErrChanged, approval.ErrAlreadyVoted, approval.ErrNotUndoable, approval.ErrUndoRequested, catalog.ErrNoUndo,
		ErrVerifying, ErrNotValidNow, ErrUndoFailed} {
		if errors.Is(err, d) {
			return true
		}
	}
	return false
}

func (s *Syncer) handleDecision(ctx context.Context, req DecisionRequest) error {
	if s.Proposals == nil {
		return nil
	}
	answer := func(incidentID, text string) {
		s.tell(ctx, RevealRequest{IncidentID: incidentID, UserID: req.UserID, ChannelID: req.ChannelID, ResponseURL: req.ResponseURL}, slackapi.Message{Text: text})
	}
	p, err := s.Proposals.Get(ctx, req.ProposalID)
	if errors.Is(err, approval.ErrNotFound) {
		answer("", "This proposal no longer exists.")
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
	switch {
	case req.Undo:
		verb = "undo"
		var undo *approval.Proposal
		undo, completed, err = s.requestUndo(ctx, p, spec, req.UserID, req.Hash, req.Click, may)
		if err == nil {
			p = undo
		}
	case req.Approve:
		p, completed, err = s.Proposals.ApproveClick(ctx, p.ID, req.UserID, req.Hash, req.Click, may)
	default:
		verb = "reject"
		p, err = s.Proposals.Reject(ctx, p.ID, req.UserID, req.Reason, may)
	}
	if errors.Is(err, approval.ErrDuplicateClick) {
		// A redelivered click whose approval counted: no second audit entry.
		answer(p.IncidentID, fmt.Sprintf("Your approval was counted already; the proposal is %s.", p.State))
		return nil
	}
	if err != nil && !denial(err) {
		return err // Redis trouble: the click stays queued and is retried
	}
	if p.IsUndo() && p.Dead() {
		s.undoEnded(ctx, p) // also on a retried click: the unlink must not be lost
	}
	entry := audit.Entry{Actor: req.UserID, Action: verb, Incident: p.IncidentID, Details: map[string]string{"proposal": p.ID, "params_hash": p.Hash}}
	if verb == "reject" && err == nil && p.Reason != "" {
		entry.Details["reason"] = p.Reason
	}
	text := ""
	switch {
	case err != nil:
		entry.Action = verb + "_denied"
		entry.Details["reason"] = err.Error()
		text = "Not " + map[string]string{"approve": "approved", "reject": "rejected", "undo": "undone"}[verb] + ": " + err.Error() + "."
	case req.Undo && completed:
		text = "Undoing (one click: the action is low-risk)."
	case req.Undo:
		text = fmt.Sprintf("Undo proposed in the thread; it needs %d approval(s) from someone other than you.", p.Required)
	case req.Approve:
		text = fmt.Sprintf("Approved (%d of %d).", len(p.Approvals), p.Required)
	default:
		text = "Rejected."
	}
	// The queue delivers at least once: a click handled twice (reclaimed
	// from a slow worker) is audited and answered once.
	first, cerr := s.claimClick(ctx, req)
	if cerr != nil {
		return cerr // its first handling is under way (or died): retried later
	}
	if first {
		if aerr := s.record(ctx, entry); aerr != nil {
			s.releaseClick(ctx, req)
			return aerr
		}
		s.clickDone(ctx, req)
		answer(p.IncidentID, text)
	}
	if err == nil || errors.Is(err, approval.ErrExpired) { // an expiry changed the state too
		s.refresh(ctx, p)
	}
	if completed {
		return s.execute(ctx, p, spec)
	}
	return nil
}

// clickKey names a click by what was clicked (not by the outcome: an Undo
// click's proposal is the action's, whatever it led to).
func clickKey(req DecisionRequest) string {
	return "opsgate:click:" + req.ProposalID + ":" + req.UserID + ":" + req.Click
}

// errClickInFlight: another worker is writing this click's audit entry.
var errClickInFlight = errors.New("this click is being handled by another worker")

// claimClick claims a click's audit entry and answer: first is true for
// the one handling that writes them. A second handling while the first
// is under way is retried later (errClickInFlight) — if the first died,
// its claim lapses and the retry writes them; once done, it is skipped.
// Clicks without a Slack action_ts (/triage reject) are always first.
func (s *Syncer) claimClick(ctx context.Context, req DecisionRequest) (first bool, err error) {
	if req.Click == "" || s.Redis == nil {
		return true, nil
	}
	key := clickKey(req)
	ok, err := s.Redis.SetNX(ctx, key, "pending", 2*time.Minute).Result()
	if err != nil || ok {
		return true, nil // a Redis error lets it through: an extra entry beats a lost one
	}
	if state, _ := s.Redis.Get(ctx, key).Result(); state == "done" {
		return false, nil
	}
	return false, errClickInFlight
}

func (s *Syncer) clickDone(ctx context.Context, req DecisionRequest) {
	if req.Click != "" && s.Redis != nil {
		s.Redis.Set(ctx, clickKey(req), "done", 24*time.Hour)
	}
}

// releaseClick gives up a claim whose audit entry failed, so the retry
// writes it.
func (s *Syncer) releaseClick(ctx context.Context, req DecisionRequest) {
	if req.Click != "" && s.Redis != nil {
		s.Redis.Del(ctx, clickKey(req))
	}
}

// ErrVerifying: the action's verification is still running; undo waits
// for its result.
var ErrVerifying = errors.New("its verification is still running; undo once it has finished")

// ErrUndoFailed: the action's undo ran and failed; it may have done part
// of its work, so opsgate does not offer another.
var ErrUndoFailed = errors.New("its undo ran and failed (it may have done part of its work): check by hand")

// maxUndoAttempts bounds fresh undo proposals per action.
const maxUndoAttempts = 5

// requestUndo proposes the undo of p. requester "" is opsgate itself
// (after a failed verification). The undo is its own proposal (its id
// derives from p's, so a double click asks once) and goes through the
// action's approval rules; for a low-risk action that needs one approval
// the requester's click is that approval (one-click undo). After an undo
// was rejected, expired or failed, a fresh one may be asked for. It
// returns the undo proposal and whether it is approved.
func (s *Syncer) requestUndo(ctx context.Context, p *approval.Proposal, spec catalog.Spec, requester, hash, click string, may bool) (*approval.Proposal, bool, error) {
	switch {
	case spec.Undo == nil:
		return nil, false, fmt.Errorf("%s: %w", p.ActionID, catalog.ErrNoUndo)
	case p.IsUndo():
		return nil, false, approval.ErrNotUndoable
	case requester != "" && !may:
		return nil, false, approval.ErrNotApprover
	case requester != "" && hash != p.Hash:
		return nil, false, approval.ErrChanged
	case p.Verifying:
		return nil, false, ErrVerifying
	}
	rec, err := s.Store.Get(ctx, p.IncidentID)
	if err != nil {
		return nil, false, err
	}
	oneClick := spec.Risk == catalog.RiskLow && spec.Approvals.Required <= 1 && requester != ""
	for attempt := 0; attempt < maxUndoAttempts; attempt++ {
		undoID := approval.UndoID(p.ID, attempt)
		if prev, err := s.Proposals.Get(ctx, undoID); err == nil && prev.Dead() {
			continue // that undo ended without undoing: ask afresh
		} else if err != nil && !errors.Is(err, approval.ErrNotFound) {
			return nil, false, err
		}
		orig, linked, err := s.Proposals.RequestUndo(ctx, p.ID, undoID)
		if err != nil {
			return nil, false, err
		}
		u := newProposal(rec, spec, p.ActionID, p.Params, SourceUndo, requester, 0)
		u.ID, u.UndoOf, u.Triggerer = undoID, p.ID, p.Triggerer
		if requester == "" {
			u.Source = SourceVerify
		}
		if oneClick {
			u.Proposer, u.Requester = "", requester
		}
		undo, _, err := s.open(ctx, rec, s.scoped(rec), spec, u)
		if err != nil {
			// Unlink what this call linked, so that the action is not left
			// "undo requested" with no undo to approve.
			if linked {
				if _, cerr := s.Proposals.ClearUndo(ctx, p.ID, undoID); cerr != nil {
					s.log().Warn("could not unlink a failed undo", "proposal", p.ID, "err", cerr)
				}
			}
			return nil, false, err
		}
		s.refresh(ctx, orig)
		if undo.State == approval.Failed {
			return nil, false, ErrUndoFailed
		}
		if !oneClick {
			return undo, false, nil
		}
		approved, done, err := s.Proposals.ApproveClick(ctx, undoID, requester, undo.Hash, click, true)
		if errors.Is(err, approval.ErrSelfApproval) {
			// The requester opened the triage (allow_self: false): the
			// undo stays proposed for another approver.
			return undo, false, nil
		}
		return approved, done, err
	}
	return nil, false, fmt.Errorf("%w (%d undos were asked for already)", approval.ErrUndoRequested, maxUndoAttempts)
}

// undoEnded unlinks an undo that ended without undoing (rejected, expired,
// failed) from its action, whose Undo button comes back.
func (s *Syncer) undoEnded(ctx context.Context, undo *approval.Proposal) {
	if !undo.IsUndo() || !undo.Dead() {
		return
	}
	orig, err := s.Proposals.ClearUndo(ctx, undo.UndoOf, undo.ID)
	if err != nil {
		s.log().Warn("could not unlink an undo", "undo", undo.ID, "err", err)
		return
	}
	s.refresh(ctx, orig)
}

// refresh edits the proposal's message in place (its spec from the
// catalog; one that left the catalog keeps its message).
func (s *Syncer) refresh(ctx context.Context, p *approval.Proposal) {
	spec, ok := s.catalog().Get(p.ActionID)
	if p.TS == "" || !ok {
		return
	}
	msg := render.ProposalMessage(*p, spec)
	if err := s.Slack.UpdateMessage(ctx, p.Channel, p.TS, msg); err != nil {
		s.log().Warn("could not update a proposal", "proposal", p.ID, "err", err)
	}
}
