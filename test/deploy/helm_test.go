// Package deploy checks what deploy/ ships: the Helm chart (helm lint,
// helm template, and the rendered objects parsed and checked), its values
// schema, the alert rules and the Grafana dashboard (every metric they
// read is one opsgate exports; every alert links to a runbook that
// exists), and the compose file.
package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// HelmVersion is the Helm the tests run (built from its Go module with
// go install; HELM names another binary).
const HelmVersion = "v3.21.4"

var chart = filepath.Join("..", "..", "deploy", "helm", "opsgate")

var helmBin string

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	if h := os.Getenv("HELM"); h != "" {
		helmBin = h
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "helm")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", "helm.sh/helm/v3/cmd/helm@"+HelmVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go install helm %s (needs the Go module proxy once): %v\n%s", HelmVersion, err, out)
	}
	helmBin = filepath.Join(dir, "helm")
	if runtime.GOOS == "windows" {
		helmBin += ".exe"
	}
	return m.Run(), nil
}

// helm runs helm with args; it returns stdout and the error with stderr.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(helmBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// object is one rendered manifest.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { return str(o, "metadata", "name") }

// at walks a path of map keys and list indexes ("0") through v.
func at(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case object:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path ...string) string { s, _ := at(v, path...).(string); return s }

func render(t *testing.T, valuesFiles ...string) []object {
	t.Helper()
	args := []string{"template", "r1", chart, "--namespace", "opsgate"}
	for _, f := range valuesFiles {
		args = append(args, "-f", f)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

func byKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func one(t *testing.T, objs []object, kind string) object {
	t.Helper()
	got := byKind(objs, kind)
	if len(got) != 1 {
		t.Fatalf("%d %s objects, want 1", len(got), kind)
	}
	return got[0]
}

func env(c any) map[string]string {
	out := map[string]string{}
	list, _ := at(c, "env").([]any)
	for _, e := range list {
		out[str(e, "name")] = str(e, "value")
	}
	return out
}

func TestChartLints(t *testing.T) {
	for _, f := range [][]string{nil, {"--values", filepath.Join(chart, "ci", "socket-sentinel-values.yaml")}} {
		if out, err := helm(t, append([]string{"lint", "--strict", chart}, f...)...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
}

// The default values: two hardened replicas behind a PDB, probes, a
// chart-made Secret for every token, a NetworkPolicy, no cluster-wide or
// namespace permissions and no service-account token.
func TestDefaultRender(t *testing.T) {
	objs := render(t)
	d := one(t, objs, "Deployment")
	if at(d, "spec", "replicas") != 2 || str(d, "spec", "strategy", "type") != "RollingUpdate" || at(d, "spec", "strategy", "rollingUpdate", "maxUnavailable") != 0 {
		t.Fatalf("deployment spec %v", d["spec"])
	}
	pod := at(d, "spec", "template", "spec")
	if at(pod, "securityContext", "runAsNonRoot") != true || at(pod, "securityContext", "runAsUser") != 65532 || at(pod, "automountServiceAccountToken") != false {
		t.Fatalf("pod security %v", at(pod, "securityContext"))
	}
	c := at(pod, "containers", "0")
	sc := at(c, "securityContext")
	if at(sc, "readOnlyRootFilesystem") != true || at(sc, "allowPrivilegeEscalation") != false || at(sc, "capabilities", "drop", "0") != "ALL" {
		t.Fatalf("container security %v", sc)
	}
	if str(c, "readinessProbe", "httpGet", "path") != "/readyz" || str(c, "livenessProbe", "httpGet", "path") != "/healthz" {
		t.Fatalf("probes %v %v", at(c, "readinessProbe"), at(c, "livenessProbe"))
	}
	if str(c, "resources", "requests", "cpu") == "" || str(c, "resources", "requests", "memory") == "" {
		t.Fatalf("resources %v", at(c, "resources"))
	}
	if e := env(c); e["REDIS_URL"] == "" || e["OPSGATE_AUDIT_ANCHOR"] == "" || e["REDIS_ADDRS"] != "" {
		t.Fatalf("env %v", e)
	}
	secret := one(t, objs, "Secret")
	if str(c, "envFrom", "0", "secretRef", "name") != secret.name() {
		t.Fatalf("envFrom %v, secret %s", at(c, "envFrom"), secret.name())
	}
	if pdb := one(t, objs, "PodDisruptionBudget"); at(pdb, "spec", "minAvailable") != 1 {
		t.Fatalf("pdb %v", pdb["spec"])
	}
	one(t, objs, "Service")
	one(t, objs, "ServiceAccount")
	np := one(t, objs, "NetworkPolicy")
	if types := fmt.Sprint(at(np, "spec", "policyTypes")); types != "[Ingress Egress]" {
		t.Fatalf("network policy types %s", types)
	}
	for _, k := range []string{"Ingress", "ServiceMonitor", "PrometheusRule", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ConfigMap"} {
		if n := len(byKind(objs, k)); n != 0 {
			t.Errorf("%d %s with default values", n, k)
		}
	}
}

// Socket Mode on Sentinel: Redis by Sentinel addresses and master name,
// an existing Secret, an Ingress for PagerDuty's webhook only, a Role per
// namespace with only the listed verbs (nothing cluster-wide), the
// executor's kubectl set in the config, monitoring objects.
func TestSocketModeSentinelRender(t *testing.T) {
	objs := render(t, filepath.Join(chart, "ci", "socket-sentinel-values.yaml"))
	d := one(t, objs, "Deployment")
	pod := at(d, "spec", "template", "spec")
	c := at(pod, "containers", "0")
	e := env(c)
	if e["REDIS_URL"] != "" || !strings.Contains(e["REDIS_ADDRS"], "redis-sentinel-0.redis:26379,") || e["REDIS_MASTER_NAME"] != "opsgate" || e["REDIS_TLS"] != "true" {
		t.Fatalf("redis env %v", e)
	}
	if str(c, "envFrom", "0", "secretRef", "name") != "opsgate-tokens" || len(byKind(objs, "Secret")) != 0 {
		t.Fatal("the existing Secret is not used alone")
	}
	if at(pod, "automountServiceAccountToken") != true || str(pod, "initContainers", "0", "name") != "kubectl" {
		t.Fatalf("kubectl executor pod %v", pod)
	}
	ing := one(t, objs, "Ingress")
	paths, _ := at(ing, "spec", "rules", "0", "http", "paths").([]any)
	if len(paths) != 1 || str(paths[0], "path") != "/webhooks/pagerduty" {
		t.Fatalf("socket-mode ingress paths %v", paths)
	}
	roles := byKind(objs, "Role")
	if len(roles) != 2 || len(byKind(objs, "RoleBinding")) != 2 || len(byKind(objs, "ClusterRole")) != 0 || len(byKind(objs, "ClusterRoleBinding")) != 0 {
		t.Fatalf("%d roles", len(roles))
	}
	namespaces := map[string]bool{}
	for _, r := range roles {
		namespaces[str(r, "metadata", "namespace")] = true
		rules, _ := at(r, "rules").([]any)
		for _, rule := range rules {
			for _, k := range []string{"verbs", "resources", "apiGroups"} {
				if strings.Contains(fmt.Sprint(at(rule, k)), "*") {
					t.Fatalf("wildcard in %s: %v", k, rule)
				}
			}
		}
		if len(rules) != 3 || fmt.Sprint(at(rules[0], "verbs")) != "[get patch]" {
			t.Fatalf("rules %v", rules)
		}
	}
	if !namespaces["prod"] || !namespaces["staging"] {
		t.Fatalf("roles in %v", namespaces)
	}
	for _, rb := range byKind(objs, "RoleBinding") {
		if str(rb, "subjects", "0", "name") != str(pod, "serviceAccountName") || str(rb, "subjects", "0", "namespace") != "opsgate" {
			t.Fatalf("binding %v", rb["subjects"])
		}
	}
	cm := one(t, objs, "ConfigMap")
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(str(cm, "data", "opsgate.yaml")), &cfg); err != nil {
		t.Fatal(err)
	}
	if str(cfg, "executor", "kubectl") != "/opt/opsgate/bin/kubectl" || fmt.Sprint(at(cfg, "executor", "kubectl_args")) != "[--namespace prod]" || str(cfg, "routes", "0", "channel") != "C0CHECKOUT" {
		t.Fatalf("config %v", cfg)
	}
	one(t, objs, "ServiceMonitor")
	rule := one(t, objs, "PrometheusRule")
	groups, _ := at(rule, "spec", "groups").([]any)
	if len(groups) != 1 || len(at(groups[0], "rules").([]any)) < 6 {
		t.Fatalf("prometheus rule groups %v", groups)
	}
}

// values.schema.json refuses what would make an unsafe or broken install,
// and takes what is valid.
func TestSchemaRejectsBadValues(t *testing.T) {
	for _, set := range []string{
		"replicaCount=0", "mode=grpc", "typo=1", "redis.mode=sentinel", "redis.mode=cluster", "redis.url=http://x",
		"securityContext.readOnlyRootFilesystem=false", "securityContext.readOnlyRootFilesystem=null", "podSecurityContext.runAsNonRoot=false",
		"podSecurityContext.runAsNonRoot=null", "securityContext.capabilities.add[0]=NET_ADMIN", "rbac.namespaces[0]=Not_A_Namespace",
		"secrets.values.NOT_A_TOKEN=x", "env.SLACK_BOT_TOKEN=xoxb-in-plain-sight", "env.OPSGATE_LISTEN_ADDR=:9090", "env.REDIS_URL=redis://x",
		"env.OPSGATE_AUDIT_ANCHOR_EVERY=1000000", "auditAnchor.path=relative", "ingress.annotations.ssl-redirect=true",
		"redis.mode=cluster,redis.addrs[0]=redis-0:6379",
	} {
		if _, err := helm(t, "template", "r1", chart, "--set", set); err == nil || !strings.Contains(err.Error(), "schema") {
			t.Errorf("--set %s accepted (%v)", set, err)
		}
	}
	// Whole RBAC rules (a --set of one list item would replace the list).
	for name, rule := range map[string]string{
		"verb":     "{apiGroups: [apps], resources: [deployments], verbs: ['*']}",
		"resource": "{apiGroups: [apps], resources: ['*'], verbs: [get]}",
		"group":    "{apiGroups: ['*'], resources: [deployments], verbs: [get]}",
	} {
		f := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(f, []byte("rbac:\n  namespaces: [prod]\n  rules: ["+rule+"]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := helm(t, "template", "r1", chart, "-f", f); err == nil || !strings.Contains(err.Error(), "schema") {
			t.Errorf("wildcard %s accepted (%v)", name, err)
		}
	}
	// The executor's Role is never bound to the namespace's default account.
	if _, err := helm(t, "template", "r1", chart, "--set", "rbac.namespaces[0]=prod,serviceAccount.create=false"); err == nil || !strings.Contains(err.Error(), "default account") {
		t.Errorf("Role bound to the default service account (%v)", err)
	}
	// Valid values render: a cluster, TLS on the ingress, a string env value,
	// REDIS_URL from the Secret.
	for _, set := range []string{"redis.mode=cluster,redis.addrs[0]=redis-0:6379,redis.addrs[1]=redis-1:6379",
		"ingress.enabled=true,ingress.tls[0].hosts[0]=opsgate.example.com,ingress.tls[0].secretName=tls", "redis.url="} {
		if _, err := helm(t, "template", "r1", chart, "--set", set, "--set-string", "env.OPSGATE_AUDIT_ANCHOR_EVERY=1000000"); err != nil {
			t.Errorf("--set %s refused: %v", set, err)
		}
	}
	objs := render(t)
	for _, o := range objs {
		if o.kind() == "Deployment" {
			return
		}
	}
	t.Fatal("no Deployment")
}

// REDIS_URL may come from the Secret (a URL with a password): with
// redis.url empty the chart sets none of its own.
func TestRedisURLFromTheSecret(t *testing.T) {
	f := filepath.Join(t.TempDir(), "v.yaml")
	if err := os.WriteFile(f, []byte("redis: {mode: single, url: \"\"}\nsecrets: {values: {REDIS_URL: \"redis://:pw@redis:6379/0\"}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	objs := render(t, f)
	c := at(one(t, objs, "Deployment"), "spec", "template", "spec", "containers", "0")
	if e := env(c); e["REDIS_URL"] != "" {
		t.Fatalf("the chart's REDIS_URL would hide the Secret's: %v", e)
	}
	if str(one(t, objs, "Secret"), "stringData", "REDIS_URL") == "" {
		t.Fatal("no REDIS_URL in the Secret")
	}
}
