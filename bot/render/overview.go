package render

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/incident"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// StatusLine is one open incident for /triage status (Record masked).
type StatusLine struct {
	Record  *incident.Record
	Waiting int // proposals waiting for approval
}

// Status renders /triage status: the open incidents, oldest first, each
// with state, owner, thread and waiting proposals.
func Status(lines []StatusLine, more bool, waiting int) slackapi.Message {
	if len(lines) == 0 {
		return slackapi.Message{Text: "No open incidents."}
	}
	head := fmt.Sprintf("*%d open incident(s)*, %d proposal(s) waiting for approval", len(lines), waiting)
	if more {
		head = fmt.Sprintf("*The %d oldest open incidents* (more are open), %d proposal(s) waiting for approval", len(lines), waiting)
	}
	var rows []string
	for _, l := range lines {
		s := l.Record.Snapshot
		owner := "unassigned"
		if len(s.Assignees) > 0 {
			owner = Escape(oneLine(strings.Join(s.Assignees, ", ")))
		}
		where := "no thread yet"
		switch {
		case l.Record.Thread.Permalink != "":
			where = "<" + l.Record.Thread.Permalink + "|thread>"
		case l.Record.StormOf != "":
			where = "in the storm of " + Escape(l.Record.StormOf)
		}
		row := fmt.Sprintf("%s *%s* %s — %s · %s · %s", memberEmojiFor(s.Status), Escape(s.ID), Escape(Truncate(oneLine(s.Title), 120)),
			Escape(string(s.Status)), owner, where)
		if l.Waiting > 0 {
			row += fmt.Sprintf(" · :hourglass: %d waiting", l.Waiting)
		}
		rows = append(rows, row)
	}
	return listMessage(head, rows, fmt.Sprintf("%d open incidents", len(lines)))
}

func memberEmojiFor(s incident.Status) string {
	if e, ok := memberEmoji[s]; ok {
		return e
	}
	return ":white_circle:"
}

// Event is one line of an incident's timeline.
type Event struct {
	At     time.Time
	Source string // PagerDuty, opsgate
	Text   string // mrkdwn, escaped
}

// maxTimeline bounds the lines shown; the earliest are dropped first.
const maxTimeline = 80

// Timeline renders /triage timeline for a (masked) record.
func Timeline(r *incident.Record, events []Event) slackapi.Message {
	s := r.Snapshot
	head := fmt.Sprintf("*Timeline of %s* %s", Escape(s.ID), Escape(Truncate(oneLine(s.Title), 150)))
	var rows []string
	if len(events) > maxTimeline {
		rows = append(rows, fmt.Sprintf("… %d earlier events", len(events)-maxTimeline))
		events = events[len(events)-maxTimeline:]
	}
	for _, e := range events {
		rows = append(rows, fmt.Sprintf("`%s` _%s_ %s", e.At.UTC().Format("01-02 15:04:05"), e.Source, e.Text))
	}
	return listMessage(head, rows, "Timeline of "+s.ID)
}

// ChangeText is a PagerDuty change as a timeline line.
func ChangeText(c incident.Change) string {
	t := Escape(changeSummary(c))
	if c.Detail != "" {
		t += " — " + Escape(Truncate(oneLine(c.Detail), 200))
	}
	return t
}

var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// AuditText is an audit entry as a timeline line: what, who, and the
// details that say which proposal and how it ended.
func AuditText(e audit.Entry) string {
	who := Escape(e.Actor)
	if userID.MatchString(e.Actor) {
		who = "<@" + e.Actor + ">"
	}
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		switch k {
		case "output_sha256", "placeholders", "hash":
			continue // noise here; the audit export has them
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var d []string
	for _, k := range keys {
		d = append(d, Escape(k+"="+Truncate(oneLine(e.Details[k]), 120)))
	}
	t := "*" + Escape(strings.ReplaceAll(e.Action, "_", " ")) + "* by " + who
	if len(d) > 0 {
		t += " (" + strings.Join(d, ", ") + ")"
	}
	return t
}

// listMessage packs a heading and rows into sections within Block Kit's
// limits (3,000 characters a section, 50 blocks).
func listMessage(head string, rows []string, fallback string) slackapi.Message {
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(head, maxSectionText)), nil, nil)}
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 && len(blocks) < 49 {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(strings.TrimSpace(b.String())), nil, nil))
		}
		b.Reset()
	}
	for _, r := range rows {
		r = Truncate(r, 1000)
		if b.Len()+len(r)+1 > maxSectionText-100 {
			flush()
		}
		b.WriteString(r + "\n")
	}
	flush()
	return slackapi.Message{Text: Truncate(fallback, maxFallback), Blocks: blocks}
}
