package catalog

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Ints and durations have one written form: "07" and "007" are "7", and
// "90s" is "1m30s" — so one action with one meaning has one proposal id;
// a leading dash is refused whatever the type.
func TestIntsAndDurationsAreCanonicalAndNeverSigned(t *testing.T) {
	c, err := New([]Spec{{ID: "scale", Risk: RiskLow, Approvals: Approvals{Required: 1},
		Params: map[string]*Param{"n": {Type: TypeInt, Min: -5, Max: 50}, "wait": {Type: TypeDuration, Min: 0, Max: 600}, "name": {Pattern: "[a-z-]+"}},
		Run:    Exec{Command: &CommandExec{Argv: []string{"scale", "{{.n}}", "{{.wait}}", "{{.name}}"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.For(Scope{})
	for _, in := range []string{"7", "07", "007", "0000000007"} {
		got, why := s.Normalize("scale", map[string]string{"n": in, "wait": "90s", "name": "api"})
		if why != "" || got["n"] != "7" || got["wait"] != "1m30s" {
			t.Errorf("%q: %v %q", in, got, why)
		}
	}
	for _, in := range []string{"1m30s", "90s", "90000ms", "1.5m"} {
		if got, _ := s.Normalize("scale", map[string]string{"n": "1", "wait": in, "name": "api"}); got["wait"] != "1m30s" {
			t.Errorf("%q → %q", in, got["wait"])
		}
	}
	for _, bad := range []map[string]string{
		{"n": "-0", "wait": "1s", "name": "api"}, {"n": "-1", "wait": "1s", "name": "api"}, {"n": "+7", "wait": "1s", "name": "api"},
		{"n": " 7", "wait": "1s", "name": "api"}, {"n": "7", "wait": "-0s", "name": "api"}, {"n": "7", "wait": "+5s", "name": "api"},
		{"n": "7", "wait": ".5s", "name": "api"}, {"n": "7", "wait": "1s", "name": "-api"}, {"n": "1e3", "wait": "1s", "name": "api"},
	} {
		if got, why := s.Normalize("scale", bad); why == "" {
			t.Errorf("%v accepted as %v", bad, got)
		}
	}
	argv, err := s.Render("scale", false, map[string]string{"n": "007", "wait": "90s", "name": "api"})
	if err != nil || strings.Join(argv, " ") != "scale 7 1m30s api" {
		t.Fatalf("rendered non-canonical values: %q %v", argv, err)
	}
}

// A value ending in a quote or a backslash stays inside its JSON string.
func TestHTTPBodiesStayJSONWhateverTheValue(t *testing.T) {
	for _, v := range []string{`ends"`, `ends\`, `"`, `\"`, `a"b\"c`, `<&>`, "ünï"} {
		out, err := FillJSON(`{"flag":"{{.v}}","n":1}`, map[string]string{"v": v})
		var got map[string]any
		if err != nil || json.Unmarshal([]byte(out), &got) != nil || got["flag"] != v || len(got) != 2 {
			t.Errorf("%q → %s (%v)", v, out, err)
		}
	}
}

// Templates that would let a value escape its place are refused at load:
// a string parameter outside a JSON string in an HTTP body, outside a
// quoted string in a PromQL check, undeclared parameters in a check, a
// parameter in a check's URL.
func TestTemplatesThatLetAValueEscapeAreRefusedAtLoad(t *testing.T) {
	base := func() Spec {
		return Spec{ID: "a", Risk: RiskLow, Approvals: Approvals{Required: 1},
			Params: map[string]*Param{"name": {Pattern: "[a-z-]+"}, "n": {Type: TypeInt, Min: 1, Max: 9}},
			Run:    Exec{Kubectl: []string{"rollout", "restart", "deployment/{{.name}}"}}}
	}
	bad := map[string]func(*Spec){
		"body: unquoted string": func(s *Spec) {
			s.Run = Exec{HTTP: &HTTPExec{Method: "POST", URL: "https://flags.example/x", Body: `{"name": {{.name}}}`}}
		},
		"body: not JSON": func(s *Spec) {
			s.Run = Exec{HTTP: &HTTPExec{Method: "POST", URL: "https://flags.example/x", Body: `{"name": "{{.name}}"`}}
		},
		"verify promql: unquoted string": func(s *Spec) {
			s.Verify = &Verify{Prometheus: `up{job="x"} > {{.name}}`, Within: time.Minute}
		},
		"verify promql: undeclared": func(s *Spec) {
			s.Verify = &Verify{Prometheus: `up{job="{{.job}}"} == 1`, Within: time.Minute}
		},
		"verify promql: bad template": func(s *Spec) { s.Verify = &Verify{Prometheus: `up{job="{{.name"} == 1`, Within: time.Minute} },
		"verify http: parameter in url": func(s *Spec) {
			s.Verify = &Verify{HTTP: &HTTPExec{Method: "GET", URL: "https://x.example/{{.name}}"}, Within: time.Minute}
		},
		"verify http: body escapes": func(s *Spec) {
			s.Verify = &Verify{HTTP: &HTTPExec{Method: "POST", URL: "https://x.example/", Body: `{"a": {{.name}}}`}, Within: time.Minute}
		},
		"verify command: program is a parameter": func(s *Spec) {
			s.Verify = &Verify{Command: &CommandExec{Argv: []string{"{{.name}}"}}, Within: time.Minute}
		},
	}
	for name, mod := range bad {
		s := base()
		mod(&s)
		if _, err := New([]Spec{s}); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	good := base()
	good.Verify = &Verify{Prometheus: `sum(rate(x{deployment="{{.name}}"}[5m])) < {{.n}}`, Within: time.Minute}
	good.Run = Exec{HTTP: &HTTPExec{Method: "POST", URL: "https://flags.example/x", Body: `{"name": "{{.name}}", "n": {{.n}}}`}}
	if _, err := New([]Spec{good}); err != nil {
		t.Fatal(err)
	}
}

func TestPromQLStringEscaping(t *testing.T) {
	for in, want := range map[string]string{`a"b`: `a\"b`, `a\b`: `a\\b`, "a\nb": `a\nb`, `a'b`: `a\'b`, "plain": "plain"} {
		if got := PromQLString(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	c, err := New([]Spec{{ID: "x", Risk: RiskLow, Approvals: Approvals{Required: 1},
		Params: map[string]*Param{"n": {Type: TypeInt, Min: 0, Max: 1000}, "d": {Type: TypeDuration, Min: 0, Max: 3600}, "s": {Pattern: "[a-z0-9-]+"}},
		Run:    Exec{Command: &CommandExec{Argv: []string{"x", "{{.n}}", "{{.d}}", "{{.s}}"}}}}})
	if err != nil {
		f.Fatal(err)
	}
	s := c.For(Scope{})
	f.Add("07", "90s", "api")
	f.Add("-0", "-0s", "-x")
	f.Fuzz(func(t *testing.T, n, d, str string) {
		got, why := s.Normalize("x", map[string]string{"n": n, "d": d, "s": str})
		if why != "" {
			return
		}
		for _, v := range got {
			if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "+") {
				t.Fatalf("signed value accepted: %v", got)
			}
		}
		// Canonical values are a fixed point.
		again, why := s.Normalize("x", got)
		if why != "" || again["n"] != got["n"] || again["d"] != got["d"] || again["s"] != got["s"] {
			t.Fatalf("%v → %v (%s)", got, again, why)
		}
	})
}
