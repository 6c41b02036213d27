package actions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Proposal sources.
const (
	SourceRCA     = "rca"     // the checked root-cause analysis
	SourceHandler = "handler" // the matching context handler's runbook steps
	SourceHuman   = "human"   // /triage propose
	SourceVerify  = "verify"  // an undo after a failed verification
	SourceUndo    = "undo"    // an Undo click
)

// ErrNotValidNow: the action's parameters no longer pass the catalog or
// the incident's scope (they changed since it was proposed).
var ErrNotValidNow = errors.New("not valid for this incident now")

// Incidents reads incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
}

// Scopes scopes the catalog to an incident (package scope).
type Scopes interface {
	For(ctx context.Context, rec *incident.Record) (catalog.Scoped, error)
}

// DryRunner asks a tool for a server-side dry run.
type DryRunner interface {
	Run(ctx context.Context, s catalog.Scoped, id string, undo bool, params map[string]string, dryRun bool) (executor.Result, error)
}

// Masker masks texts with the incident's placeholders, withholding them
// when it cannot (package view).
type Masker interface {
	Texts(ctx context.Context, incidentID string, texts ...*string) error
}

// Auditor appends to the audit trail.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Responder answers a slash command through its response_url (guarded).
type Responder interface {
	Respond(ctx context.Context, responseURL string, m slackapi.Message) error
}

// Proposer creates proposals and posts them.
type Proposer struct {
	Proposals *approval.Store
	Incidents Incidents
	Scopes    Scopes
	Board     *Board
	DryRun    DryRunner // nil: no dry runs
	Masker    Masker
	Audit     Auditor
	Responder Responder
	// Limiter bounds how many proposals one person may make (nil: no
	// bound): each posts a message and asks approvers for attention.
	Limiter Limiter
	Now     func() time.Time
	Log     *slog.Logger
}

// Limiter counts a person's proposals (a *ratelimit.Window).
type Limiter interface {
	Allow(ctx context.Context, key string) (ok bool, n int64, err error)
}

func (p *Proposer) log() *slog.Logger { return cmp.Or(p.Log, slog.Default()) }

// Propose turns checked actions (from the analysis or the handler) into
// proposals and posts each with its Approve / Reject buttons. A
// proposal's id derives from the incident and the action's hash, so a
// redelivery — or the analysis proposing what the handler did — proposes
// nothing new.
func (p *Proposer) Propose(ctx context.Context, incidentID string, actions []rca.Action, source string) error {
	if len(actions) == 0 {
		return nil
	}
	rec, err := p.Incidents.Get(ctx, incidentID)
	if err != nil || !rec.HasThread() {
		return err
	}
	scoped, err := p.Scopes.For(ctx, rec)
	if err != nil {
		return err
	}
	for _, a := range actions {
		spec, ok := scoped.Catalog.Get(a.ID)
		params, why := scoped.Normalize(a.ID, a.Params)
		if !ok || why != "" {
			p.log().Warn("proposal dropped: not valid for this incident", "incident", incidentID, "action", a.ID, "source", source)
			continue // the analysis checked it already; the catalog or scope may have changed since
		}
		if _, _, err := p.Open(ctx, rec, scoped, spec, p.New(rec, spec, a.ID, params, source, "", 0)); err != nil {
			return err
		}
	}
	return nil
}

// New fills a proposal for spec; attempt > 0 derives a fresh id (a human
// may propose again what was rejected or has expired).
func (p *Proposer) New(rec *incident.Record, spec catalog.Spec, actionID string, params map[string]string, source, proposer string, attempt int) approval.Proposal {
	h := approval.Hash(actionID, params)
	if attempt > 0 {
		h = approval.Hash(fmt.Sprintf("%s#%d", actionID, attempt), params)
	}
	return approval.Proposal{ID: jobs.ProposalID(rec.Snapshot.ID, h), IncidentID: rec.Snapshot.ID, ActionID: actionID, Params: params,
		Source: source, Proposer: proposer, Triggerer: rec.TriggeredBy, Required: spec.Approvals.Required, AllowSelf: spec.Approvals.AllowSelf,
		ExpiresAt: p.now().Add(spec.Expiry)}
}

