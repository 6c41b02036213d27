// Command opsgate is a ChatOps bot for incident response: PagerDuty
// incidents become Slack threads with sanitized context, similar past
// incidents, a cited root-cause analysis and approval-gated remediation.
package main

import (
	"os"

	"github.com/opsgate/opsgate/bot/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
