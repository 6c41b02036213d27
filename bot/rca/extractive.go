package rca

import (
	"fmt"
	"strings"
)

// extractive builds an analysis without a model: the best matching past
// ticket's root cause and resolution, and the strongest excerpt lines
// (errors first). It is labelled as not model-generated.
func extractive(c Context) Analysis {
	a := Analysis{Source: "extractive", Hypothesis: true}
	var lines []string
	for _, id := range c.LineOrder {
		if t := c.Lines[id]; strings.Contains(t, "ERROR") || strings.Contains(t, "FATAL") || strings.Contains(strings.ToLower(t), "exception") {
			lines = append(lines, id)
		}
		if len(lines) == 3 {
			break
		}
	}
	if len(c.Tickets) > 0 && (c.Tickets[0].RootCause != "" || c.Tickets[0].Resolution != "") {
		t := c.Tickets[0]
		a.Summary = fmt.Sprintf("Most similar past incident: %s (%s, %.0f%% similar).", t.ID, t.Title, 100*t.Similarity)
		if t.RootCause != "" {
			a.RootCause = t.RootCause
			a.Evidence = append(a.Evidence, Evidence{Claim: "Root cause then: " + t.RootCause, Citations: []string{t.ID}})
		}
		if t.Resolution != "" {
			a.Evidence = append(a.Evidence, Evidence{Claim: "Resolved then by: " + t.Resolution, Citations: []string{t.ID}})
		}
		a.Confidence = 0.3 * t.Similarity
	} else {
		a.Summary = "No similar past incident with a known root cause."
		a.InsufficientEvidence = true
	}
	if len(lines) > 0 {
		a.Evidence = append(a.Evidence, Evidence{Claim: "Strongest log lines", Citations: lines})
	}
	var moved []string
	for _, m := range c.Metrics {
		if id, text, ok := strings.Cut(m, " "); ok && strings.Contains(text, "left baseline") {
			moved = append(moved, id)
		}
	}
	if len(moved) > 0 {
		a.Evidence = append(a.Evidence, Evidence{Claim: "Metrics that left their baseline", Citations: moved})
	}
	return a
}
