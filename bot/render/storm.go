package render

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/incident"
)

// maxStormShown bounds the storm lines on a parent (Block Kit: 3,000
// characters per section); the count stays exact.
const maxStormShown = 15

var memberEmoji = map[incident.Status]string{
	incident.StatusTriggered:    ":red_circle:",
	incident.StatusAcknowledged: ":large_yellow_circle:",
	incident.StatusResolved:     ":large_green_circle:",
}

// stormBlock lists a storm leader's members, open ones first, each with
// its live status; nil when r leads no storm.
func stormBlock(r *incident.Record) slack.Block {
	if len(r.Storm) == 0 {
		return nil
	}
	total := max(r.StormTotal, len(r.Storm))
	by := map[incident.Status]int{}
	for _, m := range r.Storm {
		by[m.Status]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, ":cyclone: *Storm: %d more incident(s) with the same signature* (%d triggered · %d acknowledged · %d resolved) — grouped into this thread. `/triage split <id>` gives one its own thread.\n",
		total, by[incident.StatusTriggered], by[incident.StatusAcknowledged], by[incident.StatusResolved])
	shown := 0
	for pass := 0; pass < 2; pass++ { // open first, then resolved
		for _, m := range r.Storm {
			if (m.Status == incident.StatusResolved) != (pass == 1) || shown == maxStormShown {
				continue
			}
			shown++
			ref := Escape(m.ID)
			if m.Number > 0 {
				ref = fmt.Sprintf("#%d %s", m.Number, ref)
			}
			if strings.HasPrefix(m.HTMLURL, "https://") && len(m.HTMLURL) <= 500 {
				ref = fmt.Sprintf("<%s|%s>", Escape(m.HTMLURL), ref)
			}
			emoji, ok := memberEmoji[m.Status]
			if !ok {
				emoji = ":white_circle:"
			}
			fmt.Fprintf(&b, "%s %s %s — %s\n", emoji, ref, Escape(Truncate(oneLine(m.Title), 120)), Escape(string(m.Status)))
		}
	}
	if total > shown {
		fmt.Fprintf(&b, "… and %d more", total-shown)
	}
	return slack.NewSectionBlock(mrkdwn(Truncate(strings.TrimSpace(b.String()), maxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("incident_storm"))
}
