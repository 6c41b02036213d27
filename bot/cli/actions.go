package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/config"
)

func actionsCmd(stdout io.Writer) *cobra.Command {
	root := &cobra.Command{Use: "actions", Short: "The action catalog"}
	validate := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a config file's action catalog (and the rest of the file) and explain every error",
		Long: "Loads FILE (default: OPSGATE_CONFIG) strictly and checks every action: id, risk, typed\n" +
			"parameters (pattern, enum, enum_from scope.*, int and duration ranges), exactly one executor\n" +
			"(kubectl, command, http, ssh), templates that use only declared parameters in argument slots,\n" +
			"approvals, verify and undo. Prints every problem with its path and exits 1, or lists the actions.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			} else if env, err := config.LoadEnv(); err == nil {
				path = env.ConfigFile
			}
			if path == "" {
				return fmt.Errorf("actions validate: give a FILE or set OPSGATE_CONFIG")
			}
			f, err := config.LoadFile(path)
			if err != nil {
				return err
			}
			c, err := f.Catalog()
			if err != nil {
				return err
			}
			if len(f.Actions) == 0 {
				fmt.Fprintf(stdout, "%s: no actions declared; the built-in catalog applies:\n", path)
			} else {
				fmt.Fprintf(stdout, "%s: %d action(s) valid\n", path, len(c.Specs()))
			}
			for _, s := range c.Specs() {
				fmt.Fprintf(stdout, "  %-24s risk %-6s approvals %d%s  %s\n", s.ID, s.Risk, s.Approvals.Required, approvers(s.Approvals), runs(s.Run))
			}
			return nil
		},
	}
	root.AddCommand(validate)
	return root
}

func approvers(a catalog.Approvals) string {
	who := append(append([]string(nil), a.Groups...), a.Users...)
	if len(who) == 0 {
		return " of the config's approvers"
	}
	self := ""
	if !a.AllowSelf {
		self = ", no self-approval"
	}
	return " of " + strings.Join(who, ",") + self
}

func runs(e catalog.Exec) string {
	switch {
	case len(e.Kubectl) > 0:
		return "kubectl " + strings.Join(e.Kubectl, " ")
	case e.Command != nil:
		return strings.Join(e.Command.Argv, " ")
	case e.HTTP != nil:
		return e.HTTP.Method + " " + e.HTTP.URL
	case e.SSH != nil:
		return "ssh " + e.SSH.User + "@" + e.SSH.Host + " " + strings.Join(e.SSH.Command, " ")
	}
	return ""
}
