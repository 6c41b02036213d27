// Package incident keeps each incident's state in Redis: the latest snapshot
// from PagerDuty, its Slack thread, the timeline of changes and what of it has
// been posted. Records change only by compare-and-swap (Update), so webhook
// redeliveries, retries and replicas cannot lose or double a change.
package incident

import (
	"slices"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/rca"
)

// Status is PagerDuty's incident status.
type Status string

// Known statuses.
const (
	StatusTriggered    Status = "triggered"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Alert is one alert line shown on the parent message.
type Alert struct {
	Summary  string `json:"summary"`
	Severity string `json:"severity,omitempty"`
}

// Snapshot is what the parent message shows.
type Snapshot struct {
	ID               string    `json:"id"`
	Number           int       `json:"number,omitempty"`
	Title            string    `json:"title"`
	Status           Status    `json:"status"`
	Urgency          string    `json:"urgency,omitempty"`
	Priority         string    `json:"priority,omitempty"`
	ServiceID        string    `json:"service_id,omitempty"`
	ServiceName      string    `json:"service_name,omitempty"`
	HTMLURL          string    `json:"html_url,omitempty"`
	Assignees        []string  `json:"assignees,omitempty"`
	EscalationPolicy string    `json:"escalation_policy,omitempty"`
	CreatedAt        time.Time `json:"created_at,omitempty"`
	Alerts           []Alert   `json:"alerts,omitempty"`
	AlertsTotal      int       `json:"alerts_total,omitempty"`
}

// Change is one timeline entry, posted as a thread reply.
type Change struct {
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"` // PagerDuty event type, e.g. incident.acknowledged
	Agent      string    `json:"agent,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
	Status     Status    `json:"status,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

// Similar is a past incident or ticket like this one.
type Similar struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	URL        string    `json:"url,omitempty"`
	Date       time.Time `json:"date,omitempty"`
	Similarity float64   `json:"similarity"`
	RootCause  string    `json:"root_cause,omitempty"`
	Resolution string    `json:"resolution,omitempty"`
}

// Thread is where the incident lives in Slack.
type Thread struct {
	Channel   string `json:"channel"`
	TS        string `json:"ts"`
	Permalink string `json:"permalink,omitempty"`
}

// Record is the stored state of one incident.
type Record struct {
	Snapshot        Snapshot         `json:"snapshot"`
	LastEventAt     time.Time        `json:"last_event_at"`
	FirstSeenAt     time.Time        `json:"first_seen_at"`
	Channel         string           `json:"channel,omitempty"` // chosen once, at the first event
	Thread          Thread           `json:"thread"`
	ParentPending   bool             `json:"parent_pending,omitempty"` // a parent post was attempted: look for it before posting again
	StateVersion    int64            `json:"state_version"`            // bumped when the snapshot changes
	RenderedVersion int64            `json:"rendered_version"`         // snapshot version the parent shows
	Timeline        []Change         `json:"timeline,omitempty"`
	Replied         int              `json:"replied"`              // timeline entries posted as replies
	Events          []string         `json:"events,omitempty"`     // applied event ids (bounded)
	NoteAdded       bool             `json:"note_added,omitempty"` // thread link noted on the PagerDuty incident
	Excerpt         *excerpt.Excerpt `json:"excerpt,omitempty"`    // log excerpt (raw; sanitized when rendered)
	ExcerptPosted   bool             `json:"excerpt_posted,omitempty"`
	Similar         []Similar        `json:"similar,omitempty"` // similar past incidents from the knowledge base
	SimilarPosted   bool             `json:"similar_posted,omitempty"`
	Learned         bool             `json:"learned,omitempty"` // written back to the knowledge base after resolving
	Metrics         []string         `json:"metrics,omitempty"` // metric summaries from the handler's sources (raw)
	Sources         []collect.Status `json:"sources,omitempty"` // how each context source fared
	RCA             *rca.Analysis    `json:"rca,omitempty"`     // checked root-cause analysis (sanitized text; the first one wins)
	RCAPosted       bool             `json:"rca_posted,omitempty"`
	// Suggested are the handler's default actions (filled, not yet checked);
	// SuggestedProposed is set once they were offered as proposals.
	Suggested         []rca.Action `json:"suggested,omitempty"`
	SuggestedProposed bool         `json:"suggested_proposed,omitempty"`
	// Scope is what the matching handler adds to what actions may name.
	Scope *catalog.Scope `json:"scope,omitempty"`
	// TriggeredBy is the Slack user whose /triage opened the incident's
	// thread (for actions with allow_self: false, they cannot approve).
	TriggeredBy string `json:"triggered_by,omitempty"`

	// Masked is how many values the sanitized view hides (set for rendering, not stored).
	Masked int `json:"-"`
}

// HasThread reports whether the parent message exists.
func (r *Record) HasThread() bool { return r.Thread.TS != "" }

// Synced reports whether Slack shows everything the record holds.
func (r *Record) Synced() bool {
	return r.HasThread() && r.RenderedVersion >= r.StateVersion && r.Replied >= len(r.Timeline) &&
		(r.Excerpt == nil && len(r.Sources) == 0 || r.ExcerptPosted) && (len(r.Similar) == 0 || r.SimilarPosted) &&
		(r.RCA == nil || r.RCAPosted)
}

// Update is one observed fact about an incident, from a webhook event or an
// API read.
type Update struct {
	EventID    string    // "" for API reads (no timeline entry)
	Type       string    // event type
	OccurredAt time.Time // when it happened in PagerDuty
	Agent      string    // who did it, if known
	Snapshot   *Snapshot // full incident state at OccurredAt, if the event carries one
	Reply      bool      // post a thread reply for it
	Detail     string    // extra reply text
	Alerts     []Alert   // alert lines, when fetched
	AlertTotal int
	Excerpt    *excerpt.Excerpt // log excerpt, built once (the first one wins)
	Similar    []Similar        // similar past incidents, found once
	Metrics    []string         // metric summaries, collected once
	Sources    []collect.Status // context sources' outcomes, collected once
	Suggested  []rca.Action     // the handler's default actions, collected once
	Scope      *catalog.Scope   // the handler's scope, collected once
}

// maxEvents bounds the remembered event ids per incident.
const maxEvents = 500

// Apply folds u into r and reports whether r changed. It is pure and
// idempotent: applying the same event twice changes nothing, and an event
// older than the last applied one does not roll the snapshot back (its reply
// is still recorded).
func Apply(r *Record, u Update, now time.Time) bool {
	if u.EventID != "" && slices.Contains(r.Events, u.EventID) {
		return false
	}
	changed := false
	if r.FirstSeenAt.IsZero() {
		r.FirstSeenAt = now
		changed = true
	}
	if u.Snapshot != nil && !u.OccurredAt.Before(r.LastEventAt) {
		next := *u.Snapshot
		if len(next.Alerts) == 0 { // webhooks carry no alerts: keep fetched ones
			next.Alerts, next.AlertsTotal = r.Snapshot.Alerts, r.Snapshot.AlertsTotal
		}
		if !snapshotEqual(r.Snapshot, next) {
			r.Snapshot = next
			r.StateVersion++
		}
		r.LastEventAt = u.OccurredAt
		changed = true
	}
	if len(u.Alerts) > 0 && !slices.Equal(r.Snapshot.Alerts, u.Alerts) {
		r.Snapshot.Alerts, r.Snapshot.AlertsTotal = u.Alerts, u.AlertTotal
		r.StateVersion++
		changed = true
	}
	if len(u.Similar) > 0 && len(r.Similar) == 0 {
		r.Similar = u.Similar
		changed = true
	}
	if (len(u.Metrics) > 0 || len(u.Sources) > 0) && len(r.Sources) == 0 {
		r.Metrics, r.Sources = u.Metrics, u.Sources
		changed = true
	}
	if u.Excerpt != nil && r.Excerpt == nil {
		r.Excerpt = u.Excerpt
		changed = true
	}
	if len(u.Suggested) > 0 && len(r.Suggested) == 0 {
		r.Suggested = u.Suggested
		changed = true
	}
	if u.Scope != nil && r.Scope == nil {
		r.Scope = u.Scope
		changed = true
	}
	if u.EventID != "" {
		r.Events = append(r.Events, u.EventID)
		if len(r.Events) > maxEvents {
			r.Events = r.Events[len(r.Events)-maxEvents:]
		}
		changed = true
		if u.Reply {
			c := Change{EventID: u.EventID, Type: u.Type, Agent: u.Agent, OccurredAt: u.OccurredAt, Detail: u.Detail}
			if u.Snapshot != nil {
				c.Status = u.Snapshot.Status
			}
			r.Timeline = append(r.Timeline, c)
		}
	}
	return changed
}

func snapshotEqual(a, b Snapshot) bool {
	return a.ID == b.ID && a.Number == b.Number && a.Title == b.Title && a.Status == b.Status && a.Urgency == b.Urgency &&
		a.Priority == b.Priority && a.ServiceID == b.ServiceID && a.ServiceName == b.ServiceName && a.HTMLURL == b.HTMLURL &&
		slices.Equal(a.Assignees, b.Assignees) && a.EscalationPolicy == b.EscalationPolicy && a.CreatedAt.Equal(b.CreatedAt) &&
		slices.Equal(a.Alerts, b.Alerts) && a.AlertsTotal == b.AlertsTotal
}
