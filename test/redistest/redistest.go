// Package redistest starts a real redis-server for a test, on a free
// loopback port with its own temporary directory, and stops it afterwards.
// Tests fail (not skip) when redis-server cannot be found or started.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	args []string      // extra arguments (cluster mode, replicaof, …)
	conf string        // a config file given first (Sentinel), written with the port
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is a redis:// URL for REDIS_URL.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Client returns a go-redis client closed at cleanup.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

func findBinary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("redis-server not found in PATH: install it (apt-get install redis-server) or run `make test`, which does")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a redis-server for t and registers its shutdown.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t)
}

// StartWith starts a redis-server with extra arguments.
func StartWith(t testing.TB, args ...string) *Server {
	t.Helper()
	return startServer(t, "", args...)
}

// startServer starts a server; conf, when set, is a config file template
// ("%d" for the port) given before the arguments (Sentinel's).
func startServer(t testing.TB, conf string, args ...string) *Server {
	t.Helper()
	bin, err := findBinary()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: args, conf: conf}
	var lastErr error
	for try := 0; try < 5; try++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		s.Port = port
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("redistest: cannot start redis-server: %v", lastErr)
	return nil
}

func (s *Server) start() error {
	logFile := filepath.Join(s.dir, "redis.log")
	var argv []string
	if s.conf != "" {
		conf := filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(conf, []byte(fmt.Sprintf(s.conf, s.Port)), 0o600); err != nil {
			return err
		}
		argv = append(argv, conf, "--sentinel")
	}
	argv = append(argv, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", logFile, "--daemonize", "no", "--protected-mode", "yes")
	if s.conf != "" { // Sentinel takes no persistence options
		argv = []string{argv[0], argv[1], "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.dir, "--logfile", logFile, "--daemonize", "no", "--protected-mode", "no"}
	}
	argv = append(argv, s.args...)
	cmd := exec.Command(s.bin, argv...)
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	exited := make(chan error, 1)
	done := make(chan struct{})
	s.done = done
	go func() { err := cmd.Wait(); close(done); exited <- err }()
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			s.cmd = nil
			return fmt.Errorf("redis-server exited: %v; log: %s", err, tail(logFile))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	s.cmd = nil
	return fmt.Errorf("redis-server did not answer PING within 10s; log: %s", tail(logFile))
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 5 {
			lines = lines[1:]
		}
	}
	return fmt.Sprint(lines)
}

// Kill stops the server at once (SIGKILL); its data is gone.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
}

// Restart kills and starts the server again on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	for try := 0; try < 20; try++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart failed: %v", err)
}
