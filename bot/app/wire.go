package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/access"
	"github.com/opsgate/opsgate/bot/actions"
	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/chart"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/execution"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/bot/home"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/kbsearch"
	"github.com/opsgate/opsgate/bot/learn"
	"github.com/opsgate/opsgate/bot/overview"
	"github.com/opsgate/opsgate/bot/pipeline"
	"github.com/opsgate/opsgate/bot/ratelimit"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/bot/reveal"
	"github.com/opsgate/opsgate/bot/sanitize"
	"github.com/opsgate/opsgate/bot/scope"
	"github.com/opsgate/opsgate/bot/stakeholder"
	"github.com/opsgate/opsgate/bot/storm"
	"github.com/opsgate/opsgate/bot/threadsync"
	"github.com/opsgate/opsgate/bot/tmplstate"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/bot/writeback"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/knowledge/kb"
)

// slackOut is Slack as the workers see it: every write through the guard,
// reads (permalinks, history, user groups) straight to the client.
type slackOut struct {
	sanitize.GuardedSlack
	raw *slackapi.Client
}

func (s slackOut) Permalink(ctx context.Context, channel, ts string) (string, error) {
	return s.raw.Permalink(ctx, channel, ts)
}

func (s slackOut) FindReply(ctx context.Context, channel, threadTS, eventType string, match map[string]string) (string, bool, error) {
	return s.raw.FindReply(ctx, channel, threadTS, eventType, match)
}

func (s slackOut) FindByMetadata(ctx context.Context, channel, eventType, key, value string, oldest time.Time) (string, bool, error) {
	return s.raw.FindByMetadata(ctx, channel, eventType, key, value, oldest)
}

func invalid(err error) error { return fmt.Errorf("%w: OPSGATE_CONFIG: %v", config.ErrInvalid, err) }

