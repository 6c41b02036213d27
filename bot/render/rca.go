package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/rca"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// RCAReply renders a checked analysis: its source and confidence, the
// summary and root cause, each claim with the excerpt lines and tickets it
// cites, the proposed actions (with the past ticket each follows) and what
// the checks dropped. lines maps excerpt line ids to their sanitized text;
// tickets gives the dates of the similar incidents the analysis may cite.
// Proposed actions render without buttons: approvals are separate.
//
// incidentID, when set, adds 👍/👎 buttons: responders' verdicts go into
// the knowledge base with the incident when it resolves.
func RCAReply(a *rca.Analysis, lines map[string]string, tickets []enrich.Similar, incidentID string) slackapi.Message {
	var head string
	switch {
	case a.Source == "extractive":
		head = "*Root-cause analysis* — _extractive, not model-generated_: assembled from the most similar past incident and the strongest log lines"
	case a.InsufficientEvidence:
		head = fmt.Sprintf("*Root-cause analysis* (%s) — :grey_question: *insufficient evidence*, confidence %.0f%%", Escape(a.Source), 100*a.Confidence)
	case a.Hypothesis:
		head = fmt.Sprintf("*Root-cause analysis* (%s) — *hypothesis*, few cited facts; confidence %.0f%%", Escape(a.Source), 100*a.Confidence)
	default:
		head = fmt.Sprintf("*Root-cause analysis* (%s) — confidence %.0f%%", Escape(a.Source), 100*a.Confidence)
	}
	var b strings.Builder
	b.WriteString(head)
	if a.Summary != "" {
		b.WriteString("\n" + Escape(Truncate(oneLine(a.Summary), 600)))
	}
	if a.RootCause != "" {
		b.WriteString("\n*Root cause:* " + Escape(Truncate(oneLine(a.RootCause), 600)))
	}
	if a.Category != "" {
		b.WriteString("\n*Category:* " + Escape(Truncate(oneLine(a.Category), 60)))
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(Truncate(b.String(), maxSectionText)), nil, nil, slack.SectionBlockOptionBlockID("rca_head"))}

	dates := map[string]string{}
	for _, t := range tickets {
		if !t.Date.IsZero() {
			dates[t.ID] = t.Date.UTC().Format("2006-01-02")
		}
	}
	if len(a.Evidence) > 0 {
		var e strings.Builder
		e.WriteString("*Evidence*\n")
		for i, ev := range a.Evidence {
			if i == 8 {
				fmt.Fprintf(&e, "…and %d more\n", len(a.Evidence)-8)
				break
			}
			fmt.Fprintf(&e, "• %s [%s]\n", Escape(Truncate(oneLine(ev.Claim), 300)), Escape(strings.Join(ev.Citations, ", ")))
			for _, id := range ev.Citations {
				if t, ok := lines[id]; ok {
					fmt.Fprintf(&e, "    `%s  %s`\n", Escape(id), inlineCode(oneLine(t), 200))
				}
			}
		}
		blocks = append(blocks, section("rca_evidence", e.String()))
	}
	if len(a.Actions) > 0 {
		var p strings.Builder
		p.WriteString("*Proposed remediation* (from the action catalog; approval buttons arrive with the approvals flow)\n")
		for _, x := range a.Actions {
			fmt.Fprintf(&p, "• `%s` %s", Escape(x.ID), Escape(params(x.Params)))
			if x.Follows != "" {
				if d, ok := dates[x.Follows]; ok {
					fmt.Fprintf(&p, " — follows %s (resolved %s)", Escape(x.Follows), d)
				} else {
					fmt.Fprintf(&p, " — follows %s", Escape(x.Follows))
				}
			}
			if x.Reason != "" {
				p.WriteString("\n    " + Escape(Truncate(oneLine(x.Reason), 200)))
			}
			p.WriteString("\n")
		}
		blocks = append(blocks, section("rca_actions", p.String()))
	}
	if len(a.Dropped) > 0 {
		var d strings.Builder
		fmt.Fprintf(&d, ":scissors: %d item(s) removed by opsgate's checks: ", len(a.Dropped))
		for i, why := range a.Dropped {
			if i == 3 {
				fmt.Fprintf(&d, "; …")
				break
			}
			if i > 0 {
				d.WriteString("; ")
			}
			d.WriteString(Escape(Truncate(oneLine(why), 200)))
		}
		blocks = append(blocks, slack.NewContextBlock("rca_dropped", mrkdwn(Truncate(d.String(), maxSectionText))))
	}
	if incidentID != "" {
		up := slack.NewButtonBlockElement(ActionVerdictUp, incidentID, slack.NewTextBlockObject(slack.PlainTextType, ":+1: Helpful", true, false))
		down := slack.NewButtonBlockElement(ActionVerdictDown, incidentID, slack.NewTextBlockObject(slack.PlainTextType, ":-1: Wrong", true, false))
		blocks = append(blocks, slack.NewActionBlock("rca_verdict", up, down))
	}
	return slackapi.Message{Text: "Root-cause analysis: " + Escape(Truncate(oneLine(a.Summary), 200)), Blocks: blocks}
}

// Verdict buttons on the RCA reply (value: the incident id).
const (
	ActionVerdictUp   = "rca_verdict_up"
	ActionVerdictDown = "rca_verdict_down"
)

func params(p map[string]string) string {
	keys := slices.Sorted(maps.Keys(p))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + p[k]
	}
	return strings.Join(parts, " ")
}
