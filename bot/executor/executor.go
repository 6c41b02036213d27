// Package executor runs approved catalog actions: kubectl and commands as
// argument vectors (never a shell), with an environment allowlist, a
// working directory, an output cap and a timeout; HTTP requests to URLs
// fixed in the config. Dry runs show the exact argument vector or request
// and, for kubectl, ask the API server (--dry-run=server).
package executor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/procgroup"
	"github.com/opsgate/opsgate/bot/retry"
)

// errUnsupported is an executor this runner cannot run (e.g. ssh without keys).
var errUnsupported = errors.New("executor not available")

// Result is what a run did.
type Result struct {
	Argv     []string      `json:"argv"`
	DryRun   bool          `json:"dry_run,omitempty"`
	ExitCode int           `json:"exit_code"`
	Output   string        `json:"output"` // capped; raw — mask before posting
	Capped   bool          `json:"capped,omitempty"`
	Digest   string        `json:"digest"` // sha256 of the whole output
	Took     time.Duration `json:"took"`
}

// Runner runs executors.
type Runner struct {
	Kubectl     string   // program (default "kubectl")
	KubectlArgs []string // from config: --context, --kubeconfig …, before the action's arguments
	HTTP        *http.Client
	SSH         *SSH // nil: the ssh executor is unavailable
	MaxOutput   int  // default 64 KiB

	PrometheusURL string        // for verify: prometheus
	VerifyEvery   time.Duration // poll interval (default 15s)
	Sleep         retry.Sleeper // nil: a real timer

	dryRuns   sync.Map // kubectl subcommand → takes --dry-run
	cacheOnce sync.Once
	cache     string
	cacheErr  error
}

// capWriter keeps the first n bytes of a program's output and hashes all
// of it.
type capWriter struct {
	n    int
	buf  bytes.Buffer
	hash hash.Hash
	over bool
}

func (r *Runner) capture() *capWriter { return &capWriter{n: r.maxOutput(), hash: sha256.New()} }

// fill records the captured output, whether it was cut, and its digest.
func (c *capWriter) fill(res *Result) {
	res.Output, res.Capped, res.Digest = c.buf.String(), c.over, hex.EncodeToString(c.hash.Sum(nil))
}

