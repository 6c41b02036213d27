package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"regexp"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/redact"
)

// File is the YAML file named by OPSGATE_CONFIG.
type File struct {
	// DefaultChannel is used when no route matches (SLACK_CHANNEL wins when set).
	DefaultChannel string  `yaml:"default_channel"`
	Routes         []Route `yaml:"routes"`
	// Redaction tunes the sanitization layer (internal domains, custom patterns).
	Redaction redact.Config `yaml:"redaction"`
	// Approvers may reveal masked values (and, later, approve actions).
	Approvers Approvers `yaml:"approvers"`
	// Handlers declare what context to collect per incident (first match wins).
	Handlers []collect.Handler `yaml:"handlers"`
	// Actions is the action catalog (default: the built-in one).
	Actions []catalog.Spec `yaml:"actions"`
	// Executor configures how approved actions run.
	Executor Executor `yaml:"executor"`
	// Scopes maps a service name to what its incidents' actions may name:
	// targets, namespaces, hosts (default: targets = the service's name).
	Scopes map[string]catalog.Scope `yaml:"scopes"`
	// Search says who may use /triage search.
	Search Search `yaml:"search"`
	// Storms groups alert storms for every route without its own storm:
	// setting (default: OPSGATE_STORM_WINDOW).
	Storms *Storm `yaml:"storms"`
	// Stakeholders receive approved status updates for every route
	// without its own stakeholders: setting.
	Stakeholders *Stakeholders `yaml:"stakeholders"`
}

// Stakeholders says where a route's approved status updates go: e-mail
// (SMTP_URL), a Slack channel, a PagerDuty status update; and who must
// approve them (default: one of the approvers, not the drafter).
type Stakeholders struct {
	Email                 []string           `yaml:"email"`
	Channel               string             `yaml:"channel"`
	PagerDutyStatusUpdate bool               `yaml:"pagerduty_status_update"`
	Approvals             *catalog.Approvals `yaml:"approvals"`
}

// Empty reports whether s sends nowhere.
func (s *Stakeholders) Empty() bool {
	return s == nil || (len(s.Email) == 0 && s.Channel == "" && !s.PagerDutyStatusUpdate)
}

func (s *Stakeholders) check(where string) error {
	if s == nil {
		return nil
	}
	if len(s.Email) > MaxStakeholderEmails {
		return fmt.Errorf("%w: %s.email: at most %d addresses", ErrInvalid, where, MaxStakeholderEmails)
	}
	for i, a := range s.Email {
		if addr, err := mail.ParseAddress(a); err != nil || addr.Address != a {
			return fmt.Errorf("%w: %s.email[%d]: %q is not a bare e-mail address such as status@example.com", ErrInvalid, where, i, a)
		}
	}
	if s.Channel != "" && !ValidChannelID(s.Channel) {
		return fmt.Errorf("%w: %s.channel: %q is not a channel id such as C0123ABCD", ErrInvalid, where, s.Channel)
	}
	if a := s.Approvals; a != nil {
		if a.Required < 0 || a.Required > 5 {
			return fmt.Errorf("%w: %s.approvals.required: 0 (one) to 5", ErrInvalid, where)
		}
		for i, u := range a.Users {
			if !catalog.ValidUserID(u) {
				return fmt.Errorf("%w: %s.approvals.users[%d]: %q is not a Slack user id", ErrInvalid, where, i, u)
			}
		}
		for i, g := range a.Groups {
			if !catalog.ValidGroupID(g) {
				return fmt.Errorf("%w: %s.approvals.groups[%d]: %q is not a Slack user-group id", ErrInvalid, where, i, g)
			}
		}
	}
	return nil
}

// MaxStakeholderEmails bounds one route's e-mail recipients.
const MaxStakeholderEmails = 50

// StakeholdersFor is the service's stakeholders: its route's, else the
// file's (nil: none).
func (f *File) StakeholdersFor(serviceID, serviceName string) *Stakeholders {
	if r := f.route(serviceID, serviceName); r != nil && r.Stakeholders != nil {
		return r.Stakeholders
	}
	if f == nil {
		return nil
	}
	return f.Stakeholders
}

// Storm says whether and how a route's incidents are grouped into storms.
type Storm struct {
	Enabled *bool         `yaml:"enabled"` // default true
	Window  time.Duration `yaml:"window"`  // default OPSGATE_STORM_WINDOW, else 5m
}

