package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/test/redistest"
)

func TestKBIngestSearchStats(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())
	keyEnv(t)
	dir := t.TempDir()
	jl := filepath.Join(dir, "t.jsonl")
	_ = os.WriteFile(jl, []byte(`{"id":"INC-1","title":"checkout 5xx: connection refused to db-primary","resolution":"failed over to replica"}
{"id":"INC-2","title":"CDN certificate expired","body":"tls handshake failures"}
garbage line
`), 0o600)
	csvPath := filepath.Join(dir, "jira.csv")
	_ = os.WriteFile(csvPath, []byte("Issue id,Summary,Description\nJ-9,Kafka consumer lag growing,rebalance storm\n,missing id,x\n"), 0o600)
	md := filepath.Join(dir, "runbooks")
	_ = os.MkdirAll(md, 0o755)
	_ = os.WriteFile(filepath.Join(md, "db.md"), []byte("---\ntitle: Database failover runbook\ncategories: [database]\n---\nPromote the replica.\n"), 0o600)

	code, out, errOut := runIn(t, "", "kb", "ingest", "--map", "id=Issue id,title=Summary,body=Description", jl, csvPath, md)
	if code != 0 || !strings.Contains(out, "ingested 4 tickets (2 bad rows skipped)") || !strings.Contains(out, "t.jsonl:3") || !strings.Contains(out, "jira.csv:3") {
		t.Fatalf("%d %q %s", code, out, errOut)
	}
	// Re-ingesting updates, never duplicates.
	runIn(t, "", "kb", "ingest", jl)
	code, out, _ = runIn(t, "", "kb", "stats")
	var st struct {
		Tickets  int            `json:"tickets"`
		BySource map[string]int `json:"by_source"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Tickets != 4 || st.BySource["markdown"] != 1 {
		t.Fatalf("stats %d %q", code, out)
	}
	code, out, _ = runIn(t, "", "kb", "search", "-k", "2", "connection", "refused", "on", "checkout")
	if code != 0 || !strings.HasPrefix(out, "1. INC-1") || !strings.Contains(out, "resolution: failed over to replica") {
		t.Fatalf("search %d %q", code, out)
	}
	code, out, _ = runIn(t, "", "kb", "search", "--json", "kafka lag")
	var res []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res) == 0 || res[0]["id"] != "J-9" {
		t.Fatalf("json search %d %q", code, out)
	}
	q := filepath.Join(dir, "q.jsonl")
	_ = os.WriteFile(q, []byte(`{"id":"INC-1","text":"connection refused to db-primary"}`+"\n"+`{"id":"x","text":"certificate"}`+"\n"), 0o600)
	code, out, _ = runIn(t, "", "kb", "search", "--queries", q, "-k", "3")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || strings.Contains(lines[0], `"id":"INC-1","score"`) || !strings.Contains(lines[1], `"hits":[{"id":"INC-2"`) {
		t.Fatalf("batch %d %q", code, out)
	}
	for _, bad := range [][]string{{"kb", "search"}, {"kb", "search", "-k", "0", "x"}, {"kb", "ingest", filepath.Join(dir, "nope.jsonl")}, {"kb", "ingest", "--map", "bogus=X", jl}} {
		if code, _, _ := runIn(t, "", bad...); code == 0 {
			t.Errorf("%v succeeded", bad)
		}
	}
	_ = os.WriteFile(q, []byte("not json\n"), 0o600)
	if code, _, errOut := runIn(t, "", "kb", "search", "--queries", q); code == 0 || !strings.Contains(errOut, "q.jsonl:1") {
		t.Fatalf("bad queries: %d %s", code, errOut)
	}
}

func TestKBIngestFromPagerDuty(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())
	keyEnv(t)
	fake := fakepagerduty.New("pd-tok")
	t.Cleanup(fake.Close)
	now := time.Now().UTC()
	for i := 0; i < 130; i++ {
		status := "resolved"
		if i%10 == 0 {
			status = "acknowledged"
		}
		fake.AddIncident(fakepagerduty.Incident{ID: fmt.Sprintf("PR%03d", i), Title: fmt.Sprintf("Disk full on node %d", i), Status: status,
			CreatedAt: now.Add(-time.Duration(i) * 24 * time.Hour).Format(time.RFC3339), HTMLURL: "https://acme.pagerduty.com/incidents/x"})
	}
	t.Setenv("PAGERDUTY_API_TOKEN", "pd-tok")
	t.Setenv("PAGERDUTY_API_URL", fake.URL)
	code, out, errOut := runIn(t, "", "kb", "ingest", "--pagerduty", "--since", "90d")
	// created within 90 days: i = 0..89 (90 incidents), minus the 9 not resolved
	if code != 0 || !strings.Contains(out, "ingested 81 tickets") {
		t.Fatalf("%d %q %s", code, out, errOut)
	}
	if code, _, errOut := runIn(t, "", "kb", "ingest", "--pagerduty", "--since", "soon"); code == 0 || !strings.Contains(errOut, "--since") {
		t.Fatalf("bad since: %d %s", code, errOut)
	}
	t.Setenv("PAGERDUTY_API_TOKEN", "")
	if code, _, errOut := runIn(t, "", "kb", "ingest", "--pagerduty"); code == 0 || !strings.Contains(errOut, "PAGERDUTY_API_TOKEN") {
		t.Fatalf("no token: %d %s", code, errOut)
	}
}
