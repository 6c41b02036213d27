// Package render turns incident state into Slack messages (Block Kit). It is
// pure: no I/O, golden-file tested, and every piece of text is escaped and
// cut to Block Kit's limits.
package render

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/incident"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Block Kit limits used here.
const (
	maxHeader      = 150
	maxSectionText = 3000
	maxField       = 2000
	maxFallback    = 3000
	maxAlertsShown = 5
)

// ActionReveal is the action id of the "Reveal" button (approvers see the
// masked values in an ephemeral message).
const ActionReveal = "reveal_masked"

// MetadataEventType marks opsgate's parent messages so a thread posted just
// before a crash can be found again.
const MetadataEventType = "opsgate_incident"

// ReplyEventType marks opsgate's thread replies (payload: incident_id and
// reply, the ledger kind or "change:<event id>") so a reply posted just
// before a crash can be found again.
const ReplyEventType = "opsgate_reply"

// Escape makes untrusted text inert in mrkdwn: no links, mentions
// (<!channel>) or user/channel references can be smuggled in.
func Escape(s string) string { return mrkdwnEscaper.Replace(s) }

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Truncate cuts s to at most max runes, marking the cut with "…".
func Truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// oneLine folds whitespace so untrusted text cannot fake extra lines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var statusLabel = map[incident.Status]string{
	incident.StatusTriggered:    ":red_circle: Triggered",
	incident.StatusAcknowledged: ":large_yellow_circle: Acknowledged",
	incident.StatusResolved:     ":large_green_circle: Resolved",
}

// statusText is the emoji label for a status.
func statusText(s incident.Status) string {
	if l, ok := statusLabel[s]; ok {
		return l
	}
	if s == "" {
		return "Unknown"
	}
	return Escape(string(s))
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func title(s incident.Snapshot) string {
	t := oneLine(s.Title)
	if t == "" {
		t = "(untitled incident)"
	}
	if s.Number > 0 {
		return fmt.Sprintf("#%d %s", s.Number, t)
	}
	return t
}

// section is a mrkdwn section block with text's trailing newlines
// trimmed, cut to Slack's limit.
func section(blockID, text string) slack.Block {
	return slack.NewSectionBlock(mrkdwn(Truncate(strings.TrimRight(text, "\n"), maxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(blockID))
}

// inlineCode makes s safe inside `…`: cut to n runes, no fences or
// entities, and no backtick to close it early.
func inlineCode(s string, n int) string {
	return strings.ReplaceAll(codeSafe(Truncate(s, n)), "`", "'")
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func field(label, value string) *slack.TextBlockObject {
	return mrkdwn(Truncate(fmt.Sprintf("*%s*\n%s", label, value), maxField))
}

// fallback is the notification text of the parent message.
func fallback(s incident.Snapshot) string {
	text := fmt.Sprintf("[%s] %s", strings.ToUpper(orDash(string(s.Status))), title(s))
	if s.ServiceName != "" {
		text += " — " + oneLine(s.ServiceName)
	}
	return Truncate(Escape(text), maxFallback)
}

// Action ids of the parent's PagerDuty buttons (the value is the incident id).
const (
	ActionAcknowledge = "incident_acknowledge"
	ActionResolve     = "incident_resolve"
	ActionDraftUpdate = "incident_draft_update"
	ActionReassign    = "incident_reassign"
	ActionEscalate    = "incident_escalate"
)

// ParentOptions says what the parent offers beyond the incident itself.
type ParentOptions struct {
	// WriteBack: PagerDuty can be changed from the thread (Acknowledge,
	// Resolve; needs PAGERDUTY_API_TOKEN).
	WriteBack bool
	// Updates: stakeholders are configured for the incident's service
	// (a Draft update button).
	Updates bool
}

// Parent renders the thread's parent message for a (masked) record;
// masked is how many values the incident's placeholders hide (a Reveal
// button appears when there are any).
func Parent(r *incident.Record, masked int) slackapi.Message {
	return ParentWith(r, masked, ParentOptions{})
}

// ParentWith is Parent with options.
func ParentWith(r *incident.Record, masked int, o ParentOptions) slackapi.Message {
	s := r.Snapshot
	header := ":rotating_light: " + title(s)
	if s.Status == incident.StatusResolved {
		header = ":white_check_mark: " + title(s)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, Truncate(header, maxHeader), true, false)),
	}
	priority := s.Priority
	link := "—"
	if s.HTMLURL != "" && strings.HasPrefix(s.HTMLURL, "https://") {
		link = fmt.Sprintf("<%s|%s>", Escape(s.HTMLURL), Escape(orDash(s.ID)))
	}
	fields := []*slack.TextBlockObject{
		field("Status", statusText(s.Status)),
		field("Urgency", Escape(orDash(s.Urgency))),
		field("Priority", Escape(orDash(priority))),
		field("Service", Escape(orDash(oneLine(s.ServiceName)))),
		field("Assigned to", Escape(orDash(strings.Join(s.Assignees, ", ")))),
		field("Incident", link),
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil, slack.SectionBlockOptionBlockID("incident_fields")))
	if len(s.Alerts) > 0 {
		var b strings.Builder
		total := max(s.AlertsTotal, len(s.Alerts))
		fmt.Fprintf(&b, "*Alerts* (%d)\n", total)
		for i, a := range s.Alerts {
			if i == maxAlertsShown {
				fmt.Fprintf(&b, "… and %d more\n", total-maxAlertsShown)
				break
			}
			sev := ""
			if a.Severity != "" {
				sev = "`" + Escape(oneLine(a.Severity)) + "` "
			}
			fmt.Fprintf(&b, "• %s%s\n", sev, Escape(Truncate(oneLine(a.Summary), 300)))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(Truncate(strings.TrimSpace(b.String()), maxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("incident_alerts")))
	}
	if sb := stormBlock(r); sb != nil {
		blocks = append(blocks, sb)
	}
	ctx := []slack.MixedElement{}
	if !s.CreatedAt.IsZero() {
		ctx = append(ctx, mrkdwn("Opened "+s.CreatedAt.UTC().Format("2006-01-02 15:04 MST")))
	}
	if n := len(r.Timeline); n > 0 {
		last := r.Timeline[n-1]
		ctx = append(ctx, mrkdwn(Truncate("Last change: "+Escape(changeSummary(last)), maxSectionText)))
	}
	if masked > 0 {
		ctx = append(ctx, mrkdwn(fmt.Sprintf(":lock: %d sensitive value(s) masked", masked)))
	}
	ctx = append(ctx, mrkdwn("opsgate"))
	blocks = append(blocks, slack.NewContextBlock("incident_context", ctx...))
	var buttons []slack.BlockElement
	if o.WriteBack && s.Status != incident.StatusResolved && s.ID != "" {
		if s.Status != incident.StatusAcknowledged {
			ack := slack.NewButtonBlockElement(ActionAcknowledge, s.ID, slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge", false, false))
			ack.Style = slack.StylePrimary
			buttons = append(buttons, ack)
		}
		res := slack.NewButtonBlockElement(ActionResolve, s.ID, slack.NewTextBlockObject(slack.PlainTextType, "Resolve", false, false))
		res.Confirm = slack.NewConfirmationBlockObject(
			slack.NewTextBlockObject(slack.PlainTextType, "Resolve in PagerDuty?", false, false),
			slack.NewTextBlockObject(slack.PlainTextType, Truncate("Resolves "+s.ID+" in PagerDuty as you. Everyone paged for it stops being paged.", 300), false, false),
			slack.NewTextBlockObject(slack.PlainTextType, "Resolve", false, false),
			slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))
		buttons = append(buttons, res,
			slack.NewButtonBlockElement(ActionReassign, s.ID, slack.NewTextBlockObject(slack.PlainTextType, "Reassign", false, false)),
			slack.NewButtonBlockElement(ActionEscalate, s.ID, slack.NewTextBlockObject(slack.PlainTextType, "Escalate", false, false)))
	}
	if o.Updates && s.ID != "" {
		buttons = append(buttons, slack.NewButtonBlockElement(ActionDraftUpdate, s.ID, slack.NewTextBlockObject(slack.PlainTextType, "Draft update", false, false)))
	}
	if s.HTMLURL != "" && strings.HasPrefix(s.HTMLURL, "https://") && len(s.HTMLURL) <= 3000 {
		btn := slack.NewButtonBlockElement("open_pagerduty", s.ID, slack.NewTextBlockObject(slack.PlainTextType, "Open in PagerDuty", false, false))
		btn.URL = s.HTMLURL
		buttons = append(buttons, btn)
	}
	if masked > 0 {
		buttons = append(buttons, slack.NewButtonBlockElement(ActionReveal, s.ID, slack.NewTextBlockObject(slack.PlainTextType, "Reveal", false, false)))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("incident_actions", buttons...))
	}
	return slackapi.Message{
		Text:     fallback(s),
		Blocks:   blocks,
		Metadata: &slack.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{"incident_id": s.ID}},
	}
}

