// Package approval is the state machine of a proposed remediation: who may
// approve it, how many must, until when, and which single worker may run
// it. Every transition is a compare-and-swap on Redis (Lua), so double
// clicks, replayed requests and racing replicas cannot approve twice, count
// one approver twice, or execute twice.
//
//	PROPOSED → APPROVED → EXECUTING → SUCCEEDED | FAILED
//	SUCCEEDED → VERIFIED | VERIFY_FAILED;  VERIFIED | VERIFY_FAILED | SUCCEEDED → UNDONE
//	PROPOSED → REJECTED | EXPIRED
package approval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/versioned"
)

// State is a proposal's state.
type State string

// States.
const (
	Proposed     State = "PROPOSED"
	Approved     State = "APPROVED"
	Executing    State = "EXECUTING"
	Succeeded    State = "SUCCEEDED"
	Failed       State = "FAILED"
	Verified     State = "VERIFIED"
	VerifyFailed State = "VERIFY_FAILED"
	Undone       State = "UNDONE"
	Rejected     State = "REJECTED"
	Expired      State = "EXPIRED"
)

// Sentinel errors callers branch on (each maps to a clear ephemeral reason).
var (
	ErrNotFound       = errors.New("no such proposal")
	ErrNotApprover    = errors.New("not an approver for this action")
	ErrSelfApproval   = errors.New("the proposer (or, for this action, the person who triggered the triage) cannot approve it")
	ErrExpired        = errors.New("the proposal has expired")
	ErrNotPending     = errors.New("the proposal is no longer waiting for approval")
	ErrChanged        = errors.New("the proposal changed since it was shown; approvals were voided")
	ErrAlreadyVoted   = errors.New("you already approved this proposal")
	ErrNotApproved    = errors.New("the proposal is not approved")
	ErrFenced         = errors.New("another worker holds the execution")
	ErrBadTransition  = errors.New("transition not allowed from this state")
	ErrNotUndoable    = errors.New("only an action that ran can be undone")
	ErrUndoRequested  = errors.New("an undo was already requested")
	ErrNotStalled     = errors.New("the execution is not stalled")
	ErrDuplicateClick = errors.New("this click was already counted")
)

// Index keys: sorted sets of proposal ids by deadline (unix seconds).
const (
	ExecutingKey = "opsgate:executing" // executions by deadline
	PendingKey   = "opsgate:pending"   // proposals waiting for approval, by expiry
)

// Approval is one approver's click.
type Approval struct {
	User  string    `json:"user"`
	At    time.Time `json:"at"`
	Click string    `json:"click,omitempty"` // the click's id (Slack action_ts)
}

