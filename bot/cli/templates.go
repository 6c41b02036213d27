package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
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
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var buf []byte
	for n := 1; ; n++ {
		buf = buf[:0]
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			buf = append(buf, chunk...)
			if len(buf) > MaxRedactLine+1 {
				return fmt.Errorf("templates: line %d is longer than %d bytes", n, MaxRedactLine)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("templates: reading line %d: %w", n, err)
		}
		if len(buf) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		line := strings.TrimRight(string(buf), "\r\n")
		if !raw {
			line = logtmpl.StripHeader(line)
		}
		c := m.Add(line)
		tmpl := c.String()
		if err := enc.Encode(templateLine{TemplateID: logtmpl.ID(tmpl), Template: tmpl}); err != nil {
			return err
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}
