package view_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/logtmpl"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/test/redistest"
)

func mask(t *testing.T, v *view.Vault, id, text string) string {
	t.Helper()
	var out string
	if _, err := v.Mask(context.Background(), id, func(s *redact.Session) { out = s.String(text) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPlaceholdersHoldAcrossSessions(t *testing.T) {
	srv := redistest.Start(t)
	v := view.NewVault(srv.Client(), redact.Default(), time.Hour)
	ctx := context.Background()
	if got := mask(t, v, "P1", "from 10.0.0.1"); got != "from [IP_ADDRESS_1]" {
		t.Fatal(got)
	}
	// Another replica, later: same value, same placeholder; a new one continues.
	if got := mask(t, v, "P1", "10.0.0.2 then 10.0.0.1"); got != "[IP_ADDRESS_2] then [IP_ADDRESS_1]" {
		t.Fatal(got)
	}
	m, err := v.Reveal(ctx, "P1")
	if err != nil || len(m) != 2 || m["[IP_ADDRESS_2]"] != "10.0.0.2" {
		t.Fatalf("vault = %v %v", m, err)
	}
	// Another incident has its own numbering.
	if got := mask(t, v, "P2", "10.0.0.2"); got != "[IP_ADDRESS_1]" {
		t.Fatal(got)
	}
	// A corrupt map is an error, not a silent reset.
	srv.Client().HSet(ctx, view.Key("P3"), "not-a-placeholder", "x")
	if _, err := v.Mask(ctx, "P3", func(*redact.Session) {}); err == nil {
		t.Fatal("corrupt vault accepted")
	}
}

// Many sessions of one incident at once, each masking values of its own:
// every placeholder names one value, every session's text reveals its
// values, and the same value is the same placeholder everywhere.
func TestConcurrentSessionsNeverShareAPlaceholder(t *testing.T) {
	srv := redistest.Start(t)
	v := view.NewVault(srv.Client(), redact.Default(), time.Hour)
	const sessions = 40
	type result struct {
		value, text string
	}
	results := make([]result, sessions)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value := fmt.Sprintf("10.%d.%d.9", i/250, i%250)
			var out string
			// Every session also masks one shared value.
			_, err := v.Mask(context.Background(), "PCONC", func(s *redact.Session) { out = s.String("from " + value + " to 192.168.0.1") })
			if err != nil {
				t.Error(err)
			}
			results[i] = result{value, out}
		}()
	}
	wg.Wait()
	m, err := v.Reveal(context.Background(), "PCONC")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != sessions+1 {
		t.Fatalf("%d placeholders for %d values: %v", len(m), sessions+1, m)
	}
	byValue := map[string]string{}
	for p, val := range m {
		if q, dup := byValue[val]; dup {
			t.Fatalf("%s and %s both stand for %s", p, q, val)
		}
		byValue[val] = p
	}
	for _, r := range results {
		fields := strings.Fields(r.text) // from <p> to <q>
		if len(fields) != 4 || m[fields[1]] != r.value || m[fields[3]] != "192.168.0.1" {
			t.Fatalf("%q does not reveal %s: %v", r.text, r.value, m)
		}
	}
}

func TestTextsAreWithheldWhenMaskingFails(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	v := view.NewVault(c, redact.Default(), time.Hour)
	a, b := "token=abcd1234efgh5678 at 10.1.1.1", ""
	if err := v.Texts(context.Background(), "P1", &a, &b); err != nil || strings.Contains(a, "10.1.1.1") || strings.Contains(a, "abcd1234") {
		t.Fatal(a, err)
	}
	_ = c.Close()
	a = "password=hunter22 at 10.1.1.1"
	if err := v.Texts(context.Background(), "P1", &a, &b); err == nil || a != "(withheld: masking unavailable)" || b != "" {
		t.Fatalf("%q %q %v", a, b, err)
	}
}

// The pure views leave no planted value in any free-text field.
func TestViewsMaskEveryFreeTextField(t *testing.T) {
	const ip, mail = "10.66.66.66", "eve@corp.example.com"
	planted := ip + " " + mail
	rec := &incident.Record{
		Snapshot: incident.Snapshot{ID: "P1", Title: planted, ServiceName: planted, Alerts: []incident.Alert{{Summary: planted}}},
		Timeline: []incident.Change{{Detail: planted}},
	}
	c := &enrich.Record{
		Alerts:   []incident.Alert{{Summary: planted}},
		Excerpt:  &excerpt.Excerpt{Entries: []excerpt.Entry{{Text: planted, Template: planted, Vars: []logtmpl.Var{{Value: planted}}}}},
		Similar:  []enrich.Similar{{Title: planted, RootCause: planted, Resolution: planted}},
		Metrics:  []string{planted},
		Sources:  []collect.Status{{Error: planted}},
		Analysis: &rca.Analysis{Summary: planted, RootCause: planted, Evidence: []rca.Evidence{{Claim: planted}}, Actions: []rca.Action{{Reason: planted}}, Dropped: []string{planted}},
	}
	s := redact.Default().NewSession()
	out, _ := json.Marshal([]any{view.Incident(rec, s), view.Context(c, s)})
	if strings.Contains(string(out), ip) || strings.Contains(string(out), mail) {
		t.Fatalf("a planted value survived: %s", out)
	}
	// The originals are untouched (the views are copies).
	if rec.Snapshot.Title != planted || c.Excerpt.Entries[0].Text != planted || c.Analysis.Summary != planted {
		t.Fatal("a view changed the record it was made from")
	}
}

// Masked values are encrypted in Redis, bound to their incident and
// placeholder; a forged or moved value fails closed; rotated keys still
// open what they sealed.
func TestTheVaultKeepsValuesEncrypted(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	oldKey, newKey := seal.GenerateKey(), seal.GenerateKey()
	v := view.NewVault(rdb, redact.Default(), time.Hour)
	v.Keys, _ = seal.Parse(oldKey)
	if got := mask(t, v, "P1", "login alice@example.com from 10.0.0.1"); got != "login [EMAIL_ADDRESS_1] from [IP_ADDRESS_1]" {
		t.Fatal(got)
	}
	for f, val := range rdb.HGetAll(ctx, view.Key("P1")).Val() {
		if strings.Contains(val, "alice") || strings.Contains(val, "10.0.0.1") {
			t.Fatalf("%s is in plaintext: %s", f, val)
		}
	}
	// Rotation: the new key seals, the old one still opens.
	v.Keys, _ = seal.Parse(newKey, oldKey)
	if got := mask(t, v, "P1", "10.0.0.2 after 10.0.0.1"); got != "[IP_ADDRESS_2] after [IP_ADDRESS_1]" {
		t.Fatal(got)
	}
	m, err := v.Reveal(ctx, "P1")
	if err != nil || m["[EMAIL_ADDRESS_1]"] != "alice@example.com" || m["[IP_ADDRESS_2]"] != "10.0.0.2" {
		t.Fatal(m, err)
	}
	// A value written by hand, or moved from another placeholder, fails
	// closed: masking is withheld, Reveal refuses.
	sealedIP := rdb.HGet(ctx, view.Key("P1"), "[IP_ADDRESS_1]").Val()
	for _, forged := range []string{"10.6.6.6", sealedIP} {
		rdb.HSet(ctx, view.Key("P1"), "[IP_ADDRESS_3]", forged)
		text := "from 10.0.0.1"
		if err := v.Texts(ctx, "P1", &text); !errors.Is(err, view.ErrSealed) || strings.Contains(text, "10.0.0.1") {
			t.Fatalf("a forged value was accepted: %q %v", text, err)
		}
		rdb.HDel(ctx, view.Key("P1"), "[IP_ADDRESS_3]")
	}
	rdb.HSet(ctx, view.Key("P9"), "[IP_ADDRESS_1]", sealedIP)
	if _, err := v.Reveal(ctx, "P9"); !errors.Is(err, view.ErrSealed) {
		t.Fatalf("a moved value was revealed: %v", err)
	}
}