// wire builds the workers: the job handlers, the pipelines of a triggered
// incident, a change and a /triage, and the actions' gate and executor.
func (a *App) wire(ctx context.Context) error {
	o, file := a.opts, a.opts.File
	engine, err := file.Engine()
	if err != nil {
		return invalid(err)
	}
	a.Guard = &sanitize.Guard{Engine: engine, OnHit: func(k redact.Kind) { a.Metrics.GuardHits.WithLabelValues(string(k)).Inc() }}
	for _, k := range redact.SecretKinds() { // at 0, so the first hit counts for increase()
		a.Metrics.GuardHits.WithLabelValues(string(k))
	}
	a.Vault = view.NewVault(a.Redis, engine, o.Env.VaultTTLOrDefault())
	a.Vault.Keys = a.Keys
	a.Contexts = enrich.NewStore(a.Redis, IncidentTTL)
	a.Contexts.Keys = a.Keys
	a.Proposals = approval.NewStore(a.Redis, IncidentTTL, o.Now)
	a.Proposals.Keys = a.Keys
	a.Proposals.Durable = a.Durable
	a.Queue.Redact = a.Guard.Mask
	raw := slackapi.New(o.Env.SlackAPIURL, o.Env.SlackBotToken.Reveal(), nil, o.SlackRetry)
	raw.Observe = a.Metrics.ObserveSlackCall
	a.modals = raw
	raw.Gate = &ratelimit.Gate{Redis: a.Redis, Prefix: "opsgate:slack:", Now: o.Now, Sleep: o.SlackRetry.Sleep, Log: a.Log,
		Pace: map[string]time.Duration{"chat.postMessage": o.Env.SlackChannelPace}, Burst: o.Env.SlackChannelBurst,
		Observe: a.Metrics.ObserveSlackWait}
	out := slackOut{GuardedSlack: sanitize.GuardedSlack{Slack: raw, Guard: a.Guard}, raw: raw}
	var pd *pagerduty.Client
	var notes pipeline.Noter // nil without a token: no notes
	if o.Env.PagerDutyAPIToken != "" {
		pd = pagerduty.NewClient(o.Env.PagerDutyAPIURL, o.Env.PagerDutyAPIToken.Reveal(), o.PagerDutyRetry)
		pd.Observe = func(op, outcome string) { a.Metrics.PDCalls.WithLabelValues(op, outcome).Inc() }
		notes = &writeback.Notes{PagerDuty: pd, Redis: a.Redis, Mask: a.Guard.Mask, Retry: o.PagerDutyRetry}
	}
	analyzer, err := NewAnalyzer(ctx, o.Env, a.Guard, o.GeminiRetry, a.Log)
	if err != nil {
		return err
	}
	a.observe(analyzer)
	collector, err := file.Collector()
	if err != nil {
		return invalid(err)
	}
	cat, err := file.Catalog()
	if err != nil {
		return invalid(err)
	}
	scopes := &scope.Resolver{Catalog: cat, Contexts: a.Contexts}
	var approvers access.List
	if file != nil {
		approvers = access.List{Users: file.Approvers.Users, Groups: file.Approvers.Groups}
		if len(file.Scopes) > 0 {
			scopes.Config = file.ScopeFor
		}
	}
	checker := &access.Checker{Approvers: approvers, Groups: raw}

	// Actions: proposals, decisions, execution.
	specs := updateSpecs(file, scopes.Actions())
	board := &actions.Board{Slack: out, Specs: specs, Log: a.Log}
	runner := newRunner(file)
	proposer := &actions.Proposer{Proposals: a.Proposals, Incidents: a.Store, Scopes: scopes, Board: board, DryRun: runner,
		Masker: a.Vault, Audit: a.Audit, Responder: out, Now: o.Now, Log: a.Log,
		Limiter: &ratelimit.Window{Redis: a.Redis, Prefix: "opsgate:rate:propose:", Limit: actions.ProposalLimit, Per: actions.ProposalWindow}}
	decider := &actions.Decider{Proposals: a.Proposals, Specs: specs, Access: checker, Proposer: proposer, Board: board,
		Audit: a.Audit, Clicks: a.Redis, Teller: out, Log: a.Log}
	var execBoard execution.Board = board
	if notes != nil && o.Env.PagerDutyFromEmail != "" {
		execBoard = notingBoard{Board: board, notes: notes, from: o.Env.PagerDutyFromEmail, log: a.Log}
	}
	a.Executor = &execution.Executor{Proposals: a.Proposals, Incidents: a.Store, Scopes: scopes, Runner: runner, Board: execBoard,
		Undo: decider, Masker: a.Vault, Audit: a.Audit, Log: a.Log}
	var statuses stakeholder.StatusUpdater
	if pd != nil {
		statuses = pd
	}
	updates, err := a.wireUpdates(ctx, updateParts{file: file, specs: specs, out: out, modals: raw, proposer: proposer, board: execBoard, pd: statuses})
	if err != nil {
		return err
	}
	decider.Executor = executors{actions: a.Executor, updates: updates}

	// The incident pipelines.
	route := func(id, name string) string { return file.ChannelFor(id, name, o.Env.SlackChannel) }
	replies := pipeline.Replies{Contexts: a.Contexts, Viewer: a.Vault}
	syncer := &threadsync.Syncer{Incidents: a.Store, Redis: a.Redis, Slack: out, Masker: a.Vault, Route: route, Log: a.Log,
		LockTTL: o.LockTTL, LockWait: o.LockWait, Durable: a.Durable, Replies: map[string]threadsync.Renderer{
			pipeline.ReplyExcerpt: replies.Excerpt, pipeline.ReplySimilar: replies.Similar, pipeline.ReplyRCA: replies.Analysis}}
	templates := tmplstate.New(a.Redis, IncidentTTL)
	templates.Keys = a.Keys
	gatherer := &enrich.Gatherer{Masker: a.Vault, Templates: templates, Knowledge: a.KB, Log: a.Log}
	if collector != nil {
		gatherer.Collector = collector
	}
	verdicts := &learn.Verdicts{Redis: a.Redis, Responder: out, Log: a.Log}
	over := &overview.Handler{Incidents: a.Store, Proposals: a.Proposals, Trail: a.Audit, Masker: a.Vault, Contexts: a.Contexts,
		Files: guardedFiles{raw: raw, mask: a.Guard.Mask}, Access: checker, Teller: out, Now: o.Now, Log: a.Log,
		AllowedIn: func(ch string) bool { return file.SearchAllowedIn(ch, o.Env.SlackChannel) }}
	st := stages{
		seen:    pipeline.Seen{Incidents: a.Store},
		gather:  pipeline.Gather{Contexts: a.Contexts, Gatherer: gatherer},
		persist: pipeline.Persist{Incidents: a.Store, Now: o.Now},
		sync:    pipeline.Sync{Syncer: syncer},
		note:    pipeline.Tolerant(pipeline.Note{Incidents: a.Store, From: o.Env.PagerDutyFromEmail}, a.Log),
		offer:   pipeline.Tolerant(pipeline.Offer{Incidents: a.Store, Proposer: proposer}, a.Log),
		analyze: pipeline.Analyze{Analyzer: analyzer, Contexts: a.Contexts, Incidents: a.Store, Viewer: a.Vault, Scopes: scopes, Syncer: syncer},
		propose: pipeline.ProposeRCA{Incidents: a.Store, Proposer: proposer},
		charts: pipeline.Tolerant(pipeline.Charts{Incidents: a.Store, Viewer: a.Vault, Slack: guardedFiles{raw: raw, mask: a.Guard.Mask},
			Render: chart.Render, Guard: a.Guard.Mask, Log: a.Log}, a.Log),
		learn: pipeline.Learn{Incidents: a.Store, Learner: postmortemLearner{Learner: &learn.Learner{Knowledge: a.KB, Contexts: a.Contexts,
			Masker: a.Vault, Verdicts: verdicts}, drafts: over, kb: a.KB}},
		backfill: pipeline.Backfill{Incidents: a.Store, Now: o.Now},
		lookup:   pipeline.Lookup{Incidents: a.Store, Route: route, Responder: out, Now: o.Now, Log: a.Log},
		answer:   pipeline.Answer{Incidents: a.Store, Responder: out, Log: a.Log},
	}
	storms := &storm.Grouper{Redis: a.Redis}
	st.group = storm.Group{Incidents: a.Store, Storms: storms, Syncer: syncer, Now: o.Now,
		Policy: func(id, name string) time.Duration { return file.StormWindow(id, name, o.Env.StormWindow) }}
	st.follow = storm.Follow{Incidents: a.Store, Storms: storms, Syncer: syncer}
	st.split = storm.Split{Incidents: a.Store, Syncer: syncer}
	st.noteRCA = pipeline.Tolerant(pipeline.NoteAnalysis{Incidents: a.Store, Viewer: a.Vault, From: o.Env.PagerDutyFromEmail}, a.Log)
	if pd != nil {
		gatherer.Alerts = pd
		st.note = pipeline.Tolerant(pipeline.Note{Incidents: a.Store, PagerDuty: notes, From: o.Env.PagerDutyFromEmail}, a.Log)
		st.noteRCA = pipeline.Tolerant(pipeline.NoteAnalysis{Incidents: a.Store, Viewer: a.Vault, PagerDuty: notes, From: o.Env.PagerDutyFromEmail}, a.Log)
		st.backfill.PagerDuty, st.lookup.PagerDuty = pd, pd
	}
	webhooks := &pipeline.Webhooks{Trigger: st.trigger(), Change: st.change(), Log: a.Log}
	triage := &pipeline.Triage{Pipeline: st.triage(a.Log)}
	search := &kbsearch.Handler{Knowledge: a.KB, Access: checker, Engine: engine, Responder: out, Log: a.Log,
		AllowedIn: func(ch string) bool { return file.SearchAllowedIn(ch, o.Env.SlackChannel) }}
	rev := &reveal.Handler{Vault: a.Vault, Access: checker, Audit: a.Audit, Unguarded: raw, Guarded: out, Log: a.Log}

	a.Jobs.Register(jobs.KindPagerDuty, webhooks.Handle)
	a.Jobs.Register(jobs.KindTriage, jobs.Typed(triage.Handle))
	a.Jobs.Register(jobs.KindReveal, jobs.Typed(rev.Handle))
	a.Jobs.Register(jobs.KindVerdict, jobs.Typed(verdicts.Handle))
	a.Jobs.Register(jobs.KindDecision, jobs.Typed(decider.Handle))
	a.Jobs.Register(jobs.KindPropose, jobs.Typed(proposer.Handle))
	a.Jobs.Register(jobs.KindSettled, jobs.Typed(a.Executor.HandleSettled))
	a.Jobs.Register(jobs.KindSearch, jobs.Typed(search.Handle))
	writer := &writeback.Handler{Profiles: raw, Modals: raw, Guard: a.Guard.Mask, Incidents: a.Store, Audit: a.Audit, Teller: out, Log: a.Log}
	updatesOn := hasStakeholders(file)
	syncer.Parent = func(rec *incident.Record) render.ParentOptions {
		return render.ParentOptions{WriteBack: pd != nil, Updates: updatesOn(rec)}
	}
	if pd != nil {
		writer.PagerDuty = pd
	}
	a.Jobs.Register(jobs.KindIncident, jobs.Typed(writer.Handle))
	a.Jobs.Register(jobs.KindOverview, jobs.Typed(over.Handle))
	homes := &home.Handler{Incidents: a.Store, Proposals: a.Proposals, Masker: a.Vault, Specs: specs, Approvers: checker,
		Publisher: guardedHome{raw: raw, guard: a.Guard}, Log: a.Log}
	a.Jobs.Register(jobs.KindHome, jobs.Typed(homes.Handle))
	return nil
}

