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
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/render"
)

// KindPropose is `/triage propose <incident> <action> [key=value ...]`.
const KindPropose = "propose" // payload: ProposeRequest

// ProposeRequest is a human's proposal.
type ProposeRequest struct {
	IncidentID  string            `json:"incident_id"`
	ActionID    string            `json:"action_id"`
	Params      map[string]string `json:"params"`
	UserID      string            `json:"user_id"`
	ChannelID   string            `json:"channel_id"`
	ResponseURL string            `json:"response_url"`
}

// ErrNotValidNow: the action's parameters no longer pass the catalog or
// the incident's scope (they changed since it was proposed).
var ErrNotValidNow = errors.New("not valid for this incident now")

// Proposal sources.
const (
	SourceRCA     = "rca"     // the checked root-cause analysis
	SourceHandler = "handler" // the matching context handler's default actions
	SourceHuman   = "human"   // /triage propose
	SourceVerify  = "verify"  // an undo after a failed verification
	SourceUndo    = "undo"    // an Undo click
)

func (s *Syncer) catalog() *catalog.Catalog {
	if s.Catalog != nil {
		return s.Catalog
	}
	return catalog.MustDefault()
}

// scoped is the catalog scoped to the incident: what its analysis may
// propose and its proposals may run.
func (s *Syncer) scoped(rec *incident.Record) catalog.Scoped { return s.catalog().For(s.scopeFor(rec)) }

// scopeFor is what the incident's actions may name: the configured scope
// of its service (default: its own name as the target) and what its
// handler adds.
func (s *Syncer) scopeFor(rec *incident.Record) catalog.Scope {
	scope := catalog.For(rec.Snapshot.ServiceName).Scope
	if s.Scope != nil {
		scope = s.Scope(rec.Snapshot)
	}
	if rec.Scope != nil {
		scope = scope.Union(*rec.Scope)
	}
	return scope
}

// propose turns checked actions (from the analysis or the handler) into
// proposals and posts each with its Approve / Reject buttons. A
// proposal's id is derived from the incident and the action's hash, so a
// redelivery — or the analysis proposing what the handler did — proposes
// nothing new.
func (s *Syncer) propose(ctx context.Context, rec *incident.Record, actions []rca.Action, source string) error {
	if s.Proposals == nil || len(actions) == 0 || !rec.HasThread() {
		return nil
	}
	scoped := s.scoped(rec)
	for _, a := range actions {
		spec, ok := scoped.Catalog.Get(a.ID)
		if !ok || scoped.Validate(a.ID, a.Params) != "" {
			s.log().Warn("proposal dropped: not valid for this incident", "incident", rec.Snapshot.ID, "action", a.ID, "source", source)
			continue // the analysis checked it already; the catalog or scope may have changed since
		}
		p := newProposal(rec, spec, a.ID, a.Params, source, "", 0)
		if _, _, err := s.open(ctx, rec, scoped, spec, p); err != nil {
			return err
		}
	}
	return nil
}

// newProposal fills a proposal for spec; attempt > 0 derives a fresh id
// (a human may propose again what was rejected or has expired).
func newProposal(rec *incident.Record, spec catalog.Spec, actionID string, params map[string]string, source, proposer string, attempt int) approval.Proposal {
	h := approval.Hash(actionID, params)
	if attempt > 0 {
		h = approval.Hash(fmt.Sprintf("%s#%d", actionID, attempt), params)
	}
	return approval.Proposal{ID: rec.Snapshot.ID + "-" + h[:10], IncidentID: rec.Snapshot.ID, ActionID: actionID, Params: params,
		Source: source, Proposer: proposer, Triggerer: rec.TriggeredBy, Required: spec.Approvals.Required, AllowSelf: spec.Approvals.AllowSelf,
		ExpiresAt: time.Now().Add(spec.Expiry)}
}

// open creates a proposal (audited once) and posts its message unless it
// has one; it returns the stored proposal and whether this call created it.
func (s *Syncer) open(ctx context.Context, rec *incident.Record, scoped catalog.Scoped, spec catalog.Spec, p approval.Proposal) (*approval.Proposal, bool, error) {
	preview, err := scoped.Render(p.ActionID, p.IsUndo(), p.Params)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrNotValidNow, err)
	}
	p.Preview = preview
	created := false
	got, err := s.Proposals.Get(ctx, p.ID)
	if errors.Is(err, approval.ErrNotFound) { // not a redelivery: dry-run it and create it
		p.DryRun = s.dryRun(ctx, rec, scoped, spec, p)
		if created, err = s.Proposals.Create(ctx, p); err == nil {
			got, err = s.Proposals.Get(ctx, p.ID) // ours, or a racing replica's
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
			actor = "opsgate"
		}
		if err := s.record(ctx, audit.Entry{Actor: actor, Action: "proposed", Incident: got.IncidentID, Details: d}); err != nil {
			return nil, false, err
		}
	}
	if got.TS != "" || got.State != approval.Proposed {
		return got, created, nil // posted already (a retry after the post), or decided
	}
	msg := render.ProposalMessage(*got, spec)
	msg.ThreadTS = rec.Thread.TS
	_, ts, err := s.Slack.PostMessage(ctx, rec.Thread.Channel, msg)
	if err != nil {
		return nil, false, permanent(err)
	}
	got, err = s.Proposals.SetMessage(ctx, got.ID, rec.Thread.Channel, ts)
	return got, created, err
}