// window resolves s, with fallback as the window when s sets none.
func (s *Storm) window(fallback time.Duration) time.Duration {
	if s.Enabled != nil && !*s.Enabled {
		return 0
	}
	if s.Window > 0 {
		return s.Window
	}
	if fallback > 0 {
		return fallback
	}
	return DefaultStormWindow
}

func (s *Storm) check(where string) error {
	if s != nil && s.Window != 0 && (s.Window < 10*time.Second || s.Window > 24*time.Hour) {
		return fmt.Errorf("%w: %s: window %s is not between 10s and 24h", ErrInvalid, where, s.Window)
	}
	return nil
}

// DefaultStormWindow is the storm window when storms are switched on
// without one.
const DefaultStormWindow = 5 * time.Minute

// StormWindow is how long a storm of the service's incidents stays open
// after its latest arrival; 0 means its incidents are never grouped. A
// route's storm: wins over the file's storms:, which wins over fallback
// (OPSGATE_STORM_WINDOW).
func (f *File) StormWindow(serviceID, serviceName string, fallback time.Duration) time.Duration {
	if f == nil {
		return fallback
	}
	if r := f.route(serviceID, serviceName); r != nil && r.Storm != nil {
		return r.Storm.window(fallback)
	}
	if f.Storms != nil {
		return f.Storms.window(fallback)
	}
	return fallback
}

// Search: /triage search answers in the channels opsgate posts incidents
// to (every route's channel, the default channel), in Channels, and to
// configured approvers anywhere; Anyone opens it to everyone everywhere.
type Search struct {
	Channels []string `yaml:"channels"`
	Anyone   bool     `yaml:"anyone"`
}

// SearchAllowedIn reports whether /triage search answers in channel
// (fallback is SLACK_CHANNEL, a channel incidents are posted to).
func (f *File) SearchAllowedIn(channel, fallback string) bool {
	if channel == "" {
		return false
	}
	if channel == fallback {
		return true
	}
	if f == nil {
		return false
	}
	if f.Search.Anyone || channel == f.DefaultChannel || slices.Contains(f.Search.Channels, channel) {
		return true
	}
	return slices.ContainsFunc(f.Routes, func(r Route) bool { return r.Channel == channel })
}

// Executor is where and how actions run: kubectl's program and fixed
// arguments (context, kubeconfig), the ssh key and port, the Prometheus
// used by verify checks.
type Executor struct {
	Kubectl       string   `yaml:"kubectl"`
	KubectlArgs   []string `yaml:"kubectl_args"`
	SSHKeyFile    string   `yaml:"ssh_key_file"`
	SSHPort       int      `yaml:"ssh_port"`
	PrometheusURL string   `yaml:"prometheus_url"`
}

// Catalog builds the action catalog: the configured actions, or the
// built-in ones when none are configured.
func (f *File) Catalog() (*catalog.Catalog, error) {
	if f == nil || len(f.Actions) == 0 {
		return catalog.MustDefault(), nil
	}
	return catalog.New(f.Actions)
}

// ScopeFor is what an incident of the service may name.
func (f *File) ScopeFor(serviceName string) catalog.Scope {
	if f != nil {
		if s, ok := f.Scopes[serviceName]; ok {
			return s
		}
	}
	return catalog.For(serviceName).Scope
}

// Collector builds the context collector from the handlers (nil: none).
func (f *File) Collector() (*collect.Collector, error) {
	if f == nil || len(f.Handlers) == 0 {
		return nil, nil
	}
	return collect.New(f.Handlers)
}

// Approvers are Slack user ids (U…/W…) and user-group ids (S…).
type Approvers struct {
	Users  []string `yaml:"users"`
	Groups []string `yaml:"groups"`
}

// Engine compiles the redaction settings.
func (f *File) Engine() (*redact.Engine, error) {
	if f == nil {
		return redact.Default(), nil
	}
	return redact.New(f.Redaction)
}

// Route sends incidents of one PagerDuty service to a channel. Exactly one of
// ServiceID and ServiceName is set.
type Route struct {
	ServiceID   string `yaml:"service_id"`
	ServiceName string `yaml:"service_name"`
	Channel     string `yaml:"channel"`
	Storm       *Storm `yaml:"storm"` // default: the file's storms:
	// Stakeholders replaces the file's stakeholders: for this route.
	Stakeholders *Stakeholders `yaml:"stakeholders"`
}

