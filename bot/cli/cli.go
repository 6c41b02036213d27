// Package cli is opsgate's command line: serve, demo, version.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/app"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/demo"
	"github.com/opsgate/opsgate/bot/redact"
)

// Version is set at build time (-ldflags "-X github.com/opsgate/opsgate/bot/cli.Version=v1.2.3").
var Version = "dev"

// Main runs the command line and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "opsgate:", err)
		return 1
	}
	return 0
}

// NewRoot builds the command tree.
func NewRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "opsgate",
		Short:         "ChatOps incident response: PagerDuty incidents become Slack threads with context, RCA and gated remediation",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(stdin)
	root.AddCommand(serveCmd(stderr), demoCmd(stdout, stderr), versionCmd(stdout), redactCmd(stdin, stdout), templatesCmd(stdin, stdout), kbCmd(stdin, stdout, stderr), triageCmd(stdout, stderr), actionsCmd(stdout), auditCmd(stdout), proposalsCmd(stdout))
	return root
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func serveCmd(stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server and the event workers",
		Long: "Run the HTTP server (POST /webhooks/pagerduty, POST /slack/commands, POST /slack/interactions,\n" +
			"GET /healthz, GET /readyz, GET /metrics) and the event workers.\n\nEnvironment (name, default, meaning):\n" + config.Usage(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := config.LoadEnv()
			if err != nil {
				return err
			}
			if err := env.RequireServe(); err != nil {
				return err
			}
			var file *config.File
			if env.ConfigFile != "" {
				if file, err = config.LoadFile(env.ConfigFile); err != nil {
					return err
				}
			}
			log := newLogger(stderr, env.LogLevel, env.LogFormat)
			if file.ChannelFor("", "", env.SlackChannel) == "" {
				log.Warn("no default channel (SLACK_CHANNEL or default_channel in OPSGATE_CONFIG): incidents of unrouted services cannot be posted")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := app.New(ctx, app.Options{Env: env, File: file, Log: log})
			if err != nil {
				return err
			}
			defer a.Close()
			ln, err := net.Listen("tcp", env.ListenAddr)
			if err != nil {
				return fmt.Errorf("OPSGATE_LISTEN_ADDR: %w", err)
			}
			return a.Serve(ctx, ln)
		},
	}
}

func demoCmd(stdout, stderr io.Writer) *cobra.Command {
	var saveFiles string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run opsgate end to end against local stand-ins for Slack and PagerDuty and print the thread",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err := demo.RunWith(ctx, stdout, newLogger(stderr, "warn", "text"), demo.Options{SaveFiles: saveFiles})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&saveFiles, "save-files", "", "write every file the local Slack stand-in received (the metric charts, the postmortem draft) into this directory")
	return cmd
}

func versionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = " " + s.Value
					}
				}
			}
			fmt.Fprintf(stdout, "opsgate %s%s (%s %s/%s)\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}

// loadConfig reads the config file at path ("" = none) and its redaction
// engine (the default engine without a file).
func loadConfig(path string) (*config.File, *redact.Engine, error) {
	if path == "" {
		return nil, redact.Default(), nil
	}
	f, err := config.LoadFile(path)
	if err != nil {
		return nil, nil, err
	}
	e, err := f.Engine()
	if err != nil {
		return nil, nil, err
	}
	return f, e, nil
}

// envEngine is the redaction engine of OPSGATE_CONFIG (the default
// engine without one).
func envEngine() (*redact.Engine, error) {
	env, err := config.LoadEnv()
	if err != nil {
		return nil, err
	}
	return engineFor(env.ConfigFile)
}

// engineFor is the redaction engine of the config file at path.
func engineFor(path string) (*redact.Engine, error) {
	_, e, err := loadConfig(path)
	return e, err
}
