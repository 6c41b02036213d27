package render

import (
	"fmt"
	"strings"

	"github.com/opsgate/opsgate/bot/rca"
)

// maxNote bounds a PagerDuty note opsgate writes (PagerDuty keeps notes
// short in its UI; the thread has the rest).
const maxNote = 5000

// AnalysisNote is the analysis as plain text for a PagerDuty incident
// note: summary, root cause, the evidence with the ids it cites, the
// proposed actions, and where the thread is. a is the masked view.
func AnalysisNote(a *rca.Analysis, threadLink string) string {
	var b strings.Builder
	kind := "root cause"
	if a.Hypothesis || a.InsufficientEvidence {
		kind = "hypothesis (too little cited evidence to state it as fact)"
	}
	fmt.Fprintf(&b, "opsgate analysis (%s, confidence %.2f): %s\n", a.Source, a.Confidence, kind)
	fmt.Fprintf(&b, "Summary: %s\n", oneLine(a.Summary))
	if a.RootCause != "" {
		fmt.Fprintf(&b, "Root cause: %s\n", oneLine(a.RootCause))
	}
	if len(a.Evidence) > 0 {
		b.WriteString("Evidence:\n")
		for _, e := range a.Evidence {
			cites := ""
			if len(e.Citations) > 0 {
				cites = " [" + strings.Join(e.Citations, ", ") + "]"
			}
			fmt.Fprintf(&b, "- %s%s\n", oneLine(e.Claim), cites)
		}
	}
	if len(a.Actions) > 0 {
		b.WriteString("Proposed (each needs approval in Slack):\n")
		for _, x := range a.Actions {
			params := ""
			if len(x.Params) > 0 {
				params = " " + sortedParams(x.Params)
			}
			fmt.Fprintf(&b, "- %s%s\n", x.ID, params)
		}
	}
	if threadLink != "" {
		fmt.Fprintf(&b, "Thread: %s\n", threadLink)
	}
	return Truncate(strings.TrimSpace(b.String()), maxNote)
}

// PlainNote turns a thread reply's mrkdwn into a PagerDuty note's plain
// text (the escapes undone, the emphasis dropped).
func PlainNote(mrkdwn string) string {
	s := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "*", "").Replace(mrkdwn)
	return Truncate(strings.TrimSpace(s), maxNote)
}
