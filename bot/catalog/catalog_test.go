package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDefaultValidate(t *testing.T) {
	s := For("Checkout-API", "bad name!", "checkout-api")
	if len(s.Scope.Targets) != 1 || s.Scope.Targets[0] != "checkout-api" {
		t.Fatalf("targets %v", s.Scope.Targets)
	}
	cases := []struct {
		id     string
		params map[string]string
		want   string // substring of the reason; "" = allowed
	}{
		{"restart-deployment", map[string]string{"deployment": "checkout-api"}, ""},
		{"scale-deployment", map[string]string{"deployment": "checkout-api", "replicas": "6"}, ""},
		{"rm-rf", nil, "not in the action catalog"},
		{"restart-deployment", map[string]string{"deployment": "payments"}, "outside this incident's scope"},
		{"restart-deployment", map[string]string{"deployment": "checkout-api$(id)"}, "outside this incident's scope"},
		{"restart-deployment", map[string]string{"deployment": "--kubeconfig=/tmp/x"}, "not an acceptable value"},
		{"restart-deployment", map[string]string{}, "missing parameter deployment"},
		{"restart-deployment", map[string]string{"namespace": "kube-system", "deployment": "checkout-api"}, "unknown parameter(s) namespace"},
		{"scale-deployment", map[string]string{"deployment": "checkout-api", "replicas": "5000"}, "integer in [1, 50]"},
		{"scale-deployment", map[string]string{"deployment": "checkout-api", "replicas": "0x10"}, "integer in [1, 50]"},
	}
	for _, c := range cases {
		got := s.Validate(c.id, c.params)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s %v: got %q, want %q", c.id, c.params, got, c.want)
		}
	}
	if For().Describe() != nil {
		t.Fatal("no targets must describe no actions")
	}
	if d := s.Describe(); len(d) != len(Default) || !strings.Contains(d[0], "deployment ∈ [checkout-api]") {
		t.Fatalf("%v", d)
	}
	argv, err := s.Preview("scale-deployment", map[string]string{"deployment": "checkout-api", "replicas": "6"})
	if err != nil || strings.Join(argv, " ") != "kubectl scale deployment/checkout-api --replicas=6" {
		t.Fatalf("%q %v", argv, err)
	}
	if _, err := s.Preview("scale-deployment", map[string]string{"deployment": "payments", "replicas": "6"}); err == nil {
		t.Fatal("preview of an invalid proposal")
	}
}

const catalogYAML = `
- id: restart-deployment
  description: rolling restart
  risk: medium
  params:
    namespace: {enum_from: scope.namespaces}
    deployment: {enum_from: scope.targets}
  run: {kubectl: [rollout, restart, "deployment/{{.deployment}}", -n, "{{.namespace}}"]}
  verify: {prometheus: 'sum(rate(http_requests_total{code=~"5.."}[2m])) < 1', within: 5m}
  undo: {kubectl: [rollout, undo, "deployment/{{.deployment}}", -n, "{{.namespace}}"]}
  approvals: {required: 1, groups: [S0123SRE], allow_self: false}
- id: flush-cache
  risk: low
  params:
    key: {pattern: '[a-z0-9:_]{1,64}'}
    ttl: {type: duration, min: 0, max: 3600}
  run: {command: {argv: [/usr/local/bin/cache-flush, "--key={{.key}}", "{{.ttl}}"], env: [CACHE_URL]}}
  approvals: {required: 2, users: [U01, U02]}
- id: drain-host
  risk: high
  params: {host: {enum_from: scope.hosts}}
  run: {ssh: {host: "{{.host}}", user: ops, command: [sudo, /usr/local/sbin/drain], known_hosts: /etc/opsgate/known_hosts}}
  approvals: {required: 1}
- id: toggle-flag
  risk: low
  params: {flag: {enum: [new-checkout, fast-path]}, enabled: {type: int, min: 0, max: 1}}
  run: {http: {method: POST, url: "https://flags.example.com/api/flags", body: '{"flag":"{{.flag}}","enabled":{{.enabled}}}', expect: 200}}
  approvals: {required: 1, groups: [S0123SRE]}
`

func load(t *testing.T, doc string) (*Catalog, error) {
	t.Helper()
	var specs []Spec
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&specs); err != nil {
		t.Fatal(err)
	}
	return New(specs)
}

