package kb

import (
	"errors"
	"strings"
	"testing"
)

func TestParseJSONLReportsBadRows(t *testing.T) {
	in := `{"id":"T1","title":"disk full","created":"2025-03-12T10:00:00Z","tags":["disk"]}
not json
{"id":"","title":"no id"}

{"id":"T2","body":"only a body","created":"12/Mar/25 10:00"}
{"id":5}
`
	var got []Ticket
	bad, err := ParseJSONL("t.jsonl", strings.NewReader(in), func(t Ticket) error { got = append(got, t); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "T1" || got[0].Created.IsZero() || got[1].Created.IsZero() || got[0].Source != "jsonl" {
		t.Fatalf("got %+v", got)
	}
	if len(bad) != 3 || bad[0].Line != 2 || bad[1].Line != 3 || bad[2].Line != 6 {
		t.Fatalf("bad = %v", bad)
	}
	if !errors.Is(bad[1].Err, ErrInvalid) {
		t.Fatalf("bad[1] = %v", bad[1].Err)
	}
}

func TestParseCSVWithMapping(t *testing.T) {
	m, err := ParseMapping("id=Issue id,title=Summary,body=Description,created=Created")
	if err != nil {
		t.Fatal(err)
	}
	in := "Summary,Issue id,Description,Created\n\"Disk full, again\",101,\"line1\nline2\",30/Sep/21 17:20\nNo id,,x,\n"
	var got []Ticket
	bad, err := ParseCSV("x.csv", strings.NewReader(in), m, func(t Ticket) error { got = append(got, t); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Title != "Disk full, again" || got[0].Body != "line1\nline2" || got[0].Created.Year() != 2021 {
		t.Fatalf("got %+v", got)
	}
	if len(bad) != 1 {
		t.Fatalf("bad = %v", bad)
	}
	if _, err := ParseMapping("nope=X"); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, err := ParseCSV("x.csv", strings.NewReader("a,b\n1,2\n"), map[string]string{"id": "Missing"}, func(Ticket) error { return nil }); err == nil {
		t.Fatal("missing mapped column accepted")
	}
}

func TestParseMarkdownFrontMatter(t *testing.T) {
	doc := "---\nuuid: abc-1\ntitle: DB failover runbook\ncategories:\n- database\n- runbook\ntags: [postgres]\nurl: https://wiki.example.com/db\n---\n# DB failover\nSteps...\n"
	tk, err := ParseMarkdown("runbooks/db.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if tk.ID != "abc-1" || tk.Title != "DB failover runbook" || tk.Category != "database" || tk.URL != "https://wiki.example.com/db" || !strings.Contains(tk.Body, "Steps") {
		t.Fatalf("%+v", tk)
	}
	tk, err = ParseMarkdown("runbooks/plain-note.md", []byte("# Restart the cache\nrun the playbook"))
	if err != nil || tk.ID != "plain-note" || tk.Title != "Restart the cache" {
		t.Fatalf("%+v %v", tk, err)
	}
	if _, err := ParseMarkdown("x.md", []byte("---\ntitle: [unclosed\n---\nbody")); err == nil {
		t.Fatal("bad front matter accepted")
	}
	if _, err := ParseMarkdown("x.md", []byte("---\ntitle: x\nno end")); err == nil {
		t.Fatal("unclosed front matter accepted")
	}
}

func FuzzParseJSONL(f *testing.F) {
	f.Add(`{"id":"T1","title":"x"}`)
	f.Add("{\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ParseJSONL("f", strings.NewReader(s), func(tk Ticket) error {
			if tk.ID == "" || (tk.Title == "" && strings.TrimSpace(tk.Body) == "") {
				t.Fatalf("invalid ticket emitted: %+v", tk)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseMarkdown(f *testing.F) {
	f.Add([]byte("---\ntitle: x\n---\nbody"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := ParseMarkdown("f.md", b)
		if err == nil && tk.ID == "" {
			t.Fatal("no id")
		}
	})
}
