package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/logtmpl"
	"github.com/opsgate/opsgate/bot/redact"
)

func templatesCmd(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var raw bool
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "Mine log templates from lines on stdin (one JSON object per input line)",
		Long: "Reads log lines on stdin and writes, for each input line in order, one JSON object\n" +
			"{\"template_id\": \"...\", \"template\": \"...\"}: the template the line belongs to when it is read\n" +
			"(variables as <NUM>, <ID>, <IP>, <*>). Headers (timestamps, levels, pids, process[pid]:) are\n" +
			"recognised and left out of the template unless --raw. Values a template keeps verbatim (a host\n" +
			"name, an e-mail, a password in every line of it) are masked like `opsgate redact` masks them;\n" +
			"template ids are computed before masking.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			engine, err := envEngine()
			if err != nil {
				return err
			}
			return templatesStream(engine.NewSession(), stdin, stdout, raw)
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "mine whole lines, headers included")
	return cmd
}

// maxMaskedTemplates bounds the memory of masked template texts.
const maxMaskedTemplates = 100_000

type templateLine struct {
	TemplateID string `json:"template_id"`
	Template   string `json:"template"`
}

// templatesStream mines r's lines and writes each line's template, masked
// with sess. A template's text repeats for every line of its cluster, so
// its masked form is remembered (mining stays the cost, not masking).
func templatesStream(sess *redact.Session, r io.Reader, w io.Writer, raw bool) error {
	m := logtmpl.NewMiner(logtmpl.Default)
	masked := map[string]string{}
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return eachLine("templates", r, MaxRedactLine, func(_ int, b []byte, _ bool) error {
		line := strings.TrimRight(string(b), "\r")
		if !raw {
			line = logtmpl.StripHeader(line)
		}
		tmpl := m.Add(line).String()
		out, ok := masked[tmpl]
		if !ok {
			if len(masked) > maxMaskedTemplates {
				clear(masked)
			}
			out = sess.String(tmpl)
			masked[tmpl] = out
		}
		return enc.Encode(templateLine{TemplateID: logtmpl.ID(tmpl), Template: out})
	})
}
