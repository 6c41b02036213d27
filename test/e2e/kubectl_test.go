package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/integrations/fakes/fakekube"
)

// The built-in catalog through the real kubectl against a fake API
// server: the proposal shows the server's dry run (or says kubectl has
// none for the subcommand), and the approved action changes the cluster
// once.
func TestKubectlProposalDryRunThenScale(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed (make test installs Debian's kubernetes-client)")
	}
	api := fakekube.New("kube-token-e2e")
	t.Cleanup(api.Close)
	api.AddDeployment("default", "checkout-api", 3)
	ca, err := api.WriteCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`approvers:
  users: [U0BOB]
executor:
  kubectl: %q
  kubectl_args: [--server, %q, --certificate-authority, %q, --token, kube-token-e2e, --namespace, default]
`, kubectl, api.URL, ca))
	e := startWith(t, cfg)
	e.slack.AddUser("U0BOB", "bob")
	e.openThread("PKUB001")
	e.proposeAs("U0CAROL", "PKUB001 scale-deployment deployment=checkout-api replicas=6")
	e.proposeAs("U0CAROL", "PKUB001 restart-deployment deployment=checkout-api")
	var scale string
	e.eventually("both proposals", func() bool {
		scale = e.buttonFor("proposal_approve", "scale-deployment")
		return scale != "" && e.buttonFor("proposal_approve", "restart-deployment") != ""
	})
	tr := e.slack.Transcript(channel)
	if !strings.Contains(tr, "Server dry run:* `deployment.apps/checkout-api scaled") ||
		!strings.Contains(tr, "no server-side dry run: kubectl rollout restart") {
		t.Fatalf("dry runs not shown:\n%s", tr)
	}
	if got := api.Deployment("default", "checkout-api")["spec"].(map[string]any)["replicas"]; got != float64(3) {
		t.Fatalf("a proposal changed the cluster: replicas %v", got)
	}
	click(e, "U0BOB", "proposal_approve", scale, "1700000800.000")
	e.eventually("the execution", func() bool { return strings.Contains(e.slack.Transcript(channel), "SUCCEEDED") })
	e.settled()
	if got := api.Deployment("default", "checkout-api")["spec"].(map[string]any)["replicas"]; got != float64(6) {
		t.Fatalf("replicas %v after the approved scale", got)
	}
	if p := api.Patches(); len(p) != 2 || p[0] != "default/checkout-api dryRun=true" || p[1] != "default/checkout-api dryRun=false" {
		t.Fatalf("PATCHes: %v", p)
	}
	if strings.Contains(e.slack.Transcript(channel), "kube-token-e2e") {
		t.Fatal("the cluster token reached Slack")
	}
}
