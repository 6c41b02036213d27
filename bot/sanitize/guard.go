package sanitize

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/redact"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Guard is the last line of defence: it scans text leaving opsgate for
// credentials (the redact kinds IsSecret reports) that earlier stages did
// not mask, masks them as [REDACTED_<KIND>], and reports each hit.
type Guard struct {
	Engine *redact.Engine
	// OnHit is told the kind of every secret the guard had to mask.
	OnHit func(kind redact.Kind)
}

// Text returns s with any remaining secret masked, and how many were.
func (g *Guard) Text(s string) (string, int) {
	if s == "" {
		return s, 0
	}
	sess := g.Engine.NewSession()
	var b strings.Builder
	n := 0
	lines := strings.Split(s, "\n")
	for li, line := range lines {
		_, finds := sess.Line(line)
		last := 0
		for _, f := range finds {
			if !redact.IsSecret(f.Kind) {
				continue
			}
			b.WriteString(line[last:f.Start])
			b.WriteString("[REDACTED_" + string(f.Kind) + "]")
			last = f.End
			n++
			if g.OnHit != nil {
				g.OnHit(f.Kind)
			}
		}
		b.WriteString(line[last:])
		if li < len(lines)-1 {
			b.WriteByte('\n')
		}
	}
	if n == 0 {
		return s, 0
	}
	return b.String(), n
}

// Mask is Text without the count, for callers that need only the text.
func (g *Guard) Mask(s string) string { r, _ := g.Text(s); return r }

// Message guards a Slack message: its text and every "text" inside blocks.
func (g *Guard) Message(m slackapi.Message) slackapi.Message {
	m.Text, _ = g.Text(m.Text)
	if len(m.Blocks) == 0 {
		return m
	}
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		return slackapi.Message{Text: m.Text, ThreadTS: m.ThreadTS, Metadata: m.Metadata}
	}
	var tree any
	if json.Unmarshal(raw, &tree) != nil {
		return slackapi.Message{Text: m.Text, ThreadTS: m.ThreadTS, Metadata: m.Metadata}
	}
	changed := false
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && (k == "text" || k == "value" || k == "alt_text") {
					if r, n := g.Text(s); n > 0 {
						x[k] = r
						changed = true
					}
					continue
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(tree)
	if !changed {
		return m
	}
	raw, _ = json.Marshal(tree)
	var blocks slack.Blocks
	if err := json.Unmarshal(raw, &blocks); err != nil {
		// Could not rebuild the blocks: send the guarded text alone rather than risk a leak.
		return slackapi.Message{Text: m.Text, ThreadTS: m.ThreadTS, Metadata: m.Metadata}
	}
	m.Blocks = blocks.BlockSet
	return m
}

// Slack is the part of the Slack client the guard wraps.
type Slack interface {
	PostMessage(ctx context.Context, channel string, m slackapi.Message) (string, string, error)
	UpdateMessage(ctx context.Context, channel, ts string, m slackapi.Message) error
	PostEphemeral(ctx context.Context, channel, user string, m slackapi.Message) error
	Respond(ctx context.Context, responseURL string, m slackapi.Message) error
}

// GuardedSlack passes every message through the guard on its way out.
type GuardedSlack struct {
	Slack
	Guard *Guard
}

// PostMessage guards then posts.
func (s GuardedSlack) PostMessage(ctx context.Context, channel string, m slackapi.Message) (string, string, error) {
	return s.Slack.PostMessage(ctx, channel, s.Guard.Message(m))
}

// UpdateMessage guards then edits.
func (s GuardedSlack) UpdateMessage(ctx context.Context, channel, ts string, m slackapi.Message) error {
	return s.Slack.UpdateMessage(ctx, channel, ts, s.Guard.Message(m))
}

// PostEphemeral guards then posts.
func (s GuardedSlack) PostEphemeral(ctx context.Context, channel, user string, m slackapi.Message) error {
	return s.Slack.PostEphemeral(ctx, channel, user, s.Guard.Message(m))
}

// Respond guards then answers.
func (s GuardedSlack) Respond(ctx context.Context, responseURL string, m slackapi.Message) error {
	return s.Slack.Respond(ctx, responseURL, s.Guard.Message(m))
}
