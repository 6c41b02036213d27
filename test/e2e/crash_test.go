package e2e

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/app"
	"github.com/opsgate/opsgate/bot/config"
)

// TestHelperWorker is not a test: run as a child process, it is an opsgate
// worker replica (configured from the environment) that the parent kills.
func TestHelperWorker(t *testing.T) {
	if os.Getenv("OPSGATE_HELPER_WORKER") != "1" {
		t.Skip("helper process for TestWorkerKilledBeforeAckIsReclaimed")
	}
	env, err := config.LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	var file *config.File
	if env.ConfigFile != "" {
		if file, err = config.LoadFile(env.ConfigFile); err != nil {
			t.Fatal(err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, app.Options{Env: env, File: file, Log: slog.New(slog.NewTextHandler(os.Stderr, nil)), ConsumerBlock: 50 * time.Millisecond, LockTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a.RunWorkers(ctx)
}

// A replica reads an event, starts posting to Slack and is SIGKILLed before
// it can record the post or ack the event. Its post still lands in Slack.
// Another replica reclaims the pending event (XAUTOCLAIM), finds the parent
// by its metadata instead of posting a second one, and acks.
func TestWorkerKilledBeforeAckIsReclaimed(t *testing.T) {
	e := startWithoutWorkers(t)
	release := e.slack.Hang("chat.postMessage")
	defer release()

	child := exec.Command(os.Args[0], "-test.run=^TestHelperWorker$", "-test.v")
	child.Env = append(os.Environ(),
		"OPSGATE_HELPER_WORKER=1", "REDIS_URL="+e.redis.URL(), "SLACK_BOT_TOKEN="+slackToken, "SLACK_API_URL="+e.slack.APIURL(),
		"SLACK_CHANNEL="+channel, "OPSGATE_WORKERS=1", "OPSGATE_RECLAIM_IDLE=1h")
	child.Env = append(child.Env, e.keyVars()...)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = child.Wait(); close(exited) }()
	defer func() { _ = child.Process.Kill(); <-exited }()

	if code, body := e.postWebhook(incidentEvent("EVT-KILL", "incident.triggered", "PINC900", "triggered", time.Now()), pdSecret); code != 202 {
		t.Fatalf("%d %s", code, body)
	}
	e.eventually("the child to start posting", func() bool { return e.slack.Calls("chat.postMessage") == 1 })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	release() // the post the dead worker sent reaches Slack anyway
	e.eventually("the orphaned post", func() bool { return len(e.slack.Threads(channel)) == 1 })
	if p, _ := e.app.Queue.Pending(context.Background()); p != 1 {
		t.Fatalf("pending = %d, want the killed worker's event", p)
	}

	e.runWorkers()
	e.settled()
	e.eventually("parent brought up to date", func() bool { return e.slack.Threads(channel)[0].Edits == 1 })
	if n := len(e.slack.Threads(channel)); n != 1 {
		t.Fatalf("threads = %d, want 1\n%s", n, e.slack.Transcript(channel))
	}
	if p, _ := e.app.Queue.Pending(context.Background()); p != 0 {
		t.Fatalf("pending = %d after reclaim", p)
	}
	rec, err := e.app.Store.Get(context.Background(), "PINC900")
	if err != nil || rec.Thread.TS != e.slack.Threads(channel)[0].TS {
		t.Fatalf("record thread %+v, err %v", rec.Thread, err)
	}
}
