package triage

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/jobs"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		kind Kind
		id   string
		err  bool
	}{
		{"", KindHelp, "", false},
		{"  help ", KindHelp, "", false},
		{"HELP", KindHelp, "", false},
		{"Q1ABCD2EFGH", KindIncident, "Q1ABCD2EFGH", false},
		{"PGR0VU2", KindIncident, "PGR0VU2", false},
		{"https://acme.pagerduty.com/incidents/PGR0VU2", KindIncident, "PGR0VU2", false},
		{"https://acme.eu.pagerduty.com/incidents/PGR0VU2/timeline?x=1#y", KindIncident, "PGR0VU2", false},
		{"<https://acme.pagerduty.com/incidents/PGR0VU2>", KindIncident, "PGR0VU2", false},
		{"<https://acme.pagerduty.com/incidents/PGR0VU2|incident>", KindIncident, "PGR0VU2", false},
		{"http://acme.pagerduty.com/incidents/PGR0VU2", "", "", true},
		{"https://evil.example.com/incidents/PGR0VU2", "", "", true},
		{"https://pagerduty.com.evil.example/incidents/PGR0VU2", "", "", true},
		{"https://acme.pagerduty.com/services/PGR0VU2", "", "", true},
		{"pgr0vu2", "", "", true},
		{"PGR0VU2 extra", "", "", true},
		{"<!channel>", "", "", true},
		{"search", "", "", true},
		{"search  db connection refused ", KindSearch, "", false},
		{strings.Repeat("A", MaxText+1), "", "", true},
		{"status", KindStatus, "", false},
		{" STATUS ", KindStatus, "", false},
		{"status PGR0VU2", "", "", true},
		{"timeline PGR0VU2", KindTimeline, "PGR0VU2", false},
		{"timeline https://acme.pagerduty.com/incidents/PGR0VU2", KindTimeline, "PGR0VU2", false},
		{"timeline", "", "", true},
		{"timeline PGR0VU2 PGR0VU3", "", "", true},
		{"timeline <!here>", "", "", true},
		{"split PGR0VU2", KindSplit, "PGR0VU2", false},
		{"split", "", "", true},
		{"split https://evil.example.com/incidents/PGR0VU2", "", "", true},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if c.err {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("Parse(%q) err = %v, want ErrUsage", c.in, err)
			}
			continue
		}
		if err != nil || got.Kind != c.kind || got.IncidentID != c.id {
			t.Errorf("Parse(%q) = %+v, %v; want %s %s", c.in, got, err, c.kind, c.id)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "help", "PGR0VU2", "propose PGR0VU2 restart-deployment deployment=x", "propose PGR0VU2 a b=c=d", "reject PGR0VU2-0123456789 wrong service", "https://acme.pagerduty.com/incidents/PGR0VU2", "<https://x.pagerduty.com/incidents/ABCDE|y>", "%%%", "https://[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("error not wrapping ErrUsage: %v", err)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error message too long: %d", len(err.Error()))
			}
			return
		}
		switch c.Kind {
		case KindHelp:
		case KindSearch:
			if strings.TrimSpace(c.Text) == "" {
				t.Fatal("empty search")
			}
		case KindReject:
			if !jobs.ValidProposalID(c.ProposalID) || c.Reason == "" || len(c.Reason) > MaxReason {
				t.Fatalf("bad reject %+v from %q", c, s)
			}
		case KindPropose:
			if !catalog.ValidActionID(c.ActionID) || len(c.Params) > MaxParams {
				t.Fatalf("bad proposal %+v from %q", c, s)
			}
			for k, v := range c.Params {
				if !catalog.ValidParamName(k) || v == "" || strings.ContainsAny(v, " \t\n") {
					t.Fatalf("bad parameter %q=%q from %q", k, v, s)
				}
			}
			fallthrough
		case KindIncident:
			if !incidentID.MatchString(c.IncidentID) || !strings.Contains(s, c.IncidentID) {
				t.Fatalf("bad id %q from %q", c.IncidentID, s)
			}
		default:
			t.Fatalf("unknown kind %q", c.Kind)
		}
		_ = utf8.ValidString(c.IncidentID)
	})
}

func TestParsePropose(t *testing.T) {
	got, err := Parse("propose https://acme.pagerduty.com/incidents/PGR0VU2 scale-deployment deployment=checkout-api replicas=6")
	if err != nil || got.Kind != KindPropose || got.IncidentID != "PGR0VU2" || got.ActionID != "scale-deployment" ||
		got.Params["deployment"] != "checkout-api" || got.Params["replicas"] != "6" || len(got.Params) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	if got, err := Parse("PROPOSE PGR0VU2 restart-deployment"); err != nil || got.Kind != KindPropose || len(got.Params) != 0 {
		t.Fatalf("%+v %v", got, err)
	}
	// Values pass through as written (the catalog validates them against
	// the action's types and the incident's scope); the syntax is checked here.
	if got, _ := Parse("propose PGR0VU2 restart-deployment deployment=a;rm"); got.Params["deployment"] != "a;rm" {
		t.Fatalf("%+v", got)
	}
	for _, bad := range []string{
		"propose", "propose PGR0VU2", "propose pgr0vu2 restart", "propose PGR0VU2 Restart", "propose PGR0VU2 restart;ls",
		"propose PGR0VU2 restart deployment", "propose PGR0VU2 restart deployment=", "propose PGR0VU2 restart Dep=x",
		"propose PGR0VU2 restart --kubeconfig=/x", "propose PGR0VU2 restart a=1 a=2",
		"propose PGR0VU2 restart" + strings.Repeat(" a=1", MaxParams+1),
	} {
		if _, err := Parse(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("Parse(%q) = %v, want a usage error", bad, err)
		}
	}
}

func TestParseReject(t *testing.T) {
	got, err := Parse("reject PGR0VU2-0123abcdef  wrong   target: it is payments ")
	if err != nil || got.Kind != KindReject || got.ProposalID != "PGR0VU2-0123abcdef" || got.Reason != "wrong target: it is payments" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"reject", "reject PGR0VU2-0123abcdef", "reject PGR0VU2 no", "reject pgr0vu2-0123abcdef x",
		"reject PGR0VU2-0123ABCDEF x", "reject PGR0VU2-0123abcdef " + strings.Repeat("x ", MaxReason)} {
		if _, err := Parse(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("Parse(%q) = %v, want a usage error", bad, err)
		}
	}
}
