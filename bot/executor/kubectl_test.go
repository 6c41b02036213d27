package executor_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/integrations/fakes/fakekube"
)

// The real kubectl against a stateful fake API server: a server-side dry
// run changes nothing, the run restarts and scales the deployment, and a
// wrong token is refused by the server.
func TestRealKubectlAgainstFakeAPIServer(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed (make test installs Debian's kubernetes-client)")
	}
	api := fakekube.New("kube-token-123")
	defer api.Close()
	api.AddDeployment("default", "checkout-api", 3)
	ca, err := api.WriteCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := scoped(t, catalog.Default)
	r := &executor.Runner{Kubectl: kubectl, KubectlArgs: []string{"--server", api.URL, "--certificate-authority", ca, "--token", "kube-token-123", "--namespace", "default"}}
	ctx := context.Background()
	restartedAt := func() any {
		d := api.Deployment("default", "checkout-api")
		ann, _ := d["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
		return ann["kubectl.kubernetes.io/restartedAt"]
	}
	// kubectl rollout restart has no --dry-run: kubectl's help says so,
	// and the preview is the argument vector alone.
	res, err := r.Run(ctx, s, "restart-deployment", false, map[string]string{"deployment": "checkout-api"}, true)
	if !errors.Is(err, executor.ErrNoDryRun) || !res.DryRun || !strings.Contains(strings.Join(res.Argv, " "), "rollout restart deployment/checkout-api") {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	// kubectl scale has one: the server answers, nothing changes.
	res, err = r.Run(ctx, s, "scale-deployment", false, map[string]string{"deployment": "checkout-api", "replicas": "6"}, true)
	if err != nil || !strings.Contains(res.Output, "deployment.apps/checkout-api scaled") {
		t.Fatalf("scale dry run: %+v %v", res, err)
	}
	if got := api.Deployment("default", "checkout-api")["spec"].(map[string]any)["replicas"]; got != float64(3) {
		t.Fatalf("a server-side dry run changed the replicas to %v", got)
	}
	if restartedAt() != nil {
		t.Fatal("a dry run restarted the deployment")
	}
	res, err = r.Run(ctx, s, "restart-deployment", false, map[string]string{"deployment": "checkout-api"}, false)
	if err != nil || res.ExitCode != 0 || restartedAt() == nil {
		t.Fatalf("restart: %+v %v", res, err)
	}
	if _, err = r.Run(ctx, s, "scale-deployment", false, map[string]string{"deployment": "checkout-api", "replicas": "6"}, false); err != nil {
		t.Fatal(err)
	}
	if got := api.Deployment("default", "checkout-api")["spec"].(map[string]any)["replicas"]; got != float64(6) {
		t.Fatalf("replicas %v", got)
	}
	if p := api.Patches(); len(p) != 3 || p[0] != "default/checkout-api dryRun=true" || p[1] != "default/checkout-api dryRun=false" || p[2] != p[1] {
		t.Fatalf("patches %v", p)
	}
	bad := &executor.Runner{Kubectl: kubectl, KubectlArgs: []string{"--server", api.URL, "--certificate-authority", ca, "--token", "wrong", "--namespace", "default"}}
	res, err = bad.Run(ctx, s, "restart-deployment", false, map[string]string{"deployment": "checkout-api"}, false)
	if err == nil || res.ExitCode == 0 {
		t.Fatalf("a wrong token must fail: %+v", res)
	}
	if _, err := r.Run(ctx, s, "restart-deployment", false, map[string]string{"deployment": "payments-api"}, false); err == nil {
		t.Fatal("a deployment outside the scope must be refused")
	}
	if _, err := os.Stat(".kube"); err == nil {
		t.Fatal("kubectl wrote its cache into the working directory")
	}
}
