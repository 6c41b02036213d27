package sanitize_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/sanitize"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

func TestGuardTextAndMessage(t *testing.T) {
	var hits []redact.Kind
	g := &sanitize.Guard{Engine: redact.Default(), OnHit: func(k redact.Kind) { hits = append(hits, k) }}
	if got, n := g.Text("all clear at 10.0.0.1 [IP_ADDRESS_1]"); n != 0 || got != "all clear at 10.0.0.1 [IP_ADDRESS_1]" {
		t.Fatalf("the guard touched non-secrets: %q", got)
	}
	got, n := g.Text("oops password=hunter22\nand ghp_1234567890abcdefghijABCDEFGHIJ123456")
	if n != 2 || strings.Contains(got, "hunter22") || strings.Contains(got, "ghp_") || strings.Count(got, "\n") != 1 {
		t.Fatalf("%d %q", n, got)
	}
	btn := slack.NewButtonBlockElement("a", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", slack.NewTextBlockObject(slack.PlainTextType, "Go", false, false))
	m := g.Message(slackapi.Message{
		Text: "see sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		Blocks: []slack.Block{
			slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "token=abcd1234efgh5678", false, false)),
			slack.NewSectionBlock(nil, []*slack.TextBlockObject{slack.NewTextBlockObject(slack.MarkdownType, "*Key* AKIAQD7VELNZKUMQGHP3", false, false)}, nil),
			slack.NewActionBlock("b", btn),
		},
	})
	raw, _ := json.Marshal(m.Blocks)
	for _, secret := range []string{"sk_live_", "abcd1234efgh5678", "AKIAQD7VELNZKUMQGHP3", "xoxb-"} {
		if strings.Contains(m.Text+string(raw), secret) {
			t.Fatalf("%q left in %s %s", secret, m.Text, raw)
		}
	}
	if err := fakeslack.ValidateBlocks(raw); err != nil || len(m.Blocks) != 3 {
		t.Fatalf("guarded blocks broken: %v (%d blocks)", err, len(m.Blocks))
	}
	if len(hits) != 6 {
		t.Fatalf("hits = %v", hits)
	}
}

// The guard reads a multi-line message line by line: a key ending one
// line does not make the next line's first word (a citation id) a secret.
func TestGuardKeepsTheNextLine(t *testing.T) {
	g := &sanitize.Guard{Engine: redact.Default()}
	in := "the pool's db-password:\nL7 ERROR upstream reset after 30ms"
	if got, n := g.Text(in); n != 0 || got != in {
		t.Fatalf("%d %q", n, got)
	}
}
