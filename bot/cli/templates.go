package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/logtmpl"
)

func templatesCmd(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var raw bool
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "Mine log templates from lines on stdin (one JSON object per input line)",
		Long: "Reads log lines on stdin and writes, for each input line in order, one JSON object\n" +
			"{\"template_id\": \"...\", \"template\": \"...\"}: the template the line belongs to when it is read\n" +
			"(variables as <NUM>, <ID>, <IP>, <*>). Headers (timestamps, levels, pids, process[pid]:) are\n" +
			"recognised and left out of the template unless --raw.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return templatesStream(stdin, stdout, raw)
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "mine whole lines, headers included")
	return cmd
}

type templateLine struct {
	TemplateID string `json:"template_id"`
	Template   string `json:"template"`
}

func templatesStream(r io.Reader, w io.Writer, raw bool) error {
	m := logtmpl.NewMiner(logtmpl.Default)
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
		return enc.Encode(templateLine{TemplateID: logtmpl.ID(tmpl), Template: tmpl})
	})
}
