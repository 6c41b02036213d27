package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/excerpt"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// maxExcerptBlocks keeps the excerpt message well under Block Kit's 50.
const maxExcerptBlocks = 20

// MaxMetrics is how many metric summaries a thread shows and an analysis
// may cite, as M1…M8 (MetricID): the same ids in both places.
const MaxMetrics = 8

// MetricID is the id of the i-th metric summary (0-based): "M1", "M2", …
func MetricID(i int) string { return "M" + strconv.Itoa(i+1) }

func codeSafe(s string) string {
	// inside ``` … ```: no closing fence, no mrkdwn entities
	return Escape(strings.ReplaceAll(s, "```", "'''"))
}

// ExcerptReply renders a (sanitized) log excerpt as a thread reply: the
// lines with their ids and counts in code blocks, then a warning for lines
// that carry instructions (withheld from the AI).
//
// sources and metrics come from the incident's context handler: each
// source's outcome (a failed one says why) and the metric summaries. x may
// be nil when no source returned a line.
func ExcerptReply(x *excerpt.Excerpt, sources []collect.Status, metrics []string) slackapi.Message {
	if x == nil {
		x = &excerpt.Excerpt{}
	}
	head := fmt.Sprintf("*Log excerpt* — %d of %d lines shown (%d templates)", len(x.Entries), x.Lines, x.Templates)
	if len(x.Entries) == 0 {
		head = "*Log excerpt* — no log lines were collected"
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(head), nil, nil, slack.SectionBlockOptionBlockID("excerpt_head"))}
	var b strings.Builder
	flush := func() {
		if b.Len() == 0 || len(blocks) >= maxExcerptBlocks {
			b.Reset()
			return
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("```"+strings.TrimRight(b.String(), "\n")+"```"), nil, nil))
		b.Reset()
	}
	for _, e := range x.Entries {
		if len(e.Flags) > 0 {
			continue
		}
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" ×%s %s", thousands(e.Count), e.Occurrence)
		}
		mark := ""
		if e.New {
			mark = " (new)"
		}
		line := fmt.Sprintf("%-4s%s%s  %s\n", e.ID, count, mark, codeSafe(Truncate(e.Text, 600)))
		if b.Len()+len(line) > maxSectionText-10 {
			flush()
		}
		b.WriteString(line)
	}
	flush()
	if fl := x.Flagged(); len(fl) > 0 {
		var w strings.Builder
		w.WriteString(":warning: *Instruction-like text in the logs* — withheld from the AI; treat as untrusted:\n")
		for _, e := range fl {
			reasons := make([]string, len(e.Flags))
			for i, r := range e.Flags {
				reasons[i] = string(r)
			}
			fmt.Fprintf(&w, "• %s (%s): `%s`\n", e.ID, strings.Join(reasons, ", "), inlineCode(oneLine(e.Text), 300))
		}
		if len(blocks) < maxExcerptBlocks+2 {
			blocks = append(blocks, section("excerpt_flags", w.String()))
		}
	}
	if len(metrics) > 0 {
		var m strings.Builder
		m.WriteString("*Metrics*\n")
		for i, line := range metrics {
			if i == MaxMetrics {
				fmt.Fprintf(&m, "…and %d more\n", len(metrics)-MaxMetrics)
				break
			}
			fmt.Fprintf(&m, "`%s` %s\n", MetricID(i), Escape(Truncate(oneLine(line), 300)))
		}
		blocks = append(blocks, section("excerpt_metrics", m.String()))
	}
	if len(sources) > 0 {
		parts := make([]string, 0, len(sources))
		for _, st := range sources {
			switch {
			case st.Error != "":
				parts = append(parts, fmt.Sprintf(":x: %s (%s): %s", Escape(st.Source), Escape(st.Kind), Escape(Truncate(oneLine(st.Error), 160))))
			case st.Kind == "prometheus":
				parts = append(parts, fmt.Sprintf("%s: %d series", Escape(st.Source), st.Series))
			default:
				capped := ""
				if st.Capped {
					capped = " (capped)"
				}
				parts = append(parts, fmt.Sprintf("%s: %s lines%s", Escape(st.Source), thousands(st.Lines), capped))
			}
		}
		blocks = append(blocks, slack.NewContextBlock("excerpt_sources", mrkdwn(Truncate("Sources: "+strings.Join(parts, " · "), maxSectionText))))
	}
	if x.Omitted > 0 {
		blocks = append(blocks, slack.NewContextBlock("excerpt_omitted", mrkdwn(fmt.Sprintf("%d more candidate lines left out to stay short", x.Omitted))))
	}
	return slackapi.Message{Text: fmt.Sprintf("Log excerpt: %d lines", len(x.Entries)), Blocks: blocks}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
