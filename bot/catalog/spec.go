package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// ErrInvalid marks a catalog that cannot be loaded.
var ErrInvalid = errors.New("invalid action catalog")

// Risk is an action's risk class.
type Risk string

// Risks.
const (
	RiskLow    Risk = "low"
	RiskMedium Risk = "medium"
	RiskHigh   Risk = "high"
)

// Param types.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeDuration = "duration"
)

// Param is a typed parameter. A string takes a pattern (anchored) or an
// enum, or enum_from: a list from the incident's scope ("scope.targets",
// "scope.namespaces", "scope.hosts").
type Param struct {
	Type     string   `yaml:"type"`
	Pattern  string   `yaml:"pattern"`
	Enum     []string `yaml:"enum"`
	EnumFrom string   `yaml:"enum_from"`
	Min      int      `yaml:"min"`
	Max      int      `yaml:"max"`
	Optional bool     `yaml:"optional"`

	re *regexp.Regexp
}

// Approvals say who may approve and how many must (no groups and no users:
// the config's approvers).
type Approvals struct {
	Required  int      `yaml:"required"`
	Groups    []string `yaml:"groups"`
	Users     []string `yaml:"users"`
	AllowSelf bool     `yaml:"allow_self"`
}

// CommandExec runs a program with an argument vector (no shell).
type CommandExec struct {
	Argv      []string `yaml:"argv"`
	Env       []string `yaml:"env"` // names of variables passed through (allowlist)
	Dir       string   `yaml:"dir"`
	MaxOutput int      `yaml:"max_output"`
}

// HTTPExec sends one request to a URL from the config.
type HTTPExec struct {
	Method string `yaml:"method"`
	URL    string `yaml:"url"`
	Body   string `yaml:"body"` // JSON template; parameters are JSON-encoded into it
	Expect int    `yaml:"expect"`
}

// SSHExec runs a fixed remote command template on a host from the scope.
type SSHExec struct {
	Host       string   `yaml:"host"` // a template naming a parameter whose values come from scope.hosts
	User       string   `yaml:"user"`
	Command    []string `yaml:"command"`
	KnownHosts string   `yaml:"known_hosts"`
}

// Exec is one way to run something; exactly one field is set.
type Exec struct {
	Kubectl []string     `yaml:"kubectl"`
	Command *CommandExec `yaml:"command"`
	HTTP    *HTTPExec    `yaml:"http"`
	SSH     *SSHExec     `yaml:"ssh"`
}

// Verify checks that an action helped.
type Verify struct {
	Prometheus string        `yaml:"prometheus"` // a PromQL condition that must hold
	HTTP       *HTTPExec     `yaml:"http"`
	Command    *CommandExec  `yaml:"command"`
	Within     time.Duration `yaml:"within"`
}

// Spec is one action of the catalog.
type Spec struct {
	ID          string            `yaml:"id"`
	Description string            `yaml:"description"`
	Risk        Risk              `yaml:"risk"`
	Params      map[string]*Param `yaml:"params"`
	Run         Exec              `yaml:"run"`
	Verify      *Verify           `yaml:"verify"`
	Undo        *Exec             `yaml:"undo"`
	Approvals   Approvals         `yaml:"approvals"`
	Expiry      time.Duration     `yaml:"expiry"`
	Timeout     time.Duration     `yaml:"timeout"`
	// Message names the parameter holding the text a built-in action
	// sends (a stakeholder update): approvers see it whole, quoted, not
	// among the parameters. Never set from the config.
	Message string `yaml:"-"`
}

// Reserved are the ids of opsgate's built-in actions (a stakeholder
// update is proposed and approved as one): a catalog action may not take
// them, or it would be run as the built-in.
var Reserved = map[string]bool{"stakeholder-update": true}

// ValidActionID, ValidParamName, ValidUserID and ValidGroupID are the
// one definition of these names (config, the server and /triage use them).
func ValidActionID(s string) bool  { return idRe.MatchString(s) }
func ValidParamName(s string) bool { return paramRe.MatchString(s) }
func ValidUserID(s string) bool    { return userRe.MatchString(s) }  // Slack user: U… or W…
func ValidGroupID(s string) bool   { return groupRe.MatchString(s) } // Slack user group: S…

var (
	idRe      = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	paramRe   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)
	userRe    = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	groupRe   = regexp.MustCompile(`^S[A-Z0-9]{2,20}$`)
	scopeList = map[string]bool{"scope.targets": true, "scope.namespaces": true, "scope.hosts": true}
)

// Exec is the spec's run, or its undo (nil when it has none).
func (s *Spec) Exec(undo bool) *Exec {
	if undo {
		return s.Undo
	}
	return &s.Run
}