// dryRun asks the tool for a server-side dry run (kubectl
// --dry-run=server) where it has one, and says so where it has none; its
// output is masked like any other.
func (s *Syncer) dryRun(ctx context.Context, rec *incident.Record, scoped catalog.Scoped, spec catalog.Spec, p approval.Proposal) string {
	e := spec.Exec(p.IsUndo())
	if s.Runner == nil || e == nil || len(e.Kubectl) == 0 {
		return ""
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := s.Runner.Run(dctx, scoped, p.ActionID, p.IsUndo(), p.Params, true)
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
	s.mask(ctx, rec.Snapshot.ID, &out)
	return render.Truncate(out, 400)
}

// mask replaces secrets and PII in texts with the incident's placeholders;
// when masking is unavailable the texts are withheld (fail closed).
func (s *Syncer) mask(ctx context.Context, incidentID string, texts ...*string) {
	if s.Vault == nil {
		return
	}
	sess, err := s.Vault.Session(ctx, incidentID)
	if err == nil {
		for _, t := range texts {
			*t = sess.String(*t)
		}
		err = s.Vault.Save(ctx, incidentID, sess)
	}
	if err != nil {
		s.log().Warn("masking unavailable: output withheld", "incident", incidentID, "err", err)
		for _, t := range texts {
			if *t != "" {
				*t = "(withheld: masking unavailable)"
			}
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// handlePropose answers `/triage propose`: the action must be in the
// catalog and valid for the incident's scope; the proposer can never
// approve it.
func (s *Syncer) handlePropose(ctx context.Context, req ProposeRequest) error {
	reply := func(text string) error {
		return s.respond(ctx, TriageRequest{IncidentID: req.IncidentID, ResponseURL: req.ResponseURL}, text)
	}
	if s.Proposals == nil {
		return reply("Proposals are not enabled on this opsgate.")
	}
	rec, err := s.Store.Get(ctx, req.IncidentID)
	if errors.Is(err, incident.ErrNotFound) || (err == nil && !rec.HasThread()) {
		return reply(fmt.Sprintf("Incident %s has no opsgate thread yet; run `/triage %s` first.", req.IncidentID, req.IncidentID))
	}
	if err != nil {
		return err
	}
	scoped := s.scoped(rec)
	spec, ok := scoped.Catalog.Get(req.ActionID)
	if !ok {
		return reply(fmt.Sprintf("There is no action %q. Actions: %s.", render.Truncate(req.ActionID, 64), strings.Join(actionIDs(scoped.Catalog), ", ")))
	}
	if why := scoped.Validate(req.ActionID, req.Params); why != "" {
		s.auditDenied(ctx, req.UserID, "propose_denied", req.IncidentID, map[string]string{"action": req.ActionID, "reason": why})
		return reply(fmt.Sprintf("Not proposed: %s.", why))
	}
	for attempt := 0; attempt < 5; attempt++ {
		p, created, err := s.open(ctx, rec, scoped, spec, newProposal(rec, spec, req.ActionID, req.Params, SourceHuman, req.UserID, attempt))
		if err != nil {
			return err
		}
		switch {
		case created:
			return reply(fmt.Sprintf("Proposed `%s` in the incident's thread; it needs %d approval(s) from someone other than you.", req.ActionID, p.Required))
		case p.State == approval.Proposed || p.State == approval.Approved || p.State == approval.Executing:
			return reply(fmt.Sprintf("`%s` with these parameters is already proposed in the thread (%s).", req.ActionID, p.State))
		}
		// decided or done: a new proposal with a fresh id
	}
	return reply("This action was proposed too often for this incident; ask in the thread.")
}

func actionIDs(c *catalog.Catalog) []string {
	var ids []string
	for _, sp := range c.Specs() {
		ids = append(ids, sp.ID)
	}
	return ids
}

// auditDenied records a refused request.
func (s *Syncer) auditDenied(ctx context.Context, user, action, incidentID string, details map[string]string) {
	if err := s.record(ctx, audit.Entry{Actor: user, Action: action, Incident: incidentID, Details: details}); err != nil {
		s.log().Warn("could not audit a denial", "action", action, "err", err)
	}
}
