package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/logtmpl"
	"github.com/opsgate/opsgate/bot/redact"
)

func templatesCmd(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var o templateOptions
	var history string
	cmd := &cobra.Command{
		Use:   "templates [--history FILE] [--follow] [--raw]",
		Short: "Mine log templates from lines on stdin (one JSON object per input line)",
		Long: "Reads log lines on stdin and writes, for each input line in order, one JSON object\n" +
			"{\"template_id\": \"...\", \"template\": \"...\"}: the template the line belongs to (variables as\n" +
			"<NUM>, <ID>, <IP>, <*>). A template's id is given when the template is first seen and kept\n" +
			"when its text generalizes; when two templates turn out to be one, the older id stays.\n\n" +
			"By default the input is read to its end first, so every line gets its template's final id and\n" +
			"text. --follow writes each line as it is read (for tail -f): the id as it is then, and \"merged\"\n" +
			"listing ids that from this line on mean this template.\n\n" +
			"--history FILE mines FILE's lines first as what was seen before: each stdin line then also\n" +
			"gets \"new\": true when its template was not among them.\n\n" +
			"Headers (timestamps, levels, pids, process[pid]:) are recognised and left out of the template\n" +
			"unless --raw. Values a template keeps verbatim (a host name, an e-mail, a password in every line\n" +
			"of it) are masked like `opsgate redact` masks them; ids are computed before masking.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			engine, err := envEngine()
			if err != nil {
				return err
			}
			m := logtmpl.NewMiner(logtmpl.Default)
			if history != "" {
				f, err := os.Open(history)
				if err != nil {
					return fmt.Errorf("templates: --history: %w", err)
				}
				err = eachLine("templates --history", f, MaxRedactLine, func(_ int, b []byte, _ bool) error {
					m.Add(o.message(string(b)))
					return nil
				})
				f.Close()
				if err != nil {
					return err
				}
				m.MarkKnown()
				o.history = true
			}
			return templatesStream(m, engine.NewSession(), stdin, stdout, o)
		},
	}
	cmd.Flags().BoolVar(&o.raw, "raw", false, "mine whole lines, headers included")
	cmd.Flags().BoolVar(&o.follow, "follow", false, "write each line as it is read (ids as they are then, with merges)")
	cmd.Flags().StringVar(&history, "history", "", "a log of what was seen before: stdin lines get \"new\"")
	return cmd
}

type templateOptions struct {
	raw, follow, history bool
}

func (o templateOptions) message(line string) string {
	line = strings.TrimRight(line, "\r")
	if o.raw {
		return line
	}
	return logtmpl.StripHeader(line)
}

// maxMaskedTemplates bounds the memory of masked template texts.
const maxMaskedTemplates = 100_000

type templateLine struct {
	TemplateID string   `json:"template_id"`
	Template   string   `json:"template"`
	New        *bool    `json:"new,omitempty"`
	Merged     []string `json:"merged,omitempty"`
}

// templatesStream mines r's lines with m and writes each line's template,
// masked with sess: at the end (final ids and texts), or as read with
// o.follow. A template's text repeats for every line of its cluster, so
// its masked form is remembered (mining stays the cost, not masking).
func templatesStream(m *logtmpl.Miner, sess *redact.Session, r io.Reader, w io.Writer, o templateOptions) error {
	masked := map[string]string{}
	mask := func(tmpl string) string {
		out, ok := masked[tmpl]
		if !ok {
			if len(masked) > maxMaskedTemplates {
				clear(masked)
			}
			out = sess.String(tmpl)
			masked[tmpl] = out
		}
		return out
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	var buf []byte
	write := func(l templateLine) error {
		buf = appendTemplateLine(buf[:0], l)
		_, err := bw.Write(buf)
		return err
	}
	line := func(c *logtmpl.Cluster) templateLine {
		root := c.Root()
		out := templateLine{TemplateID: root.ID, Template: mask(root.String())}
		if o.history {
			isNew := !root.Known()
			out.New = &isNew
		}
		return out
	}
	m.TakeMerges() // the history's own merges are not news
	var all []*logtmpl.Cluster
	err := eachLine("templates", r, MaxRedactLine, func(_ int, b []byte, _ bool) error {
		c := m.Add(o.message(string(b)))
		if !o.follow {
			all = append(all, c) // a pointer per line: the texts are the clusters'
			return nil
		}
		out := line(c)
		for _, mg := range m.TakeMerges() {
			out.Merged = append(out.Merged, mg.From)
		}
		return write(out)
	})
	if err != nil {
		return err
	}
	for _, c := range all {
		if err := write(line(c)); err != nil {
			return err
		}
	}
	return nil
}

// appendTemplateLine writes l as one JSON line, as encoding/json would
// (without HTML escaping), at a fraction of its cost: it runs per line.
func appendTemplateLine(b []byte, l templateLine) []byte {
	b = append(b, `{"template_id":`...)
	b = appendJSONString(b, l.TemplateID)
	b = append(b, `,"template":`...)
	b = appendJSONString(b, l.Template)
	if l.New != nil {
		b = append(b, `,"new":`...)
		b = strconv.AppendBool(b, *l.New)
	}
	if len(l.Merged) > 0 {
		b = append(b, `,"merged":[`...)
		for i, id := range l.Merged {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, id)
		}
		b = append(b, ']')
	}
	return append(b, '}', '\n')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD (as
// encoding/json does).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' { // encoding/json escapes these too
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
