package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

// keyEnv sets OPSGATE_AUDIT_KEY and OPSGATE_VAULT_KEY for the commands and
// returns the vault keyring.
func keyEnv(t *testing.T) *seal.Keyring {
	t.Helper()
	t.Setenv("OPSGATE_AUDIT_KEY", base64.StdEncoding.EncodeToString(testutil.AuditKey))
	k := seal.GenerateKey()
	t.Setenv("OPSGATE_VAULT_KEY", k)
	ring, err := seal.Parse(k)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// snapshot and restore the trail, as a Redis writer could.
type trail struct {
	rdb  *redis.Client
	msgs []redis.XMessage
	head string
}

func snapshot(rdb *redis.Client) *trail {
	ctx := context.Background()
	return &trail{rdb: rdb, msgs: rdb.XRange(ctx, audit.StreamKey, "-", "+").Val(), head: rdb.Get(ctx, audit.HeadKey).Val()}
}

// write replaces the stream with the given raw entries and sets the head.
func (tr *trail) write(entries []string, head string) {
	ctx := context.Background()
	tr.rdb.Del(ctx, audit.StreamKey)
	for _, e := range entries {
		tr.rdb.XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: map[string]any{"e": e}})
	}
	tr.rdb.Set(ctx, audit.HeadKey, head, 0)
}

func (tr *trail) raw() []string {
	out := make([]string, len(tr.msgs))
	for i, m := range tr.msgs {
		out[i] = m.Values["e"].(string)
	}
	return out
}

func headOf(raw string) string {
	var e audit.Entry
	_ = json.Unmarshal([]byte(raw), &e)
	return fmt.Sprintf("%d %s", e.Seq+1, e.MAC)
}

// With the key and the anchor file, `opsgate audit verify` catches each
// thing a Redis writer can do to the trail and names the position.
func TestAuditVerifyCatchesTruncationRewriteAndReorder(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	t.Setenv("REDIS_URL", srv.URL())
	keyEnv(t)
	anchors := filepath.Join(t.TempDir(), "anchors.jsonl")
	t.Setenv("OPSGATE_AUDIT_ANCHOR", anchors)
	ctx := context.Background()
	l := testutil.Audit(t, rdb, nil)
	for i := 0; i < 150; i++ {
		if _, err := l.Append(ctx, audit.Entry{Actor: "U0ALICE", Action: "approved", Incident: fmt.Sprint("P", i%3)}); err != nil {
			t.Fatal(err)
		}
	}
	an := &audit.Anchorer{Log: l, File: anchors, Logger: testutil.Discard()}
	if _, err := an.Anchor(ctx); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runIn(t, "", "audit", "verify")
	if code != 0 || !strings.Contains(out, "150 entries (#0..#149), every MAC and link verified") || !strings.Contains(out, "checked against 1 anchors") {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	tr := snapshot(rdb)
	raw := tr.raw()
	edited := strings.Replace(raw[7], "U0ALICE", "U0MALLORY", 1)
	rekeyed := func() []string { // the whole chain recomputed, with a key that is not the audit key
		other, _ := audit.New(rdb, []byte(strings.Repeat("z", 32)), nil)
		rdb.Del(ctx, audit.StreamKey, audit.HeadKey)
		for i := 0; i < 150; i++ {
			_, _ = other.Append(ctx, audit.Entry{Actor: "U0MALLORY", Action: "approved"})
		}
		return snapshot(rdb).raw()
	}()
	for _, c := range []struct {
		name    string
		entries []string
		head    string
		want    []string
	}{
		{"the last 120 entries cut, head reset", raw[:30], headOf(raw[29]), []string{"entry #30", "truncated"}},
		{"an actor rewritten", append(append(append([]string{}, raw[:7]...), edited), raw[8:]...), tr.head, []string{"entry #7", "does not match its MAC"}},
		{"two entries swapped", append(append(append([]string{}, raw[:11]...), raw[12], raw[11]), raw[13:]...), tr.head, []string{"entry #11", "removed or reordered"}},
		{"one removed from the middle", append(append([]string{}, raw[:60]...), raw[61:]...), tr.head, []string{"entry #60"}},
		{"the chain recomputed without the key", rekeyed, headOf(rekeyed[149]), []string{"entry #0", "does not match its MAC"}},
		{"the first 10 removed", raw[10:], tr.head, []string{"entry #0", "entries #0..#9 are missing"}},
	} {
		tr.write(c.entries, c.head)
		code, _, errOut := runIn(t, "", "audit", "verify")
		for _, w := range c.want {
			if code == 0 || !strings.Contains(errOut, w) {
				t.Errorf("%s: exit %d, want %q in %q", c.name, code, w, errOut)
			}
		}
	}
	tr.write(raw, tr.head)
	if code, _, errOut := runIn(t, "", "audit", "verify"); code != 0 {
		t.Fatalf("restored: %s", errOut)
	}
	// Without the anchors the cut is invisible — the output says so.
	tr.write(raw[:30], headOf(raw[29]))
	t.Setenv("OPSGATE_AUDIT_ANCHOR", "")
	if code, out, _ := runIn(t, "", "audit", "verify"); code != 0 || !strings.Contains(out, "entries cut from the end could not be detected") {
		t.Fatalf("%d %s", code, out)
	}
	// An edited anchor file is refused, naming the line.
	t.Setenv("OPSGATE_AUDIT_ANCHOR", anchors)
	b, _ := os.ReadFile(anchors)
	_ = os.WriteFile(anchors, []byte(strings.Replace(string(b), `"count":150`, `"count":30`, 1)), 0o600)
	if code, _, errOut := runIn(t, "", "audit", "verify"); code == 0 || !strings.Contains(errOut, "anchor signature does not hold") || !strings.Contains(errOut, "line 1") {
		t.Fatalf("%d %s", code, errOut)
	}
	// Verifying with the wrong key fails at the first entry.
	t.Setenv("OPSGATE_AUDIT_KEY", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("w", 32))))
	t.Setenv("OPSGATE_AUDIT_ANCHOR", "")
	if code, _, errOut := runIn(t, "", "audit", "verify"); code == 0 || !strings.Contains(errOut, "entry #0") {
		t.Fatalf("%d %s", code, errOut)
	}
}

