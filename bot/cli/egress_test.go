package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/test/redistest"
)

// planted values in every input a command reads; none may be printed.
var cliPlanted = []string{"db-7.corp.example.com", "10.20.30.40", "alice@example.com", "hunter2pass", "AKIAQD7VELNZKUMQGHP3"}

const cliLeak = "db-7.corp.example.com 10.20.30.40 alice@example.com password=hunter2pass AKIAQD7VELNZKUMQGHP3"

func assertNoPlanted(t *testing.T, what, out string) {
	t.Helper()
	for _, p := range cliPlanted {
		if strings.Contains(out, p) {
			t.Fatalf("%s printed %q:\n%s", what, p, out)
		}
	}
}

// Every command that prints what it read masks it: templates (a value a
// template keeps verbatim), kb search (tickets), redact and triage (their
// own tests), proposals settle (its note, shown in the thread).
func TestCLIOutputsCarryNoPlantedValue(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())
	keys := keyEnv(t)
	t.Setenv("GEMINI_API_KEY", "")
	t.Setenv("OPSGATE_CONFIG", "")
	// templates: every line of the template holds the same values.
	lines := strings.Repeat("ERROR login failed "+cliLeak+"\n", 3) + "INFO ok\n"
	code, out, errOut := runIn(t, lines, "templates")
	if code != 0 || strings.Count(out, "\n") != 4 {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	assertNoPlanted(t, "templates", out+errOut)
	// kb search: an ingested ticket holding the values.
	jl := filepath.Join(t.TempDir(), "t.jsonl")
	_ = os.WriteFile(jl, []byte(`{"id":"INC-1","title":"login failed `+cliLeak+`","root_cause":"`+cliLeak+`","resolution":"blocked `+cliLeak+`"}`+"\n"), 0o600)
	if code, out, errOut := runIn(t, "", "kb", "ingest", jl); code != 0 {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	for _, args := range [][]string{{"kb", "search", "login failed"}, {"kb", "search", "--json", "login failed"}} {
		code, out, errOut := runIn(t, "", args...)
		if code != 0 || !strings.Contains(out, "INC-1") {
			t.Fatalf("%v: %d %s %s", args, code, out, errOut)
		}
		assertNoPlanted(t, strings.Join(args, " "), out+errOut)
	}
	// proposals settle: the note is masked before it is stored, shown or audited.
	rdb := srv.Client()
	st := approval.NewStore(rdb, time.Hour, nil)
	st.Keys = keys
	ctx := t.Context()
	p := approval.Proposal{ID: jobs.ProposalID("PCLI1", "0123456789"), IncidentID: "PCLI1", ActionID: "x", Required: 1}
	if _, err := st.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Approve(ctx, p.ID, "U1", approval.Hash("x", nil), true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Begin(ctx, p.ID, -time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stalled(ctx); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runIn(t, "", "proposals", "settle", p.ID, "succeeded", "--by", "ann", "--note", "checked on "+cliLeak)
	if code != 0 {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	got, _ := st.Get(ctx, p.ID)
	assertNoPlanted(t, "the settled outcome", got.Outcome)
	code, out, _ = runIn(t, "", "audit", "export")
	if code != 0 || !strings.Contains(out, "settled") {
		t.Fatalf("%d %s", code, out)
	}
	assertNoPlanted(t, "audit export", out)
	code, out, _ = runIn(t, "", "proposals", "show", p.ID)
	assertNoPlanted(t, "proposals show", out)
}
