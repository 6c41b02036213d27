package render

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/enrich"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// SimilarReply renders similar past incidents: id and title (linked), date,
// similarity, and the resolution in one line.
func SimilarReply(items []enrich.Similar) slackapi.Message {
	var b strings.Builder
	b.WriteString("*Similar past incidents*\n")
	for i, s := range items {
		if i == 5 {
			break
		}
		label := Escape(Truncate(oneLine(s.ID+" — "+s.Title), 150))
		if strings.HasPrefix(s.URL, "https://") || strings.HasPrefix(s.URL, "http://") {
			label = fmt.Sprintf("<%s|%s>", Escape(s.URL), label)
		}
		date := ""
		if !s.Date.IsZero() {
			date = s.Date.UTC().Format("2006-01-02") + ", "
		}
		fmt.Fprintf(&b, "• %s (%s%.0f%% similar)", label, date, 100*s.Similarity)
		if s.Resolution != "" {
			fmt.Fprintf(&b, "\n    resolved: %s", Escape(Truncate(oneLine(s.Resolution), 200)))
		}
		b.WriteString("\n")
	}
	return slackapi.Message{
		Text:   fmt.Sprintf("%d similar past incidents", min(len(items), 5)),
		Blocks: []slack.Block{section("similar", b.String())},
	}
}

// SearchAnswer renders the answer to /triage search: the best matches,
// each linked, with its similarity and resolution in one line (the items
// are masked already).
func SearchAnswer(items []enrich.Similar) string {
	if len(items) == 0 {
		return "No similar past incidents, tickets or runbooks found."
	}
	var b strings.Builder
	b.WriteString("*Best matches:*\n")
	for _, s := range items {
		label := Escape(Truncate(oneLine(s.ID+" — "+s.Title), 150))
		if strings.HasPrefix(s.URL, "https://") || strings.HasPrefix(s.URL, "http://") {
			label = "<" + Escape(s.URL) + "|" + label + ">"
		}
		fmt.Fprintf(&b, "• %s (%.0f%% similar)", label, 100*s.Similarity)
		if s.Resolution != "" {
			fmt.Fprintf(&b, " — resolved: %s", Escape(Truncate(oneLine(s.Resolution), 150)))
		}
		b.WriteString("\n")
	}
	return b.String()
}
