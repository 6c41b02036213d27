package incident

import (
	"strings"

	"github.com/opsgate/opsgate/integrations/pagerduty"
)

// SnapshotOf is the snapshot of an incident as PagerDuty describes it (in a
// webhook event or a REST answer).
func SnapshotOf(d *pagerduty.IncidentData) *Snapshot {
	s := &Snapshot{
		ID: d.ID, Number: d.Number, Title: d.Title, Status: Status(d.Status), Urgency: d.Urgency,
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

// UpdateFor maps a webhook event to a record update; ok is false for
// events that do not concern an incident thread.
func UpdateFor(ev *pagerduty.Event) (Update, bool) {
	u := Update{EventID: ev.ID, Type: ev.EventType, OccurredAt: ev.OccurredAt}
	if ev.Agent != nil {
		u.Agent = ev.Agent.Summary
	}
	switch {
	case ev.Incident != nil:
		u.Snapshot = SnapshotOf(ev.Incident)
		u.Reply = ev.EventType != "incident.triggered"
		switch ev.EventType {
		case "incident.reassigned", "incident.escalated", "incident.delegated":
			if len(u.Snapshot.Assignees) > 0 {
				u.Detail = "Now assigned to " + strings.Join(u.Snapshot.Assignees, ", ")
			}
		case "incident.priority_updated":
			if u.Snapshot.Priority != "" {
				u.Detail = "Priority is now " + u.Snapshot.Priority
			}
		}
		return u, true
	case ev.Note != nil:
		// The note's content is not posted: it is free text nobody vetted.
		u.Reply = true
		return u, true
	}
	return u, false
}
