package triage

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
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
	for _, s := range []string{"", "help", "PGR0VU2", "https://acme.pagerduty.com/incidents/PGR0VU2", "<https://x.pagerduty.com/incidents/ABCDE|y>", "%%%", "https://[::1"} {
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