// stages are the pipelines' building blocks, each built once.
type stages struct {
	seen, gather, persist, sync, note, offer, analyze, propose, learn, charts pipeline.Stage
	group, follow, split, noteRCA                                             pipeline.Stage
	backfill                                                                  pipeline.Backfill
	lookup                                                                    pipeline.Lookup
	answer                                                                    pipeline.Answer
}

// trigger: a new incident, from its webhook.
func (s stages) trigger() pipeline.Pipeline {
	return pipeline.Pipeline{s.seen, s.group, s.gather, s.persist, s.sync, s.note, s.offer, s.analyze, s.charts, s.noteRCA, s.propose, s.learn}
}

// change: any later event (acknowledged, resolved, reassigned…).
func (s stages) change() pipeline.Pipeline {
	return pipeline.Pipeline{s.persist, s.follow, s.backfill, s.sync, s.note, s.learn}
}

// triage: `/triage <id>` for an incident without a known thread. Once the
// requester has the link, failures are logged, not retried: a retry would
// answer them twice.
func (s stages) triage(log *slog.Logger) pipeline.Pipeline {
	after := func(st pipeline.Stage) pipeline.Stage { return pipeline.Tolerant(st, log) }
	return pipeline.Pipeline{s.split, s.lookup, s.gather, s.persist, s.sync, s.answer,
		s.note, s.offer, after(s.analyze), s.charts, s.noteRCA, after(s.propose), after(s.learn)}
}