// check validates one spec and compiles its patterns; every problem is
// reported with its path.
func (s *Spec) check(where string) []string {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, where+": "+fmt.Sprintf(f, a...)) }
	if !idRe.MatchString(s.ID) {
		bad("id %q must be lowercase letters, digits and dashes", s.ID)
	}
	if Reserved[s.ID] {
		bad("id %q is a built-in action's; choose another", s.ID)
	}
	switch s.Risk {
	case RiskLow, RiskMedium, RiskHigh:
	default:
		bad("risk must be low, medium or high (got %q)", s.Risk)
	}
	names := slices.Sorted(maps.Keys(s.Params))
	for _, n := range names {
		p := s.Params[n]
		pw := "params." + n
		if !paramRe.MatchString(n) {
			bad("%s: parameter names are lowercase letters, digits and _", pw)
		}
		if p == nil {
			bad("%s: empty", pw)
			continue
		}
		if p.Type == "" {
			p.Type = TypeString
		}
		switch p.Type {
		case TypeString:
			set := 0
			for _, b := range []bool{p.Pattern != "", len(p.Enum) > 0, p.EnumFrom != ""} {
				if b {
					set++
				}
			}
			if set != 1 {
				bad("%s: a string needs exactly one of pattern, enum, enum_from", pw)
			}
			if p.Pattern != "" {
				re, err := regexp.Compile("^(?:" + p.Pattern + ")$")
				if err != nil {
					bad("%s: pattern: %v", pw, err)
				}
				p.re = re
			}
			if p.EnumFrom != "" && !scopeList[p.EnumFrom] {
				bad("%s: enum_from must be scope.targets, scope.namespaces or scope.hosts", pw)
			}
		case TypeInt:
			if p.Min > p.Max {
				bad("%s: min %d > max %d", pw, p.Min, p.Max)
			}
		case TypeDuration:
			if p.Min < 0 || p.Max <= 0 || p.Min > p.Max {
				bad("%s: a duration needs 0 <= min <= max seconds", pw)
			}
		default:
			bad("%s: type must be string, int or duration", pw)
		}
	}
	for _, e := range s.Run.check(s, "run") {
		bad("%s", e)
	}
	if s.Undo != nil {
		for _, e := range s.Undo.check(s, "undo") {
			bad("%s", e)
		}
	}
	if v := s.Verify; v != nil {
		n := 0
		for _, b := range []bool{v.Prometheus != "", v.HTTP != nil, v.Command != nil} {
			if b {
				n++
			}
		}
		if n != 1 {
			bad("verify: set exactly one of prometheus, http, command")
		}
		if v.Within <= 0 {
			bad("verify: within must be a positive duration")
		}
		for _, e := range v.check(s) {
			bad("verify: %s", e)
		}
	}
	a := s.Approvals
	if a.Required < 1 {
		bad("approvals.required must be at least 1")
	}
	for _, g := range a.Groups {
		if !groupRe.MatchString(g) {
			bad("approvals.groups: %q is not a Slack user-group id (S…)", g)
		}
	}
	for _, u := range a.Users {
		if !userRe.MatchString(u) {
			bad("approvals.users: %q is not a Slack user id (U…/W…)", u)
		}
	}
	if len(a.Groups) == 0 && len(a.Users) > 0 && a.Required > len(a.Users) {
		bad("approvals.required %d exceeds the %d listed users", a.Required, len(a.Users))
	}
	if s.Expiry == 0 {
		s.Expiry = 30 * time.Minute
	}
	if s.Timeout == 0 {
		s.Timeout = 2 * time.Minute
	}
	if s.Expiry < 0 || s.Timeout < 0 {
		bad("expiry and timeout must be positive")
	}
	return errs
}

func (e *Exec) check(s *Spec, where string) []string {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, where+": "+fmt.Sprintf(f, a...)) }
	n := 0
	for _, b := range []bool{len(e.Kubectl) > 0, e.Command != nil, e.HTTP != nil, e.SSH != nil} {
		if b {
			n++
		}
	}
	if n != 1 {
		bad("set exactly one of kubectl, command, http, ssh")
		return errs
	}
	var slots []string
	switch {
	case len(e.Kubectl) > 0:
		slots = e.Kubectl
	case e.Command != nil:
		if len(e.Command.Argv) == 0 {
			bad("command.argv is empty")
		} else if strings.Contains(e.Command.Argv[0], "{{") {
			bad("command.argv[0] (the program) cannot be a parameter")
		}
		slots = e.Command.Argv
	case e.HTTP != nil:
		u, err := url.Parse(e.HTTP.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(e.HTTP.URL, "{{") {
			bad("http.url must be a fixed http(s) URL (no parameters)")
		}
		switch e.HTTP.Method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			bad("http.method %q", e.HTTP.Method)
		}
		if why := s.checkJSONBody(e.HTTP.Body); why != "" {
			bad("http.body: %s", why)
		}
		slots = []string{e.HTTP.Body}
	case e.SSH != nil:
		if e.SSH.KnownHosts == "" {
			bad("ssh.known_hosts is required (host keys are always checked)")
		}
		if len(e.SSH.Command) == 0 {
			bad("ssh.command is empty")
		}
		host := strings.TrimSpace(e.SSH.Host)
		name := strings.TrimSuffix(strings.TrimPrefix(host, "{{."), "}}")
		if p, ok := s.Params[name]; !ok || host != "{{."+name+"}}" || p == nil || p.EnumFrom != "scope.hosts" {
			bad("ssh.host must be {{.param}} with a parameter whose enum_from is scope.hosts")
		}
		slots = e.SSH.Command
	}
	for i, slot := range slots {
		for _, ref := range refs(slot) {
			if _, ok := s.Params[ref]; !ok {
				bad("slot %d uses {{.%s}}, which is not a declared parameter", i, ref)
			}
		}
		if _, err := template.New("x").Option("missingkey=error").Parse(slot); err != nil {
			bad("slot %d: %v", i, err)
		}
	}
	return errs
}

