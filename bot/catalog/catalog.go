// Package catalog is the closed set of remediation actions opsgate may
// propose and run. Actions are declared (built in, or `actions:` in the
// config) with typed parameters validated in code; parameters whose values
// come from the incident's scope can only name what that incident touches,
// so even a fully compromised model cannot name anything else. Parameters
// are substituted only into argument slots, after validation: no value can
// become a flag, a path outside its pattern, or a second command.
package catalog

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default is the built-in catalog, used when the config declares none:
// Kubernetes deployment actions on the incident's targets, in kubectl's
// configured namespace (trusted configuration, never a proposal).
var Default = []Spec{
	{ID: "restart-deployment", Description: "rolling restart of a deployment", Risk: RiskMedium,
		Params: map[string]*Param{"deployment": {EnumFrom: "scope.targets"}},
		Run:    Exec{Kubectl: []string{"rollout", "restart", "deployment/{{.deployment}}"}}, Approvals: Approvals{Required: 1}},
	{ID: "rollback-deployment", Description: "roll a deployment back to its previous revision", Risk: RiskMedium,
		Params: map[string]*Param{"deployment": {EnumFrom: "scope.targets"}},
		Run:    Exec{Kubectl: []string{"rollout", "undo", "deployment/{{.deployment}}"}}, Approvals: Approvals{Required: 1}},
	{ID: "scale-deployment", Description: "set a deployment's replica count", Risk: RiskMedium,
		Params: map[string]*Param{"deployment": {EnumFrom: "scope.targets"}, "replicas": {Type: TypeInt, Min: 1, Max: 50}},
		Run:    Exec{Kubectl: []string{"scale", "deployment/{{.deployment}}", "--replicas={{.replicas}}"}}, Approvals: Approvals{Required: 1}},
}

// ErrNoUndo: the action declares no undo.
var ErrNoUndo = errors.New("no undo declared")

var nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Catalog is a validated set of actions.
type Catalog struct {
	specs []Spec
}

// New validates specs; the error lists every problem with its path.
func New(specs []Spec) (*Catalog, error) {
	c := &Catalog{specs: make([]Spec, len(specs))}
	var errs []string
	seen := map[string]int{}
	for i := range specs {
		s := specs[i]
		params := make(map[string]*Param, len(s.Params))
		for k, p := range s.Params {
			if p != nil {
				cp := *p
				p = &cp
			}
			params[k] = p
		}
		s.Params = params
		where := fmt.Sprintf("actions[%d]", i)
		if s.ID != "" {
			where += " (" + s.ID + ")"
		}
		errs = append(errs, s.check(where)...)
		if j, dup := seen[s.ID]; dup {
			errs = append(errs, fmt.Sprintf("%s: same id as actions[%d]", where, j))
		}
		seen[s.ID] = i
		c.specs[i] = s
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w:\n  %s", ErrInvalid, strings.Join(errs, "\n  "))
	}
	return c, nil
}

// MustDefault is the built-in catalog (validated once).
func MustDefault() *Catalog { return builtin() }

var builtin = sync.OnceValue(func() *Catalog {
	c, err := New(Default)
	if err != nil {
		panic(err)
	}
	return c
})

// Specs returns the actions.
func (c *Catalog) Specs() []Spec { return c.specs }

// Get returns an action by id.
func (c *Catalog) Get(id string) (Spec, bool) {
	for _, s := range c.specs {
		if s.ID == id {
			return s, true
		}
	}
	return Spec{}, false
}

// Scope is what one incident's actions may name.
type Scope struct {
	Targets    []string `yaml:"targets"`
	Namespaces []string `yaml:"namespaces"`
	Hosts      []string `yaml:"hosts"`
}

