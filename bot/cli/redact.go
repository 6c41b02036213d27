package cli

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/redact"
)

// MaxRedactLine bounds one input line of `opsgate redact`.
const MaxRedactLine = 16 << 20

func redactCmd(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var asJSON bool
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "redact",
		Short: "Mask secrets and personal data in text read from stdin, line for line",
		Long: "Reads text on stdin and writes it with secrets and personal data replaced by consistent, typed\n" +
			"placeholders ([IP_ADDRESS_1], [PASSWORD_2], ...), one output line per input line, in order.\n" +
			"--json writes one JSON object per line: {\"line\", \"text\", \"findings\": [{type, start, end, placeholder}]}\n" +
			"(byte offsets into the input line). Redaction settings come from --config or OPSGATE_CONFIG.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				if env, err := config.LoadEnv(); err == nil {
					cfgPath = env.ConfigFile
				}
			}
			engine, err := engineFor(cfgPath)
			if err != nil {
				return err
			}
			return redactStream(engine.NewSession(), stdin, stdout, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write one JSON object per input line with the findings")
	cmd.Flags().StringVar(&cfgPath, "config", "", "config file with a redaction section (default: OPSGATE_CONFIG)")
	return cmd
}

type jsonLine struct {
	Line     int              `json:"line"`
	Text     string           `json:"text"`
	Findings []redact.Finding `json:"findings"`
}

// redactStream redacts r to w line for line; a line longer than
// MaxRedactLine is an error naming the line (nothing after it is written).
func redactStream(s *redact.Session, r io.Reader, w io.Writer, asJSON bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var out []byte
	return eachLine("redact", r, MaxRedactLine, func(n int, line []byte, nl bool) error {
		if asJSON {
			red, finds := s.Line(string(line))
			if finds == nil {
				finds = []redact.Finding{}
			}
			return enc.Encode(jsonLine{Line: n, Text: red, Findings: finds})
		}
		out = s.AppendLine(out[:0], line)
		if nl {
			out = append(out, '\n')
		}
		_, err := bw.Write(out)
		return err
	})
}
