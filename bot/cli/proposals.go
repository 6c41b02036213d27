package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/app"
	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/view"
)

func proposalsCmd(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{Use: "proposals", Short: "Proposed actions: show one, settle a stalled execution"}
	show := &cobra.Command{
		Use:   "show PROPOSAL_ID",
		Short: "Print a proposal (state, approvals, outcome) as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !jobs.ValidProposalID(args[0]) {
				return fmt.Errorf("%q is not a proposal id such as Q1ABCD2-0123456789", clipArg(args[0]))
			}
			rdb, env, err := redisFromEnv("proposals")
			if err != nil {
				return err
			}
			defer rdb.Close()
			keys, err := vaultKeys("proposals", env)
			if err != nil {
				return err
			}
			store := approval.NewStore(rdb, app.IncidentTTL, nil)
			store.Keys = keys
			p, err := store.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(p)
		},
	}
	var by, note string
	settle := &cobra.Command{
		Use:   "settle PROPOSAL_ID succeeded|failed --by NAME [--note TEXT]",
		Short: "Record the checked outcome of a stalled execution (never re-runs it)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !jobs.ValidProposalID(args[0]) {
				return fmt.Errorf("%q is not a proposal id such as Q1ABCD2-0123456789", clipArg(args[0]))
			}
			to := map[string]approval.State{"succeeded": approval.Succeeded, "failed": approval.Failed}[strings.ToLower(args[1])]
			if to == "" {
				return fmt.Errorf("the outcome must be succeeded or failed, not %q", clipArg(args[1]))
			}
			if strings.TrimSpace(by) == "" || len(by) > 100 || len(note) > 500 {
				return errors.New("--by NAME is required (who checked the outcome; at most 100 characters), --note at most 500")
			}
			l, rdb, env, err := auditLog("proposals settle")
			if err != nil {
				return err
			}
			defer rdb.Close()
			keys, err := vaultKeys("proposals settle", env)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			// The note is free text shown in the thread and audited: masked
			// with the incident's placeholders first.
			engine, err := envEngine()
			if err != nil {
				return err
			}
			inc, _ := jobs.ParseProposalID(args[0])
			vault := view.NewVault(rdb, engine, env.VaultTTLOrDefault())
			vault.Keys = keys
			if err := vault.Texts(ctx, inc, &note); err != nil {
				return fmt.Errorf("the note could not be masked (%w); nothing was settled", err)
			}
			store := approval.NewStore(rdb, app.IncidentTTL, nil)
			store.Keys = keys
			p, err := store.Settle(ctx, args[0], to, strings.TrimSpace("settled by hand: "+note))
			if err != nil {
				return err
			}
			if _, err := l.Append(ctx, audit.Entry{Actor: by, Action: "settled", Incident: p.IncidentID,
				Details: map[string]string{"proposal": p.ID, "state": string(p.State), "note": note}}); err != nil {
				return fmt.Errorf("%s is now %s, but its audit entry failed (%w): record it by hand", p.ID, p.State, err)
			}
			// The workers update the thread (message, note, the undo link).
			if _, err := jobs.Submit(ctx, queue.New(rdb, keys), jobs.Settled{ProposalID: p.ID, By: by}, "", 0); err != nil {
				return fmt.Errorf("%s is now %s (audited), but the thread could not be told: %w", p.ID, p.State, err)
			}
			fmt.Fprintf(stdout, "%s is now %s (recorded in the audit trail; the thread will say so)\n", p.ID, p.State)
			return nil
		},
	}
	settle.Flags().StringVar(&by, "by", "", "who checked the outcome (recorded in the audit trail)")
	settle.Flags().StringVar(&note, "note", "", "what was checked")
	root.AddCommand(show, settle)
	return root
}

func clipArg(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