// Union is s with o's values added (each once).
func (s Scope) Union(o Scope) Scope {
	add := func(a, b []string) []string {
		out := append([]string(nil), a...)
		for _, v := range b {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	return Scope{Targets: add(s.Targets, o.Targets), Namespaces: add(s.Namespaces, o.Namespaces), Hosts: add(s.Hosts, o.Hosts)}
}

func (s Scope) list(name string) []string {
	switch name {
	case "scope.targets":
		return s.Targets
	case "scope.namespaces":
		return s.Namespaces
	case "scope.hosts":
		return s.Hosts
	}
	return nil
}

// Scoped is the catalog for one incident.
type Scoped struct {
	Catalog *Catalog
	Scope   Scope
}

// For scopes the catalog to an incident.
func (c *Catalog) For(s Scope) Scoped { return Scoped{Catalog: c, Scope: s} }

// For is the built-in catalog scoped to targets (lowercased; names that
// cannot be Kubernetes names are left out).
func For(targets ...string) Scoped {
	var ts []string
	for _, t := range targets {
		t = strings.ToLower(strings.TrimSpace(t))
		if nameRe.MatchString(t) && !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	return MustDefault().For(Scope{Targets: ts})
}

// Validate returns "" when the action may be proposed, else why not.
func (s Scoped) Validate(id string, params map[string]string) string {
	_, why := s.Normalize(id, params)
	return why
}

// Normalize checks params for action id and returns them in canonical
// form — an int as its decimal digits ("07" is "7"), a duration as Go
// prints it ("90s" is "1m30s") — so one action with one meaning has one
// proposal id; "" when they are acceptable, else why not.
func (s Scoped) Normalize(id string, params map[string]string) (map[string]string, string) {
	spec, ok := s.Catalog.Get(id)
	if !ok {
		return nil, "not in the action catalog"
	}
	out := make(map[string]string, len(params))
	names := slices.Sorted(maps.Keys(spec.Params))
	for _, n := range names {
		p := spec.Params[n]
		v, present := params[n]
		if !present {
			if p.Optional {
				continue
			}
			return nil, "missing parameter " + n
		}
		c, why := p.canonical(n, v, s.Scope)
		if why != "" {
			return nil, why
		}
		out[n] = c
	}
	var extra []string
	for k := range params {
		if _, ok := spec.Params[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, "unknown parameter(s) " + strings.Join(extra, ", ")
	}
	return out, ""
}

// unsafeValue refuses what could change an argument's meaning whatever the
// pattern says: a leading dash (a flag), control characters (a second
// line), path traversal.
func unsafeValue(v string) bool {
	if v == "" || strings.HasPrefix(v, "-") || strings.Contains(v, "..") {
		return true
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// digits is what an int may be written as: no sign (a leading dash is a
// flag to a program), no spaces, no base prefixes.
var digits = regexp.MustCompile(`^[0-9]{1,18}$`)

// canonical returns v's canonical form, or why v is not acceptable for the
// parameter. The reason never quotes v: it is shown to people and
// audited, and v is untrusted (a model's or a person's).
func (p *Param) canonical(name, v string, scope Scope) (string, string) {
	switch p.Type {
	case TypeInt:
		n, err := strconv.Atoi(v)
		if !digits.MatchString(v) || err != nil || n < p.Min || n > p.Max {
			return "", fmt.Sprintf("%s must be an integer in [%d, %d], digits only", name, p.Min, p.Max)
		}
		return strconv.Itoa(n), ""
	case TypeDuration:
		d, err := time.ParseDuration(v)
		if err != nil || v[0] < '0' || v[0] > '9' || d < time.Duration(p.Min)*time.Second || d > time.Duration(p.Max)*time.Second {
			return "", fmt.Sprintf("%s must be a duration between %ds and %ds, such as 90s or 5m", name, p.Min, p.Max)
		}
		return d.String(), ""
	}
	if unsafeValue(v) || len(v) > 253 {
		return "", fmt.Sprintf("%s is not an acceptable value (empty, leading dash, control character, '..' or too long)", name)
	}
	switch {
	case p.re != nil:
		if !p.re.MatchString(v) {
			return "", fmt.Sprintf("%s does not match %s", name, p.Pattern)
		}
	case len(p.Enum) > 0:
		if !slices.Contains(p.Enum, v) {
			return "", fmt.Sprintf("%s must be one of %v", name, p.Enum)
		}
	case p.EnumFrom != "":
		allowed := scope.list(p.EnumFrom)
		if !slices.Contains(allowed, v) {
			return "", fmt.Sprintf("%s is outside this incident's scope %v", name, allowed)
		}
	}
	return v, ""
}

// Describe lists the actions for the prompt, with the values allowed here;
// actions whose scoped parameters have no allowed value are left out.
func (s Scoped) Describe() []string {
	var out []string
	for _, a := range s.Catalog.specs {
		var ps []string
		ok := true
		names := slices.Sorted(maps.Keys(a.Params))
		for _, n := range names {
			p := a.Params[n]
			switch {
			case p.Type == TypeInt:
				ps = append(ps, fmt.Sprintf("%s: integer %d–%d", n, p.Min, p.Max))
			case p.Type == TypeDuration:
				ps = append(ps, fmt.Sprintf("%s: duration %ds–%ds", n, p.Min, p.Max))
			case p.EnumFrom != "":
				vals := s.Scope.list(p.EnumFrom)
				if len(vals) == 0 && !p.Optional {
					ok = false
				}
				ps = append(ps, fmt.Sprintf("%s ∈ [%s]", n, strings.Join(vals, ", ")))
			case len(p.Enum) > 0:
				ps = append(ps, fmt.Sprintf("%s ∈ [%s]", n, strings.Join(p.Enum, ", ")))
			default:
				ps = append(ps, fmt.Sprintf("%s: matching %s", n, p.Pattern))
			}
		}
		if ok {
			out = append(out, fmt.Sprintf("%s(%s) — %s [risk %s]", a.ID, strings.Join(ps, "; "), a.Description, a.Risk))
		}
	}
	return out
}

// Preview renders what an action would run with validated params: the
// argument vector (kubectl, command, ssh) or the HTTP request. Callers
// validate first; Preview re-checks and refuses invalid params.
func (s Scoped) Preview(id string, params map[string]string) ([]string, error) {
	return s.Render(id, false, params)
}

// Render validates params for action id and fills its run (or undo)
// executor's slots: the argument vector (kubectl, command, ssh) or, for
// http, [method, url, body] with the values JSON-encoded into the body.
func (s Scoped) Render(id string, undo bool, params map[string]string) ([]string, error) {
	params, why := s.Normalize(id, params)
	if why != "" {
		return nil, fmt.Errorf("%s: %s", id, why)
	}
	spec, _ := s.Catalog.Get(id)
	e := spec.Exec(undo)
	if e == nil {
		return nil, fmt.Errorf("%s: %w", id, ErrNoUndo)
	}
	fill := func(slot string, jsonValues bool) (string, error) {
		if jsonValues {
			return FillJSON(slot, params)
		}
		return Fill(slot, params, nil)
	}
	var slots []string
	var prefix []string
	switch {
	case len(e.Kubectl) > 0:
		prefix, slots = []string{"kubectl"}, e.Kubectl
	case e.Command != nil:
		slots = e.Command.Argv
	case e.SSH != nil:
		host, err := fill(e.SSH.Host, false)
		if err != nil {
			return nil, err
		}
		prefix, slots = []string{"ssh", e.SSH.User + "@" + host, "--"}, e.SSH.Command
	case e.HTTP != nil:
		body, err := fill(e.HTTP.Body, true)
		if err != nil {
			return nil, err
		}
		return []string{e.HTTP.Method, e.HTTP.URL, body}, nil
	}
	out := append([]string(nil), prefix...)
	for _, slot := range slots {
		v, err := fill(slot, false)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