func (p *Proposer) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// Open creates a proposal (audited once) and posts its message unless it
// has one; it returns the stored proposal and whether this call created it.
func (p *Proposer) Open(ctx context.Context, rec *incident.Record, scoped catalog.Scoped, spec catalog.Spec, prop approval.Proposal) (*approval.Proposal, bool, error) {
	preview, err := scoped.Render(prop.ActionID, prop.IsUndo(), prop.Params)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrNotValidNow, err)
	}
	prop.Preview = preview
	return p.Offer(ctx, rec, spec, prop, func(pr *approval.Proposal) { pr.DryRun = p.dryRun(ctx, scoped, spec, *pr) })
}

// Offer creates prop (audited once) and posts its message unless it has
// one, for a proposal whose preview is set already (a built-in action's);
// prepare, when not nil, runs only when prop is about to be created here.
func (p *Proposer) Offer(ctx context.Context, rec *incident.Record, spec catalog.Spec, prop approval.Proposal, prepare func(*approval.Proposal)) (*approval.Proposal, bool, error) {
	created := false
	got, err := p.Proposals.Get(ctx, prop.ID)
	if errors.Is(err, approval.ErrNotFound) { // not a redelivery: prepare it and create it
		if prepare != nil {
			prepare(&prop)
		}
		if created, err = p.Proposals.Create(ctx, prop); err == nil {
			got, err = p.Proposals.Get(ctx, prop.ID) // ours, or a racing replica's
		}
	}
	if err != nil {
		return nil, false, err
	}
	if created {
		d := map[string]string{"proposal": got.ID, "action": got.ActionID, "params_hash": got.Hash, "source": got.Source}
		if got.IsUndo() {
			d["undo_of"] = got.UndoOf
		}
		actor := got.Proposer
		if actor == "" {
			actor = got.Requester
		}
		if actor == "" {
			actor = audit.System
		}
		if _, err := p.Audit.Append(ctx, audit.Entry{Actor: actor, Action: "proposed", Incident: got.IncidentID, Details: d}); err != nil {
			return nil, false, err
		}
	}
	if got.TS != "" || got.State != approval.Proposed {
		return got, created, nil // posted already (a retry after the post), or decided
	}
	ts, err := p.Board.Post(ctx, rec, got, spec)
	if err != nil {
		return nil, false, queue.PermanentIf(err, slackapi.ErrFinal)
	}
	got, err = p.Proposals.SetMessage(ctx, got.ID, rec.Thread.Channel, ts)
	return got, created, err
}

