package cli

import (
	"bytes"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

const (
	botToken  = "xoxb-very-secret-token-111"
	signing   = "signing-secret-222"
	pdSecrets = "pd-secret-333,pd-secret-444"
	redisURL  = "redis://:hunter2-password@127.0.0.1:1/0"
	auditKey  = "b3BzZ2F0ZS10ZXN0LWF1ZGl0LWtleS0zMi1ieXRlcyE=" // 32 bytes, base64
	vaultKey  = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64
)

func setAll(t *testing.T) {
	t.Setenv("SLACK_BOT_TOKEN", botToken)
	t.Setenv("SLACK_SIGNING_SECRET", signing)
	t.Setenv("PAGERDUTY_WEBHOOK_SECRETS", pdSecrets)
	t.Setenv("SLACK_CHANNEL", "C0123ABCD")
	t.Setenv("OPSGATE_LISTEN_ADDR", "127.0.0.1:0")
	t.Setenv("OPSGATE_AUDIT_KEY", auditKey)
	t.Setenv("OPSGATE_VAULT_KEY", vaultKey)
}

func assertNoSecrets(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, secret := range []string{botToken, signing, "pd-secret-333", "pd-secret-444", "hunter2-password"} {
			if strings.Contains(s, secret) {
				t.Fatalf("output contains a secret: %q", s)
			}
		}
	}
}

func TestServeFailsWithOneLineNamingTheVariable(t *testing.T) {
	cases := []struct {
		name, key, value, want string
	}{
		{"missing token", "SLACK_BOT_TOKEN", "", "SLACK_BOT_TOKEN: is required"},
		{"missing signing secret", "SLACK_SIGNING_SECRET", "", "SLACK_SIGNING_SECRET: is required"},
		{"missing webhook secrets", "PAGERDUTY_WEBHOOK_SECRETS", " , ", "PAGERDUTY_WEBHOOK_SECRETS: is required"},
		{"bad workers", "OPSGATE_WORKERS", "many", "OPSGATE_WORKERS: not a valid int"},
		{"bad duration", "OPSGATE_WEBHOOK_MAX_AGE", "forever", "OPSGATE_WEBHOOK_MAX_AGE: not a valid"},
		{"bad slack url", "SLACK_API_URL", "ftp://x", "SLACK_API_URL: must be an http(s) URL"},
		{"bad channel", "SLACK_CHANNEL", "#incidents", "SLACK_CHANNEL: must be a channel id"},
		{"bad redis url with password", "REDIS_URL", "mysql://:hunter2-password@h/0", "REDIS_URL: not a valid"},
		{"unreachable redis", "REDIS_URL", redisURL, "redis unreachable"},
		{"missing config file", "OPSGATE_CONFIG", "/nonexistent/opsgate.yaml", "OPSGATE_CONFIG"},
		{"bad log level", "OPSGATE_LOG_LEVEL", "loud", "OPSGATE_LOG_LEVEL"},
		{"short audit key", "OPSGATE_AUDIT_KEY", "hunter2-password", "OPSGATE_AUDIT_KEY: must be at least 32 bytes"},
		{"bad vault key", "OPSGATE_VAULT_KEY", vaultKey + ",hunter2-password", "OPSGATE_VAULT_KEY: key 2 of 2"},
		{"anchor retention without a file", "OPSGATE_AUDIT_RETENTION", "720h", "OPSGATE_AUDIT_RETENTION: must be at least 1h and needs OPSGATE_AUDIT_ANCHOR"},
		{"bad team id", "SLACK_TEAM_ID", "acme", "SLACK_TEAM_ID: must be a workspace id"},
		{"bad redis addrs", "REDIS_ADDRS", "10.0.0.1:6379,nonsense", `REDIS_ADDRS: "nonsense" is not host:port`},
		{"a redis password without a redis", "REDIS_PASSWORD", "hunter2-password", "REDIS_PASSWORD: is set but neither REDIS_URL nor REDIS_ADDRS"},
		{"a master name without a redis", "REDIS_MASTER_NAME", "mymaster", "REDIS_MASTER_NAME: is set but neither REDIS_URL nor REDIS_ADDRS"},
		{"tls without a redis", "REDIS_TLS", "true", "REDIS_TLS: is set but neither"},
		{"bad wait replicas", "REDIS_WAIT_REPLICAS", "99", "REDIS_WAIT_REPLICAS"},
		{"a bot token as the app token", "SLACK_APP_TOKEN", "xoxb-not-an-app-token", "SLACK_APP_TOKEN: must be an app-level token"},
		{"bad storm window", "OPSGATE_STORM_WINDOW", "1s", "OPSGATE_STORM_WINDOW"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setAll(t)
			t.Setenv(c.key, c.value)
			code, out, errOut := run(t, "serve")
			if code == 0 {
				t.Fatal("serve succeeded")
			}
			if !strings.Contains(errOut, c.want) {
				t.Fatalf("stderr %q does not contain %q", errOut, c.want)
			}
			if c.name != "unreachable redis" && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("want one line, got %q", errOut)
			}
			assertNoSecrets(t, out, errOut)
		})
	}
}