func TestYAMLCatalog(t *testing.T) {
	c, err := load(t, catalogYAML)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := c.Get("restart-deployment")
	if spec.Expiry != 30*time.Minute || spec.Verify.Within != 5*time.Minute || spec.Approvals.AllowSelf {
		t.Fatalf("%+v", spec)
	}
	s := c.For(Scope{Targets: []string{"checkout-api"}, Namespaces: []string{"prod"}, Hosts: []string{"web-1"}})
	for _, bad := range []map[string]string{
		{"key": "a;b", "ttl": "10s"}, {"key": "$(id)", "ttl": "10s"}, {"key": "a\nb", "ttl": "10s"}, {"key": "../etc", "ttl": "10s"},
		{"key": "ok", "ttl": "2h"}, {"key": "--kubeconfig=x", "ttl": "1s"},
	} {
		if s.Validate("flush-cache", bad) == "" {
			t.Errorf("%v accepted", bad)
		}
	}
	argv, err := s.Preview("flush-cache", map[string]string{"key": "sess:1", "ttl": "30s"})
	if err != nil || strings.Join(argv, "|") != "/usr/local/bin/cache-flush|--key=sess:1|30s" {
		t.Fatalf("%q %v", argv, err)
	}
	argv, err = s.Preview("drain-host", map[string]string{"host": "web-1"})
	if err != nil || strings.Join(argv, " ") != "ssh ops@web-1 -- sudo /usr/local/sbin/drain" {
		t.Fatalf("%q %v", argv, err)
	}
	if s.Validate("drain-host", map[string]string{"host": "db-1"}) == "" {
		t.Fatal("host outside scope accepted")
	}
	req, err := s.Preview("toggle-flag", map[string]string{"flag": "fast-path", "enabled": "0"})
	if err != nil || req[2] != `{"flag":"fast-path","enabled":0}` {
		t.Fatalf("%q %v", req, err)
	}
	if d := s.Describe(); len(d) != 4 || !strings.Contains(d[0], "namespace ∈ [prod]") || !strings.Contains(d[0], "risk medium") {
		t.Fatalf("%v", d)
	}
}

func TestCatalogErrorsNameTheirPath(t *testing.T) {
	_, err := load(t, `
- id: Bad_ID
  risk: extreme
  params:
    x: {pattern: '(', enum: [a]}
    y: {type: int, min: 5, max: 1}
    z: {enum_from: scope.everything}
  run: {kubectl: [get, "{{.nope}}"], command: {argv: [ls]}}
  approvals: {required: 0, groups: [sre]}
- id: prog
  risk: low
  run: {command: {argv: ["{{.p}}"]}}
  params: {p: {enum: [a]}}
  approvals: {required: 3, users: [U01]}
- id: web
  risk: low
  run: {http: {method: TRACE, url: "http://{{.h}}/x"}}
  approvals: {required: 1}
- id: shell
  risk: low
  params: {h: {pattern: '[a-z]+'}}
  run: {ssh: {host: "{{.h}}", command: [ls]}}
  approvals: {required: 1}
- id: prog
  risk: low
  run: {kubectl: [get, pods]}
  approvals: {required: 1}
`)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("%v", err)
	}
	for _, want := range []string{
		`actions[0] (Bad_ID): id "Bad_ID"`, "risk must be low, medium or high", "params.x: a string needs exactly one of", "params.x: pattern",
		"params.y: min 5 > max 1", "params.z: enum_from must be", "run: set exactly one of", "approvals.required must be at least 1",
		`approvals.groups: "sre"`, "command.argv[0] (the program) cannot be a parameter", "approvals.required 3 exceeds the 1 listed users",
		"http.url must be a fixed http(s) URL", `http.method "TRACE"`, "ssh.known_hosts is required", "ssh.host must be {{.param}}",
		"actions[4] (prog): same id as actions[1]",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := load(t, `
- id: k
  risk: low
  run: {kubectl: [get, "{{.undeclared}}"]}
  approvals: {required: 1}
`); err == nil || !strings.Contains(err.Error(), "{{.undeclared}}, which is not a declared parameter") {
		t.Fatalf("%v", err)
	}
}

// FuzzValidate: whatever the parameters, an allowed action names only
// in-scope targets and values with no shell or flag meaning.
func FuzzValidate(f *testing.F) {
	f.Add("restart-deployment", "checkout-api", "3")
	f.Add("scale-deployment", "payments", "-1")
	f.Add("scale-deployment", "checkout-api", "50")
	s := For("checkout-api")
	f.Fuzz(func(t *testing.T, id, dep, n string) {
		p := map[string]string{"deployment": dep, "replicas": n}
		if id != "scale-deployment" {
			delete(p, "replicas")
		}
		if s.Validate(id, p) != "" {
			return
		}
		if dep != "checkout-api" {
			t.Fatalf("out-of-scope target allowed: %q", dep)
		}
		argv, err := s.Preview(id, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range argv[1:] {
			if strings.ContainsAny(a, " ;|&$`\n\"'\\") {
				t.Fatalf("unsafe argument %q", a)
			}
		}
	})
}
