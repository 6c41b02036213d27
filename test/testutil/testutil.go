// Package testutil holds what unit and end-to-end tests share: a Slack
// client wired to the fake Slack with retries that never sleep, a
// goroutine-safe log buffer, and a bounded wait for asynchronous work.
package testutil

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// SlackToken is the bot token the fake Slack of Slack() accepts.
const SlackToken = "xoxb-unit-test-token-0123456789"

// NoSleep retries at once (the waits are not timed in unit tests).
var NoSleep = retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}

// Slack starts a fake Slack knowing channels (id → name) and a client for
// it; both are closed when t ends.
func Slack(t testing.TB, channels map[string]string) (*fakeslack.Server, *slackapi.Client) {
	t.Helper()
	fs := fakeslack.New(SlackToken, channels)
	t.Cleanup(fs.Close)
	return fs, slackapi.New(fs.APIURL(), SlackToken, nil, NoSleep)
}

// Buffer is a goroutine-safe bytes.Buffer (for logs).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *Buffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *Buffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Logger logs at debug level into a new Buffer.
func Logger() (*slog.Logger, *Buffer) {
	b := &Buffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// Eventually waits until cond holds, woken by changed (nil: polls), and
// fails the test after a generous deadline — a bound on a hang, not a
// timing assertion.
func Eventually(t testing.TB, what string, changed func() <-chan struct{}, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		var wake <-chan struct{}
		if changed != nil {
			wake = changed()
		}
		select {
		case <-wake:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// AuditKey is a fixed audit key for tests.
var AuditKey = []byte("opsgate-test-audit-key-32-bytes!")

// Audit returns an audit log on rdb keyed with AuditKey.
func Audit(t testing.TB, rdb redis.Cmdable, now func() time.Time) *audit.Log {
	t.Helper()
	l, err := audit.New(rdb, AuditKey, now)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Discard is a logger that drops everything.
func Discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
