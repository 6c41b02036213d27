// Package collect gathers an incident's context — logs and metrics — from
// the sources a matching handler declares (RCACopilot's "handlers"): Loki,
// Elasticsearch/OpenSearch, Kubernetes pod logs, files, commands and
// Prometheus. Sources run concurrently, each with a timeout and a size cap;
// a failing source is reported and does not stop the others. Handler
// parameters are filled only from trusted incident fields (service, id,
// urgency, time), never from log content, and are validated before use.
package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
)

// ErrParam reports an incident field that may not be substituted into a
// query (it would change the query's meaning).
var ErrParam = errors.New("unsafe parameter")

// Incident holds the trusted fields handlers match on and fill in.
type Incident struct {
	ID, Service, ServiceID, Title, Urgency string
	Start                                  time.Time // incident start (created_at)
}

// Match selects incidents; every set field must match.
type Match struct {
	Service string `yaml:"service"` // regexp on the service name or exact service id
	Title   string `yaml:"title"`   // regexp on the title
	Urgency string `yaml:"urgency"` // "high" or "low"

	service, title *regexp.Regexp
}

// Handler declares what to collect for matching incidents.
type Handler struct {
	Name     string        `yaml:"name"`
	Match    Match         `yaml:"match"`
	Before   time.Duration `yaml:"before"`    // window start before the incident (default 15m)
	After    time.Duration `yaml:"after"`     // window end after it (default 5m, capped at now)
	Timeout  time.Duration `yaml:"timeout"`   // per source (default 10s)
	MaxBytes int           `yaml:"max_bytes"` // per source (default 2 MiB)
	MaxLines int           `yaml:"max_lines"` // per source (default 5000)
	Logs     []Source      `yaml:"logs"`
	Metrics  []Source      `yaml:"metrics"`
	// Actions are the runbook steps this kind of incident usually needs,
	// offered as proposals (approved like any other).
	Actions []Action `yaml:"actions"`
	// Scope adds what actions on matching incidents may name (the
	// deployments, namespaces and hosts this handler knows); values may
	// use the trusted template fields ({{.Service}}-worker).
	Scope catalog.Scope `yaml:"scope"`
}

// Action is a default remediation: a catalog action id and its
// parameters, which may use the trusted template fields ({{.Service}}…).
type Action struct {
	ID     string            `yaml:"id"`
	Params map[string]string `yaml:"params"`
}

// Source is one log or metric source; exactly one kind is set.
type Source struct {
	Name          string      `yaml:"name"`
	Loki          *Loki       `yaml:"loki"`
	Elasticsearch *Elastic    `yaml:"elasticsearch"`
	Kubernetes    *Kubernetes `yaml:"kubernetes"`
	File          *File       `yaml:"file"`
	Command       *Command    `yaml:"command"`
	Prometheus    *Prometheus `yaml:"prometheus"`
}

// Line is a collected log line.
type Line struct {
	Source string
	Time   time.Time
	Text   string
}

// Status is how one source fared.
type Status struct {
	Source string `json:"source"`
	Kind   string `json:"kind"`
	Lines  int    `json:"lines,omitempty"`
	Series int    `json:"series,omitempty"`
	Capped bool   `json:"capped,omitempty"` // hit the size or line cap
	Error  string `json:"error,omitempty"`
	Took   string `json:"took"`
}

// Result is what a handler collected.
type Result struct {
	Handler string
	Lines   []Line
	Metrics []string // one-line summaries (baseline vs now, peak, change)
	Charts  []Chart  // each metric source's series, for pictures
	Sources []Status
	Actions []Action      // the handler's default actions, parameters filled
	Scope   catalog.Scope // the handler's scope, filled
}

// Window is the collection interval and the incident start inside it.
type Window struct{ Start, End, At time.Time }

// Params are the template fields a source may use.
type Params struct {
	Incident, Service, ServiceID, Urgency string
	Start, End                            string // RFC 3339
	StartUnix, EndUnix                    int64  // seconds since the epoch
}

var safeParam = regexp.MustCompile(`^[A-Za-z0-9 ._-]{0,128}$`)

