// Package prompts holds opsgate's versioned prompt templates, embedded in
// the binary and rendered with text/template.
package prompts

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// RCAVersion names the RCA prompt files in use (rca_system.<v>.tmpl,
// rca_user.<v>.tmpl); it is recorded with every analysis.
const RCAVersion = "v1"

var funcs = template.FuncMap{"quote": strconv.Quote}

var rcaUser = template.Must(template.New("rca_user."+RCAVersion+".tmpl").Funcs(funcs).ParseFS(files, "rca_user."+RCAVersion+".tmpl"))

// RCASystem returns the system prompt.
func RCASystem() string {
	b, err := files.ReadFile("rca_system." + RCAVersion + ".tmpl")
	if err != nil {
		panic(err) // embedded at build time
	}
	return string(b)
}

// RCAInput is what the user prompt shows. Every string in it must already
// be sanitized; excerpt lines come from excerpt.PromptLines (flagged lines
// left out, variables typed and quoted).
type RCAInput struct {
	IncidentID string
	Service    string
	Title      string
	Alerts     []string
	Lines      []string
	Withheld   int
	Metrics    []string
	Tickets    []Ticket
	Actions    []string
}

// Ticket is a similar past ticket in the prompt.
type Ticket struct {
	ID, Date, Title, RootCause, Resolution string
}

// fence matches anything a model could read as the fence tag, in any case
// and spacing: <untrusted>, </UNTRUSTED>, < / Untrusted >.
var fence = regexp.MustCompile(`(?i)<\s*/?\s*untrusted\s*>`)

var angles = strings.NewReplacer("<", "‹", ">", "›")

// defang keeps data from closing (or opening) a fence.
func defang(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	return fence.ReplaceAllStringFunc(s, angles.Replace)
}

func defangAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = defang(x)
	}
	return out
}

// RCAUser renders the user prompt.
func RCAUser(in RCAInput) (string, error) {
	in.Title, in.Service = defang(in.Title), defang(in.Service)
	in.Alerts, in.Lines, in.Metrics = defangAll(in.Alerts), defangAll(in.Lines), defangAll(in.Metrics)
	tk := make([]Ticket, len(in.Tickets))
	for i, t := range in.Tickets {
		tk[i] = Ticket{ID: defang(t.ID), Date: t.Date, Title: defang(t.Title), RootCause: defang(t.RootCause), Resolution: defang(t.Resolution)}
	}
	in.Tickets = tk
	var b bytes.Buffer
	if err := rcaUser.Execute(&b, in); err != nil {
		return "", fmt.Errorf("prompts: %w", err)
	}
	return b.String(), nil
}

// UpdateVersion names the stakeholder update template in use
// (stakeholder_update.<v>.tmpl).
const UpdateVersion = "v1"

var updateTmpl = template.Must(template.New("stakeholder_update."+UpdateVersion+".tmpl").ParseFS(files, "stakeholder_update."+UpdateVersion+".tmpl"))

// UpdateInput is what a stakeholder update says. Every string must be
// masked and readable already (no placeholders a reader cannot follow).
type UpdateInput struct {
	State    string // "Investigating", "Identified — being fixed", "Resolved"
	Service  string
	Priority string
	Title    string
	Started  string // "13:38 UTC on 2 Dec 2026"
	Elapsed  string // "32 minutes"
	Ended    string // "" while open
	Cause    string // "" when nothing is established
	Done     []string
	Next     string // when the next update is due, "14:30 UTC"
}

// StakeholderUpdate renders the template draft of a status update.
func StakeholderUpdate(in UpdateInput) (string, error) {
	var b bytes.Buffer
	if err := updateTmpl.Execute(&b, in); err != nil {
		return "", fmt.Errorf("prompts: %w", err)
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

// UpdateSystem is the system prompt for a model-written stakeholder
// update (stakeholder_system.<UpdateVersion>.tmpl).
func UpdateSystem() string {
	b, err := files.ReadFile("stakeholder_system." + UpdateVersion + ".tmpl")
	if err != nil {
		panic(err) // embedded at build time
	}
	return string(b)
}

// UpdateUser is the user prompt: the template draft (masked and readable
// already), fenced as data.
func UpdateUser(draft string) string {
	return "Rewrite this status update for stakeholders, following the rules.\n\n<untrusted>\n" + defang(draft) + "\n</untrusted>\n"
}
