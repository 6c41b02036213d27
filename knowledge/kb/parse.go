package kb

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/opsgate/opsgate/knowledge/search"
)

// BadRow is a row that could not be read; the rest of the file still loads.
type BadRow struct {
	File string
	Line int
	Err  error
}

func (b BadRow) Error() string { return fmt.Sprintf("%s:%d: %v", b.File, b.Line, b.Err) }

// MaxLine bounds one JSON Lines record.
const MaxLine = 4 << 20

// jsonTicket accepts times as text in any layout search.ParseTime knows.
type jsonTicket struct {
	Ticket
	Created  any `json:"created"`
	Resolved any `json:"resolved"`
}

func timeOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// ParseJSONL reads one ticket per line; bad lines are reported and skipped.
func ParseJSONL(name string, r io.Reader, emit func(Ticket) error) ([]BadRow, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var bad []BadRow
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return bad, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errTooLong) {
				bad = append(bad, BadRow{name, n, err})
				continue
			}
			return bad, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var jt jsonTicket
			if jerr := json.Unmarshal(line, &jt); jerr != nil {
				bad = append(bad, BadRow{name, n, fmt.Errorf("not a JSON ticket: %s", jsonProblem(jerr))})
			} else {
				t := jt.Ticket
				t.Created, t.Resolved = search.ParseTime(timeOf(jt.Created)), search.ParseTime(timeOf(jt.Resolved))
				if t.Source == "" {
					t.Source = "jsonl"
				}
				if verr := t.Validate(); verr != nil {
					bad = append(bad, BadRow{name, n, verr})
				} else if eerr := emit(t); eerr != nil {
					return bad, eerr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return bad, nil
		}
	}
}

var errTooLong = fmt.Errorf("line longer than %d bytes", MaxLine)

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLine {
			// drain the rest of the line
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			return nil, errTooLong
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "invalid JSON"
}

// Fields a CSV column can map to.
var csvFields = map[string]func(*Ticket, string){
	"id": func(t *Ticket, v string) { t.ID = v }, "title": func(t *Ticket, v string) { t.Title = v },
	"body": func(t *Ticket, v string) { t.Body = v }, "root_cause": func(t *Ticket, v string) { t.RootCause = v },
	"resolution": func(t *Ticket, v string) { t.Resolution = v }, "category": func(t *Ticket, v string) { t.Category = v },
	"service": func(t *Ticket, v string) { t.Service = v }, "url": func(t *Ticket, v string) { t.URL = v },
	"tags":    func(t *Ticket, v string) { t.Tags = splitTags(v) },
	"created": func(t *Ticket, v string) { t.Created = search.ParseTime(v) }, "resolved": func(t *Ticket, v string) { t.Resolved = search.ParseTime(v) },
}

func splitTags(v string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// ParseMapping reads "id=Issue id,title=Summary,body=Description".
func ParseMapping(s string) (map[string]string, error) {
	m := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("mapping %q: want field=Column", part)
		}
		if _, known := csvFields[k]; !known {
			return nil, fmt.Errorf("mapping: unknown field %q (known: id, title, body, root_cause, resolution, category, tags, service, created, resolved, url)", k)
		}
		m[k] = v
	}
	return m, nil
}

// ParseCSV reads a CSV export; mapping names the column for each field
// (unmapped fields use a column of the same name, if any).
func ParseCSV(name string, r io.Reader, mapping map[string]string, emit func(Ticket) error) ([]BadRow, error) {
	cr := csv.NewReader(r)
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: no CSV header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	idx := map[string]int{}
	for f := range csvFields {
		c := f
		if m, ok := mapping[f]; ok {
			c = m
		}
		if i, ok := col[c]; ok {
			idx[f] = i
		} else if _, mapped := mapping[f]; mapped {
			return nil, fmt.Errorf("%s: mapped column %q is not in the header", name, c)
		}
	}
	if _, ok := idx["id"]; !ok {
		return nil, fmt.Errorf("%s: no id column (map one with --map id=<column>)", name)
	}
	var bad []BadRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return bad, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			bad = append(bad, BadRow{name, line, err})
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				continue
			}
			return bad, err
		}
		t := Ticket{Source: "csv"}
		for f, i := range idx {
			if i < len(rec) {
				csvFields[f](&t, rec[i])
			}
		}
		if verr := t.Validate(); verr != nil {
			bad = append(bad, BadRow{name, line, verr})
			continue
		}
		if eerr := emit(t); eerr != nil {
			return bad, eerr
		}
	}
}

type frontMatter struct {
	ID         string   `yaml:"id"`
	UUID       string   `yaml:"uuid"`
	Title      string   `yaml:"title"`
	URL        string   `yaml:"url"`
	Category   string   `yaml:"category"`
	Categories []string `yaml:"categories"`
	Tags       []string `yaml:"tags"`
	Keywords   []string `yaml:"keywords"`
	Service    string   `yaml:"service"`
	Product    string   `yaml:"product"`
	Summary    string   `yaml:"summary"`
	RootCause  string   `yaml:"root_cause"`
	Resolution string   `yaml:"resolution"`
	Created    string   `yaml:"created"`
	Date       string   `yaml:"date"`
}

// ParseMarkdown reads a runbook or postmortem: YAML front matter between
// "---" lines, then the body. The id is the front matter's id, else uuid,
// else the file name.
func ParseMarkdown(path string, data []byte) (Ticket, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	var fm frontMatter
	body := text
	if strings.HasPrefix(text, "---\n") {
		end := strings.Index(text[4:], "\n---")
		if end < 0 {
			return Ticket{}, fmt.Errorf("%s: front matter not closed with ---", path)
		}
		if err := yaml.Unmarshal([]byte(text[4:4+end]), &fm); err != nil {
			return Ticket{}, fmt.Errorf("%s: front matter: %v", path, err)
		}
		body = strings.TrimLeft(text[4+end+4:], "\n")
	}
	id := fm.ID
	if id == "" {
		id = fm.UUID
	}
	if id == "" {
		id = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	title := fm.Title
	if title == "" {
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "# ") {
				title = strings.TrimPrefix(l, "# ")
				break
			}
		}
	}
	cat := fm.Category
	if cat == "" && len(fm.Categories) > 0 {
		cat = fm.Categories[0]
	}
	t := Ticket{ID: id, Title: title, Body: strings.TrimSpace(fm.Summary + "\n\n" + body), RootCause: fm.RootCause, Resolution: fm.Resolution,
		Category: cat, Tags: append(append([]string{}, fm.Tags...), fm.Keywords...), Service: firstNonEmpty(fm.Service, fm.Product),
		URL: fm.URL, Source: "markdown", Created: search.ParseTime(firstNonEmpty(fm.Created, fm.Date))}
	if len(fm.Categories) > 1 {
		t.Tags = append(t.Tags, fm.Categories[1:]...)
	}
	if err := t.Validate(); err != nil {
		return Ticket{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