func (c *capWriter) Write(p []byte) (int, error) {
	_, _ = c.hash.Write(p)
	if room := c.n - c.buf.Len(); room < len(p) {
		c.buf.Write(p[:max(room, 0)])
		c.over = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

// ErrNoDryRun: the tool has no server-side dry run for this command
// (kubectl rollout restart, for one); the argument vector is the preview.
var ErrNoDryRun = errors.New("no server-side dry run")

// subcommand is the leading words of a kubectl argument vector
// ("rollout restart"), before the first resource, value or flag.
func subcommand(slots []string) string {
	var words []string
	for _, s := range slots {
		if strings.ContainsAny(s, "/=-.{") || len(words) == 2 {
			break
		}
		words = append(words, s)
	}
	return strings.Join(words, " ")
}

// cacheDir is kubectl's discovery cache: a private (0700) directory made
// once per runner, never a shared path another user could plant.
func (r *Runner) cacheDir() (string, error) {
	r.cacheOnce.Do(func() { r.cache, r.cacheErr = os.MkdirTemp("", "opsgate-kubectl-") })
	if r.cacheErr != nil {
		return "", fmt.Errorf("kubectl cache directory: %w", r.cacheErr)
	}
	return r.cache, nil
}

// dryRunFlag matches --dry-run in the flags section of kubectl's help
// (an indented "--dry-run=..." line), not in its examples ("kubectl ...").
var dryRunFlag = regexp.MustCompile(`(?m)^\s+--dry-run[=:\s]`)

// withDryRun places --dry-run=server among the flags: before a "--"
// (after which kubectl passes arguments on to a container), never after.
func withDryRun(args []string) []string {
	out := make([]string, 0, len(args)+1)
	for i, a := range args {
		if a == "--" {
			out = append(append(out, "--dry-run=server"), args[i:]...)
			return out
		}
		out = append(out, a)
	}
	return append(out, "--dry-run=server")
}

// kubectlDryRuns asks kubectl's own help whether the subcommand takes
// --dry-run (answers are cached per program and subcommand).
func (r *Runner) kubectlDryRuns(ctx context.Context, prog string, slots []string) bool {
	key := prog + "\x00" + subcommand(slots)
	if v, ok := r.dryRuns.Load(key); ok {
		return v.(bool)
	}
	args := append(strings.Fields(subcommand(slots)), "--help")
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C"}
	out, err := cmd.Output()
	ok := err == nil && dryRunFlag.Match(out)
	if err == nil {
		r.dryRuns.Store(key, ok)
	}
	return ok
}

// Run validates params and executes action id's run (or undo) within the
// action's timeout.
func (r *Runner) Run(ctx context.Context, s catalog.Scoped, id string, undo bool, params map[string]string, dryRun bool) (Result, error) {
	argv, err := s.Render(id, undo, params)
	if err != nil {
		return Result{}, err
	}
	spec, _ := s.Catalog.Get(id)
	e := spec.Exec(undo) // Render has checked it exists
	timeout := spec.Timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case len(e.Kubectl) > 0:
		prog := r.Kubectl
		if prog == "" {
			prog = "kubectl"
		}
		// kubectl's discovery cache goes to a private directory, never
		// into opsgate's working directory; HOME and KUBECONFIG pass
		// through so a kubeconfig works as it does in the operator's shell,
		// and KUBERNETES_SERVICE_HOST/PORT so kubectl in a pod finds the API
		// with the pod's service account (the Helm chart's Role).
		cache, err := r.cacheDir()
		if err != nil {
			return Result{Argv: argv}, err
		}
		args := append(append([]string{"--cache-dir=" + cache}, r.KubectlArgs...), argv[1:]...)
		if dryRun {
			if !r.kubectlDryRuns(ctx, prog, argv[1:]) {
				return Result{Argv: append([]string{prog}, args...), DryRun: true}, fmt.Errorf("%w: kubectl %s", ErrNoDryRun, subcommand(argv[1:]))
			}
			args = withDryRun(args)
		}
		return r.command(ctx, prog, args, kubectlEnv, "", dryRun)
	case e.Command != nil:
		if dryRun {
			return Result{Argv: argv, DryRun: true}, nil
		}
		return r.command(ctx, argv[0], argv[1:], e.Command.Env, e.Command.Dir, false)
	case e.HTTP != nil:
		if dryRun {
			return Result{Argv: argv, DryRun: true}, nil
		}
		return r.http(ctx, argv[0], argv[1], argv[2], e.HTTP.Expect)
	case e.SSH != nil:
		if dryRun {
			return Result{Argv: argv, DryRun: true}, nil
		}
		return r.runSSH(ctx, argv, e.SSH.KnownHosts)
	}
	return Result{Argv: argv}, fmt.Errorf("%w: %s", errUnsupported, argv[0])
}

// kubectlEnv is what kubectl may see of opsgate's environment.
var kubectlEnv = []string{"HOME", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"}

func (r *Runner) command(ctx context.Context, prog string, args, envAllow []string, dir string, dryRun bool) (Result, error) {
	out := r.capture()
	cmd := exec.CommandContext(ctx, prog, args...)
	procgroup.Own(cmd) // a timeout kills what the program started, too
	cmd.Stdout, cmd.Stderr, cmd.Dir = out, out, dir
	// Only allowlisted variables (and PATH) reach the program: opsgate's
	// own secrets never do.
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C"}
	for _, name := range envAllow {
		if v, ok := os.LookupEnv(name); ok && name != "PATH" {
			env = append(env, name+"="+v)
		}
	}
	cmd.Env = env
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	res := Result{Argv: append([]string{prog}, args...), DryRun: dryRun, Took: time.Since(start)}
	out.fill(&res)
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("%s: timed out: %w", prog, ctx.Err())
		}
		return res, fmt.Errorf("%s: %w", prog, err)
	}
	return res, nil
}

func (r *Runner) http(ctx context.Context, method, url, body string, expect int) (Result, error) {
	hc := r.client()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return Result{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	res := Result{Argv: []string{method, url, body}}
	resp, err := hc.Do(req)
	if err != nil {
		return res, fmt.Errorf("%s %s: %w", method, url, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	out := r.capture()
	_, _ = io.Copy(out, io.LimitReader(resp.Body, 16<<20))
	out.fill(&res)
	res.ExitCode, res.Took = resp.StatusCode, time.Since(start)
	if expect == 0 {
		expect = http.StatusOK
	}
	if resp.StatusCode != expect {
		return res, fmt.Errorf("%s %s: HTTP %d, expected %d", method, url, resp.StatusCode, expect)
	}
	return res, nil
}

func (r *Runner) maxOutput() int {
	if r.MaxOutput <= 0 {
		return 64 << 10
	}
	return r.MaxOutput
}