// check validates a verify check's templates as strictly as an action's:
// declared parameters only, fixed URLs, a body that stays JSON, and
// PromQL whose string parameters sit inside quoted strings (where the
// escaping at run time keeps them).
func (v *Verify) check(s *Spec) []string {
	var errs []string
	switch {
	case v.HTTP != nil:
		errs = (&Exec{HTTP: v.HTTP}).check(s, "http")
	case v.Command != nil:
		errs = (&Exec{Command: v.Command}).check(s, "command")
	case v.Prometheus != "":
		t, err := template.New("x").Option("missingkey=error").Parse(v.Prometheus)
		if err != nil {
			return []string{"prometheus: " + err.Error()}
		}
		for _, ref := range refs(v.Prometheus) {
			if _, ok := s.Params[ref]; !ok {
				errs = append(errs, fmt.Sprintf("prometheus uses {{.%s}}, which is not a declared parameter", ref))
			}
		}
		for _, ref := range unquoted(t) {
			if p, ok := s.Params[ref]; ok && p != nil && (p.Type == "" || p.Type == TypeString) {
				errs = append(errs, fmt.Sprintf("prometheus: string parameter {{.%s}} must be inside a double-quoted string, e.g. {deployment=\"{{.%s}}\"}", ref, ref))
			}
		}
	}
	return errs
}

// unquoted lists the parameters a template uses outside double-quoted
// strings of its text.
func unquoted(t *template.Template) []string {
	if t.Tree == nil || t.Tree.Root == nil {
		return nil
	}
	var out []string
	in := false
	for _, n := range t.Tree.Root.Nodes {
		switch x := n.(type) {
		case *parse.TextNode:
			escaped := false
			for _, c := range x.Text {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					in = !in
				}
			}
		case *parse.ActionNode:
			if !in {
				for _, c := range x.Pipe.Cmds {
					for _, a := range c.Args {
						if f, ok := a.(*parse.FieldNode); ok && len(f.Ident) > 0 {
							out = append(out, f.Ident[0])
						}
					}
				}
			}
		}
	}
	return out
}

// checkJSONBody fills an HTTP body template with a sample of each
// parameter's type and checks that the result is JSON: a string parameter
// outside a JSON string (`{"n": {{.name}}}`) would let a value add fields.
func (s *Spec) checkJSONBody(body string) string {
	if strings.TrimSpace(body) == "" {
		return ""
	}
	sample := map[string]string{}
	for n, p := range s.Params {
		switch {
		case p == nil:
		case p.Type == TypeInt:
			sample[n] = "1"
		case p.Type == TypeDuration:
			sample[n] = "1s"
		default:
			sample[n] = `x", "injected": "y`
		}
	}
	out, err := FillJSON(body, sample)
	if err != nil {
		return "" // reported with the slot
	}
	var v any
	if json.Unmarshal([]byte(out), &v) != nil {
		return "not JSON once filled (string and duration parameters belong inside JSON strings, ints may stand alone)"
	}
	if strings.Contains(out, `"injected":`) {
		return "a string parameter is outside a JSON string"
	}
	return ""
}

// refs lists the {{.name}} fields a template uses.
func refs(tmpl string) []string {
	t, err := template.New("x").Parse(tmpl)
	if err != nil || t.Tree == nil {
		return nil
	}
	var out []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x != nil {
				for _, c := range x.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			for _, c := range x.Pipe.Cmds {
				for _, a := range c.Args {
					if f, ok := a.(*parse.FieldNode); ok && len(f.Ident) > 0 {
						out = append(out, f.Ident[0])
					}
				}
			}
		}
	}
	walk(t.Tree.Root)
	return out
}
