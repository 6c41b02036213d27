package stakeholder

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/prompts"
)

// Incidents reads incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
}

// Contexts reads what was gathered for an incident (package enrich).
type Contexts interface {
	Get(ctx context.Context, id string) (*enrich.Record, error)
}

// Masker masks a record with its context, and free texts, with the
// incident's placeholders (package view).
type Masker interface {
	Views(ctx context.Context, rec *incident.Record, c *enrich.Record) (*incident.Record, *enrich.Record, error)
	Texts(ctx context.Context, incidentID string, texts ...*string) error
}

// Trail reads an incident's audit entries in order.
type Trail interface {
	ForIncident(ctx context.Context, incident string, fn func(audit.Stored) error) error
}

// Modals opens a modal for the user whose click carried triggerID, and
// replaces it while it is as it was (its hash).
type Modals interface {
	OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (slackapi.View, error)
	UpdateView(ctx context.Context, view slackapi.View, v slack.ModalViewRequest) (slackapi.View, error)
}

// Model writes text (package gemini or openai, asked for JSON).
type Model interface {
	Name() string
	Generate(ctx context.Context, system, user string) (string, error)
}

// Targets names an incident's stakeholders (nil or empty: none).
type Targets func(rec *incident.Record) *config.Stakeholders

// Drafter answers "Draft update": it drafts the update from the thread
// and opens it in a modal for the clicker to edit.
type Drafter struct {
	Incidents Incidents
	Contexts  Contexts
	Masker    Masker
	Trail     Trail
	Targets   Targets
	Modals    Modals
	Teller    slackapi.Teller // guarded
	Guard     func(string) string
	Model     Model // nil: the template's draft only
	Now       func() time.Time
	Log       *slog.Logger
}

// ModelBudget bounds how long the model may take to replace the
// template's draft in an open form.
const ModelBudget = 25 * time.Second

// Handle drafts and opens the modal, or tells the clicker why not. With a
// model, the form opens at once with the template's draft (Slack's
// trigger lives three seconds, a model answer often longer) and the
// model's draft replaces it when it comes.
func (d *Drafter) Handle(ctx context.Context, req jobs.DraftUpdate) error {
	tell := func(text string) {
		answer(ctx, d.Teller, d.Log, req.ChannelID, req.UserID, req.ResponseURL, req.IncidentID, text)
	}
	rec, err := d.Incidents.Get(ctx, req.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		tell("opsgate has no record of incident " + req.IncidentID + ".")
		return nil
	}
	if err != nil {
		return err
	}
	t := d.Targets(rec)
	if t.Empty() {
		tell("No stakeholders are configured for this service: add `stakeholders:` to the route (or the config's top level) to send updates.")
		return nil
	}
	text, err := d.draft(ctx, rec)
	if err != nil {
		return err
	}
	text = d.guard(text)
	form := render.UpdateForm{IncidentID: req.IncidentID, Channel: req.ChannelID, Draft: text, To: Summary(t), Min: jobs.MinUpdate, Max: jobs.MaxUpdate,
		How: "Drafted by opsgate from the thread with its template (prompts/stakeholder_update." + prompts.UpdateVersion + ".tmpl). Masked values are described in words, never shown."}
	if d.Model != nil {
		form.How = "The model is rewriting this draft in plainer words; its version appears under the box in a few seconds, to copy from. " + form.How
	}
	view, err := d.Modals.OpenView(ctx, req.TriggerID, render.UpdateModal(form))
	if err != nil {
		// The trigger lives three seconds: a slow queue loses it. Say so
		// rather than fail silently; a second click gets a fresh one.
		d.log().Warn("update modal not opened", "incident", req.IncidentID, "err", err)
		tell("The update form could not open in time; click *Draft update* again.")
		return nil
	}
	if d.Model == nil {
		return nil
	}
	if better, err := d.modelDraft(ctx, req.IncidentID, text); err != nil {
		d.log().Warn("model draft unavailable: the template's stays", "incident", req.IncidentID, "err", err)
		form.How = "The model did not give a usable draft; this is the template's (prompts/stakeholder_update." + prompts.UpdateVersion + ".tmpl)."
	} else {
		form.Suggestion = better
		form.How = "The rewrite under the box is the model's (" + d.Model.Name() + "), from the template's draft, which only held masked values described in words. Check every sentence you copy."
	}
	// The input keeps its block and action ids, so Slack keeps what the
	// person typed; refused when the form closed meanwhile (submitted,
	// cancelled): then it stays as it is.
	if _, err := d.Modals.UpdateView(ctx, view, render.UpdateModal(form)); err != nil {
		d.log().Info("update form not replaced", "incident", req.IncidentID, "err", err)
	}
	return nil
}

