package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/app"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/pipeline"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/bot/sanitize"
	"github.com/opsgate/opsgate/bot/view"
)

// MaxTriageLines bounds the log file triage reads (cut it to a window first).
const MaxTriageLines = 2_000_000

// triageReport is the --json output.
type triageReport struct {
	Excerpt   *excerpt.Excerpt `json:"excerpt"`
	Similar   []enrich.Similar `json:"similar"`
	RCA       rca.Analysis     `json:"rca"`
	Flags     []excerpt.Entry  `json:"flags"`     // instruction-like lines, withheld from the model
	Masked    int              `json:"masked"`    // values replaced by placeholders
	Knowledge string           `json:"knowledge"` // where similar tickets came from, or why none
}

func triageCmd(stdout, stderr io.Writer) *cobra.Command {
	var logs, alert, service, cfgPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "triage --logs FILE [--alert TEXT] [--service NAME] [--json]",
		Short: "Run the incident pipeline offline on a log file: excerpt, similar tickets, cited RCA",
		Long: "Reads a log file (- for stdin), masks secrets and personal data, mines templates, builds the\n" +
			"excerpt, flags instruction-like lines, finds similar tickets in the knowledge base on REDIS_URL\n" +
			"(none when it is unset), and asks Gemini for a cited root-cause analysis when GEMINI_API_KEY is\n" +
			"set — the extractive analysis otherwise. Every citation and proposed action is checked; what the\n" +
			"checks removed is listed. Nothing printed contains an unmasked value.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if logs == "" {
				return fmt.Errorf("triage: --logs FILE is required")
			}
			return runTriage(cmd.Context(), logs, alert, service, cfgPath, asJSON, cmd.InOrStdin(), stdout, stderr)
		},
	}
	cmd.Flags().StringVar(&logs, "logs", "", "log file to analyse (- for stdin)")
	cmd.Flags().StringVar(&alert, "alert", "", "alert text (the incident title)")
	cmd.Flags().StringVar(&service, "service", "", "service name (scopes the proposed actions)")
	cmd.Flags().StringVar(&cfgPath, "config", "", "config file (default: OPSGATE_CONFIG)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func runTriage(ctx context.Context, path, alert, service, cfgPath string, asJSON bool, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	env, err := config.LoadEnv()
	if err != nil {
		return err
	}
	if cfgPath == "" {
		cfgPath = env.ConfigFile
	}
	file, engine, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	cat, err := file.Catalog()
	if err != nil {
		return err
	}
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("triage: %w", err)
		}
		defer f.Close()
		r = f
	}
	var lines []excerpt.Line
	err = eachLine("triage", r, MaxRedactLine, func(n int, b []byte, _ bool) error {
		if n > MaxTriageLines {
			return fmt.Errorf("triage: more than %d lines; cut the file to the incident's window first", MaxTriageLines)
		}
		lines = append(lines, excerpt.Line{Text: strings.TrimRight(string(b), "\r")})
		return nil
	})
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return fmt.Errorf("triage: %s holds no log lines", path)
	}
	x := excerpt.Build(lines, excerpt.Options{})
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	rep := triageReport{Knowledge: "REDIS_URL is unset: no knowledge base, no similar tickets"}
	rec := &incident.Record{Snapshot: incident.Snapshot{ID: "offline", Title: alert, ServiceName: service}}
	c := &enrich.Record{Excerpt: &x}
	if alert != "" {
		rec.Snapshot.Alerts = []incident.Alert{{Summary: alert}}
	}
	if env.RedisConfigured() {
		k, _, _, closeKB, err := kbSession(ctx, stderr)
		if err != nil {
			return err
		}
		defer closeKB()
		c.Similar = enrich.SimilarTo(k, alert, []string{alert}, &x, time.Now(), "")
		rep.Knowledge = fmt.Sprintf("knowledge base on REDIS_URL (%d tickets)", k.Stats().Tickets)
	}
	sess := engine.NewSession()
	vr, vc := view.Incident(rec, sess), view.Context(c, sess)
	scope := catalog.Scope{} // no service: nothing in scope, no action can be proposed
	if service != "" {
		scope = file.ScopeFor(vr.Snapshot.ServiceName)
	}
	an, err := app.NewAnalyzer(ctx, env, &sanitize.Guard{Engine: engine}, retry.Policy{}, log)
	if err != nil {
		return err
	}
	a := an.Analyze(ctx, pipeline.RCAContext(vr, vc, cat.For(scope)))
	rep.RCA = *view.Analysis(&a, sess) // model text is untrusted too
	rep.Excerpt, rep.Similar, rep.Flags, rep.Masked = vc.Excerpt, vc.Similar, vc.Excerpt.Flagged(), sess.Len()
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printTriage(stdout, rep)
	return nil
}