// REDIS_* combinations that cannot work are one-line errors, never a
// silent fall-back to the embedded store.
func TestServeRefusesRedisSettingsItCannotUse(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_ADDRS": "127.0.0.1:2"}, "REDIS_URL: and REDIS_ADDRS are both set"},
		{map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_MASTER_NAME": "mymaster"}, "REDIS_MASTER_NAME: needs REDIS_ADDRS"},
		{map[string]string{"REDIS_ADDRS": "127.0.0.1:1,127.0.0.1:2", "REDIS_DB": "3"}, "REDIS_DB: must be 0 with Cluster"},
		{map[string]string{"REDIS_ADDRS": "127.0.0.1:1", "REDIS_TLS_CA": "/nonexistent.pem"}, "REDIS_TLS_CA: cannot be read"},
		{map[string]string{"REDIS_ADDRS": "127.0.0.1:1,127.0.0.1:2", "REDIS_PASSWORD": "hunter2-password"}, "redis unreachable"},
	} {
		t.Run(c.want, func(t *testing.T) {
			setAll(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, out, errOut := run(t, "serve")
			if code == 0 || !strings.Contains(errOut, c.want) {
				t.Fatalf("%v: %d %q", c.env, code, errOut)
			}
			assertNoSecrets(t, out, errOut)
		})
	}
}

// With a durable store, serve refuses to start without the keys: a key
// generated per process would leave the trail unverifiable and the state
// unreadable after a restart.
func TestServeRequiresTheKeysWithRedis(t *testing.T) {
	for _, name := range []string{"OPSGATE_AUDIT_KEY", "OPSGATE_VAULT_KEY"} {
		setAll(t)
		t.Setenv("REDIS_URL", redisURL)
		t.Setenv(name, "")
		code, out, errOut := run(t, "serve")
		if code == 0 || !strings.Contains(errOut, name+": is required with REDIS_URL") {
			t.Fatalf("%s: %d %q", name, code, errOut)
		}
		assertNoSecrets(t, out, errOut)
	}
}

func TestHelpShowsVariablesNotValues(t *testing.T) {
	setAll(t)
	code, out, errOut := run(t, "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, name := range []string{"OPSGATE_LISTEN_ADDR", "OPSGATE_CONFIG", "REDIS_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
		"SLACK_CHANNEL", "PAGERDUTY_WEBHOOK_SECRETS", "PAGERDUTY_API_TOKEN", "PAGERDUTY_API_URL", "GEMINI_API_KEY", "GEMINI_MODEL", "GEMINI_BASE_URL"} {
		if !strings.Contains(out, name) {
			t.Errorf("help lacks %s", name)
		}
	}
	assertNoSecrets(t, out, errOut)
}

func TestVersionAndUnknownCommand(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "opsgate ") {
		t.Fatalf("version: %d %q", code, out)
	}
	code, _, errOut := run(t, "frobnicate")
	if code == 0 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	code, _, errOut = run(t, "serve", "extra-arg")
	if code == 0 || !strings.Contains(errOut, "unknown command") && !strings.Contains(errOut, "accepts 0 arg") {
		t.Fatalf("extra arg: %d %q", code, errOut)
	}
}
