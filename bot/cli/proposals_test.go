package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

func TestProposalsShowAndSettle(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())
	keys := keyEnv(t)
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	st := approval.NewStore(srv.Client(), time.Hour, clock)
	st.Keys = keys
	id := "Q1ABCDE-0123456789"
	if ok, err := st.Create(ctx, approval.Proposal{ID: id, IncidentID: "Q1ABCDE", ActionID: "restart-deployment", Required: 1, ExpiresAt: now.Add(time.Hour)}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	p, _ := st.Get(ctx, id)
	if _, _, err := st.Approve(ctx, id, "U0ALICE", p.Hash, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Begin(ctx, id, time.Minute); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runIn(t, "", "proposals", "show", id); code != 0 || !strings.Contains(out, `"state": "EXECUTING"`) {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	for _, bad := range [][]string{
		{"proposals", "show", "Q1ABCDE-nothex!!!!"},
		{"proposals", "show", "Q1ABCDE-ffffffffff"},
		{"proposals", "settle", id, "succeeded", "--by", "alice"}, // still running: not stalled
		{"proposals", "settle", id, "verified", "--by", "alice"},
		{"proposals", "settle", id, "failed"},
		{"proposals", "settle", "../../x", "failed", "--by", "alice"},
	} {
		if code, _, errOut := runIn(t, "", bad...); code == 0 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errOut)
		}
	}
	now = now.Add(5 * time.Minute) // the worker died
	if got, err := st.Stalled(ctx); err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	code, out, errOut := runIn(t, "", "proposals", "settle", id, "failed", "--by", "alice", "--note", "pods unchanged")
	if code != 0 || !strings.Contains(out, "is now FAILED") {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	entries, _ := testutil.Audit(t, srv.Client(), nil).Entries(ctx, 0, -1)
	if len(entries) != 1 || entries[0].Action != "settled" || entries[0].Actor != "alice" || entries[0].Details["state"] != "FAILED" {
		t.Fatalf("%+v", entries)
	}
	if code, _, _ := runIn(t, "", "proposals", "settle", id, "succeeded", "--by", "alice"); code == 0 {
		t.Fatal("a settled execution cannot be settled again")
	}
}