func (d *Drafter) log() *slog.Logger { return cmp.Or(d.Log, slog.Default()) }

func (d *Drafter) guard(s string) string {
	if d.Guard == nil {
		return s
	}
	return d.Guard(s)
}

// modelDraft asks the model to rewrite the template's draft. The model
// sees only that draft (masked, placeholders already in words), fenced as
// data; its answer is masked with the incident's placeholders like a
// person's submission (a value it makes up is hidden too), made readable,
// and must fit the form.
func (d *Drafter) modelDraft(ctx context.Context, incidentID, draft string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ModelBudget)
	defer cancel()
	out, err := d.Model.Generate(ctx, prompts.UpdateSystem(), prompts.UpdateUser(draft))
	if err != nil {
		return "", err
	}
	var r struct {
		Update string `json:"update"`
	}
	if len(out) > 64<<10 || json.Unmarshal([]byte(out), &r) != nil {
		return "", errors.New("the model's answer is not the JSON asked for")
	}
	text := r.Update
	if err := d.Masker.Texts(ctx, incidentID, &text); err != nil {
		return "", fmt.Errorf("masking unavailable: %w", err)
	}
	text = strings.TrimSpace(Readable(text))
	if n := len([]rune(text)); n < jobs.MinUpdate || n > jobs.MaxUpdate {
		return "", fmt.Errorf("the model's draft has %d characters (%d to %d wanted)", n, jobs.MinUpdate, jobs.MaxUpdate)
	}
	return text, nil
}

// answer tells the person who clicked or submitted (ephemeral, else
// through responseURL); a failure is logged.
func answer(ctx context.Context, t slackapi.Teller, log *slog.Logger, channel, user, responseURL, incidentID, text string) {
	if err := slackapi.Tell(ctx, t, channel, user, responseURL, slackapi.Message{Text: text}); err != nil {
		cmp.Or(log, slog.Default()).Warn("could not answer about a stakeholder update", "incident", incidentID, "err", err)
	}
}

// draft builds the masked, readable template draft.
func (d *Drafter) draft(ctx context.Context, rec *incident.Record) (string, error) {
	c, err := d.Contexts.Get(ctx, rec.Snapshot.ID)
	if err != nil && !errors.Is(err, enrich.ErrNotFound) {
		return "", err
	}
	if c == nil {
		c = &enrich.Record{}
	}
	view, vc, err := d.Masker.Views(ctx, rec, c)
	if err != nil {
		return "", err
	}
	done, err := d.done(ctx, rec.Snapshot.ID)
	if err != nil {
		return "", err
	}
	now := time.Now()
	if d.Now != nil {
		now = d.Now()
	}
	return Draft(Facts{Incident: view, Analysis: vc.Analysis, Done: done, Now: now})
}

// done lists the actions that ran and succeeded, from the audit trail.
func (d *Drafter) done(ctx context.Context, id string) ([]string, error) {
	action := map[string]string{}
	var order []string
	state := map[string]string{}
	err := d.Trail.ForIncident(ctx, id, func(s audit.Stored) error {
		e := s.Entry
		p := e.Details["proposal"]
		switch e.Action {
		case "proposed":
			if a := e.Details["action"]; a != ActionID && catalog.ValidActionID(a) {
				action[p] = a
			}
		case "executed":
			if _, ok := action[p]; ok && e.Details["state"] == string(approval.Succeeded) {
				order, state[p] = append(order, p), "succeeded"
			}
		case "verified":
			if state[p] == "succeeded" && e.Details["state"] == "VERIFIED" {
				state[p] = "succeeded, and the check afterwards passed"
			}
		}
		return nil
	})
	var out []string
	for _, p := range order {
		out = append(out, fmt.Sprintf("Ran the %s remediation: %s.", strings.ReplaceAll(action[p], "-", " "), state[p]))
	}
	return out, err
}

// Offerer proposes a built-in action in the thread (package actions).
type Offerer interface {
	Offer(ctx context.Context, rec *incident.Record, spec catalog.Spec, prop approval.Proposal, prepare func(*approval.Proposal)) (*approval.Proposal, bool, error)
}

