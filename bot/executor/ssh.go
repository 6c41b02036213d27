package executor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSH holds what the ssh executor needs besides the action: the private
// key (from the config or a secret mount, never from a proposal) and the
// port.
type SSH struct {
	KeyFile string
	Port    int // default 22
}

// shellQuote quotes one argument for the remote POSIX shell: the remote
// side receives a command string, so every slot is single-quoted.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runSSH runs the rendered ["ssh", "user@host", "--", cmd…] on host with
// its key checked against knownHosts.
func (r *Runner) runSSH(ctx context.Context, argv []string, knownHosts string) (Result, error) {
	res := Result{Argv: argv}
	if r.SSH == nil || r.SSH.KeyFile == "" {
		return res, fmt.Errorf("%w: ssh needs a key file", errUnsupported)
	}
	user, host, _ := strings.Cut(argv[1], "@")
	cmd := make([]string, 0, len(argv)-3)
	for _, a := range argv[3:] {
		cmd = append(cmd, shellQuote(a))
	}
	keyPEM, err := os.ReadFile(r.SSH.KeyFile)
	if err != nil {
		return res, fmt.Errorf("ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return res, fmt.Errorf("ssh key: %w", err)
	}
	hostKeys, err := knownhosts.New(knownHosts)
	if err != nil {
		return res, fmt.Errorf("known_hosts: %w", err)
	}
	port := r.SSH.Port
	if port == 0 {
		port = 22
	}
	addr := net.JoinHostPort(host, fmt.Sprint(port))
	deadline, _ := ctx.Deadline()
	cfg := &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hostKeys, Timeout: time.Until(deadline)}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return res, fmt.Errorf("ssh %s: %w", host, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		_ = conn.Close()
		return res, fmt.Errorf("ssh %s: %w", host, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return res, fmt.Errorf("ssh %s: %w", host, err)
	}
	defer sess.Close()
	out := r.capture()
	sess.Stdout, sess.Stderr = out, out
	start := time.Now()
	err = sess.Run(strings.Join(cmd, " "))
	out.fill(&res)
	res.Took = time.Since(start)
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		res.ExitCode = exit.ExitStatus()
	}
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("ssh %s: timed out: %w", host, ctx.Err())
		}
		return res, fmt.Errorf("ssh %s: %w", host, err)
	}
	return res, nil
}
