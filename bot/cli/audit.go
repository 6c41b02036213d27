package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/audit"
)

func auditCmd(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{Use: "audit", Short: "The keyed, anchored audit trail"}
	var anchorFiles []string
	verify := &cobra.Command{
		Use:   "verify [--anchors FILE]...",
		Short: "Check every entry's MAC and link, and the trail against its anchors; name the first bad position",
		Long: "Walks the audit trail in Redis (REDIS_URL) a page at a time, checking each entry's HMAC under\n" +
			"OPSGATE_AUDIT_KEY and its link to the one before. With anchors (OPSGATE_AUDIT_ANCHOR, or --anchors,\n" +
			"one file per replica; opsgate's JSON log works too) it also proves nothing was cut from the end or\n" +
			"the start. Exits non-zero on the first problem, naming the entry.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, rdb, env, err := auditLog("audit verify")
			if err != nil {
				return err
			}
			defer rdb.Close()
			files := anchorFiles
			if len(files) == 0 && env.AuditAnchor != "" {
				files = strings.Split(env.AuditAnchor, ",")
			}
			anchors, err := audit.ReadAnchorFiles(env.AuditKeyBytes(), files...)
			if err != nil {
				return err
			}
			if len(files) > 0 && len(anchors) == 0 {
				return fmt.Errorf("audit verify: no anchors in %s (has opsgate run with OPSGATE_AUDIT_ANCHOR set?)", strings.Join(files, ", "))
			}
			r, err := l.Verify(cmd.Context(), anchors)
			if err != nil {
				return err
			}
			if r.Entries == 0 {
				fmt.Fprintln(stdout, "audit trail intact: empty")
			} else {
				fmt.Fprintf(stdout, "audit trail intact: %d entries (#%d..#%d), every MAC and link verified\n", r.Entries, r.First, r.Last)
			}
			switch {
			case len(anchors) > 0:
				fmt.Fprintf(stdout, "checked against %d anchors; the latest, of %s, covers all but the last %d entries\n",
					r.Anchors, r.LatestAnchor.Format(time.RFC3339), r.Unanchored)
			default:
				fmt.Fprintln(stdout, "note: no anchors given (OPSGATE_AUDIT_ANCHOR or --anchors): entries cut from the end could not be detected")
			}
			if r.TrimmedAt > 0 {
				fmt.Fprintf(stdout, "entries before #%d were trimmed by retention at an anchored checkpoint\n", r.TrimmedAt)
			}
			if r.UncheckedStart {
				fmt.Fprintf(stdout, "warning: the trail starts at #%d; without anchors that trim cannot be checked\n", r.First)
			}
			return nil
		},
	}
	verify.Flags().StringSliceVar(&anchorFiles, "anchors", nil, "anchor files to check against (default OPSGATE_AUDIT_ANCHOR)")
	var incident string
	export := &cobra.Command{
		Use:   "export [--incident ID]",
		Short: "Print the entries as JSON Lines (optionally one incident's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, rdb, _, err := auditLog("audit export")
			if err != nil {
				return err
			}
			defer rdb.Close()
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			return l.Each(cmd.Context(), "", func(s audit.Stored) error {
				if s.Err != nil {
					return fmt.Errorf("%w at stream id %s: %v (run audit verify)", audit.ErrTampered, s.ID, s.Err)
				}
				if incident != "" && s.Entry.Incident != incident {
					return nil
				}
				return enc.Encode(s.Entry)
			})
		},
	}
	export.Flags().StringVar(&incident, "incident", "", "only this incident's entries")
	root.AddCommand(verify, export)
	return root
}
