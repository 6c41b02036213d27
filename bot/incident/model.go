// Package incident keeps each incident's state in Redis: the latest snapshot
// from PagerDuty, its Slack thread, the timeline of changes and what of it has
// been posted. Records change only by compare-and-swap (Update), so webhook
// redeliveries, retries and replicas cannot lose or double a change.
package incident

import (
	"slices"
	"time"
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

// Thread is where the incident lives in Slack.
type Thread struct {
	Channel   string `json:"channel"`
	TS        string `json:"ts"`
	Permalink string `json:"permalink,omitempty"`
}

// Record is the stored state of one incident: PagerDuty's view of it, its
// Slack thread, its timeline, and a ledger of what opsgate has done for it.
// What opsgate gathered and concluded (logs, similar tickets, analysis)
// lives in its own record (package enrich); nothing here is display state.
type Record struct {
	Snapshot        Snapshot  `json:"snapshot"`
	LastEventAt     time.Time `json:"last_event_at"`
	FirstSeenAt     time.Time `json:"first_seen_at"`
	Channel         string    `json:"channel,omitempty"` // chosen once, at the first event
	Thread          Thread    `json:"thread"`
	ParentPending   bool      `json:"parent_pending,omitempty"` // a parent post was attempted: look for it before posting again
	StateVersion    int64     `json:"state_version"`            // bumped when the snapshot changes
	RenderedVersion int64     `json:"rendered_version"`         // snapshot version the parent shows
	Timeline        []Change  `json:"timeline,omitempty"`
	Replied         int       `json:"replied"` // timeline entries posted as replies
	// ChangePending is set while the post of Timeline[Replied] may have
	// reached Slack without being recorded: look for it before posting.
	ChangePending bool     `json:"change_pending,omitempty"`
	Events        []string `json:"events,omitempty"` // applied event ids (bounded)
	// Replies is the reply ledger: replies other than timeline changes
	// (the log excerpt, similar incidents, the analysis…), in the order
	// they were asked for, each posted once.
	Replies []Reply `json:"replies,omitempty"`
	// Done lists once-per-incident steps that have finished (see Step*).
	Done []string `json:"done,omitempty"`
	// TriggeredBy is the Slack user whose /triage opened the incident's
	// thread (for actions with allow_self: false, they cannot approve).
	TriggeredBy string `json:"triggered_by,omitempty"`
	// StormOf is the storm leader whose thread this incident joined (it
	// has no thread of its own); StormSig is set on a leader: the storm's
	// signature. Storm lists the incidents that joined (up to MaxStorm;
	// StormTotal counts all). Split: taken out of a storm by a person,
	// never grouped again.
	StormOf    string   `json:"storm_of,omitempty"`
	StormSig   string   `json:"storm_sig,omitempty"`
	Storm      []Member `json:"storm,omitempty"`
	StormTotal int      `json:"storm_total,omitempty"`
	StormMore  []string `json:"storm_more,omitempty"` // ids of members past MaxStorm (counted, not listed)
	Split      bool     `json:"split,omitempty"`
}

// Member is one incident of a storm, as its leader's parent lists it.
type Member struct {
	ID      string `json:"id"`
	Number  int    `json:"number,omitempty"`
	Title   string `json:"title"`
	Status  Status `json:"status"`
	HTMLURL string `json:"html_url,omitempty"`
}

// MaxStorm bounds the members a leader's record lists.
const MaxStorm = 500

// JoinStorm adds or refreshes the member line of s on r (a storm leader)
// and reports whether r changed; a change bumps StateVersion so the parent
// is edited to show it.
func (r *Record) JoinStorm(s Snapshot) bool {
	m := Member{ID: s.ID, Number: s.Number, Title: s.Title, Status: s.Status, HTMLURL: s.HTMLURL}
	for i, x := range r.Storm {
		if x.ID == m.ID {
			if x == m {
				return false
			}
			r.Storm[i] = m
			r.bumpIfShown()
			return true
		}
	}
	if len(r.Storm) >= MaxStorm {
		if slices.Contains(r.StormMore, m.ID) {
			return false // counted already; its line is not shown
		}
		r.StormMore = append(r.StormMore, m.ID)
		r.StormTotal++
		r.bumpIfShown()
		return true
	}
	r.Storm = append(r.Storm, m)
	r.StormTotal++
	r.bumpIfShown()
	return true
}

// bumpIfShown asks for the parent to be redrawn — only once the record has
// a snapshot to draw: a member can join a leader whose own snapshot has
// not landed yet, and that must not open an empty thread.
func (r *Record) bumpIfShown() {
	if r.StateVersion > 0 {
		r.StateVersion++
	}
}

// LeaveStorm removes member id from r (a storm leader) and reports whether
// r changed.
func (r *Record) LeaveStorm(id string) bool {
	for i, x := range r.Storm {
		if x.ID == id {
			r.Storm = slices.Delete(r.Storm, i, i+1)
			r.StormTotal--
			r.bumpIfShown()
			return true
		}
	}
	if i := slices.Index(r.StormMore, id); i >= 0 {
		r.StormMore = slices.Delete(r.StormMore, i, i+1)
		r.StormTotal--
		r.bumpIfShown()
		return true
	}
	return false
}

// Reply is one entry of the reply ledger.
type Reply struct {
	Kind   string `json:"kind"`
	Posted bool   `json:"posted,omitempty"`
	// Pending: a post was attempted and may have reached Slack without
	// being recorded; look for it before posting again.
	Pending bool `json:"pending,omitempty"`
}

// Once-per-incident steps recorded in Record.Done.
const (
	StepNote    = "pagerduty_note"     // the thread link was noted on the PagerDuty incident
	StepOffer   = "offer"              // the handler's runbook steps were proposed
	StepRCA     = "propose_rca"        // the analysis' actions were proposed
	StepLearn   = "learn"              // written back to the knowledge base after resolving
	StepNoteRCA = "pagerduty_note_rca" // the analysis was noted on the PagerDuty incident
	StepCharts  = "charts"             // the metric charts were posted
)

// HasThread reports whether the parent message exists.
func (r *Record) HasThread() bool { return r.Thread.TS != "" }

// Synced reports whether Slack shows everything the record holds.
func (r *Record) Synced() bool {
	if r.StormOf != "" && !r.HasThread() {
		return true // shown in its storm leader's thread
	}
	_, pending := r.NextReply()
	return r.HasThread() && r.RenderedVersion >= r.StateVersion && r.Replied >= len(r.Timeline) && !pending
}

// Want asks for a reply of kind (once: asking again changes nothing) and
// reports whether r changed.
func (r *Record) Want(kind string) bool {
	if slices.ContainsFunc(r.Replies, func(x Reply) bool { return x.Kind == kind }) {
		return false
	}
	r.Replies = append(r.Replies, Reply{Kind: kind})
	return true
}

// NextReply is the first reply asked for and not posted yet.
func (r *Record) NextReply() (string, bool) {
	for _, x := range r.Replies {
		if !x.Posted {
			return x.Kind, true
		}
	}
	return "", false
}

// MarkPosted records the reply of kind as posted and reports whether r
// changed.
func (r *Record) MarkPosted(kind string) bool {
	for i, x := range r.Replies {
		if x.Kind == kind && !x.Posted {
			r.Replies[i].Posted, r.Replies[i].Pending = true, false
			return true
		}
	}
	return false
}

// MarkPending records that the reply of kind is about to be posted and
// reports whether r changed.
func (r *Record) MarkPending(kind string) bool {
	for i, x := range r.Replies {
		if x.Kind == kind && !x.Posted && !x.Pending {
			r.Replies[i].Pending = true
			return true
		}
	}
	return false
}

// ReplyPending reports whether a post of the reply of kind was attempted.
func (r *Record) ReplyPending(kind string) bool {
	for _, x := range r.Replies {
		if x.Kind == kind {
			return x.Pending
		}
	}
	return false
}

// IsDone reports whether step has finished.
func (r *Record) IsDone(step string) bool { return slices.Contains(r.Done, step) }

// MarkDone records step as finished and reports whether r changed.
func (r *Record) MarkDone(step string) bool {
	if r.IsDone(step) {
		return false
	}
	r.Done = append(r.Done, step)
	return true
}

// UnmarkDone forgets step (a claimed step whose work failed) and reports
// whether r changed.
func (r *Record) UnmarkDone(step string) bool {
	i := slices.Index(r.Done, step)
	if i < 0 {
		return false
	}
	r.Done = slices.Delete(r.Done, i, i+1)
	return true
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
