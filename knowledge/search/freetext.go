package search

import "strings"

// maxFreeTitle: tickets' titles are about this long.
const maxFreeTitle = 120

// SplitFreeText splits text that has no structure as a ticket is split:
// its first line (cut at a sentence or word end near a title's length) is
// the title, the rest the body — so free text weighs its words as a
// ticket's title and body do, rather than all as a title.
func SplitFreeText(text string) (title, body string) {
	text = strings.TrimSpace(text)
	title, rest, _ := strings.Cut(text, "\n")
	if len(title) > maxFreeTitle {
		cut := strings.LastIndexAny(title[:maxFreeTitle], ".;:!? ")
		if cut < maxFreeTitle/2 {
			cut = maxFreeTitle
		}
		title, rest = title[:cut], title[cut:]+"\n"+rest
	}
	return strings.TrimSpace(title), strings.TrimSpace(rest)
}
