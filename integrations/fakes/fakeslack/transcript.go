package fakeslack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

var linkRe = regexp.MustCompile(`<([^<>|]+)\|([^<>]+)>`)

// readable turns mrkdwn into what a reader sees: <url|label> → label (url),
// and entities unescaped.
func readable(s string) string {
	s = linkRe.ReplaceAllString(s, "$2 ($1)")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// BlocksText renders blocks as plain lines, the way a reader sees them.
func BlocksText(raw json.RawMessage) []string {
	var blocks []struct {
		Type     string            `json:"type"`
		Text     *textObj          `json:"text"`
		Fields   []textObj         `json:"fields"`
		Elements []json.RawMessage `json:"elements"`
	}
	if json.Unmarshal(raw, &blocks) != nil {
		return nil
	}
	var out []string
	for _, b := range blocks {
		switch b.Type {
		case "header":
			if b.Text != nil {
				out = append(out, "# "+b.Text.Text)
			}
		case "section":
			if b.Text != nil {
				out = append(out, strings.Split(b.Text.Text, "\n")...)
			}
			for _, f := range b.Fields {
				out = append(out, strings.ReplaceAll(f.Text, "\n", " "))
			}
		case "divider":
			out = append(out, "---")
		case "context", "actions":
			var parts []string
			for _, e := range b.Elements {
				var el element
				_ = json.Unmarshal(e, &el)
				switch el.Type {
				case "button":
					var t textObj
					_ = json.Unmarshal(el.Text, &t)
					parts = append(parts, "["+t.Text+"]")
				case "plain_text", "mrkdwn":
					var t textObj
					_ = json.Unmarshal(e, &t)
					parts = append(parts, t.Text)
				}
			}
			out = append(out, strings.Join(parts, "  "))
		}
	}
	return out
}

func messageLines(m Message) []string {
	lines := strings.Split(m.Text, "\n")
	if len(m.Blocks) > 0 {
		lines = BlocksText(m.Blocks)
	}
	for i, l := range lines {
		lines[i] = readable(l)
	}
	return lines
}

// Transcript renders a channel as text: each thread's parent (with how often
// it was edited) and its replies, indented.
func (s *Server) Transcript(channel string) string {
	s.mu.Lock()
	name := s.channels[channel]
	s.mu.Unlock()
	var b strings.Builder
	threads := s.Threads(channel)
	fmt.Fprintf(&b, "#%s (%s): %d thread(s)\n", name, channel, len(threads))
	for _, p := range threads {
		edited := ""
		if p.Edits > 0 {
			edited = fmt.Sprintf(" (edited %d×)", p.Edits)
		}
		fmt.Fprintf(&b, "\n┌─ message %s%s\n", p.TS, edited)
		for _, l := range messageLines(p) {
			fmt.Fprintf(&b, "│ %s\n", l)
		}
		replies := s.Replies(channel, p.TS)
		for i, r := range replies {
			fmt.Fprintf(&b, "├─ reply %d/%d\n", i+1, len(replies))
			for _, l := range messageLines(r) {
				fmt.Fprintf(&b, "│   %s\n", l)
			}
		}
		b.WriteString("└─\n")
	}
	return b.String()
}
