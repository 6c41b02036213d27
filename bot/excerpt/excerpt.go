// Package excerpt picks the lines that matter from thousands around an
// incident: errors and warnings, templates never seen before in the service
// or rare, the first and last occurrence of each frequent template with its
// count, lines near the alert time, stack traces kept whole — under a
// character budget. Each line gets a stable id (L1, L2, ...) for citations;
// lines carrying instructions are flagged and withheld from prompts.
package excerpt

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/inject"
	"github.com/opsgate/opsgate/bot/logtmpl"
)

// Line is one input log line.
type Line struct {
	Text string
	Time time.Time // zero when unknown
}

// Options tune a build.
type Options struct {
	Budget    int           // characters for the whole excerpt (default 3000)
	MaxLine   int           // characters per line before it is cut (default 300)
	AlertTime time.Time     // incident start
	Near      time.Duration // lines this close to AlertTime score higher (default 2m)
	// History is the service's saved templates (nil: none, every template
	// is new). A line whose template is among them — even one that has
	// generalized since, or one line of an old event — is not new, and
	// its template keeps the id it had.
	History *logtmpl.State
	// Redact masks secrets in a line before it is kept (nil: identity).
	Redact func(string) string
}

// Entry is one excerpt line.
type Entry struct {
	ID         string          `json:"id"`
	Text       string          `json:"text"`
	Template   string          `json:"template"`
	TemplateID string          `json:"template_id"`
	Count      int             `json:"count"`                // lines of this template in the input
	Occurrence string          `json:"occurrence,omitempty"` // "first", "last", "only"
	Level      string          `json:"level,omitempty"`
	New        bool            `json:"new,omitempty"`   // template never seen in the service
	Flags      []inject.Reason `json:"flags,omitempty"` // instruction-like text: never sent to an LLM
	Vars       []logtmpl.Var   `json:"vars,omitempty"`  // variable fields (raw, untrusted; redacted when kept)
	index      int
	score      int
}

// Excerpt is the result.
type Excerpt struct {
	Entries   []Entry `json:"entries"`
	Lines     int     `json:"lines"`     // input lines considered
	Templates int     `json:"templates"` // distinct templates among them
	Omitted   int     `json:"omitted"`   // candidate lines left out for the budget

	templateIDs []string
}