var verbs = map[string]string{
	"incident.triggered":        "Triggered",
	"incident.acknowledged":     "Acknowledged",
	"incident.unacknowledged":   "Unacknowledged (acknowledgement timed out)",
	"incident.resolved":         "Resolved",
	"incident.reassigned":       "Reassigned",
	"incident.escalated":        "Escalated",
	"incident.delegated":        "Delegated",
	"incident.reopened":         "Reopened",
	"incident.priority_updated": "Priority changed",
	"incident.service_updated":  "Moved to another service",
	"incident.annotated":        "Note added in PagerDuty",
}

func changeSummary(c incident.Change) string {
	verb, ok := verbs[c.Type]
	if !ok {
		verb = strings.TrimPrefix(c.Type, "incident.")
	}
	s := verb
	if c.Agent != "" {
		s += " by " + oneLine(c.Agent)
	}
	return s + " at " + c.OccurredAt.UTC().Format("15:04:05 MST")
}

var changeEmoji = map[string]string{
	"incident.acknowledged":   ":large_yellow_circle:",
	"incident.unacknowledged": ":red_circle:",
	"incident.resolved":       ":large_green_circle:",
	"incident.escalated":      ":arrow_double_up:",
	"incident.reassigned":     ":arrows_counterclockwise:",
	"incident.delegated":      ":arrows_counterclockwise:",
	"incident.reopened":       ":red_circle:",
	"incident.annotated":      ":memo:",
}

// Reply renders a timeline entry as a short thread reply.
func Reply(c incident.Change) slackapi.Message {
	emoji, ok := changeEmoji[c.Type]
	if !ok {
		emoji = ":information_source:"
	}
	text := emoji + " " + Escape(changeSummary(c))
	if c.Detail != "" {
		text += "\n" + Escape(Truncate(oneLine(c.Detail), 500))
	}
	text = Truncate(text, maxSectionText)
	return slackapi.Message{
		Text:   Truncate(Escape(changeSummary(c)), maxFallback),
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)},
	}
}
