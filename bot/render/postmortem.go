package render

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/rca"
)

// Postmortem is a Markdown postmortem draft from what opsgate knows: the
// (masked) record, its analysis (nil if none), the audit entries of the
// incident and the merged timeline. Sections a person must write say so.
func Postmortem(r *incident.Record, a *rca.Analysis, entries []audit.Entry, events []Event, now time.Time) string {
	s := r.Snapshot
	var b strings.Builder
	md := func(x string) string { return strings.ReplaceAll(oneLine(x), "|", "\\|") }
	fmt.Fprintf(&b, "# Postmortem draft: %s — %s\n\n", s.ID, md(s.Title))
	fmt.Fprintf(&b, "_Drafted by opsgate on %s from the incident's thread, PagerDuty and the audit trail. Review every section; values shown as placeholders such as [IP_ADDRESS_1] were masked._\n\n", now.UTC().Format("2006-01-02 15:04 MST"))

	b.WriteString("## Summary\n\n")
	if a != nil && a.Summary != "" {
		fmt.Fprintf(&b, "%s\n\n", md(a.Summary))
	} else {
		b.WriteString("_To be written._\n\n")
	}

	b.WriteString("## Impact window\n\n")
	start := s.CreatedAt
	if start.IsZero() {
		start = r.FirstSeenAt
	}
	end, ended := time.Time{}, false
	for _, c := range r.Timeline {
		if c.Type == "incident.resolved" {
			end, ended = c.OccurredAt, true
		}
	}
	fmt.Fprintf(&b, "- Start: %s\n", start.UTC().Format(time.RFC3339))
	if ended {
		fmt.Fprintf(&b, "- End: %s (%s)\n", end.UTC().Format(time.RFC3339), end.Sub(start).Round(time.Second))
	} else {
		b.WriteString("- End: not resolved yet\n")
	}
	fmt.Fprintf(&b, "- Service: %s; urgency %s; priority %s\n\n", md(orDash(s.ServiceName)), md(orDash(s.Urgency)), md(orDash(s.Priority)))

	b.WriteString("## Detection\n\n")
	fmt.Fprintf(&b, "- Paged by PagerDuty at %s", start.UTC().Format("15:04:05 MST"))
	if len(s.Alerts) > 0 {
		fmt.Fprintf(&b, " on %d alert(s), first: %s", max(s.AlertsTotal, len(s.Alerts)), md(Truncate(s.Alerts[0].Summary, 200)))
	}
	b.WriteString("\n")
	if !r.FirstSeenAt.IsZero() {
		fmt.Fprintf(&b, "- opsgate opened the thread at %s", r.FirstSeenAt.UTC().Format("15:04:05 MST"))
		if r.Thread.Permalink != "" {
			fmt.Fprintf(&b, ": %s", r.Thread.Permalink)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Root cause\n\n")
	switch {
	case a == nil:
		b.WriteString("_No analysis was made; to be written._\n\n")
	default:
		if a.Hypothesis || a.InsufficientEvidence {
			b.WriteString("_Hypothesis: the analysis had too little cited evidence to state it as fact. Confirm or replace._\n\n")
		}
		if a.RootCause != "" {
			fmt.Fprintf(&b, "%s\n\n", md(a.RootCause))
		}
		for _, e := range a.Evidence {
			cites := ""
			if len(e.Citations) > 0 {
				cites = " (" + strings.Join(e.Citations, ", ") + ")"
			}
			fmt.Fprintf(&b, "- %s%s\n", md(e.Claim), cites)
		}
		fmt.Fprintf(&b, "\n_Source: %s, confidence %.2f._\n\n", a.Source, a.Confidence)
	}

	b.WriteString("## Actions taken\n\n")
	taken := 0
	for _, e := range entries {
		switch e.Action {
		case "executed", "verified", "undone", "pagerduty_acknowledged", "pagerduty_resolved":
			taken++
			d := e.Details
			keys := make([]string, 0, len(d))
			for k := range d {
				if k != "output_sha256" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			var kv []string
			for _, k := range keys {
				kv = append(kv, k+"="+md(Truncate(d[k], 120)))
			}
			fmt.Fprintf(&b, "- %s %s by %s (%s)\n", e.At.UTC().Format("15:04:05"), strings.ReplaceAll(e.Action, "_", " "), md(e.Actor), strings.Join(kv, ", "))
		}
	}
	if taken == 0 {
		b.WriteString("_None recorded by opsgate._\n")
	}

	b.WriteString("\n## Timeline\n\n")
	for _, e := range events {
		fmt.Fprintf(&b, "- %s %s: %s\n", e.At.UTC().Format("2006-01-02 15:04:05"), e.Source, plain(e.Text))
	}

	b.WriteString("\n## Follow-ups\n\n")
	if a != nil {
		for _, x := range a.Actions {
			fmt.Fprintf(&b, "- [ ] Decide on the proposed `%s`%s\n", x.ID, paramsText(x.Params))
		}
		if a.Hypothesis || a.InsufficientEvidence {
			b.WriteString("- [ ] Confirm the root cause\n")
		}
	}
	b.WriteString("- [ ] What would have detected this sooner?\n- [ ] What would have made it smaller?\n")
	return b.String()
}

func paramsText(p map[string]string) string {
	if len(p) == 0 {
		return ""
	}
	return " (" + sortedParams(p) + ")"
}

// sortedParams is "k=v k=v" in key order.
func sortedParams(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+p[k])
	}
	return strings.Join(kv, " ")
}

// plain undoes a timeline line's mrkdwn for Markdown.
func plain(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "*", "", "_", "").Replace(s)
}