// Flagged returns the flagged entries.
func (x Excerpt) Flagged() []Entry {
	var out []Entry
	for _, e := range x.Entries {
		if len(e.Flags) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// TemplateIDs returns the ids of all templates seen in the input.
func (x Excerpt) TemplateIDs() []string { return x.templateIDs }

type record struct {
	index int
	text  string // first line plus continuation lines (stack trace)
	time  time.Time
	level string
	c     *logtmpl.Cluster
	first string // the first line (without continuation lines)
	flags []inject.Reason
}

// continuation: a stack-trace or wrapped line belonging to the record above.
func continuation(l string) bool {
	t := strings.TrimLeft(l, " \t")
	switch {
	case len(t) < len(l) && (strings.HasPrefix(t, "at ") || strings.HasPrefix(t, "... ") || strings.HasPrefix(t, "File \"")):
		return true
	case strings.HasPrefix(t, "Caused by:"), strings.HasPrefix(t, "Traceback"):
		return true
	}
	return false
}

func (o *Options) defaults() {
	if o.Budget <= 0 {
		o.Budget = 3000
	}
	if o.MaxLine <= 0 {
		o.MaxLine = 300
	}
	if o.Near <= 0 {
		o.Near = 2 * time.Minute
	}
	if o.Redact == nil {
		o.Redact = func(s string) string { return s }
	}
}

// Messages are what Build mines: each record's first line without its
// header (continuation lines belong to the record above). Template memory
// learns the same (tmplstate).
func Messages(lines []string) []string {
	var out []string
	for i, l := range lines {
		if i > 0 && continuation(l) {
			continue
		}
		out = append(out, logtmpl.StripHeader(l))
	}
	return out
}

// Build selects the excerpt.
func Build(lines []Line, o Options) Excerpt {
	o.defaults()
	m := logtmpl.NewMiner(logtmpl.Default)
	if o.History != nil {
		if h, err := logtmpl.Restore(logtmpl.Default, *o.History); err == nil {
			m = h
		} // a state that does not fit is no history: every template is new
	}
	var recs []*record
	for i, l := range lines {
		if len(recs) > 0 && continuation(l.Text) {
			r := recs[len(recs)-1]
			if len(r.text) < 4*o.MaxLine {
				r.text += "\n" + l.Text
			}
			continue
		}
		recs = append(recs, &record{index: i, text: l.Text, first: l.Text, time: l.Time, level: logtmpl.Level(l.Text), c: m.Add(logtmpl.StripHeader(l.Text))})
	}
	type stat struct {
		count, first, last int
	}
	stats := map[*logtmpl.Cluster]*stat{}
	for i, r := range recs {
		g := r.c.Root()
		s := stats[g]
		if s == nil {
			s = &stat{first: i}
			stats[g] = s
		}
		s.count++
		s.last = i
	}
	x := Excerpt{Lines: len(lines), Templates: len(stats)}
	for g := range stats {
		x.templateIDs = append(x.templateIDs, g.ID)
	}
	sort.Strings(x.templateIDs)
	var cands []Entry
	for i, r := range recs {
		g := r.c.Root()
		s := stats[g]
		occ := ""
		switch {
		case s.count == 1:
			occ = "only"
		case i == s.first:
			occ = "first"
		case i == s.last:
			occ = "last"
		}
		flagged, why := inject.Check(r.text)
		if occ == "" && !flagged {
			continue // represented by its first and last occurrence
		}
		e := Entry{TemplateID: g.ID, Count: s.count, Occurrence: occ, Level: r.level, index: r.index}
		if flagged {
			e.Flags = why
		}
		e.New = !g.Known()
		// The shown template and variables come from the redacted line, so
		// no raw value survives in a template's constant positions.
		var vars []logtmpl.Var
		e.Template, vars = m.Render(o.Redact(logtmpl.StripHeader(r.first)), g)
		for _, v := range vars {
			v.Value = cut(v.Value, MaxVar)
			e.Vars = append(e.Vars, v)
		}
		e.score = score(e, r, s.count, o)
		e.Text = cut(o.Redact(r.text), o.MaxLine*4)
		cands = append(cands, e)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	used := 0
	for _, e := range cands {
		size := len(e.Text) + 16
		if used+size > o.Budget {
			x.Omitted++
			continue
		}
		used += size
		x.Entries = append(x.Entries, e)
	}
	sort.Slice(x.Entries, func(i, j int) bool { return x.Entries[i].index < x.Entries[j].index })
	for i := range x.Entries {
		x.Entries[i].ID = "L" + strconv.Itoa(i+1)
	}
	return x
}

func score(e Entry, r *record, count int, o Options) int {
	s := 0
	switch e.Level {
	case "ERROR", "FATAL", "CRITICAL", "CRIT", "SEVERE", "EMERG", "ALERT", "ERR", "E", "F":
		s += 100
	case "WARN", "WARNING", "W":
		s += 40
	}
	if strings.Contains(r.text, "\n") || strings.Contains(r.text, "Exception") || strings.Contains(r.text, "Traceback") || strings.Contains(r.text, "panic:") {
		s += 30
	}
	if e.New {
		s += 25
	}
	if count <= 3 {
		s += 30
	}
	if e.Occurrence == "first" {
		s += 15
	}
	if e.Occurrence == "last" {
		s += 10
	}
	if !o.AlertTime.IsZero() && !r.time.IsZero() {
		d := r.time.Sub(o.AlertTime)
		if d < 0 {
			d = -d
		}
		if d <= o.Near {
			s += 20
		}
	}
	if len(e.Flags) > 0 {
		s += 200 // humans must see the warning
	}
	return s
}

// MaxVar caps one variable's value in a prompt.
const MaxVar = 64

// PromptLines renders the entries an LLM may see: flagged lines are left
// out; each line is its template with the variable values typed, capped and
// quoted, so text in a variable reads as data, never as an instruction.
//
//	L6 [ERROR ×37 first] template="connection to <*> refused, user=<*> attempt <NUM>" vars=[<*>:"[HOSTNAME_1]:5432", ...]
func (x Excerpt) PromptLines() []string {
	var out []string
	for _, e := range x.Entries {
		if len(e.Flags) > 0 {
			continue
		}
		var b strings.Builder
		b.WriteString(e.ID)
		b.WriteString(" [")
		if e.Level != "" {
			b.WriteString(e.Level + " ")
		}
		b.WriteString("×" + strconv.Itoa(e.Count))
		if e.Occurrence != "" {
			b.WriteString(" " + e.Occurrence)
		}
		if e.New {
			b.WriteString(" new-template")
		}
		b.WriteString("] template=")
		b.WriteString(strconv.Quote(cut(e.Template, 400)))
		if len(e.Vars) > 0 {
			b.WriteString(" vars=[")
			for i, v := range e.Vars {
				if i > 0 {
					b.WriteString(", ")
				}
				if i == 12 {
					b.WriteString("…")
					break
				}
				b.WriteString(v.Type + ":" + strconv.Quote(v.Value))
			}
			b.WriteString("]")
		}
		out = append(out, b.String())
	}
	return out
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
