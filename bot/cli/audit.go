package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/config"
)

// redisFromEnv connects to REDIS_URL (an embedded store would be empty:
// refusing is clearer). what names the command in the error.
func redisFromEnv(what string) (*redis.Client, error) {
	env, err := config.LoadEnv()
	if err != nil {
		return nil, err
	}
	if env.RedisURL == "" {
		return nil, fmt.Errorf("%s: REDIS_URL is required (the %s live in Redis)", what, what)
	}
	opt, err := redis.ParseURL(env.RedisURL.Reveal())
	if err != nil {
		return nil, fmt.Errorf("%w: REDIS_URL: not a valid redis URL", config.ErrInvalid)
	}
	return redis.NewClient(opt), nil
}

// auditLog opens the audit trail on REDIS_URL.
func auditLog() (*audit.Log, func(), error) {
	rdb, err := redisFromEnv("audit")
	if err != nil {
		return nil, nil, err
	}
	return audit.New(rdb, nil), func() { _ = rdb.Close() }, nil
}

func auditCmd(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{Use: "audit", Short: "The hash-chained audit trail"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the chain and report the first broken link",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, closeFn, err := auditLog()
			if err != nil {
				return err
			}
			defer closeFn()
			n, err := l.Verify(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "audit trail intact: %d entries, hash chain verified\n", n)
			return nil
		},
	}
	var incident string
	export := &cobra.Command{
		Use:   "export [--incident ID]",
		Short: "Print the entries as JSON Lines (optionally one incident's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, closeFn, err := auditLog()
			if err != nil {
				return err
			}
			defer closeFn()
			entries, err := l.Entries(cmd.Context(), 0, -1)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			for _, e := range entries {
				if incident != "" && e.Incident != incident {
					continue
				}
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	export.Flags().StringVar(&incident, "incident", "", "only this incident's entries")
	root.AddCommand(verify, export)
	return root
}
