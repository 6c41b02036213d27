package actions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/queue"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Access says who may approve an action (package access).
type Access interface {
	MayApprove(ctx context.Context, user string, a catalog.Approvals) (bool, error)
}

// Executor runs an approved proposal (package execution).
type Executor interface {
	Execute(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error
}

// Decider handles Approve, Reject and Undo clicks (and /triage reject).
type Decider struct {
	Proposals *approval.Store
	Specs     Specs
	Access    Access
	Proposer  *Proposer // opens undo proposals
	Board     *Board
	Audit     Auditor
	Clicks    redis.Cmdable // per-click claims
	Executor  Executor      // nil: approved proposals are not run
	Teller    slackapi.Teller
	Log       *slog.Logger
}

func (d *Decider) log() *slog.Logger { return cmp.Or(d.Log, slog.Default()) }

// ErrVerifying: the action's verification is still running; undo waits
// for its result.
var ErrVerifying = errors.New("its verification is still running; undo once it has finished")

// ErrUndoFailed: the action's undo ran and failed; it may have done part
// of its work, so opsgate does not offer another.
var ErrUndoFailed = errors.New("its undo ran and failed (it may have done part of its work): check by hand")

// denials are refusals to answer (not failures to retry); each one's own
// text is the answer the clicker sees.
var denials = []error{approval.ErrNotApprover, approval.ErrSelfApproval, approval.ErrExpired, approval.ErrNotPending,
	approval.ErrChanged, approval.ErrAlreadyVoted, approval.ErrNotUndoable, approval.ErrUndoRequested, catalog.ErrNoUndo,
	ErrVerifying, ErrNotValidNow, ErrUndoFailed}

// denial returns the sentinel behind a refusal, or nil for a failure.
func denial(err error) error {
	for _, d := range denials {
		if errors.Is(err, d) {
			return d
		}
	}
	return nil
}

var past = map[string]string{"approve": "approved", "reject": "rejected", "undo": "undone"}

// Handle decides one click: the decision is recorded by compare-and-swap,
// audited and answered once (a redelivered click changes nothing), the
// proposal's message is edited, and the approval that completes M-of-N
// hands the proposal to the executor.
func (d *Decider) Handle(ctx context.Context, req jobs.Decision) error {
	answer := func(text string) {
		if err := slackapi.Tell(ctx, d.Teller, req.ChannelID, req.UserID, req.ResponseURL, slackapi.Message{Text: text}); err != nil {
			d.log().Warn("could not answer a click", "proposal", req.ProposalID, "err", err)
		}
	}
	p, err := d.Proposals.Get(ctx, req.ProposalID)
	if errors.Is(err, approval.ErrNotFound) {
		answer("This proposal no longer exists.")
		return nil
	}
	if err != nil {
		return err
	}
	spec, ok := d.Specs.Get(p.ActionID)
	if !ok {
		return fmt.Errorf("proposal %s: action %s left the catalog: %w", p.ID, p.ActionID, queue.ErrPermanent)
	}
	may, err := d.Access.MayApprove(ctx, req.UserID, spec.Approvals)
	if err != nil {
		return err
	}
	var completed bool
	verb := "approve"
	switch {
	case req.Undo:
		verb = "undo"
		var undo *approval.Proposal
		undo, completed, err = d.requestUndo(ctx, p, spec, req.UserID, req.Hash, req.Click, may)
		if err == nil {
			p = undo
		}
	case req.Approve:
		p, completed, err = d.Proposals.ApproveClick(ctx, p.ID, req.UserID, req.Hash, req.Click, may)
	default:
		verb = "reject"
		// The reason is free text: stored, shown and audited masked.
		reason := req.Reason
		if merr := d.Proposer.Masker.Texts(ctx, p.IncidentID, &reason); merr != nil {
			d.log().Warn("masking unavailable: rejection reason withheld", "proposal", p.ID, "err", merr)
		}
		p, err = d.Proposals.Reject(ctx, p.ID, req.UserID, reason, may)
	}
	if errors.Is(err, approval.ErrDuplicateClick) {
		// A redelivered click whose approval counted: no second audit entry.
		answer(fmt.Sprintf("Your approval was counted already; the proposal is %s.", p.State))
		return nil
	}
	refused := denial(err)
	if err != nil && refused == nil {
		return err // Redis trouble: the click stays queued and is retried
	}
	if p.IsUndo() && p.Dead() {
		d.UndoEnded(ctx, p) // also on a retried click: the unlink must not be lost
	}
	entry := audit.Entry{Actor: req.UserID, Action: verb, Incident: p.IncidentID, Details: map[string]string{"proposal": p.ID, "params_hash": p.Hash}}
	if verb == "reject" && err == nil && p.Reason != "" {
		entry.Details["reason"] = p.Reason
	}
	var text string
	switch {
	case refused != nil:
		entry.Action = verb + "_denied"
		entry.Details["reason"] = err.Error()
		text = "Not " + past[verb] + ": " + refused.Error() + "."
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
	first, cerr := d.claimClick(ctx, req)
	if cerr != nil {
		return cerr // its first handling is under way (or died): retried later
	}
	if first {
		if _, aerr := d.Audit.Append(ctx, entry); aerr != nil {
			d.releaseClick(ctx, req)
			return aerr
		}
		d.clickDone(ctx, req)
		answer(text)
	}
	if err == nil || errors.Is(err, approval.ErrExpired) { // an expiry changed the state too
		d.Board.Refresh(ctx, p)
	}
	if completed && d.Executor != nil {
		return d.Executor.Execute(ctx, p, spec)
	}
	return nil
}

// clickKey names a click by what was clicked (not by the outcome: an Undo
// click's proposal is the action's, whatever it led to).
func clickKey(req jobs.Decision) string {
	return "opsgate:click:" + req.ProposalID + ":" + req.UserID + ":" + req.Click
}

// errClickInFlight: another worker is writing this click's audit entry.
var errClickInFlight = errors.New("this click is being handled by another worker")

// claimClick claims a click's audit entry and answer: first is true for
// the one handling that writes them. A second handling while the first
// is under way is retried later (errClickInFlight) — if the first died,
// its claim lapses and the retry writes them; once done, it is skipped.
// Clicks without a Slack action_ts (/triage reject) are always first.
func (d *Decider) claimClick(ctx context.Context, req jobs.Decision) (first bool, err error) {
	if req.Click == "" || d.Clicks == nil {
		return true, nil
	}
	key := clickKey(req)
	ok, err := d.Clicks.SetNX(ctx, key, "pending", 2*time.Minute).Result()
	if err != nil || ok {
		return true, nil // a Redis error lets it through: an extra entry beats a lost one
	}
	if state, _ := d.Clicks.Get(ctx, key).Result(); state == "done" {
		return false, nil
	}
	return false, errClickInFlight
}

func (d *Decider) clickDone(ctx context.Context, req jobs.Decision) {
	if req.Click != "" && d.Clicks != nil {
		d.Clicks.Set(ctx, clickKey(req), "done", 24*time.Hour)
	}
}

// releaseClick gives up a claim whose audit entry failed, so the retry
// writes it.
func (d *Decider) releaseClick(ctx context.Context, req jobs.Decision) {
	if req.Click != "" && d.Clicks != nil {
		d.Clicks.Del(ctx, clickKey(req))
	}
}