func printTriage(w io.Writer, rep triageReport) {
	x := rep.Excerpt
	fmt.Fprintf(w, "LOG EXCERPT — %d of %d lines, %d templates, %d value(s) masked\n", len(x.Entries), x.Lines, x.Templates, rep.Masked)
	for _, e := range x.Entries {
		if len(e.Flags) > 0 {
			continue
		}
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" ×%d %s", e.Count, e.Occurrence)
		}
		fmt.Fprintf(w, "  %-4s%s  %s\n", e.ID, count, oneLine(e.Text, 300))
	}
	if len(rep.Flags) > 0 {
		fmt.Fprintln(w, "\nINSTRUCTION-LIKE TEXT (withheld from the model; treat as untrusted)")
		for _, e := range rep.Flags {
			reasons := make([]string, len(e.Flags))
			for i, r := range e.Flags {
				reasons[i] = string(r)
			}
			fmt.Fprintf(w, "  %s (%s): %s\n", e.ID, strings.Join(reasons, ", "), oneLine(e.Text, 200))
		}
	}
	fmt.Fprintf(w, "\nSIMILAR PAST TICKETS — %s\n", rep.Knowledge)
	if len(rep.Similar) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, s := range rep.Similar {
		fmt.Fprintf(w, "  %s  %.0f%%  %s\n", s.ID, 100*s.Similarity, oneLine(s.Title, 120))
		if s.Resolution != "" {
			fmt.Fprintf(w, "      resolved: %s\n", oneLine(s.Resolution, 200))
		}
	}
	a := rep.RCA
	label := a.Source
	switch {
	case a.Source == "extractive":
		label = "extractive, NOT model-generated"
	case a.InsufficientEvidence:
		label += ", insufficient evidence"
	case a.Hypothesis:
		label += ", hypothesis"
	}
	fmt.Fprintf(w, "\nROOT-CAUSE ANALYSIS (%s; confidence %.0f%%)\n  %s\n", label, 100*a.Confidence, oneLine(a.Summary, 600))
	if a.RootCause != "" {
		fmt.Fprintf(w, "  Root cause: %s\n", oneLine(a.RootCause, 600))
	}
	if a.Category != "" {
		fmt.Fprintf(w, "  Category: %s\n", a.Category)
	}
	lines := map[string]string{}
	for _, e := range x.Entries {
		lines[e.ID] = e.Text
	}
	for _, e := range a.Evidence {
		fmt.Fprintf(w, "  • %s [%s]\n", oneLine(e.Claim, 300), strings.Join(e.Citations, ", "))
		for _, id := range e.Citations {
			if t, ok := lines[id]; ok {
				fmt.Fprintf(w, "      %s  %s\n", id, oneLine(t, 200))
			}
		}
	}
	for _, p := range a.Actions {
		fmt.Fprintf(w, "  → proposed: %s %v", p.ID, p.Params)
		if p.Follows != "" {
			fmt.Fprintf(w, " (follows %s)", p.Follows)
		}
		fmt.Fprintln(w)
	}
	for _, d := range a.Dropped {
		fmt.Fprintf(w, "  ✂ removed by the checks: %s\n", oneLine(d, 300))
	}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
