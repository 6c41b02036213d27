package catalog

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	s := For("Checkout-API", "bad name!", "checkout-api")
	if len(s.Targets) != 1 || s.Targets[0] != "checkout-api" {
		t.Fatalf("targets %v", s.Targets)
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
		{"toggle-feature-flag", map[string]string{"service": "checkout-api", "flag": "new; rm -rf /", "enabled": "0"}, "lowercase name"},
		{"restart-deployment", map[string]string{"deployment": "checkout-api$(id)"}, "lowercase name"},
		{"restart-deployment", map[string]string{}, "missing parameter deployment"},
		{"restart-deployment", map[string]string{"namespace": "kube-system", "deployment": "checkout-api"}, "unknown parameter(s) namespace"},
		{"restart-deployment", map[string]string{"deployment": "checkout-api", "command": "sh"}, "unknown parameter(s) command"},
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
}

// FuzzValidate: whatever the parameters, an allowed action names only
// in-scope targets and parameters made of safe characters.
func FuzzValidate(f *testing.F) {
	f.Add("restart-deployment", "prod", "checkout-api", "3")
	f.Add("scale-deployment", "prod", "payments", "-1")
	f.Add("scale-deployment", "a\nb", "checkout-api", "50")
	s := For("checkout-api")
	f.Fuzz(func(t *testing.T, id, ns, dep, n string) {
		p := map[string]string{"deployment": dep, "replicas": n}
		if ns != "" {
			p["namespace"] = ns
		}
		if id != "scale-deployment" {
			delete(p, "replicas")
		}
		if s.Validate(id, p) != "" {
			return
		}
		if dep != "checkout-api" {
			t.Fatalf("out-of-scope target allowed: %q", dep)
		}
		for _, v := range p {
			if strings.ContainsAny(v, " ;|&$`\n\"'/\\") {
				t.Fatalf("unsafe value allowed: %q", v)
			}
		}
	})
}
