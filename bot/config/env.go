// Package config reads opsgate's settings: environment variables (with
// envconfig) and the optional YAML file named by OPSGATE_CONFIG. Errors name
// the variable and never contain a secret's value.
package config

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/opsgate/opsgate/bot/mail"
)

// ErrInvalid is wrapped by every configuration error.
var ErrInvalid = errors.New("invalid configuration")

// Env is the process environment opsgate reads. The variable names are part
// of the interface.
type Env struct {
	ListenAddr              string        `envconfig:"OPSGATE_LISTEN_ADDR" default:":8080" desc:"HTTP listen address"`
	ConfigFile              string        `envconfig:"OPSGATE_CONFIG" desc:"YAML config file (channel routing; later the action catalog, handlers, approvers)"`
	LogLevel                string        `envconfig:"OPSGATE_LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat               string        `envconfig:"OPSGATE_LOG_FORMAT" default:"json" desc:"json or text"`
	Workers                 int           `envconfig:"OPSGATE_WORKERS" default:"4" desc:"event workers per replica"`
	WebhookMaxAge           time.Duration `envconfig:"OPSGATE_WEBHOOK_MAX_AGE" default:"24h" desc:"reject webhook events whose occurred_at is older"`
	ReclaimIdle             time.Duration `envconfig:"OPSGATE_RECLAIM_IDLE" default:"30s" desc:"re-deliver an event left unacked this long (crashed or failed worker)"`
	RedisURL                Secret        `envconfig:"REDIS_URL" desc:"one Redis node: redis[s]://[[user]:password@]host:port/db; unset (and no REDIS_ADDRS) = embedded in-process store (not durable)"`
	RedisAddrs              []string      `envconfig:"REDIS_ADDRS" desc:"host:port,...: with REDIS_MASTER_NAME the Sentinels, else the Cluster's seed nodes (one address: a single node)"`
	RedisMasterName         string        `envconfig:"REDIS_MASTER_NAME" desc:"the Sentinel-monitored master's name (with REDIS_ADDRS naming the Sentinels)"`
	RedisUsername           string        `envconfig:"REDIS_USERNAME" desc:"Redis ACL user (with REDIS_ADDRS, or overriding REDIS_URL's)"`
	RedisPassword           Secret        `envconfig:"REDIS_PASSWORD" desc:"Redis password (with REDIS_ADDRS, or overriding REDIS_URL's)"`
	RedisSentinelPassword   Secret        `envconfig:"REDIS_SENTINEL_PASSWORD" desc:"the Sentinels' own password, if they have one"`
	RedisDB                 int           `envconfig:"REDIS_DB" desc:"database number (not with Cluster)"`
	RedisTLS                bool          `envconfig:"REDIS_TLS" desc:"connect with TLS (rediss:// in REDIS_URL does too)"`
	RedisTLSCA              string        `envconfig:"REDIS_TLS_CA" desc:"PEM file of the CA that signed Redis' certificate (default: the system's)"`
	RedisWaitReplicas       int           `envconfig:"REDIS_WAIT_REPLICAS" default:"-1" desc:"replicas that must hold an accepted webhook before it is answered 2xx (WAIT); -1 = 1 with Sentinel or Cluster, 0 with one node"`
	RedisWaitTimeout        time.Duration `envconfig:"REDIS_WAIT_TIMEOUT" default:"1s" desc:"how long to wait for them; past it the webhook is answered 503 and PagerDuty retries"`
	SlackBotToken           Secret        `envconfig:"SLACK_BOT_TOKEN" desc:"Slack bot token (xoxb-...)"`
	SlackSigningSecret      Secret        `envconfig:"SLACK_SIGNING_SECRET" desc:"Slack app signing secret"`
	SlackAppToken           Secret        `envconfig:"SLACK_APP_TOKEN" desc:"app-level token (xapp-…, scope connections:write): Socket Mode — opsgate connects out to Slack, so /slack/commands, /slack/interactions and /slack/events need not be reachable"`
	SlackAPIURL             string        `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" desc:"Slack Web API base URL"`
	SlackChannel            string        `envconfig:"SLACK_CHANNEL" desc:"default channel id for incident threads"`
	StormWindow             time.Duration `envconfig:"OPSGATE_STORM_WINDOW" default:"5m" desc:"incidents of one service whose titles differ only in numbers, ids and quoted values join the first one's thread while they keep arriving within this window; 0 = a thread each (the config file's storms: and a route's storm: override it)"`
	SlackChannelPace        time.Duration `envconfig:"SLACK_CHANNEL_PACE" default:"1s" desc:"at most one post per channel this often, shared by every replica (Slack: about 1 message per second per channel); 0 = no pacing"`
	SlackChannelBurst       int           `envconfig:"SLACK_CHANNEL_BURST" default:"5" desc:"posts to one channel allowed at once before pacing applies (one incident's thread is about five messages)"`
	PagerDutyWebhookSecrets Secrets       `envconfig:"PAGERDUTY_WEBHOOK_SECRETS" desc:"webhook v3 signing secrets, comma-separated (rotation)"`
	PagerDutyAPIToken       Secret        `envconfig:"PAGERDUTY_API_TOKEN" desc:"REST API token; when set, incidents and alerts are fetched"`
	PagerDutyAPIURL         string        `envconfig:"PAGERDUTY_API_URL" default:"https://api.pagerduty.com" desc:"PagerDuty REST API base URL"`
	PagerDutyFromEmail      string        `envconfig:"PAGERDUTY_FROM_EMAIL" desc:"PagerDuty user e-mail for notes; when set with the token, the Slack thread link is noted on the incident"`
	SMTPURL                 Secret        `envconfig:"SMTP_URL" desc:"SMTP server for stakeholder e-mail: smtp://user:pass@host:587 (STARTTLS, required unless ?starttls=false) or smtps://…:465; credentials are sent only over TLS"`
	SMTPFrom                string        `envconfig:"SMTP_FROM" desc:"sender address of stakeholder e-mail, e.g. opsgate@example.com (required with SMTP_URL)"`
	GeminiAPIKey            Secret        `envconfig:"GEMINI_API_KEY" desc:"Gemini API key (root-cause analysis)"`
	GeminiModel             string        `envconfig:"GEMINI_MODEL" default:"gemini-2.5-flash" desc:"Gemini model"`
	GeminiBaseURL           string        `envconfig:"GEMINI_BASE_URL" desc:"Gemini API base URL (default Google's)"`
	LLM                     string        `envconfig:"OPSGATE_LLM" desc:"model backend for the RCA: gemini, openai or none (default: gemini when GEMINI_API_KEY is set, else openai when OPENAI_BASE_URL is set, else none — the extractive RCA)"`
	OpenAIBaseURL           string        `envconfig:"OPENAI_BASE_URL" desc:"OpenAI-compatible API base URL, e.g. http://vllm:8000/v1 (on-premises models)"`
	OpenAIAPIKey            Secret        `envconfig:"OPENAI_API_KEY" desc:"API key for OPENAI_BASE_URL (optional for local servers)"`
	OpenAIModel             string        `envconfig:"OPENAI_MODEL" desc:"model name at OPENAI_BASE_URL"`
	AuditKey                Secret        `envconfig:"OPSGATE_AUDIT_KEY" desc:"key (32+ bytes, base64 or hex: openssl rand -base64 32) that MACs the audit trail and signs its anchors; required by serve with REDIS_URL"`
	AuditAnchor             string        `envconfig:"OPSGATE_AUDIT_ANCHOR" desc:"file the signed audit anchors are appended to (also logged); audit verify checks against it"`
	AuditAnchorEvery        int64         `envconfig:"OPSGATE_AUDIT_ANCHOR_EVERY" default:"100" desc:"anchor after this many new audit entries"`
	AuditAnchorInterval     time.Duration `envconfig:"OPSGATE_AUDIT_ANCHOR_INTERVAL" default:"5m" desc:"anchor at least this often while audit entries arrive (and on shutdown)"`
	AuditRetention          time.Duration `envconfig:"OPSGATE_AUDIT_RETENTION" desc:"trim audit entries older than this, only up to an anchored checkpoint (needs OPSGATE_AUDIT_ANCHOR); unset = keep all"`
	VaultKeys               Secrets       `envconfig:"OPSGATE_VAULT_KEY" desc:"AES-256 keys (32 bytes, base64 or hex), comma-separated: the first encrypts, all decrypt (rotation); encrypts masked values, queued jobs and records in Redis; required by serve with REDIS_URL"`
	VaultTTL                time.Duration `envconfig:"OPSGATE_VAULT_TTL" default:"2160h" desc:"how long an incident's masked values (for Reveal and consistent placeholders) are kept after their last change"`
	SlackTeamID             string        `envconfig:"SLACK_TEAM_ID" desc:"when set, Slack requests from any other workspace are refused"`
	SlackAppID              string        `envconfig:"SLACK_APP_ID" desc:"when set, Slack requests for any other app are refused"`
}