// fill expands a source template with the trusted params.
func fill(tmpl string, p Params) (string, error) {
	if !strings.Contains(tmpl, "{{") {
		return tmpl, nil
	}
	t, err := template.New("q").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", tmpl, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		return "", fmt.Errorf("template %q: %w", tmpl, err)
	}
	return b.String(), nil
}

func (h *Handler) compile() error {
	var err error
	if h.Match.Service != "" {
		if h.Match.service, err = regexp.Compile(h.Match.Service); err != nil {
			return fmt.Errorf("handler %q: match.service: %w", h.Name, err)
		}
	}
	if h.Match.Title != "" {
		if h.Match.title, err = regexp.Compile(h.Match.Title); err != nil {
			return fmt.Errorf("handler %q: match.title: %w", h.Name, err)
		}
	}
	if u := h.Match.Urgency; u != "" && u != "high" && u != "low" {
		return fmt.Errorf("handler %q: match.urgency must be high or low", h.Name)
	}
	for i, s := range append(append([]Source(nil), h.Logs...), h.Metrics...) {
		if err := s.validate(i < len(h.Logs)); err != nil {
			return fmt.Errorf("handler %q: %w", h.Name, err)
		}
	}
	for _, v := range scopeValues(h.Scope) {
		if _, err := fill(v, Params{}); err != nil {
			return fmt.Errorf("handler %q: scope: %w", h.Name, err)
		}
	}
	for i, a := range h.Actions {
		if a.ID == "" {
			return fmt.Errorf("handler %q: actions[%d]: id is required", h.Name, i)
		}
		for k, v := range a.Params {
			if _, err := fill(v, Params{}); err != nil {
				return fmt.Errorf("handler %q: actions[%d].params.%s: %w", h.Name, i, k, err)
			}
		}
	}
	return nil
}

func scopeValues(s catalog.Scope) []string {
	return append(append(append([]string(nil), s.Targets...), s.Namespaces...), s.Hosts...)
}

// scope fills the handler's scope; a value that would take an unsafe
// incident field is left out and reported.
func (h *Handler) scope(p Params) (catalog.Scope, []Status) {
	var bad []Status
	fillAll := func(vs []string) []string {
		var out []string
		for _, v := range vs {
			err := checkParams(p, []string{v})
			var f string
			if err == nil {
				f, err = fill(v, p)
			}
			if err != nil {
				bad = append(bad, Status{Source: "scope " + v, Kind: "scope", Error: err.Error()})
				continue
			}
			out = append(out, f)
		}
		return out
	}
	return catalog.Scope{Targets: fillAll(h.Scope.Targets), Namespaces: fillAll(h.Scope.Namespaces), Hosts: fillAll(h.Scope.Hosts)}, bad
}

// actions fills the default actions' parameters; an action whose
// parameters would take an unsafe incident field is left out and
// reported as a failed source.
func (h *Handler) actions(p Params) ([]Action, []Status) {
	var out []Action
	var bad []Status
	for _, a := range h.Actions {
		filled := Action{ID: a.ID, Params: map[string]string{}}
		var err error
		for k, v := range a.Params {
			if err = checkParams(p, []string{v}); err != nil {
				break
			}
			if filled.Params[k], err = fill(v, p); err != nil {
				break
			}
		}
		if err != nil {
			bad = append(bad, Status{Source: "action " + a.ID, Kind: "action", Error: err.Error()})
			continue
		}
		out = append(out, filled)
	}
	return out, bad
}

func (h *Handler) matches(in Incident) bool {
	m := h.Match
	if m.service != nil && !m.service.MatchString(in.Service) && m.Service != in.ServiceID {
		return false
	}
	if m.title != nil && !m.title.MatchString(in.Title) {
		return false
	}
	return m.Urgency == "" || m.Urgency == in.Urgency
}

// Collector runs handlers.
type Collector struct {
	handlers []Handler
	HTTP     *http.Client
	Now      func() time.Time
}

