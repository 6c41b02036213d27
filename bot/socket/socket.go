// Package socket connects opsgate to Slack over Socket Mode: instead of
// Slack calling /slack/commands, /slack/interactions and /slack/events
// (which must then be reachable from the internet), opsgate opens a
// WebSocket to Slack (apps.connections.open with the app-level token) and
// receives the same requests as envelopes. Each envelope is handled the
// way its HTTP endpoint handles a request (the work is queued), then
// acknowledged — an envelope whose work could not be queued is not, so
// Slack delivers it again. Several replicas may each hold connections;
// Slack gives an envelope to one, and a redelivered envelope is handled
// once (its id is remembered in Redis). slack-go's client reconnects on
// Slack's "disconnect" and on network loss.
package socket

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack/socketmode"
)

// Handler handles one envelope like the HTTP endpoint of its type (a
// *server.Server).
type Handler interface {
	Envelope(ctx context.Context, typ string, payload json.RawMessage) (json.RawMessage, bool, error)
}

// Client is the Socket Mode connection (a *socketmode.Client).
type Client interface {
	RunContext(ctx context.Context) error
	Ack(req socketmode.Request, payload ...any) error
}

// Runner reads envelopes and handles them.
type Runner struct {
	Client  Client
	Events  <-chan socketmode.Event // the client's Events
	Handler Handler
	Redis   redis.Cmdable
	Log     *slog.Logger
}

// Slack wants an envelope acknowledged within 3 seconds.
const handleTimeout = 2500 * time.Millisecond

// How long an envelope id is remembered, and how long a replica may hold
// one it is working on.
const (
	doneFor       = time.Hour
	processingFor = 10 * time.Second
)

func key(id string) string { return "opsgate:socket:envelope:" + id }

// Run keeps the connection up and handles envelopes until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- r.Client.RunContext(ctx) }()
	// Envelopes are handled side by side (each may wait on Redis for a
	// moment; a burst must still be acknowledged within Slack's 3 s),
	// bounded so a flood cannot start unbounded work.
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt, ok := <-r.Events:
			if !ok {
				return nil
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				r.event(ctx, evt)
			}()
		}
	}
}

// maxInFlight bounds the envelopes handled at once on one replica.
const maxInFlight = 32

func (r *Runner) log() *slog.Logger { return cmp.Or(r.Log, slog.Default()) }

func (r *Runner) event(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			r.envelope(ctx, string(evt.Type), *evt.Request)
		}
	case socketmode.EventTypeConnected:
		r.log().Info("Slack Socket Mode connected")
	case socketmode.EventTypeDisconnect:
		r.log().Info("Slack asked to reconnect (Socket Mode)")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth, socketmode.EventTypeIncomingError:
		r.log().Warn("Slack Socket Mode", "event", string(evt.Type))
	}
}

func (r *Runner) envelope(ctx context.Context, typ string, req socketmode.Request) {
	k := key(req.EnvelopeID)
	first, err := r.Redis.SetNX(ctx, k, "processing", processingFor).Result()
	if err != nil {
		r.log().Warn("socket mode envelope not handled: Redis", "type", typ, "err", err)
		return // not acked: Slack delivers it again
	}
	if !first {
		if v, _ := r.Redis.Get(ctx, k).Result(); v == "done" {
			r.ack(req, nil) // handled before (a redelivery): acknowledge only
		}
		return // being handled elsewhere: its ack will come from there
	}
	hctx, cancel := context.WithTimeout(ctx, handleTimeout)
	ack, ok, err := r.Handler.Envelope(hctx, typ, req.Payload)
	cancel()
	if !ok {
		r.log().Warn("socket mode envelope not handled; Slack will deliver it again", "type", typ, "err", err)
		r.Redis.Del(context.WithoutCancel(ctx), k)
		return
	}
	if err != nil {
		r.log().Warn("socket mode envelope refused", "type", typ, "err", err)
	}
	r.Redis.Set(context.WithoutCancel(ctx), k, "done", doneFor)
	r.ack(req, ack)
}

func (r *Runner) ack(req socketmode.Request, payload json.RawMessage) {
	var err error
	if len(payload) > 0 {
		err = r.Client.Ack(req, payload)
	} else {
		err = r.Client.Ack(req)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		r.log().Warn("socket mode ack failed", "envelope", req.EnvelopeID, "err", err)
	}
}
