package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/app"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/queue"
)

func env() *config.Env {
	return &config.Env{ListenAddr: "127.0.0.1:0", LogLevel: "warn", LogFormat: "text", Workers: 1, WebhookMaxAge: time.Hour, ReclaimIdle: time.Second,
		SlackBotToken: "xoxb-x", SlackSigningSecret: "s", SlackAPIURL: "http://127.0.0.1:1/api/", PagerDutyWebhookSecrets: config.Secrets{"p"},
		PagerDutyAPIURL: "http://127.0.0.1:1", GeminiModel: "gemini-2.5-flash"}
}

// Every job kind has its handler: a malformed payload of any kind is
// refused as malformed (dead-lettered), never as an unknown kind.
func TestEveryJobKindIsRegistered(t *testing.T) {
	a, err := app.New(context.Background(), app.Options{Env: env(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, k := range []jobs.Kind{jobs.KindPagerDuty, jobs.KindTriage, jobs.KindReveal, jobs.KindVerdict, jobs.KindDecision, jobs.KindPropose, jobs.KindSettled, jobs.KindSearch} {
		err := a.Jobs.Handle(context.Background(), queue.Entry{Kind: string(k), Payload: []byte(`{"event":{}}`)})
		if !errors.Is(err, queue.ErrPermanent) || errors.Is(err, jobs.ErrUnknownKind) {
			t.Errorf("%s: %v", k, err)
		}
	}
}

func TestABadConfigStopsTheStart(t *testing.T) {
	file, err := config.ParseFile([]byte("actions:\n  - id: x\n    run: {command: {argv: [\"/bin/true\"]}}\n    approvals: {required: 1}\n    risk: extreme\n"))
	if err == nil {
		_, err = app.New(context.Background(), app.Options{Env: env(), File: file, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("a catalog with an invalid risk started: %v", err)
	}
}