// Proposal is a remediation waiting for, or past, its approvals.
type Proposal struct {
	ID         string            `json:"id"`
	IncidentID string            `json:"incident_id"`
	ActionID   string            `json:"action_id"`
	Params     map[string]string `json:"params"`
	Hash       string            `json:"hash"`                // of action id + params: approvals are bound to it
	Preview    []string          `json:"preview,omitempty"`   // what it will run, as shown to approvers
	DryRun     string            `json:"dry_run,omitempty"`   // the tool's server-side dry run, where it has one (masked)
	Source     string            `json:"source"`              // "rca", "handler", "human", "undo", "verify" (package actions)
	Proposer   string            `json:"proposer,omitempty"`  // Slack user id of a human proposer
	Triggerer  string            `json:"triggerer,omitempty"` // who triggered the triage
	Required   int               `json:"required"`
	AllowSelf  bool              `json:"allow_self"`
	CreatedAt  time.Time         `json:"created_at"`
	ExpiresAt  time.Time         `json:"expires_at"`
	State      State             `json:"state"`
	Approvals  []Approval        `json:"approvals,omitempty"`
	RejectedBy string            `json:"rejected_by,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	Fence      int64             `json:"fence,omitempty"` // execution fencing token
	Outcome    string            `json:"outcome,omitempty"`
	UpdatedAt  time.Time         `json:"updated_at"`
	Channel    string            `json:"channel,omitempty"` // where its message is
	TS         string            `json:"ts,omitempty"`
	// UndoOf names the proposal this one undoes (it runs that action's undo).
	UndoOf string `json:"undo_of,omitempty"`
	// UndoID names the undo proposal requested for this one.
	UndoID string `json:"undo_id,omitempty"`
	// Stalled is set when an execution outlived its deadline: the worker
	// running it stopped, its outcome is unknown, and it is never re-run.
	Stalled bool `json:"stalled,omitempty"`
	// StartedAt and Deadline bound the execution (set by Begin).
	StartedAt time.Time `json:"started_at,omitzero"`
	Deadline  time.Time `json:"deadline,omitzero"`
	// Requester asked for a one-click undo (and is its one approval).
	Requester string `json:"requester,omitempty"`
	// Verifying: it succeeded and its verification has not finished yet
	// (by VerifyBy, or the sweep reports it).
	Verifying bool      `json:"verifying,omitempty"`
	VerifyBy  time.Time `json:"verify_by,omitzero"`
	// NotRun: it failed before anything ran (its command changed, …).
	NotRun bool `json:"not_run,omitempty"`
}

// IsUndo reports whether p runs an action's undo.
func (p *Proposal) IsUndo() bool { return p.UndoOf != "" }

// Hash binds approvals to the exact action and parameters.
func Hash(actionID string, params map[string]string) string {
	keys := slices.Sorted(maps.Keys(params))
	h := sha256.New()
	fmt.Fprintf(h, "%q", actionID)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%q=%q", k, params[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Store keeps proposals in Redis hashes {rev, data}.
type Store struct {
	rdb redis.Cmdable
	ttl time.Duration
	now func() time.Time
	// Keys seal the proposals in Redis (nil: plaintext — tests only): an
	// approval edited into Redis by hand then fails to load.
	Keys versioned.Sealer
	// Durable, when set, holds Begin until the replicas have the fence:
	// an execution that a failover could forget might run twice.
	Durable Waiter
	// Observe is told each state a proposal reaches (created: PROPOSED;
	// then each change of state), for a metric; nil: nobody.
	Observe func(State)
}

// Waiter waits until the replicas hold the writes to a key's master (a
// *durable.Waiter).
type Waiter interface {
	Wait(ctx context.Context, key string) error
}

// NewStore returns a store; now nil = time.Now.
func NewStore(rdb redis.Cmdable, ttl time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, ttl: ttl, now: now}
}

// Key is a proposal's Redis key.
func Key(id string) string { return "opsgate:proposal:" + id }

// Create stores a new proposal in PROPOSED (false when the id exists: a
// redelivered proposal is one proposal).
func (s *Store) Create(ctx context.Context, p Proposal) (bool, error) {
	now := s.now()
	key := p.ActionID
	if p.IsUndo() {
		key = "undo " + p.ActionID // an undo is approved as an undo, never as the action
	}
	p.State, p.CreatedAt, p.UpdatedAt, p.Hash = Proposed, now, now, Hash(key, p.Params)
	if p.Required < 1 {
		p.Required = 1
	}
	if !p.ExpiresAt.IsZero() {
		// Indexed first (a crash after the swap must leave it findable);
		// a member that is not pending is dropped by Expire.
		if err := s.rdb.ZAdd(ctx, PendingKey, redis.Z{Score: float64(p.ExpiresAt.Unix()), Member: p.ID}).Err(); err != nil {
			return false, fmt.Errorf("index proposal: %w", err)
		}
	}
	ok, err := versioned.Swap(ctx, s.rdb, s.Keys, Key(p.ID), 0, p, s.ttl)
	if err != nil {
		return false, fmt.Errorf("create proposal: %w", err)
	}
	if ok && s.Observe != nil {
		s.Observe(Proposed)
	}
	return ok, nil
}

// Waiting returns the proposals waiting for approval (at most limit).
func (s *Store) Waiting(ctx context.Context, limit int64) ([]*Proposal, error) {
	ids, err := s.rdb.ZRange(ctx, PendingKey, 0, limit-1).Result()
	if err != nil {
		return nil, fmt.Errorf("waiting proposals: %w", err)
	}
	var out []*Proposal
	for _, id := range ids {
		p, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // expired
		}
		if err != nil {
			return nil, err
		}
		if p.State == Proposed {
			out = append(out, p)
		}
	}
	return out, nil
}

// Get loads a proposal.
func (s *Store) Get(ctx context.Context, id string) (*Proposal, error) {
	p, _, err := s.load(ctx, id)
	return p, err
}

func (s *Store) load(ctx context.Context, id string) (*Proposal, int64, error) {
	var p Proposal
	rev, found, err := versioned.Load(ctx, s.rdb, s.Keys, Key(id), &p)
	if err != nil {
		return nil, 0, fmt.Errorf("load proposal: %w", err)
	}
	if !found {
		return nil, 0, ErrNotFound
	}
	return &p, rev, nil
}

// update applies fn under compare-and-swap until it wins or fn refuses.
// fn returns whether it changed p; an error aborts (and is returned with
// the current proposal).
func (s *Store) update(ctx context.Context, id string, fn func(p *Proposal, now time.Time) (bool, error)) (*Proposal, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, rev, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		now := s.now()
		before := p.State
		changed, ferr := fn(p, now)
		if !changed {
			return p, ferr
		}
		p.UpdatedAt = now
		ok, err := versioned.Swap(ctx, s.rdb, s.Keys, Key(id), rev, p, s.ttl)
		if err != nil {
			return nil, fmt.Errorf("update proposal: %w", err)
		}
		if ok {
			if s.Observe != nil && p.State != before {
				s.Observe(p.State)
			}
			return p, ferr
		}
	}
}

// StalledCount counts executions past their deadline (the sweep reports
// them; they are never re-run).
func (s *Store) StalledCount(ctx context.Context) (int64, error) {
	return s.rdb.ZCount(ctx, ExecutingKey, "-inf", strconv.FormatInt(s.now().Unix(), 10)).Result()
}

// expire moves a pending proposal past its expiry to EXPIRED.
func expire(p *Proposal, now time.Time) bool {
	if p.State == Proposed && !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt) {
		p.State = Expired
		return true
	}
	return false
}

// Approve records user's approval. isApprover answers whether the user
// may approve this action (config users and Slack user-group members);
// hash is the proposal hash the user saw. It reports whether this click
// completed the approvals (exactly one click ever does).
func (s *Store) Approve(ctx context.Context, id, user, hash string, isApprover bool) (*Proposal, bool, error) {
	return s.ApproveClick(ctx, id, user, hash, "", isApprover)
}

// ApproveClick is Approve for one identified click (Slack's action_ts):
// the same click delivered again after it completed the approvals — its
// worker failed before the execution began — completes again, so the
// action is not stranded in APPROVED (Begin still lets one executor in).
func (s *Store) ApproveClick(ctx context.Context, id, user, hash, click string, isApprover bool) (*Proposal, bool, error) {
	completed := false
	p, err := s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
		completed = false
		if expire(p, now) {
			return true, ErrExpired
		}
		if click != "" && slices.ContainsFunc(p.Approvals, func(a Approval) bool { return a.User == user && a.Click == click }) {
			if p.State == Approved && hash == p.Hash {
				completed = true
				return false, nil
			}
			return false, ErrDuplicateClick // counted already; the proposal has moved on
		}
		switch {
		case p.State != Proposed:
			return false, ErrNotPending
		case hash != p.Hash:
			return false, ErrChanged
		case !isApprover:
			return false, ErrNotApprover
		case user == p.Proposer || (!p.AllowSelf && user == p.Triggerer):
			return false, ErrSelfApproval
		case slices.ContainsFunc(p.Approvals, func(a Approval) bool { return a.User == user }):
			return false, ErrAlreadyVoted
		}
		p.Approvals = append(p.Approvals, Approval{User: user, At: now, Click: click})
		if len(p.Approvals) >= p.Required {
			p.State = Approved
			completed = true
		}
		return true, nil
	})
	return p, completed && err == nil, err
}

// Reject ends a pending proposal (any approver may).
func (s *Store) Reject(ctx context.Context, id, user, reason string, isApprover bool) (*Proposal, error) {
	return s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
		if expire(p, now) {
			return true, ErrExpired
		}
		if p.State != Proposed {
			return false, ErrNotPending
		}
		if !isApprover {
			return false, ErrNotApprover
		}
		if len(reason) > 500 {
			reason = reason[:500]
		}
		p.State, p.RejectedBy, p.Reason = Rejected, user, reason
		return true, nil
	})
}

// Begin moves an approved proposal to EXECUTING and returns the fencing
// token the executor must present; exactly one caller wins. The execution
// is indexed by its deadline (now + timeout) so that one whose worker died
// is found by Stalled and reported, never re-run.
func (s *Store) Begin(ctx context.Context, id string, timeout time.Duration) (*Proposal, int64, error) {
	// Indexed first: a crash after the swap must leave it findable. A
	// member whose proposal is not EXECUTING is dropped by Stalled.
	deadline := s.now().Add(timeout)
	if err := s.rdb.ZAddNX(ctx, ExecutingKey, redis.Z{Score: float64(deadline.Unix()), Member: id}).Err(); err != nil {
		return nil, 0, fmt.Errorf("index execution: %w", err)
	}
	p, err := s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
		if p.State != Approved {
			return false, ErrNotApproved
		}
		p.State, p.StartedAt, p.Deadline = Executing, now, deadline
		p.Fence++
		return true, nil
	})
	if err != nil {
		return p, 0, err
	}
	if s.Durable != nil {
		// Not acted on until it survives a failover. If the replicas do not
		// answer, it is EXECUTING with nothing run: the sweep reports it.
		if err := s.Durable.Wait(ctx, Key(id)); err != nil {
			return p, 0, fmt.Errorf("begin %s: %w", id, err)
		}
	}
	return p, p.Fence, nil
}

func clipOutcome(s string) string {
	if len(s) > 2000 {
		return s[:2000]
	}
	return s
}

// Ran reports whether the action ran and succeeded, so it may be undone
// (SUCCEEDED, VERIFIED or VERIFY_FAILED: the states that may move to UNDONE).
func (p *Proposal) Ran() bool { return slices.Contains(allowed[p.State], Undone) }

var allowed = map[State][]State{
	Executing:    {Succeeded, Failed},
	Succeeded:    {Verified, VerifyFailed, Undone},
	Verified:     {Undone},
	VerifyFailed: {Undone},
}

// Finish records an outcome; from EXECUTING only with the current fence.
func (s *Store) Finish(ctx context.Context, id string, fence int64, to State, outcome string) (*Proposal, error) {
	return s.FinishRun(ctx, id, fence, to, outcome, RunInfo{})
}

// RunInfo qualifies an execution's outcome.
type RunInfo struct {
	NotRun       bool          // it failed before anything ran
	VerifyWithin time.Duration // > 0 with SUCCEEDED: verification follows and must finish within this
}

// FinishRun is Finish with what the outcome means: a SUCCEEDED whose
// verification follows stays indexed until VerifyBy, so a verification
// whose worker died is reported by the sweep too.
func (s *Store) FinishRun(ctx context.Context, id string, fence int64, to State, outcome string, info RunInfo) (*Proposal, error) {
	p, err := s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
		if p.State == Executing && p.Fence != fence {
			return false, ErrFenced
		}
		if !slices.Contains(allowed[p.State], to) {
			return false, fmt.Errorf("%w: %s → %s", ErrBadTransition, p.State, to)
		}
		p.State, p.Outcome = to, clipOutcome(outcome)
		p.NotRun = to == Failed && info.NotRun
		p.Verifying = to == Succeeded && info.VerifyWithin > 0
		if p.Verifying {
			p.VerifyBy = now.Add(info.VerifyWithin)
		}
		return true, nil
	})
	if err != nil {
		return p, err
	}
	if p.Verifying {
		err = s.rdb.ZAdd(ctx, ExecutingKey, redis.Z{Score: float64(p.VerifyBy.Unix()), Member: id}).Err()
	} else if p.State != Executing {
		err = s.rdb.ZRem(ctx, ExecutingKey, id).Err()
	}
	if err != nil {
		return p, fmt.Errorf("index execution: %w", err)
	}
	return p, nil
}

// SetMessage records where the proposal's message was posted.
func (s *Store) SetMessage(ctx context.Context, id, channel, ts string) (*Proposal, error) {
	return s.update(ctx, id, func(p *Proposal, now time.Time) (bool, error) {
		if p.TS == ts && p.Channel == channel {
			return false, nil
		}
		p.Channel, p.TS = channel, ts
		return true, nil
	})
}