// dryRun asks the tool for a server-side dry run (kubectl
// --dry-run=server) where it has one, and says so where it has none; its
// output is masked like any other.
func (p *Proposer) dryRun(ctx context.Context, scoped catalog.Scoped, spec catalog.Spec, prop approval.Proposal) string {
	e := spec.Exec(prop.IsUndo())
	if p.DryRun == nil || e == nil || len(e.Kubectl) == 0 {
		return ""
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := p.DryRun.Run(dctx, scoped, prop.ActionID, prop.IsUndo(), prop.Params, true)
	out := strings.TrimSpace(res.Output)
	switch {
	case errors.Is(err, executor.ErrNoDryRun):
		out = err.Error() + " — the command above is the preview"
	case err != nil:
		if out == "" {
			out = err.Error()
		}
		out = "failed: " + lastLine(out)
	}
	if err := p.Masker.Texts(ctx, prop.IncidentID, &out); err != nil {
		p.log().Warn("masking unavailable: dry-run output withheld", "incident", prop.IncidentID, "err", err)
	}
	return render.Truncate(out, 400)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// maxHumanAttempts bounds how often one action may be proposed afresh by
// hand for one incident.
const maxHumanAttempts = 5

// Handle answers `/triage propose`: the action must be in the catalog
// and valid for the incident's scope; the proposer can never approve it.
func (p *Proposer) Handle(ctx context.Context, req jobs.Propose) error {
	reply := func(text string) error { p.respond(ctx, req.IncidentID, req.ResponseURL, text); return nil }
	rec, err := p.Incidents.Get(ctx, req.IncidentID)
	if errors.Is(err, incident.ErrNotFound) || (err == nil && !rec.HasThread()) {
		return reply(fmt.Sprintf("Incident %s has no opsgate thread yet; run `/triage %s` first.", req.IncidentID, req.IncidentID))
	}
	if err != nil {
		return err
	}
	scoped, err := p.Scopes.For(ctx, rec)
	if err != nil {
		return err
	}
	spec, ok := scoped.Catalog.Get(req.ActionID)
	if !ok {
		return reply(fmt.Sprintf("There is no action %q. Actions: %s.", render.Truncate(req.ActionID, 64), strings.Join(actionIDs(scoped.Catalog), ", ")))
	}
	params, why := scoped.Normalize(req.ActionID, req.Params)
	if why != "" {
		p.auditDenied(ctx, req, why)
		return reply(fmt.Sprintf("Not proposed: %s.", why))
	}
	if p.Limiter != nil {
		ok, n, err := p.Limiter.Allow(ctx, req.UserID)
		if err != nil {
			return err
		}
		if !ok {
			if n == ProposalLimit+1 { // the first refusal of the window is audited, not every one
				p.auditDenied(ctx, req, fmt.Sprintf("more than %d proposals in %s", ProposalLimit, ProposalWindow))
			}
			return reply(fmt.Sprintf("Not proposed: you have made %d proposals in the last %s; ask in the thread or wait.", ProposalLimit, ProposalWindow))
		}
	}
	for attempt := 0; attempt < maxHumanAttempts; attempt++ {
		got, created, err := p.Open(ctx, rec, scoped, spec, p.New(rec, spec, req.ActionID, params, SourceHuman, req.UserID, attempt))
		if err != nil {
			return err
		}
		switch {
		case created:
			return reply(fmt.Sprintf("Proposed `%s` in the incident's thread; it needs %d approval(s) from someone other than you.", req.ActionID, got.Required))
		case got.State == approval.Proposed || got.State == approval.Approved || got.State == approval.Executing:
			return reply(fmt.Sprintf("`%s` with these parameters is already proposed in the thread (%s).", req.ActionID, got.State))
		}
		// decided or done: a new proposal with a fresh id
	}
	return reply("This action was proposed too often for this incident; ask in the thread.")
}

// The per-person bound on /triage propose (the Limiter's settings).
const (
	ProposalLimit  = 10
	ProposalWindow = 10 * time.Minute
)

func (p *Proposer) auditDenied(ctx context.Context, req jobs.Propose, why string) {
	if _, err := p.Audit.Append(ctx, audit.Entry{Actor: req.UserID, Action: "propose_denied", Incident: req.IncidentID,
		Details: map[string]string{"action": req.ActionID, "reason": why}}); err != nil {
		p.log().Warn("could not audit a denial", "action", "propose_denied", "err", err)
	}
}

// respond answers a slash command (best effort: the work is done).
func (p *Proposer) respond(ctx context.Context, incidentID, responseURL, text string) {
	if p.Responder == nil || responseURL == "" {
		return
	}
	if err := p.Responder.Respond(ctx, responseURL, slackapi.Message{Text: text}); err != nil {
		p.log().Warn("could not answer /triage", "incident", incidentID, "err", err)
	}
}

func actionIDs(c *catalog.Catalog) []string {
	var ids []string
	for _, sp := range c.Specs() {
		ids = append(ids, sp.ID)
	}
	return ids
}