// Limiter counts a person's proposals (a *ratelimit.Window).
type Limiter interface {
	Allow(ctx context.Context, key string) (ok bool, n int64, err error)
}

// Proposer proposes a submitted update in the thread, for approval.
type Proposer struct {
	Incidents Incidents
	Masker    Masker
	Targets   Targets
	Spec      catalog.Spec // Spec(…)
	Offer     Offerer
	Limiter   Limiter         // nil: no bound on a person's proposals
	Teller    slackapi.Teller // guarded
	Now       func() time.Time
	Log       *slog.Logger
}

// maxAttempts bounds how often one text may be proposed again after it was
// rejected, expired or failed.
const maxAttempts = 5

// Handle masks the submitted text (a person may paste anything), makes
// it readable, and proposes it; the same text submitted twice is one
// proposal.
func (p *Proposer) Handle(ctx context.Context, req jobs.ProposeUpdate) error {
	tell := func(text string) { answer(ctx, p.Teller, p.Log, req.ChannelID, req.UserID, "", req.IncidentID, text) }
	rec, err := p.Incidents.Get(ctx, req.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		tell("opsgate has no record of incident " + req.IncidentID + "; the update was not proposed.")
		return nil
	}
	if err != nil {
		return err
	}
	if !rec.HasThread() {
		tell("Incident " + req.IncidentID + " has no thread of its own to propose the update in.")
		return nil
	}
	t := p.Targets(rec)
	if t.Empty() {
		tell("No stakeholders are configured for this service any more; the update was not proposed.")
		return nil
	}
	text, subject := req.Text, subjectOf(rec)
	if err := p.Masker.Texts(ctx, req.IncidentID, &text, &subject); err != nil {
		return fmt.Errorf("update for %s: masking unavailable: %w", req.IncidentID, err) // retried; never proposed unmasked
	}
	params := map[string]string{ParamText: Readable(text), ParamSubject: Readable(subject), ParamTo: Summary(t)}
	// Approvers must see every word that will be sent: a text that grew
	// past the form's bound once masked is refused, never cut.
	if n := len([]rune(params[ParamText])); n > jobs.MaxUpdate {
		tell(fmt.Sprintf("Not proposed: once masked the update has %d characters, more than %d; shorten it and submit again.", n, jobs.MaxUpdate))
		return nil
	}
	if p.Limiter != nil {
		ok, _, err := p.Limiter.Allow(ctx, "update:"+req.UserID)
		if err != nil {
			return err
		}
		if !ok {
			tell("Not proposed: you have proposed many updates in the last hour; ask in the thread or wait.")
			return nil
		}
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		h := approval.Hash(ActionID, params)
		if attempt > 0 { // the same text again, after it was rejected, expired or failed
			h = approval.Hash(fmt.Sprintf("%s#%d", ActionID, attempt), params)
		}
		prop := approval.Proposal{ID: jobs.ProposalID(rec.Snapshot.ID, h), IncidentID: rec.Snapshot.ID, ActionID: ActionID, Params: params,
			Source: "human", Proposer: req.UserID, Triggerer: rec.TriggeredBy, Required: p.Spec.Approvals.Required,
			AllowSelf: p.Spec.Approvals.AllowSelf, ExpiresAt: now.Add(p.Spec.Expiry)}
		got, created, err := p.Offer.Offer(ctx, rec, p.Spec, prop, nil)
		if err != nil {
			return err
		}
		switch {
		case created:
			tell(fmt.Sprintf("Update proposed in the thread; it is sent once %d approver(s) other than you approve it.", got.Required))
			return nil
		case got.State == approval.Proposed || got.State == approval.Approved || got.State == approval.Executing:
			tell(fmt.Sprintf("This exact update is already proposed in the thread (%s).", got.State))
			return nil
		case got.State == approval.Succeeded:
			tell("This exact update was sent already.")
			return nil
		}
	}
	tell("This update was proposed too often for this incident; ask in the thread.")
	return nil
}

// subjectOf is an update's subject line, before masking.
func subjectOf(rec *incident.Record) string {
	s := rec.Snapshot
	if s.ServiceName != "" && strings.HasPrefix(strings.ToLower(s.Title), strings.ToLower(s.ServiceName)) {
		return clip("Status update: "+s.Title, 150) // the title names the service already
	}
	return clip(fmt.Sprintf("Status update: %s — %s", orWords(s.ServiceName, "incident "+s.ID), s.Title), 150)
}
