// Package threads turns queued PagerDuty events into one Slack thread per
// incident: it folds each event into the incident record, then brings Slack
// up to date under a per-incident lease — post the parent once, edit it in
// place when the incident changes, and post each change as a reply.
package threads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/bot/sanitize"
	"github.com/opsgate/opsgate/bot/tmplstate"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/knowledge/kb"
)

// Queue entry kinds.
const (
	KindPagerDuty = "pagerduty" // payload: the webhook body
	KindTriage    = "triage"    // payload: TriageRequest
	KindReveal    = "reveal"    // payload: RevealRequest
)

// ErrNoChannel is returned when no channel is configured for an incident.
var ErrNoChannel = errors.New("no Slack channel configured for this incident's service")

// Slack is what the syncer needs from Slack.
type Slack interface {
	PostMessage(ctx context.Context, channel string, m slackapi.Message) (string, string, error)
	UpdateMessage(ctx context.Context, channel, ts string, m slackapi.Message) error
	Permalink(ctx context.Context, channel, ts string) (string, error)
	FindByMetadata(ctx context.Context, channel, eventType, key, value string, oldest time.Time) (string, bool, error)
}

// PagerDuty is what the syncer reads from PagerDuty's REST API (optional).
type PagerDuty interface {
	GetIncident(ctx context.Context, id string) (*pagerduty.IncidentData, error)
	ListAlerts(ctx context.Context, incidentID string, limit uint) ([]pagerduty.Alert, error)
	AddNote(ctx context.Context, incidentID, from, content string) error
}

// Responder answers a slash command later (through its response_url).
type Responder interface {
	Respond(ctx context.Context, responseURL string, m slackapi.Message) error
}

// Knowledge is the knowledge base as the syncer uses it.
type Knowledge interface {
	Search(q kb.Query, n int) []kb.Result
	Add(ctx context.Context, ts ...kb.Ticket) error
}

// Collector gathers an incident's logs and metrics from its handler's sources.
type Collector interface {
	Collect(ctx context.Context, in collect.Incident) (collect.Result, bool)
}

// Router picks the channel for a service; "" when none is configured.
type Router func(serviceID, serviceName string) string

