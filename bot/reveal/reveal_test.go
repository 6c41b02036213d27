package reveal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/access"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/reveal"
	"github.com/opsgate/opsgate/bot/sanitize"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

const channel = "C0INC"

func TestOnlyApproversSeeValuesAndEveryAttemptIsAudited(t *testing.T) {
	rdb := redistest.Start(t).Client()
	fs, client := testutil.Slack(t, map[string]string{channel: "incidents"})
	fs.AddUser("U0ANN", "ann")
	fs.AddUser("U0MAL", "mallory")
	vault := view.NewVault(rdb, redact.Default(), time.Hour)
	ctx := context.Background()
	secret := "password=Sup3rS3cretValue"
	if _, err := vault.Mask(ctx, "PREV1", func(s *redact.Session) { s.String("login from 10.1.2.3 " + secret) }); err != nil {
		t.Fatal(err)
	}
	log := testutil.Audit(t, rdb, nil)
	guarded := sanitize.GuardedSlack{Slack: client, Guard: &sanitize.Guard{Engine: redact.Default()}}
	h := &reveal.Handler{Vault: vault, Access: &access.Checker{Approvers: access.List{Users: []string{"U0ANN"}}}, Audit: log, Unguarded: client, Guarded: guarded}
	if err := h.Handle(ctx, jobs.Reveal{IncidentID: "PREV1", UserID: "U0MAL", ChannelID: channel}); err != nil {
		t.Fatal(err)
	}
	if err := h.Handle(ctx, jobs.Reveal{IncidentID: "PREV1", UserID: "U0ANN", ChannelID: channel}); err != nil {
		t.Fatal(err)
	}
	eph := fs.Ephemerals()
	if len(eph) != 2 || eph[0].User != "U0MAL" || !strings.Contains(eph[0].Text, "Only configured approvers") {
		t.Fatalf("%+v", eph)
	}
	if eph[1].User != "U0ANN" || !strings.Contains(string(eph[1].Blocks), "10.1.2.3") || !strings.Contains(string(eph[1].Blocks), "Sup3rS3cretValue") {
		t.Fatalf("the approver did not see the values: %s", eph[1].Blocks)
	}
	es, _ := log.Entries(ctx, 0, -1)
	if len(es) != 2 || es[0].Action != "reveal_denied" || es[1].Action != "reveal" || es[1].Details["count"] != "2" {
		t.Fatalf("%+v", es)
	}
	for _, e := range es {
		if b, _ := json.Marshal(e); strings.Contains(string(b), "10.1.2.3") || strings.Contains(string(b), "Sup3r") {
			t.Fatal("a value reached the audit trail")
		}
	}
}

func TestMessageStaysWithinBlockKitLimits(t *testing.T) {
	m := map[string]string{}
	var keys []string
	for i := range 400 {
		k := fmt.Sprintf("[IP_ADDRESS_%d]", i+1)
		keys, m[k] = append(keys, k), strings.Repeat("v`<&", 200)
	}
	msg := reveal.Message("P1", keys, m)
	raw, _ := json.Marshal(msg.Blocks)
	if err := fakeslack.ValidateBlocks(raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "`<") {
		t.Fatal("values not escaped")
	}
	if got := reveal.Message("P1", nil, nil); !strings.Contains(got.Text, "Nothing is masked") {
		t.Fatal(got.Text)
	}
}