var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,20}$`)

// ValidChannelID reports whether s looks like a Slack conversation id.
func ValidChannelID(s string) bool { return channelID.MatchString(s) }

// MaxFileSize bounds the config file.
const MaxFileSize = 1 << 20

// LoadFile reads and checks a config file.
func LoadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: OPSGATE_CONFIG: %w", ErrInvalid, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: OPSGATE_CONFIG: %w", ErrInvalid, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: OPSGATE_CONFIG: %s is larger than %d bytes", ErrInvalid, path, MaxFileSize)
	}
	cfg, err := ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("OPSGATE_CONFIG %s: %w", path, err)
	}
	return cfg, nil
}

// ParseFile decodes YAML strictly (unknown keys are errors) and validates.
func ParseFile(data []byte) (*File, error) {
	var cfg File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if cfg.DefaultChannel != "" && !ValidChannelID(cfg.DefaultChannel) {
		return nil, fmt.Errorf("%w: default_channel: %q is not a channel id such as C0123ABCD", ErrInvalid, cfg.DefaultChannel)
	}
	for i, c := range cfg.Search.Channels {
		if !ValidChannelID(c) {
			return nil, fmt.Errorf("%w: search.channels[%d]: %q is not a channel id such as C0123ABCD", ErrInvalid, i, c)
		}
	}
	for i, u := range cfg.Approvers.Users {
		if !catalog.ValidUserID(u) {
			return nil, fmt.Errorf("%w: approvers.users[%d]: %q is not a Slack user id such as U0123ABCD", ErrInvalid, i, u)
		}
	}
	for i, g := range cfg.Approvers.Groups {
		if !catalog.ValidGroupID(g) {
			return nil, fmt.Errorf("%w: approvers.groups[%d]: %q is not a Slack user-group id such as S0123ABCD", ErrInvalid, i, g)
		}
	}
	if _, err := redact.New(cfg.Redaction); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	cat, err := cfg.Catalog()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	for _, h := range cfg.Handlers {
		for i, a := range h.Actions {
			if _, ok := cat.Get(a.ID); !ok {
				return nil, fmt.Errorf("%w: handler %q: actions[%d]: %q is not in the action catalog", ErrInvalid, h.Name, i, a.ID)
			}
		}
	}
	if _, err := cfg.Collector(); err != nil {
		return nil, fmt.Errorf("%w: handlers: %v", ErrInvalid, err)
	}
	if err := cfg.Storms.check("storms"); err != nil {
		return nil, err
	}
	if err := cfg.Stakeholders.check("stakeholders"); err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for i, r := range cfg.Routes {
		where := fmt.Sprintf("routes[%d]", i)
		if err := r.Storm.check(where + ".storm"); err != nil {
			return nil, err
		}
		if err := r.Stakeholders.check(where + ".stakeholders"); err != nil {
			return nil, err
		}
		if r.Stakeholders != nil && r.Stakeholders.Approvals != nil {
			// Who approves an update is one rule for every route (the
			// built-in action has one spec); a route's would be ignored.
			return nil, fmt.Errorf("%w: %s.stakeholders.approvals: set approvals in the top-level stakeholders: only", ErrInvalid, where)
		}
		if (r.ServiceID == "") == (r.ServiceName == "") {
			return nil, fmt.Errorf("%w: %s: set exactly one of service_id and service_name", ErrInvalid, where)
		}
		if !ValidChannelID(r.Channel) {
			return nil, fmt.Errorf("%w: %s: channel %q is not a channel id such as C0123ABCD", ErrInvalid, where, r.Channel)
		}
		key := "id:" + r.ServiceID
		if r.ServiceName != "" {
			key = "name:" + r.ServiceName
		}
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("%w: %s: same service as routes[%d]", ErrInvalid, where, j)
		}
		seen[key] = i
	}
	return &cfg, nil
}

// ChannelFor picks the channel for a service: a route by id, then by name,
// then fallback, then the file's default. "" means none is configured.
func (f *File) ChannelFor(serviceID, serviceName, fallback string) string {
	if r := f.route(serviceID, serviceName); r != nil {
		return r.Channel
	}
	if fallback != "" {
		return fallback
	}
	if f != nil {
		return f.DefaultChannel
	}
	return ""
}

// route is the service's route: by id, then by name; nil when none.
func (f *File) route(serviceID, serviceName string) *Route {
	if f == nil {
		return nil
	}
	for i, r := range f.Routes {
		if r.ServiceID != "" && r.ServiceID == serviceID {
			return &f.Routes[i]
		}
	}
	for i, r := range f.Routes {
		if r.ServiceName != "" && r.ServiceName == serviceName {
			return &f.Routes[i]
		}
	}
	return nil
}
