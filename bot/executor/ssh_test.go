package executor_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
)

// sshServer is a minimal in-test SSH server: public-key auth for one key,
// "exec" requests recorded and answered with exit status 0.
type sshServer struct {
	ln       net.Listener
	hostKey  ssh.Signer
	mu       sync.Mutex
	commands []string
}

func startSSH(t *testing.T, allowed ssh.PublicKey) *sshServer {
	t.Helper()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hk, _ := ssh.NewSignerFromKey(hostPriv)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(k.Marshal(), allowed.Marshal()) {
			return nil, nil
		}
		return nil, os.ErrPermission
	}}
	cfg.AddHostKey(hk)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{ln: ln, hostKey: hk}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cfg)
		}
	}()
	return s
}

func (s *sshServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		c.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			for r := range creqs {
				if r.Type != "exec" || len(r.Payload) < 4 {
					_ = r.Reply(false, nil)
					continue
				}
				n := binary.BigEndian.Uint32(r.Payload)
				cmd := string(r.Payload[4 : 4+n])
				s.mu.Lock()
				s.commands = append(s.commands, cmd)
				s.mu.Unlock()
				_ = r.Reply(true, nil)
				_, _ = ch.Write([]byte("ran: " + cmd + "\n"))
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
				ch.Close()
			}
		}()
	}
}

func TestSSHExecutorChecksHostKeysAndQuotes(t *testing.T) {
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	keyFile := filepath.Join(dir, "id_ed25519")
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)
	sshPub, _ := ssh.NewPublicKey(pub)
	srv := startSSH(t, sshPub)
	port := srv.ln.Addr().(*net.TCPAddr).Port
	known := filepath.Join(dir, "known_hosts")
	_ = os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize("127.0.0.1:" + strconv.Itoa(port))}, srv.hostKey.PublicKey())+"\n"), 0o600)

	specs := []catalog.Spec{{ID: "drain", Risk: catalog.RiskHigh, Approvals: catalog.Approvals{Required: 1},
		Params: map[string]*catalog.Param{"host": {EnumFrom: "scope.hosts"}, "reason": {Pattern: `[a-z' ]+`}},
		Run:    catalog.Exec{SSH: &catalog.SSHExec{Host: "{{.host}}", User: "ops", Command: []string{"/usr/local/sbin/drain", "--reason", "{{.reason}}"}, KnownHosts: known}}}}
	c, err := catalog.New(specs)
	if err != nil {
		t.Fatal(err)
	}
	s := c.For(catalog.Scope{Hosts: []string{"127.0.0.1"}})
	r := &executor.Runner{SSH: &executor.SSH{KeyFile: keyFile, Port: port}}
	res, err := r.Run(context.Background(), s, "drain", false, map[string]string{"host": "127.0.0.1", "reason": "it's slow"}, false)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	srv.mu.Lock()
	got := srv.commands
	srv.mu.Unlock()
	// Every slot arrives single-quoted: the remote shell sees one argument per slot.
	if len(got) != 1 || got[0] != `'/usr/local/sbin/drain' '--reason' 'it'\''s slow'` || !strings.Contains(res.Output, "ran: ") {
		t.Fatalf("%q %q", got, res.Output)
	}
	if _, err := r.Run(context.Background(), s, "drain", false, map[string]string{"host": "10.0.0.9", "reason": "x"}, false); err == nil {
		t.Fatal("host outside the scope")
	}
	// A host whose key is not the known one is refused before any command.
	_ = os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize("127.0.0.1:" + strconv.Itoa(port))}, sshPub)+"\n"), 0o600)
	if _, err := r.Run(context.Background(), s, "drain", false, map[string]string{"host": "127.0.0.1", "reason": "x"}, false); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("mismatched host key accepted: %v", err)
	}
	srv.mu.Lock()
	if len(srv.commands) != 1 {
		t.Fatalf("a command ran on an unverified host: %q", srv.commands)
	}
	srv.mu.Unlock()
	if _, err := (&executor.Runner{}).Run(context.Background(), s, "drain", false, map[string]string{"host": "127.0.0.1", "reason": "x"}, false); err == nil {
		t.Fatal("ssh without a key file must refuse")
	}
}