// Backend is the RCA model backend OPSGATE_LLM selects (resolving the default).
func (e *Env) Backend() string {
	if e.LLM != "" {
		return e.LLM
	}
	switch {
	case e.GeminiAPIKey != "":
		return "gemini"
	case e.OpenAIBaseURL != "":
		return "openai"
	}
	return "none"
}

// LoadEnv reads and checks the process environment.
func LoadEnv() (*Env, error) {
	var e Env
	if err := envconfig.Process("", &e); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: %s: not a valid %s", ErrInvalid, pe.KeyName, pe.TypeName)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

func bad(name, why string) error { return fmt.Errorf("%w: %s: %s", ErrInvalid, name, why) }

func checkURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad(name, "must be an http(s) URL")
	}
	return nil
}

// Validate checks values and normalises URLs.
func (e *Env) Validate() error {
	switch e.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("OPSGATE_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if e.LogFormat != "json" && e.LogFormat != "text" {
		return bad("OPSGATE_LOG_FORMAT", "must be json or text")
	}
	if e.Workers < 1 || e.Workers > 256 {
		return bad("OPSGATE_WORKERS", "must be between 1 and 256")
	}
	if e.WebhookMaxAge < time.Minute {
		return bad("OPSGATE_WEBHOOK_MAX_AGE", "must be at least 1m")
	}
	if e.ReclaimIdle < 100*time.Millisecond {
		return bad("OPSGATE_RECLAIM_IDLE", "must be at least 100ms")
	}
	if t := e.SlackAppToken.Reveal(); t != "" && !strings.HasPrefix(t, "xapp-") {
		return bad("SLACK_APP_TOKEN", "must be an app-level token (xapp-…)")
	}
	if e.StormWindow != 0 && (e.StormWindow < 10*time.Second || e.StormWindow > 24*time.Hour) {
		return bad("OPSGATE_STORM_WINDOW", "must be 0 (off) or between 10s and 24h")
	}
	if e.SlackChannelPace < 0 || e.SlackChannelPace > time.Minute {
		return bad("SLACK_CHANNEL_PACE", "must be between 0 (off) and 1m")
	}
	if e.SlackChannelBurst < 0 || e.SlackChannelBurst > 100 {
		return bad("SLACK_CHANNEL_BURST", "must be between 0 and 100")
	}
	if err := e.validateRedis(); err != nil {
		return err
	}
	if err := checkURL("SLACK_API_URL", e.SlackAPIURL); err != nil {
		return err
	}
	if !strings.HasSuffix(e.SlackAPIURL, "/") {
		e.SlackAPIURL += "/"
	}
	if e.SlackChannel != "" && !ValidChannelID(e.SlackChannel) {
		return bad("SLACK_CHANNEL", "must be a channel id such as C0123ABCD")
	}
	if err := checkURL("PAGERDUTY_API_URL", e.PagerDutyAPIURL); err != nil {
		return err
	}
	e.PagerDutyAPIURL = strings.TrimRight(e.PagerDutyAPIURL, "/")
	if e.PagerDutyFromEmail != "" && !strings.Contains(e.PagerDutyFromEmail, "@") {
		return bad("PAGERDUTY_FROM_EMAIL", "must be an e-mail address")
	}
	if u := e.SMTPURL.Reveal(); u != "" {
		if _, err := mail.ParseURL(u); err != nil {
			return bad("SMTP_URL", strings.TrimPrefix(err.Error(), mail.ErrConfig.Error()+": "))
		}
		if a, err := netmail.ParseAddress(e.SMTPFrom); err != nil || a.Address != e.SMTPFrom {
			return bad("SMTP_FROM", "must be a bare e-mail address such as opsgate@example.com when SMTP_URL is set")
		}
	}
	if e.GeminiBaseURL != "" {
		if err := checkURL("GEMINI_BASE_URL", e.GeminiBaseURL); err != nil {
			return err
		}
	}
	if e.OpenAIBaseURL != "" {
		if err := checkURL("OPENAI_BASE_URL", e.OpenAIBaseURL); err != nil {
			return err
		}
	}
	if err := e.validateKeys(); err != nil {
		return err
	}
	if e.SlackTeamID != "" && !slackID(e.SlackTeamID, 'T', 'E') {
		return bad("SLACK_TEAM_ID", "must be a workspace id such as T0123ABCD")
	}
	if e.SlackAppID != "" && !slackID(e.SlackAppID, 'A') {
		return bad("SLACK_APP_ID", "must be an app id such as A0123ABCD")
	}
	switch e.Backend() {
	case "none":
	case "gemini":
		if e.GeminiAPIKey == "" {
			return bad("OPSGATE_LLM", "is gemini but GEMINI_API_KEY is unset")
		}
	case "openai":
		if e.OpenAIBaseURL == "" || e.OpenAIModel == "" {
			return bad("OPSGATE_LLM", "is openai but OPENAI_BASE_URL or OPENAI_MODEL is unset")
		}
	default:
		return bad("OPSGATE_LLM", "must be gemini, openai or none")
	}
	return nil
}

// RequireServe checks what `opsgate serve` cannot run without.
func (e *Env) RequireServe() error {
	switch {
	case e.SlackBotToken == "":
		return bad("SLACK_BOT_TOKEN", "is required")
	case e.SlackSigningSecret == "":
		return bad("SLACK_SIGNING_SECRET", "is required")
	case len(e.PagerDutyWebhookSecrets) == 0:
		return bad("PAGERDUTY_WEBHOOK_SECRETS", "is required (comma-separated for rotation)")
	case e.RedisConfigured() && e.AuditKey == "":
		// With a durable store the trail must outlive the process: a key
		// generated per process would leave it unverifiable.
		return bad("OPSGATE_AUDIT_KEY", "is required with REDIS_URL or REDIS_ADDRS (openssl rand -base64 32)")
	case e.RedisConfigured() && len(e.VaultKeys) == 0:
		return bad("OPSGATE_VAULT_KEY", "is required with REDIS_URL or REDIS_ADDRS (openssl rand -base64 32)")
	}
	return nil
}

// Usage writes the variable reference (names, defaults, descriptions; never
// values) for --help.
func Usage() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_ = envconfig.Usagef("", &Env{}, tw, "{{range .}}  {{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}")
	_ = tw.Flush()
	return b.String()
}