func newRunner(file *config.File) *executor.Runner {
	r := &executor.Runner{}
	if file != nil {
		x := file.Executor
		r.Kubectl, r.KubectlArgs, r.PrometheusURL = x.Kubectl, x.KubectlArgs, x.PrometheusURL
		if x.SSHKeyFile != "" {
			r.SSH = &executor.SSH{KeyFile: x.SSHKeyFile, Port: x.SSHPort}
		}
	}
	return r
}

// notingBoard also writes each execution reply — an approved action's
// outcome, a late outcome — as a PagerDuty note (the text is masked
// already; the guard checks it again).
type notingBoard struct {
	execution.Board
	notes pipeline.Noter
	from  string
	log   *slog.Logger
}

func (n notingBoard) Reply(ctx context.Context, rec *incident.Record, text, proposal string) {
	n.Board.Reply(ctx, rec, text, proposal)
	note := render.PlainNote("opsgate, proposal " + proposal + ": " + text)
	if err := n.notes.AddNote(ctx, rec.Snapshot.ID, n.from, note); err != nil {
		n.log.Warn("action outcome not noted in PagerDuty", "incident", rec.Snapshot.ID, "proposal", proposal, "err", err)
	}
}

// guardedFiles passes every file's text through the last-line guard.
type guardedFiles struct {
	raw  *slackapi.Client
	mask func(string) string
}

func (g guardedFiles) Upload(ctx context.Context, channel, threadTS, filename, title, comment string, content []byte) error {
	return g.raw.Upload(ctx, channel, threadTS, filename, g.mask(title), g.mask(comment), []byte(g.mask(string(content))))
}

// UploadFiles guards each file's title and alt text and the comment; the
// pictures were drawn from the masked view.
func (g guardedFiles) UploadFiles(ctx context.Context, channel, threadTS, comment string, files []slackapi.File) error {
	out := make([]slackapi.File, len(files))
	for i, f := range files {
		f.Title, f.AltText = g.mask(f.Title), g.mask(f.AltText)
		out[i] = f
	}
	return g.raw.UploadFiles(ctx, channel, threadTS, g.mask(comment), out)
}

// guardedHome passes a Home tab's text through the last-line guard, as
// every message.
type guardedHome struct {
	raw   *slackapi.Client
	guard *sanitize.Guard
}

func (g guardedHome) PublishHome(ctx context.Context, user string, v slack.HomeTabViewRequest) error {
	raw, err := json.Marshal(v.Blocks)
	if err != nil {
		return err
	}
	if masked := g.guard.Mask(string(raw)); masked != string(raw) {
		var blocks slack.Blocks
		if err := json.Unmarshal([]byte(masked), &blocks); err != nil {
			return fmt.Errorf("home tab: a value the guard masks, and the masked blocks do not parse: %w", err)
		}
		v.Blocks = blocks
	}
	return g.raw.PublishHome(ctx, user, v)
}

// postmortemLearner writes a resolved incident back to the knowledge base
// as before, then adds its postmortem draft as a document of its own, so
// later searches find the write-up too. Both run in the learn step, once.
type postmortemLearner struct {
	pipeline.Learner
	drafts *overview.Handler
	kb     *kb.KB
}

func (p postmortemLearner) Learn(ctx context.Context, rec *incident.Record) error {
	if err := p.Learner.Learn(ctx, rec); err != nil {
		return err
	}
	md, view, err := p.drafts.Draft(ctx, rec)
	if err != nil {
		return err
	}
	return p.kb.Add(ctx, kb.Ticket{ID: "postmortem:" + rec.Snapshot.ID, Title: "Postmortem draft: " + view.Snapshot.Title, Body: md,
		Service: view.Snapshot.ServiceName, Created: rec.Snapshot.CreatedAt, Resolved: rec.LastEventAt, URL: rec.Thread.Permalink, Source: "postmortem"})
}