func TestAuditExportAndConfigurationErrors(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())
	keyEnv(t)
	ctx := context.Background()
	l := testutil.Audit(t, srv.Client(), nil)
	for i, inc := range []string{"P1", "P2", "P1"} {
		if _, err := l.Append(ctx, audit.Entry{Actor: "U1", Action: "reveal", Incident: inc, Details: map[string]string{"n": string(rune('a' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ := runIn(t, "", "audit", "export", "--incident", "P1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var e audit.Entry
	if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &e) != nil || e.Incident != "P1" || e.MAC == "" || e.Seq != 2 {
		t.Fatalf("%d %q", code, out)
	}
	srv.Client().XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: map[string]any{"e": "{"}})
	if code, _, errOut := runIn(t, "", "audit", "export"); code == 0 || !strings.Contains(errOut, "chain broken") {
		t.Fatalf("%d %s", code, errOut)
	}
	t.Setenv("OPSGATE_AUDIT_ANCHOR", filepath.Join(t.TempDir(), "none"))
	if code, _, errOut := runIn(t, "", "audit", "verify"); code == 0 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("missing anchor file: %d %s", code, errOut)
	}
	t.Setenv("OPSGATE_AUDIT_ANCHOR", "")
	t.Setenv("OPSGATE_AUDIT_KEY", "")
	if code, _, errOut := runIn(t, "", "audit", "verify"); code == 0 || !strings.Contains(errOut, "OPSGATE_AUDIT_KEY is required") {
		t.Fatalf("%d %s", code, errOut)
	}
	t.Setenv("OPSGATE_AUDIT_KEY", "hunter2-too-short")
	if code, _, errOut := runIn(t, "", "audit", "verify"); code == 0 || strings.Contains(errOut, "hunter2") || !strings.Contains(errOut, "OPSGATE_AUDIT_KEY") {
		t.Fatalf("%d %s", code, errOut)
	}
	keyEnv(t)
	t.Setenv("REDIS_URL", "")
	if code, _, errOut := runIn(t, "", "audit", "verify"); code == 0 || !strings.Contains(errOut, "REDIS_URL or REDIS_ADDRS is required") {
		t.Fatalf("%d %s", code, errOut)
	}
	t.Setenv("REDIS_URL", "redis://:s3cret-pw@bad host/0")
	if code, _, errOut := runIn(t, "", "audit", "export"); code == 0 || strings.Contains(errOut, "s3cret-pw") {
		t.Fatalf("%d %s", code, errOut)
	}
}
