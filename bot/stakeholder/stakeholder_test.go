package stakeholder

import (
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
)

func TestReadableDescribesEveryPlaceholder(t *testing.T) {
	got := Readable("db [HOSTNAME_1] ([IP_ADDRESS_12]) as [USERNAME_1]:[PASSWORD_1], mail [EMAIL_ADDRESS_2], key [AWS_ACCESS_KEY_1] [CUSTOM9_3] [not_one] [X]")
	want := "db a server (an internal address) as a user account:(withheld), mail a person, key (withheld) (withheld) [not_one] [X]"
	if got != want {
		t.Fatalf("Readable:\n got %q\nwant %q", got, want)
	}
	if HasPlaceholder(got) {
		t.Fatal("a placeholder is left")
	}
}

// Everything the engine masks reads as words after Readable: mask a line
// full of planted values, and no value and no placeholder is left.
func TestMaskedThenReadableLeavesNothing(t *testing.T) {
	line := "login bob:Hunter2pass@db-7.corp.example.com 10.1.2.3 alice@acme.example token=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB +1 415 555 0100"
	masked := redact.Default().NewSession().String(line)
	out := Readable(masked)
	for _, v := range []string{"Hunter2pass", "10.1.2.3", "alice@acme.example", "ghp_0123", "555 0100"} {
		if strings.Contains(out, v) {
			t.Errorf("%q survives: %s", v, out)
		}
	}
	if HasPlaceholder(out) {
		t.Fatalf("placeholder left: %s", out)
	}
}

func TestDraftStatesOnlyWhatIsEstablished(t *testing.T) {
	now := time.Date(2026, 12, 2, 14, 10, 0, 0, time.UTC)
	rec := &incident.Record{Snapshot: incident.Snapshot{ID: "P1", Title: "5xx on [HOSTNAME_1]", Status: incident.StatusAcknowledged,
		ServiceName: "checkout-api", Priority: "P1", CreatedAt: now.Add(-32 * time.Minute)}}
	weak := &rca.Analysis{RootCause: "pool exhausted on [HOSTNAME_1]", Confidence: 0.9, Hypothesis: true}
	d, err := Draft(Facts{Incident: rec, Analysis: weak, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Status: Investigating — the on-call team is working on it", "5xx on a server.", "(32 minutes ago)",
		"the cause is still being investigated", "Next update: by 14:40 UTC"} {
		if !strings.Contains(d, want) {
			t.Errorf("draft lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "pool exhausted") {
		t.Fatalf("a hypothesis was stated as the cause:\n%s", d)
	}
	sure := &rca.Analysis{RootCause: "The pool on [HOSTNAME_1] was exhausted.", Confidence: 0.8}
	rec.Snapshot.Status = incident.StatusResolved
	rec.Timeline = []incident.Change{{Status: incident.StatusResolved, OccurredAt: now.Add(-time.Minute)}}
	d, _ = Draft(Facts{Incident: rec, Analysis: sure, Done: []string{"Ran the recycle db pool remediation: succeeded."}, Now: now})
	for _, want := range []string{"Status: Resolved", "resolved 14:09 UTC today", "What we know so far: The pool on a server was exhausted.",
		"- Ran the recycle db pool remediation: succeeded.", "The incident is resolved"} {
		if !strings.Contains(d, want) {
			t.Errorf("resolved draft lacks %q:\n%s", want, d)
		}
	}
	if HasPlaceholder(d) {
		t.Fatalf("placeholder in draft:\n%s", d)
	}
}

func TestSummaryNamesTheListWithoutShowingIt(t *testing.T) {
	a := Summary(&config.Stakeholders{Email: []string{"b@x.example", "A@x.example"}, Channel: "C0STAT", PagerDutyStatusUpdate: true})
	b := Summary(&config.Stakeholders{Email: []string{"a@x.example", "b@x.example"}, Channel: "C0STAT", PagerDutyStatusUpdate: true})
	c := Summary(&config.Stakeholders{Email: []string{"a@x.example", "c@x.example"}, Channel: "C0STAT", PagerDutyStatusUpdate: true})
	if a != b || a == c || strings.Contains(a, "@") {
		t.Fatalf("summaries %q %q %q", a, b, c)
	}
	if !strings.Contains(a, "e-mail to 2 recipient(s)") || !strings.Contains(a, "Slack channel C0STAT") || !strings.Contains(a, "PagerDuty status update") {
		t.Fatalf("summary %q", a)
	}
	if Summary(nil) != "nobody" {
		t.Fatal("nil targets")
	}
}

func TestSpecDefaultsToOneApproverNotTheWriter(t *testing.T) {
	s := Spec(nil)
	if s.Approvals.Required != 1 || s.Approvals.AllowSelf || s.Message != ParamText || s.ID != ActionID {
		t.Fatalf("spec %+v", s)
	}
	if got, ok := (Specs{Catalog: noSpecs{}, Update: s}).Get(ActionID); !ok || got.ID != ActionID {
		t.Fatal("Specs does not find the update action")
	}
}

type noSpecs struct{}

func (noSpecs) Get(string) (catalog.Spec, bool) { return catalog.Spec{}, false }

func TestTheBuiltInIDIsReserved(t *testing.T) {
	if !catalog.Reserved[ActionID] {
		t.Fatal("a catalog action could take the stakeholder update's id")
	}
}
