// Package catalog is the closed set of remediation actions opsgate may
// propose. Each action has typed parameters validated in code; the target
// of every action must lie inside the incident's scope (its service), so
// even a fully compromised model cannot name anything else.
package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Kind is a parameter type.
type Kind string

const (
	Name   Kind = "name"   // a Kubernetes-style name: lowercase, digits, dashes
	Int    Kind = "int"    // an integer in [Min, Max]
	Target Kind = "target" // a name that must be in the incident's scope
)

// Param is one typed parameter.
type Param struct {
	Name     string
	Kind     Kind
	Min, Max int
	Optional bool
}

// Action is a catalog entry.
type Action struct {
	ID          string
	Description string
	Params      []Param
	Reversible  bool // has an undo
}

// Default is the built-in catalog. Where an action runs (cluster,
// namespace) comes from trusted configuration at execution time, never
// from a proposal.
var Default = []Action{
	{ID: "restart-deployment", Description: "rolling restart of a deployment", Reversible: false,
		Params: []Param{{Name: "deployment", Kind: Target}}},
	{ID: "rollback-deployment", Description: "roll a deployment back to its previous revision", Reversible: true,
		Params: []Param{{Name: "deployment", Kind: Target}}},
	{ID: "scale-deployment", Description: "set a deployment's replica count", Reversible: true,
		Params: []Param{{Name: "deployment", Kind: Target}, {Name: "replicas", Kind: Int, Min: 1, Max: 50}}},
	{ID: "toggle-feature-flag", Description: "turn a feature flag off (or on) for a service", Reversible: true,
		Params: []Param{{Name: "service", Kind: Target}, {Name: "flag", Kind: Name}, {Name: "enabled", Kind: Int, Min: 0, Max: 1}}},
}

var nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Scoped is the catalog for one incident: Targets are the names its
// actions may touch (the incident's service and what the config maps it to).
type Scoped struct {
	Actions []Action
	Targets []string
}

// For returns the default catalog scoped to the given targets (normalised
// to lowercase; names that are not valid targets are skipped).
func For(targets ...string) Scoped {
	s := Scoped{Actions: Default}
	for _, t := range targets {
		t = strings.ToLower(strings.TrimSpace(t))
		if nameRe.MatchString(t) && !slices.Contains(s.Targets, t) {
			s.Targets = append(s.Targets, t)
		}
	}
	return s
}

func (s Scoped) find(id string) (Action, bool) {
	for _, a := range s.Actions {
		if a.ID == id {
			return a, true
		}
	}
	return Action{}, false
}

// Validate returns "" when the action may be proposed, else why not.
func (s Scoped) Validate(id string, params map[string]string) string {
	a, ok := s.find(id)
	if !ok {
		return "not in the action catalog"
	}
	known := map[string]bool{}
	for _, p := range a.Params {
		known[p.Name] = true
		v, present := params[p.Name]
		if !present {
			if p.Optional {
				continue
			}
			return "missing parameter " + p.Name
		}
		if why := p.check(v, s.Targets); why != "" {
			return why
		}
	}
	var extra []string
	for k := range params {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return "unknown parameter(s) " + strings.Join(extra, ", ")
	}
	return ""
}

func (p Param) check(v string, targets []string) string {
	switch p.Kind {
	case Int:
		n, err := strconv.Atoi(v)
		if err != nil || n < p.Min || n > p.Max {
			return fmt.Sprintf("%s must be an integer in [%d, %d]", p.Name, p.Min, p.Max)
		}
	case Name:
		if !nameRe.MatchString(v) {
			return p.Name + " must be a lowercase name (letters, digits, dashes)"
		}
	case Target:
		if !nameRe.MatchString(v) {
			return p.Name + " must be a lowercase name (letters, digits, dashes)"
		}
		if !slices.Contains(targets, v) {
			return fmt.Sprintf("%s %q is outside this incident's scope %v", p.Name, v, targets)
		}
	}
	return ""
}

// Describe lists the actions for the prompt, with the allowed targets.
func (s Scoped) Describe() []string {
	if len(s.Targets) == 0 {
		return nil // nothing in scope: propose nothing
	}
	var out []string
	for _, a := range s.Actions {
		var ps []string
		for _, p := range a.Params {
			switch p.Kind {
			case Int:
				ps = append(ps, fmt.Sprintf("%s: integer %d–%d", p.Name, p.Min, p.Max))
			case Target:
				ps = append(ps, fmt.Sprintf("%s ∈ [%s]", p.Name, strings.Join(s.Targets, ", ")))
			default:
				ps = append(ps, p.Name+": name")
			}
		}
		out = append(out, fmt.Sprintf("%s(%s) — %s", a.ID, strings.Join(ps, "; "), a.Description))
	}
	return out
}
