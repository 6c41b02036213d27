package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/test/redistest"
)

func TestAuditVerifyAndExport(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())
	ctx := context.Background()
	l := audit.New(srv.Client(), nil)
	for i, inc := range []string{"P1", "P2", "P1"} {
		if _, err := l.Append(ctx, audit.Entry{Actor: "U1", Action: "reveal", Incident: inc, Details: map[string]string{"n": string(rune('a' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runIn(t, "", "audit", "verify")
	if code != 0 || !strings.Contains(out, "3 entries, hash chain verified") {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	code, out, _ = runIn(t, "", "audit", "export", "--incident", "P1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var e audit.Entry
	if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &e) != nil || e.Incident != "P1" || e.Hash == "" {
		t.Fatalf("%d %q", code, out)
	}
	// Tamper: rebuild the stream with the middle entry changed.
	rdb := srv.Client()
	msgs := rdb.XRange(ctx, audit.StreamKey, "-", "+").Val()
	rdb.Del(ctx, audit.StreamKey)
	for i, m := range msgs {
		v := m.Values["e"].(string)
		if i == 1 {
			v = strings.Replace(v, `"P2"`, `"P9"`, 1)
		}
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: map[string]any{"e": v}})
	}
	code, _, errOut = runIn(t, "", "audit", "verify")
	if code == 0 || !strings.Contains(errOut, "chain broken at entry 1") {
		t.Fatalf("%d %s", code, errOut)
	}
	t.Setenv("REDIS_URL", "")
	if code, _, errOut := runIn(t, "", "audit", "verify"); code == 0 || !strings.Contains(errOut, "REDIS_URL is required") {
		t.Fatalf("%d %s", code, errOut)
	}
	t.Setenv("REDIS_URL", "redis://:s3cret-pw@bad host/0")
	if code, _, errOut := runIn(t, "", "audit", "export"); code == 0 || strings.Contains(errOut, "s3cret-pw") {
		t.Fatalf("%d %s", code, errOut)
	}
}
