package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

// buildOpsgate builds the binary once per test run.
func buildOpsgate(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "opsgate")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/opsgate/opsgate")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// `opsgate serve` as a user runs it — the binary, configured only by the
// environment — against a 3-master Redis Cluster (REDIS_ADDRS) and against
// a Sentinel-managed master (REDIS_ADDRS naming Sentinels plus
// REDIS_MASTER_NAME): ready, a signed webhook accepted, its thread posted,
// a clean stop on SIGTERM.
func TestServeOnClusterAndSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildOpsgate(t)
	cluster := redistest.StartCluster(t, 3)
	sentinel := redistest.StartSentinel(t)
	for name, vars := range map[string][]string{
		"cluster":  {"REDIS_ADDRS=" + strings.Join(cluster.Addrs(), ","), "REDIS_WAIT_REPLICAS=0"}, // masters only
		"sentinel": {"REDIS_ADDRS=" + strings.Join(sentinel.Addrs(), ","), "REDIS_MASTER_NAME=" + sentinel.Name},
	} {
		t.Run(name, func(t *testing.T) {
			fs := fakeslack.New(slackToken, map[string]string{channel: "incidents"})
			defer fs.Close()
			addr := freeAddr(t)
			logs := &testutil.Buffer{}
			env := func(addr string) []string {
				return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
					"OPSGATE_LISTEN_ADDR=" + addr, "SLACK_BOT_TOKEN=" + slackToken, "SLACK_SIGNING_SECRET=" + signingSecret,
					"SLACK_API_URL=" + fs.APIURL(), "SLACK_CHANNEL=" + channel, "PAGERDUTY_WEBHOOK_SECRETS=" + pdSecret,
					"OPSGATE_AUDIT_KEY=" + fmt.Sprintf("%x", testutil.AuditKey), "OPSGATE_VAULT_KEY=" + fmt.Sprintf("%x", bytes.Repeat([]byte{7}, 32)),
					"OPSGATE_STORM_WINDOW=0"}
			}
			cmd := exec.Command(bin, "serve")
			cmd.Env = append(env(addr), vars...)
			cmd.Stdout, cmd.Stderr = logs, logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() { _ = cmd.Process.Kill() }()
			base := "http://" + addr
			waitUntil(t, logs, "ready", func() bool {
				resp, err := http.Get(base + "/readyz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == 200
			})
			body := incidentEvent("EVT-SERVE-"+name, "incident.triggered", "PSERVE1", "triggered", time.Now())
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/webhooks/pagerduty", bytes.NewReader(body))
			req.Header.Set(pagerduty.SignatureHeader, pagerduty.Sign(body, pdSecret))
			if code, resp := do(t, req); code != 202 || !strings.Contains(resp, "accepted") {
				t.Fatalf("webhook: %d %s\n%s", code, resp, logs.String())
			}
			waitUntil(t, logs, "the thread", func() bool { return len(fs.Threads(channel)) == 1 })
			if name == "cluster" {
				// The default REDIS_WAIT_REPLICAS (1 with a Cluster) on masters
				// without replicas: said at start, and a webhook is 503.
				checkNoReplicaWarning(t, bin, env(addr), "REDIS_ADDRS="+strings.Join(cluster.Addrs(), ","))
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve exited with %v\n%s", err, logs.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("serve did not stop on SIGTERM\n%s", logs.String())
			}
			for _, secret := range []string{slackToken, signingSecret, pdSecret} {
				if strings.Contains(logs.String(), secret) {
					t.Fatal("a secret reached the log")
				}
			}
		})
	}
}

func waitUntil(t *testing.T, logs *testutil.Buffer, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func checkNoReplicaWarning(t *testing.T, bin string, env []string, vars ...string) {
	t.Helper()
	addr := freeAddr(t)
	for i, v := range env {
		if strings.HasPrefix(v, "OPSGATE_LISTEN_ADDR=") {
			env[i] = "OPSGATE_LISTEN_ADDR=" + addr
		}
	}
	logs := &testutil.Buffer{}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(env, vars...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	waitUntil(t, logs, "the warning", func() bool { return strings.Contains(logs.String(), "REDIS_WAIT_REPLICAS=0") })
	waitUntil(t, logs, "ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	body := incidentEvent("EVT-NOREPLICA", "incident.triggered", "PSERVE2", "triggered", time.Now())
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/pagerduty", bytes.NewReader(body))
	req.Header.Set(pagerduty.SignatureHeader, pagerduty.Sign(body, pdSecret))
	if code, _ := do(t, req); code != http.StatusServiceUnavailable {
		t.Fatalf("webhook without replicas to wait for: %d, want 503", code)
	}
}
