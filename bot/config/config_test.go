package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("xoxb-123-secret")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", s, "list", Secrets{"a-secret", "b-secret"})
	j, _ := json.Marshal(struct{ T Secret }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %#v", s, s, s), buf.String(), string(j)} {
		if strings.Contains(out, "xoxb-123") || strings.Contains(out, "a-secret") || strings.Contains(out, "b-secret") {
			t.Fatalf("secret leaked: %q", out)
		}
	}
	if s.Reveal() != "xoxb-123-secret" {
		t.Fatal("Reveal")
	}
	var ss Secrets
	_ = ss.Decode(" a , ,b ")
	if got := ss.Reveal(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Decode = %v", got)
	}
}

func TestParseFileAndRouting(t *testing.T) {
	cfg, err := ParseFile([]byte(`
default_channel: C0DEFAULT
routes:
  - service_id: PSVC1
    channel: C0CHECKOUT
  - service_name: postgres
    channel: C0DATA
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ id, name, fallback, want string }{
		{"PSVC1", "anything", "C0ENV", "C0CHECKOUT"},
		{"PX", "postgres", "C0ENV", "C0DATA"},
		{"PX", "other", "C0ENV", "C0ENV"},
		{"PX", "other", "", "C0DEFAULT"},
	}
	for _, c := range cases {
		if got := cfg.ChannelFor(c.id, c.name, c.fallback); got != c.want {
			t.Errorf("ChannelFor(%s,%s,%s) = %s, want %s", c.id, c.name, c.fallback, got, c.want)
		}
	}
	var none *File
	if got := none.ChannelFor("a", "b", "C0ENV"); got != "C0ENV" {
		t.Errorf("nil file: %s", got)
	}
}

func TestParseFileErrors(t *testing.T) {
	cases := map[string]string{
		"unknown key":        "routes:\n  - service_id: P1\n    chanel: C0X1\n",
		"both keys":          "routes:\n  - service_id: P1\n    service_name: x\n    channel: C0X1\n",
		"neither key":        "routes:\n  - channel: C0X1\n",
		"channel name":       "routes:\n  - service_id: P1\n    channel: '#incidents'\n",
		"bad default":        "default_channel: incidents\n",
		"duplicate route":    "routes:\n  - service_id: P1\n    channel: C0X1\n  - service_id: P1\n    channel: C0X2\n",
		"not yaml":           "routes: [\n",
		"wrong type":         "routes: 5\n",
		"bad handler re":     "handlers:\n  - match: {service: \"(\"}\n",
		"two kinds":          "handlers:\n  - logs:\n      - file: {glob: /x}\n        command: {argv: [ls]}\n",
		"bad duration":       "handlers:\n  - before: soon\n",
		"reserved action id": "actions:\n  - {id: stakeholder-update, risk: low, run: {http: {method: POST, url: \"https://x.example/y\"}}}\n",
		"prom as log":        "handlers:\n  - logs:\n      - prometheus: {url: http://p, query: up}\n",
		"unknown action":     "handlers:\n  - actions:\n      - {id: nuke-prod}\n",
		"action no id":       "handlers:\n  - actions:\n      - {params: {deployment: x}}\n",
		"action bad tmpl":    "handlers:\n  - actions:\n      - {id: restart-deployment, params: {deployment: \"{{.Service\"}}\n",
	}
	for name, doc := range cases {
		if _, err := ParseFile([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if cfg, err := ParseFile(nil); err != nil || len(cfg.Routes) != 0 {
		t.Errorf("empty file: %v", err)
	}
}

func TestLoadFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), MaxFileSize+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized: %v", err)
	}
	ok := filepath.Join(dir, "ok.yaml")
	_ = os.WriteFile(ok, []byte("default_channel: C0OK1\n"), 0o600)
	if cfg, err := LoadFile(ok); err != nil || cfg.DefaultChannel != "C0OK1" {
		t.Fatalf("ok: %v", err)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	if _, err := LoadFile("../../deploy/opsgate.example.yaml"); err != nil {
		t.Fatalf("deploy/opsgate.example.yaml: %v", err)
	}
}

func TestLLMBackendSelection(t *testing.T) {
	base := func() *Env {
		return &Env{PagerDutyAPIURL: "https://api.pagerduty.com", SlackAPIURL: "https://slack.com/api", GeminiModel: "m", LogLevel: "info", LogFormat: "json", Workers: 4, WebhookMaxAge: time.Hour, ReclaimIdle: time.Minute}
	}
	e := base()
	if e.Backend() != "none" || e.Validate() != nil {
		t.Fatal("default must be none")
	}
	e.GeminiAPIKey = "k"
	e.OpenAIBaseURL = "http://vllm:8000/v1"
	if e.Backend() != "gemini" {
		t.Fatal("gemini wins when keyed")
	}
	e.LLM = "openai"
	if err := e.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "OPENAI_MODEL") {
		t.Fatalf("%v", err)
	}
	e.OpenAIModel = "llama"
	if e.Validate() != nil || e.Backend() != "openai" {
		t.Fatal("openai")
	}
	for _, mod := range []func(*Env){func(e *Env) { e.LLM = "claude" }, func(e *Env) { e.LLM = "gemini" }, func(e *Env) { e.OpenAIBaseURL, e.OpenAIModel = "ftp://x", "m" }} {
		bad := base()
		mod(bad)
		if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestStormWindowResolvesRouteThenFileThenEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	doc := `storms: {window: 10m}
routes:
  - {service_name: batch, channel: C0BATCH, storm: {enabled: false}}
  - {service_id: PAPI, channel: C0API, storm: {window: 1m}}
  - {service_id: PWEB, channel: C0WEB}
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, name string
		want     time.Duration
	}{{"PX", "batch", 0}, {"PAPI", "api", time.Minute}, {"PWEB", "web", 10 * time.Minute}, {"PNONE", "none", 10 * time.Minute}} {
		if got := f.StormWindow(c.id, c.name, 5*time.Minute); got != c.want {
			t.Errorf("%s/%s: %v, want %v", c.id, c.name, got, c.want)
		}
	}
	var none *File
	if got := none.StormWindow("P", "x", 0); got != 0 {
		t.Errorf("no file, env off: %v", got)
	}
	on := true
	g := &File{Storms: &Storm{Enabled: &on}}
	if got := g.StormWindow("P", "x", 0); got != DefaultStormWindow {
		t.Errorf("enabled in the file with the env off: %v", got)
	}
	for _, bad := range []string{"storms: {window: 1s}", "routes: [{service_id: P1, channel: C0A, storm: {window: 48h}}]"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "window") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestStakeholdersPerRouteAndChecked(t *testing.T) {
	f, err := ParseFile([]byte(`stakeholders:
  email: [status@acme.example]
  pagerduty_status_update: true
  approvals: {required: 2, users: [U0LEAD1]}
routes:
  - {service_name: checkout-api, channel: C0CHECK, stakeholders: {channel: C0EXEC}}
  - {service_name: search, channel: C0SEARCH}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s := f.StakeholdersFor("", "checkout-api"); s.Channel != "C0EXEC" || len(s.Email) != 0 || s.PagerDutyStatusUpdate {
		t.Fatalf("route override %+v", s)
	}
	if s := f.StakeholdersFor("", "search"); len(s.Email) != 1 || !s.PagerDutyStatusUpdate || s.Approvals.Required != 2 {
		t.Fatalf("default %+v", s)
	}
	var none *File
	if !none.StakeholdersFor("", "x").Empty() {
		t.Fatal("no file: stakeholders")
	}
	for doc, want := range map[string]string{
		"stakeholders: {email: [not-an-address]}":                                                           "stakeholders.email[0]",
		"stakeholders: {email: ['Bob <bob@acme.example>']}":                                                 "bare e-mail address",
		"stakeholders: {channel: general}":                                                                  "stakeholders.channel",
		"stakeholders: {approvals: {required: 9}}":                                                          "approvals.required",
		"stakeholders: {approvals: {users: [bob]}}":                                                         "approvals.users[0]",
		"stakeholders: {emails: [a@b.example]}":                                                             "field emails not found",
		"routes: [{service_name: x, channel: C0X, stakeholders: {channel: nope}}]":                          "routes[0].stakeholders.channel",
		"routes: [{service_name: x, channel: C0X, stakeholders: {channel: C0Y, approvals: {required: 2}}}]": "top-level stakeholders: only",
	} {
		_, err := ParseFile([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
}

func TestSMTPSettingsChecked(t *testing.T) {
	env := func(url, from string) *Env {
		return &Env{PagerDutyAPIURL: "https://api.pagerduty.com", SlackAPIURL: "https://slack.com/api", GeminiModel: "m", LogLevel: "info",
			LogFormat: "json", Workers: 4, WebhookMaxAge: time.Hour, ReclaimIdle: time.Minute, SMTPURL: Secret(url), SMTPFrom: from}
	}
	if err := env("smtp://u:Pa55word-x@mail.acme.example:587", "opsgate@acme.example").Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ url, from, want string }{
		{"http://u:Pa55word-x@mail.acme.example", "opsgate@acme.example", "SMTP_URL"},
		{"smtp://u:Pa55word-x@:25", "opsgate@acme.example", "SMTP_URL"},
		{"smtp://u:Pa55word-x@mail.acme.example:99999", "opsgate@acme.example", "SMTP_URL"},
		{"smtp://u:Pa55word-x@mail.acme.example", "", "SMTP_FROM"},
		{"smtp://u:Pa55word-x@mail.acme.example", "Ops <opsgate@acme.example>", "SMTP_FROM"},
	} {
		err := env(c.url, c.from).Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Pa55word-x") {
			t.Errorf("%s %q: %v", c.url, c.from, err)
		}
	}
}