// New validates the handlers (regexps, one kind per source, templates).
func New(handlers []Handler) (*Collector, error) {
	c := &Collector{handlers: append([]Handler(nil), handlers...), HTTP: &http.Client{}, Now: time.Now}
	for i := range c.handlers {
		h := &c.handlers[i]
		if h.Name == "" {
			h.Name = fmt.Sprintf("handler-%d", i+1)
		}
		if err := h.compile(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Collect runs the first handler that matches in (ok false when none does).
func (c *Collector) Collect(ctx context.Context, in Incident) (Result, bool) {
	for i := range c.handlers {
		h := &c.handlers[i]
		if h.matches(in) {
			return c.run(ctx, h, in), true
		}
	}
	return Result{}, false
}

func (c *Collector) run(ctx context.Context, h *Handler, in Incident) Result {
	before, after := orDur(h.Before, 15*time.Minute), orDur(h.After, 5*time.Minute)
	start := in.Start
	if start.IsZero() {
		start = c.Now()
	}
	w := Window{Start: start.Add(-before), End: start.Add(after), At: start}
	if now := c.Now(); w.End.After(now) {
		w.End = now
	}
	if !w.End.After(w.Start) {
		w.End = w.Start.Add(time.Minute)
	}
	p := Params{Incident: in.ID, Service: in.Service, ServiceID: in.ServiceID, Urgency: in.Urgency,
		Start: w.Start.UTC().Format(time.RFC3339), End: w.End.UTC().Format(time.RFC3339), StartUnix: w.Start.Unix(), EndUnix: w.End.Unix()}
	lim := limits{bytes: orInt(h.MaxBytes, 2<<20), lines: orInt(h.MaxLines, 5000)}
	timeout := orDur(h.Timeout, 10*time.Second)

	res := Result{Handler: h.Name}
	var badScope []Status
	res.Actions, res.Sources = h.actions(p)
	res.Scope, badScope = h.scope(p)
	res.Sources = append(res.Sources, badScope...)
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(i int, s Source, metric bool) {
		defer wg.Done()
		st := Status{Source: s.label(i), Kind: s.kind()}
		t0 := c.Now()
		sctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var lines []Line
		var sums []string
		var chart *Chart
		var err error
		if err = checkParams(p, s.templates()); err == nil {
			if metric {
				sums, chart, st.Series, err = s.metrics(sctx, c.HTTP, p, w)
			} else {
				lines, st.Capped, err = s.logs(sctx, c.HTTP, p, w, lim)
			}
		}
		st.Took = c.Now().Sub(t0).Round(time.Millisecond).String()
		if err != nil {
			if errors.Is(sctx.Err(), context.DeadlineExceeded) {
				err = fmt.Errorf("timed out after %s", timeout)
			}
			st.Error = err.Error()
		}
		for i := range lines {
			lines[i].Source = st.Source
		}
		st.Lines = len(lines)
		mu.Lock()
		res.Lines = append(res.Lines, lines...)
		for _, s := range sums {
			res.Metrics = append(res.Metrics, st.Source+": "+s)
		}
		if chart != nil && len(chart.Series) > 0 {
			chart.Source = st.Source
			res.Charts = append(res.Charts, *chart)
		}
		res.Sources = append(res.Sources, st)
		mu.Unlock()
	}
	for i, s := range h.Logs {
		wg.Add(1)
		go run(i, s, false)
	}
	for i, s := range h.Metrics {
		wg.Add(1)
		go run(len(h.Logs)+i, s, true)
	}
	wg.Wait()
	sortLines(res.Lines, false)
	sort.Slice(res.Sources, func(i, j int) bool { return res.Sources[i].Source < res.Sources[j].Source })
	sort.Strings(res.Metrics)
	sort.Slice(res.Charts, func(i, j int) bool { return res.Charts[i].Source < res.Charts[j].Source })
	return res
}

// checkParams checks the incident fields a source's templates use: each
// must be made of safe characters and hold no "..", or the source is not
// queried at all. Fields a source does not use do not matter to it.
func checkParams(p Params, templates []string) error {
	fields := map[string]string{"Service": p.Service, "ServiceID": p.ServiceID, "Incident": p.Incident, "Urgency": p.Urgency}
	for _, t := range templates {
		for name, v := range fields {
			if !strings.Contains(t, "."+name) {
				continue
			}
			if !safeParam.MatchString(v) || strings.Contains(v, "..") {
				return fmt.Errorf("%w: the incident's %s %q has characters that could change a query", ErrParam, strings.ToLower(name), v)
			}
		}
	}
	return nil
}

type limits struct{ bytes, lines int }

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
