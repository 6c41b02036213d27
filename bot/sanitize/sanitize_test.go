package sanitize_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/sanitize"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/test/fakeslack"
	"github.com/opsgate/opsgate/test/redistest"
)

func TestVaultKeepsPlaceholdersAcrossSessions(t *testing.T) {
	srv := redistest.Start(t)
	v := sanitize.NewVault(srv.Client(), redact.Default(), time.Hour)
	ctx := context.Background()
	s1, err := v.Session(ctx, "P1")
	if err != nil {
		t.Fatal(err)
	}
	if got := s1.String("from 10.0.0.1"); got != "from [IP_ADDRESS_1]" {
		t.Fatal(got)
	}
	if err := v.Save(ctx, "P1", s1); err != nil {
		t.Fatal(err)
	}
	// Another replica, later: same value, same placeholder; a new one continues.
	s2, _ := v.Session(ctx, "P1")
	if got := s2.String("10.0.0.2 then 10.0.0.1"); got != "[IP_ADDRESS_2] then [IP_ADDRESS_1]" {
		t.Fatal(got)
	}
	_ = v.Save(ctx, "P1", s2)
	m, _ := v.Reveal(ctx, "P1")
	if len(m) != 2 || m["[IP_ADDRESS_2]"] != "10.0.0.2" {
		t.Fatalf("vault = %v", m)
	}
	// Another incident has its own numbering.
	s3, _ := v.Session(ctx, "P2")
	if got := s3.String("10.0.0.2"); got != "[IP_ADDRESS_1]" {
		t.Fatal(got)
	}
	// A corrupt map is an error, not a silent reset.
	srv.Client().HSet(ctx, sanitize.VaultKey("P3"), "not-a-placeholder", "x")
	if _, err := v.Session(ctx, "P3"); err == nil {
		t.Fatal("corrupt vault accepted")
	}
}

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