// TriageRequest is queued by `/triage <incident>` when no thread is known.
type TriageRequest struct {
	IncidentID  string `json:"incident_id"`
	UserID      string `json:"user_id"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Syncer handles queue entries.
type Syncer struct {
	Store     *incident.Store
	Redis     redis.Cmdable
	Slack     Slack
	PagerDuty PagerDuty // nil without PAGERDUTY_API_TOKEN
	NoteFrom  string    // PagerDuty user e-mail for the thread-link note ("" = no note)
	Responder Responder
	Route     Router
	Log       *slog.Logger
	LockTTL   time.Duration
	LockWait  time.Duration

	Vault     *sanitize.Vault  // per-incident placeholders (nil: no redaction)
	Templates *tmplstate.Store // templates seen per service (nil: every template is new)
	Knowledge Knowledge        // similar past incidents (nil: none)
	Revealer  Revealer         // unguarded Slack for approvers' reveals
	Approvers Approvers
	Audit     *audit.Log

	Analyzer  *rca.Analyzer // root-cause analysis (nil: none)
	Collector Collector     // context handlers (nil: alert bodies only)
	// Catalog is the action catalog (nil: the built-in one).
	Catalog *catalog.Catalog
	// Scope names what this incident's actions may name (nil: targets = its service).
	Scope func(incident.Snapshot) catalog.Scope
	// Proposals holds proposed actions and their approvals (nil: none are made).
	Proposals *approval.Store
	// Runner executes approved actions (nil: approved actions are not run).
	Runner Runner
	// Sleep waits between in-place retries of an action's bookkeeping (nil: a real timer).
	Sleep retry.Sleeper
}

func (s *Syncer) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Handle is the queue handler.
func (s *Syncer) Handle(ctx context.Context, e queue.Entry) error {
	switch e.Kind {
	case KindPagerDuty:
		return s.handleWebhook(ctx, e.Payload)
	case KindReveal:
		var req RevealRequest
		if err := json.Unmarshal(e.Payload, &req); err != nil || !pagerduty.ValidID(req.IncidentID) || req.UserID == "" {
			return fmt.Errorf("reveal request: malformed: %w", queue.ErrPermanent)
		}
		return s.handleReveal(ctx, req)
	case KindVerdict:
		var req VerdictRequest
		if err := json.Unmarshal(e.Payload, &req); err != nil || !pagerduty.ValidID(req.IncidentID) || req.UserID == "" {
			return fmt.Errorf("verdict: malformed: %w", queue.ErrPermanent)
		}
		return s.handleVerdict(ctx, req)
	case KindDecision:
		var req DecisionRequest
		if err := json.Unmarshal(e.Payload, &req); err != nil || req.ProposalID == "" || req.UserID == "" {
			return fmt.Errorf("decision: malformed: %w", queue.ErrPermanent)
		}
		return s.handleDecision(ctx, req)
	case KindSettled:
		var n SettledNotice
		if err := json.Unmarshal(e.Payload, &n); err != nil || n.ProposalID == "" {
			return fmt.Errorf("settled: malformed: %w", queue.ErrPermanent)
		}
		return s.handleSettled(ctx, n)
	case KindPropose:
		var req ProposeRequest
		if err := json.Unmarshal(e.Payload, &req); err != nil || !pagerduty.ValidID(req.IncidentID) || req.UserID == "" || req.ActionID == "" {
			return fmt.Errorf("propose: malformed: %w", queue.ErrPermanent)
		}
		return s.handlePropose(ctx, req)
	case KindTriage:
		var req TriageRequest
		if err := json.Unmarshal(e.Payload, &req); err != nil || !pagerduty.ValidID(req.IncidentID) {
			return fmt.Errorf("triage request: malformed: %w", queue.ErrPermanent)
		}
		return s.handleTriage(ctx, req)
	}
	return fmt.Errorf("unknown entry kind %q: %w", e.Kind, queue.ErrPermanent)
}

func snapshotFrom(d *pagerduty.IncidentData) *incident.Snapshot {
	s := &incident.Snapshot{
		ID: d.ID, Number: d.Number, Title: d.Title, Status: incident.Status(d.Status), Urgency: d.Urgency,
		ServiceID: d.Service.ID, ServiceName: d.Service.Summary, HTMLURL: d.HTMLURL,
		EscalationPolicy: d.EscalationPolicy.Summary, CreatedAt: d.CreatedAt,
	}
	if d.Priority != nil {
		s.Priority = d.Priority.Summary
	}
	for _, a := range d.Assignees {
		s.Assignees = append(s.Assignees, a.Summary)
	}
	return s
}

// updateFor maps a webhook event to a record update; ok=false for events
// that do not concern an incident thread.
func updateFor(ev *pagerduty.Event) (incident.Update, bool) {
	u := incident.Update{EventID: ev.ID, Type: ev.EventType, OccurredAt: ev.OccurredAt}
	if ev.Agent != nil {
		u.Agent = ev.Agent.Summary
	}
	switch {
	case ev.Incident != nil:
		u.Snapshot = snapshotFrom(ev.Incident)
		u.Reply = ev.EventType != "incident.triggered"
		if ev.EventType == "incident.reassigned" || ev.EventType == "incident.escalated" || ev.EventType == "incident.delegated" {
			if len(u.Snapshot.Assignees) > 0 {
				u.Detail = "Now assigned to " + joinNames(u.Snapshot.Assignees)
			}
		}
		if ev.EventType == "incident.priority_updated" && u.Snapshot.Priority != "" {
			u.Detail = "Priority is now " + u.Snapshot.Priority
		}
		return u, true
	case ev.Note != nil:
		// Note content is not posted until the sanitization layer exists.
		u.Reply = true
		return u, true
	}
	return u, false
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}

func (s *Syncer) handleWebhook(ctx context.Context, body []byte) error {
	ev, err := pagerduty.ParseEvent(body)
	if err != nil {
		return fmt.Errorf("%w: %w", err, queue.ErrPermanent)
	}
	u, ok := updateFor(ev)
	if !ok {
		s.log().Debug("event ignored", "event_id", ev.ID, "type", ev.EventType)
		return nil
	}
	id := ev.IncidentID()
	if ev.EventType == "incident.triggered" {
		if err := s.gather(ctx, id, &u, ev.OccurredAt); err != nil {
			return err
		}
	}
	rec, err := s.Store.Apply(ctx, id, u)
	if err != nil {
		return err
	}
	if rec.StateVersion == 0 && s.PagerDuty != nil { // e.g. a note on an incident opsgate has not seen
		d, err := s.PagerDuty.GetIncident(ctx, id)
		if err != nil && !errors.Is(err, pagerduty.ErrNotFound) {
			return err
		}
		if d != nil {
			if _, err := s.Store.Apply(ctx, id, incident.Update{Type: "api.read", Snapshot: snapshotFrom(d)}); err != nil {
				return err
			}
		}
	}
	if err := s.Sync(ctx, id); err != nil {
		return err
	}
	if ev.EventType == "incident.triggered" {
		if err := s.offer(ctx, id); err != nil {
			// The analysis still runs; the runbook step can be proposed by hand.
			s.log().Warn("handler actions not proposed", "incident", id, "err", err)
		}
		return s.analyze(ctx, id)
	}
	return nil
}

func alertsFrom(in []pagerduty.Alert) []incident.Alert {
	out := make([]incident.Alert, 0, len(in))
	for _, a := range in {
		out = append(out, incident.Alert{Summary: a.Summary, Severity: a.Severity})
	}
	return out
}

func (s *Syncer) handleTriage(ctx context.Context, req TriageRequest) error {
	rec, err := s.Store.Get(ctx, req.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		if s.PagerDuty == nil {
			return s.respond(ctx, req, fmt.Sprintf("I have no thread for incident %s and no PagerDuty API token to look it up.", req.IncidentID))
		}
		d, err := s.PagerDuty.GetIncident(ctx, req.IncidentID)
		if errors.Is(err, pagerduty.ErrNotFound) {
			return s.respond(ctx, req, fmt.Sprintf("PagerDuty has no incident %s.", req.IncidentID))
		}
		if err != nil {
			return err
		}
		u := incident.Update{Type: "api.read", OccurredAt: time.Time{}, Snapshot: snapshotFrom(d)}
		if err := s.gather(ctx, d.ID, &u, time.Now()); err != nil {
			return err
		}
		fallback := req.ChannelID
		if _, err := s.Store.Update(ctx, d.ID, func(r *incident.Record) (bool, error) {
			changed := incident.Apply(r, u, time.Now())
			if r.Channel == "" && s.Route(d.Service.ID, d.Service.Summary) == "" && fallback != "" {
				r.Channel, changed = fallback, true // no route: open it where it was asked for
			}
			if r.TriggeredBy == "" && req.UserID != "" {
				r.TriggeredBy, changed = req.UserID, true
			}
			return changed, nil
		}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := s.Sync(ctx, req.IncidentID); err != nil {
		return err
	}
	if rec, err = s.Store.Get(ctx, req.IncidentID); err != nil {
		return err
	}
	if err := s.respond(ctx, req, "Thread for incident "+req.IncidentID+": "+threadLink(rec)); err != nil {
		return err
	}
	if err := s.offer(ctx, req.IncidentID); err != nil {
		s.log().Warn("handler actions not proposed", "incident", req.IncidentID, "err", err)
	}
	if err := s.analyze(ctx, req.IncidentID); err != nil {
		// The thread is linked; a retry would answer the engineer twice.
		s.log().Warn("root-cause analysis not posted", "incident", req.IncidentID, "err", err)
	}
	return nil
}

// gather fetches the incident's alerts while its handler collects logs and
// metrics, then builds the excerpt and finds similar incidents, into u.
func (s *Syncer) gather(ctx context.Context, id string, u *incident.Update, at time.Time) error {
	collected := make(chan collect.Result, 1)
	go func() { collected <- s.collect(ctx, u.Snapshot, at) }()
	var alerts []pagerduty.Alert
	if s.PagerDuty != nil {
		var err error
		if alerts, err = s.PagerDuty.ListAlerts(ctx, id, 10); err == nil {
			u.Alerts, u.AlertTotal = alertsFrom(alerts), len(alerts)
		} else {
			s.log().Warn("could not fetch alerts; using the webhook payload", "incident", id, "err", err)
		}
	}
	res := <-collected
	u.Metrics, u.Sources = res.Metrics, res.Sources
	for _, a := range res.Actions {
		u.Suggested = append(u.Suggested, rca.Action{ID: a.ID, Params: a.Params})
	}
	if sc := res.Scope; len(sc.Targets)+len(sc.Namespaces)+len(sc.Hosts) > 0 {
		u.Scope = &sc
	}
	x, err := s.buildExcerpt(ctx, u.Snapshot, alerts, res.Lines, at)
	if err != nil {
		return fmt.Errorf("excerpt: %w", err)
	}
	u.Excerpt = x
	u.Similar = s.similar(*u)
	return nil
}

func threadLink(r *incident.Record) string {
	if r.Thread.Permalink != "" {
		return "<" + r.Thread.Permalink + "|open the thread>"
	}
	return "in <#" + r.Thread.Channel + ">"
}

func (s *Syncer) respond(ctx context.Context, req TriageRequest, text string) error {
	if s.Responder == nil || req.ResponseURL == "" {
		return nil
	}
	if err := s.Responder.Respond(ctx, req.ResponseURL, slackapi.Message{Text: text}); err != nil {
		s.log().Warn("could not answer /triage", "incident", req.IncidentID, "err", err)
	}
	return nil
}

// buildExcerpt picks the salient lines of the log text the alerts carry
// (raw here; the view sanitizes them), marking templates the service has
// never shown before, and remembers this incident's templates.
func (s *Syncer) buildExcerpt(ctx context.Context, snap *incident.Snapshot, alerts []pagerduty.Alert, collected []collect.Line, at time.Time) (_ *excerpt.Excerpt, err error) {
	var lines []excerpt.Line
	for _, a := range alerts {
		for _, l := range a.LogLines {
			lines = append(lines, excerpt.Line{Text: l})
		}
	}
	for _, l := range collected {
		lines = append(lines, excerpt.Line{Text: l.Text, Time: l.Time})
	}
	if len(lines) == 0 {
		return nil, nil
	}
	service := "unknown"
	if snap != nil && snap.ServiceID != "" {
		service = snap.ServiceID
	}
	opts := excerpt.Options{AlertTime: at}
	if s.Vault != nil && snap != nil {
		// Mask before mining: templates and variables are built from the
		// masked line, so no raw value reaches a template (and the prompt).
		sess, err := s.Vault.Session(ctx, snap.ID)
		if err != nil {
			return nil, err
		}
		opts.Redact = sess.String
		defer func() {
			if err == nil {
				err = s.Vault.Save(ctx, snap.ID, sess)
			}
		}()
	}
	if s.Templates != nil {
		opts.Known = func(ids []string) map[string]bool {
			known, err := s.Templates.Known(ctx, service, ids)
			if err != nil {
				s.log().Warn("template state unavailable; every template counts as new", "err", err)
			}
			return known
		}
	}
	x := excerpt.Build(lines, opts)
	if s.Templates != nil {
		if err := s.Templates.Remember(ctx, service, x.TemplateIDs()); err != nil {
			s.log().Warn("could not remember templates", "err", err)
		}
	}
	return &x, nil
}

// similar asks the knowledge base for past incidents like this one.
func (s *Syncer) similar(u incident.Update) []incident.Similar {
	if s.Knowledge == nil || u.Snapshot == nil {
		return nil
	}
	at := u.Snapshot.CreatedAt
	if at.IsZero() {
		at = u.OccurredAt
	}
	alerts := make([]string, len(u.Alerts))
	for i, a := range u.Alerts {
		alerts[i] = a.Summary
	}
	return SimilarTo(s.Knowledge, u.Snapshot.Title, alerts, u.Excerpt, at, u.Snapshot.ID)
}

// SimilarTo searches k for past incidents like this one: the title as the
// query title, the alert summaries and the excerpt's templates (flagged
// lines left out) as its body; hits below 15% similarity are dropped.
func SimilarTo(k Knowledge, title string, alerts []string, x *excerpt.Excerpt, at time.Time, exclude string) []incident.Similar {
	var body strings.Builder
	for _, a := range alerts {
		body.WriteString(a + "\n")
	}
	if x != nil {
		for _, e := range x.Entries {
			if len(e.Flags) == 0 {
				body.WriteString(e.Template + "\n")
			}
		}
	}
	var out []incident.Similar
	for _, r := range k.Search(kb.Query{Title: title, Body: body.String(), At: at, Exclude: exclude}, 5) {
		if r.Similarity < 0.15 {
			continue // not similar enough to be worth a line
		}
		d := r.Resolved
		if d.IsZero() {
			d = r.Created
		}
		out = append(out, incident.Similar{ID: r.ID, Title: r.Title, URL: r.URL, Date: d, Similarity: r.Similarity, RootCause: r.RootCause, Resolution: r.Resolution})
	}
	return out
}
