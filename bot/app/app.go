// Package app wires opsgate together from its configuration: Redis (or the
// embedded store), the queue and its workers, Slack and PagerDuty clients,
// and the HTTP server.
package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"google.golang.org/genai"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/durable"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/execution"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/metrics"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/bot/sanitize"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/bot/server"
	"github.com/opsgate/opsgate/bot/socket"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/integrations/gemini"
	"github.com/opsgate/opsgate/integrations/openai"
	"github.com/opsgate/opsgate/knowledge/kb"
)

// IncidentTTL is how long an incident record lives after its last change.
const IncidentTTL = 90 * 24 * time.Hour

// Options are what New needs besides the environment.
type Options struct {
	Env   *config.Env
	File  *config.File          // nil = no config file
	Log   *slog.Logger          // nil = slog.Default()
	Redis redis.UniversalClient // nil = from REDIS_URL, or embedded
	Now   func() time.Time
	// Retry policies (zero = production defaults). Tests shorten them.
	SlackRetry, PagerDutyRetry, GeminiRetry retry.Policy
	LockWait, LockTTL                       time.Duration
	ConsumerBlock                           time.Duration
	// SweepEvery is how often stalled executions are looked for (0 = 30s).
	SweepEvery time.Duration
	// SMTPTLS verifies the SMTP server (nil: the system's roots); tests
	// trust their own server's certificate with it.
	SMTPTLS *tls.Config
}

// App is a wired opsgate instance.
type App struct {
	Env       *config.Env
	Log       *slog.Logger
	Redis     redis.UniversalClient
	Queue     *queue.Queue
	Store     *incident.Store
	Contexts  *enrich.Store
	Proposals *approval.Store
	Guard     *sanitize.Guard
	Vault     *view.Vault
	Audit     *audit.Log
	Anchorer  *audit.Anchorer
	Keys      *seal.Keyring   // seals the vault, the queue, records and tickets in Redis
	Durable   *durable.Waiter // waits for replicas before a write is acted on (REDIS_WAIT_REPLICAS)
	KB        *kb.KB
	Metrics   *metrics.Metrics
	// Jobs hands each queued job to its handler.
	Jobs jobs.Mux
	// Executor runs approved actions and sweeps stalled ones.
	Executor *execution.Executor
	Handler  http.Handler
	embedded *miniredis.Miniredis
	modals   server.Modals // Slack's views.open (wire)
	server   *server.Server
	opts     Options
	ownRedis bool
}

// ErrRedis is returned when Redis cannot be reached at start.
var ErrRedis = errors.New("redis unreachable")

// New wires an App. Close it when done.
func New(ctx context.Context, o Options) (*App, error) {
	a := &App{Env: o.Env, Log: o.Log, opts: o}
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
		a.opts.Now = time.Now
	}
	if err := a.connectRedis(ctx, o.Redis); err != nil {
		return nil, err
	}
	var err error
	auditKey := a.resolveKeys()
	if a.Audit, err = audit.New(a.Redis, auditKey, o.Now); err != nil {
		a.Close()
		return nil, err
	}
	a.Anchorer = &audit.Anchorer{Log: a.Audit, File: o.Env.AuditAnchor, Every: o.Env.AuditAnchorEvery, Interval: o.Env.AuditAnchorInterval,
		Retention: o.Env.AuditRetention, Logger: a.Log, Now: o.Now}
	if err := a.Anchorer.Resume(); err != nil {
		a.Close()
		return nil, fmt.Errorf("OPSGATE_AUDIT_ANCHOR: %w", err)
	}
	a.Metrics = metrics.New()
	a.Queue = queue.New(a.Redis, a.Keys)
	a.Durable = &durable.Waiter{Redis: a.Redis, Replicas: o.Env.WaitReplicas(), Timeout: o.Env.RedisWaitTimeout}
	a.Queue.Durable = a.Durable
	if err := a.Queue.Setup(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if n := a.Durable.Replicas; n > 0 {
		// Say at start what every webhook would otherwise only show as a 503.
		if err := a.Durable.Wait(ctx, a.Queue.Stream); err != nil {
			a.Log.Warn("Redis replicas do not acknowledge writes: every webhook will be answered 503 until they do "+
				"(a store without replicas needs REDIS_WAIT_REPLICAS=0)", "REDIS_WAIT_REPLICAS", n, "err", err)
		}
	}
	a.Store = incident.NewStore(a.Redis, IncidentTTL, o.Now)
	a.Store.Keys = a.Keys
	engine, err := o.File.Engine()
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("%w: OPSGATE_CONFIG: %v", config.ErrInvalid, err)
	}
	if a.KB, err = OpenKB(ctx, a.Redis, a.Keys, o.Env, engine); err != nil {
		a.Close()
		return nil, err
	}

	if err := a.wire(ctx); err != nil {
		a.Close()
		return nil, err
	}
	srv := &server.Server{
		Queue: a.Queue, Incidents: a.Store, Redis: a.Redis,
		WebhookSecrets: o.Env.PagerDutyWebhookSecrets.Reveal(), SigningSecret: o.Env.SlackSigningSecret.Reveal(),
		TeamID: o.Env.SlackTeamID, AppID: o.Env.SlackAppID,
		CanFetch: o.Env.PagerDutyAPIToken != "", MaxAge: o.Env.WebhookMaxAge, Now: o.Now, Log: a.Log, Metrics: a.Metrics,
		Guard: a.Guard.Mask, Audit: a.Audit, Modals: a.modals,
	}
	a.Handler = srv.Handler()
	a.server = srv
	return a, nil
}

// resolveKeys sets the vault keyring and returns the audit key, from the
// environment; what is unset is generated for this process (with a
// warning: serve refuses that with a durable store, see RequireServe).
func (a *App) resolveKeys() []byte {
	a.Keys = a.Env.Keyring()
	if a.Keys == nil {
		a.Keys = seal.Ephemeral()
		a.Log.Warn("OPSGATE_VAULT_KEY is unset: state in Redis is encrypted with a key generated for this process and is unreadable after it exits")
	}
	key := a.Env.AuditKeyBytes()
	if key == nil {
		key, _ = seal.DecodeKey(seal.GenerateKey())
		a.Log.Warn("OPSGATE_AUDIT_KEY is unset: the audit trail is keyed with a key generated for this process and cannot be verified after it exits")
	}
	return key
}

func (a *App) connectRedis(ctx context.Context, given redis.UniversalClient) error {
	if given != nil {
		a.Redis = given
		return ping(ctx, given)
	}
	rdb, embedded, err := ConnectRedis(ctx, a.Env, a.Log)
	if err != nil {
		return err
	}
	a.Redis, a.embedded, a.ownRedis = rdb, embedded, true
	return nil
}

func ping(ctx context.Context, rdb redis.UniversalClient) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrRedis, err)
	}
	return nil
}

// ConnectRedis connects to what the REDIS_* variables name — one node,
// a Sentinel-managed master or a Cluster — or starts the embedded store
// (with a warning) when none is named. The embedded store, if any, must
// be closed by the caller after the client.
func ConnectRedis(ctx context.Context, env *config.Env, log *slog.Logger) (redis.UniversalClient, *miniredis.Miniredis, error) {
	var rdb redis.UniversalClient
	var embedded *miniredis.Miniredis
	if env.RedisConfigured() {
		opt, err := env.RedisOptions()
		if err != nil {
			return nil, nil, err
		}
		rdb = redis.NewUniversalClient(opt)
	} else {
		m, err := miniredis.Run()
		if err != nil {
			return nil, nil, fmt.Errorf("embedded store: %w", err)
		}
		embedded = m
		rdb = redis.NewClient(&redis.Options{Addr: m.Addr()})
		log.Warn("REDIS_URL is unset: using an embedded in-process store; state is not durable and not shared between replicas")
	}
	if err := ping(ctx, rdb); err != nil {
		_ = rdb.Close()
		if embedded != nil {
			embedded.Close()
		}
		return nil, nil, err
	}
	return rdb, embedded, nil
}

// Close releases Redis (and the embedded store).
func (a *App) Close() {
	if a.ownRedis && a.Redis != nil {
		_ = a.Redis.Close()
	}
	if a.embedded != nil {
		a.embedded.Close()
	}
}

func consumerPrefix() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// RunWorkers runs the configured number of consumers until ctx ends, and
// the audit anchorer until they have stopped (its last anchor covers
// everything they audited).
func (a *App) RunWorkers(ctx context.Context) {
	prefix := consumerPrefix()
	actx, stopAnchors := context.WithCancel(context.WithoutCancel(ctx))
	anchored := make(chan struct{})
	go func() { a.Anchorer.Run(actx); close(anchored) }()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.KB.Follow(ctx, 2*time.Second) }() // other replicas' tickets
	wg.Add(1)
	go func() { defer wg.Done(); a.sweep(ctx, a.opts.SweepEvery) }()
	for i := 0; i < a.Env.Workers; i++ {
		c := &queue.Consumer{
			Queue: a.Queue, Name: fmt.Sprintf("%s-%d", prefix, i), Handle: a.Jobs.Handle,
			Block: a.opts.ConsumerBlock, MinIdle: a.Env.ReclaimIdle, MaxAge: a.Env.WebhookMaxAge,
			Log: a.Log, Now: a.opts.Now, Observe: a.Metrics.ObserveEvent, Refused: a.auditRefused,
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
	}
	wg.Wait()
	stopAnchors()
	<-anchored
}

// auditRefused records a queue entry opsgate did not write: someone with
// access to Redis tried to slip a job in.
func (a *App) auditRefused(ctx context.Context, r queue.Refusal) {
	_, err := a.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: audit.System, Action: "job_refused",
		Details: map[string]string{"stream_id": r.StreamID, "kind": a.Guard.Mask(r.Kind), "reason": r.Reason,
			"payload_bytes": fmt.Sprint(r.Bytes), "payload_sha256": r.SHA256}})
	if err != nil {
		a.Log.Error("refused queue entry not audited", "id", r.StreamID, "err", err)
	}
}

// sweep reports stalled executions every interval (each replica sweeps;
// each stalled execution is reported once).
func (a *App) sweep(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := a.Executor.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn("stalled-execution sweep failed", "err", err)
		} else if n > 0 {
			a.Log.Error("stalled executions reported", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Serve listens on ln and runs the workers until ctx ends, then drains:
// the HTTP server stops accepting, in-flight requests finish, workers stop
// between entries (an interrupted entry stays pending for another replica).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	workersDone := make(chan struct{})
	go func() { a.RunWorkers(wctx); close(workersDone) }()
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if a.Env.SlackAppToken != "" {
		go func() { errc <- a.RunSocketMode(wctx) }()
	}
	a.Log.Info("opsgate listening", "addr", ln.Addr().String(), "workers", a.Env.Workers, "socket_mode", a.Env.SlackAppToken != "")
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	stopWorkers()
	<-workersDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// RunSocketMode receives Slack's requests over Socket Mode (with
// SLACK_APP_TOKEN) until ctx ends; Serve runs it.
func (a *App) RunSocketMode(ctx context.Context) error {
	api := slack.New(a.Env.SlackBotToken.Reveal(), slack.OptionAppLevelToken(a.Env.SlackAppToken.Reveal()), slack.OptionAPIURL(a.Env.SlackAPIURL))
	client := socketmode.New(api, socketmode.OptionPingInterval(30*time.Second))
	r := &socket.Runner{Client: client, Events: client.Events, Handler: a.server, Redis: a.Redis, Log: a.Log}
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("slack socket mode: %w", err)
	}
	return nil
}

// OpenKB opens the knowledge base, with Gemini embeddings (hybrid search)
// when GEMINI_API_KEY is set; every text is masked with engine before it
// is embedded.
func OpenKB(ctx context.Context, rdb redis.UniversalClient, keys *seal.Keyring, env *config.Env, engine *redact.Engine) (*kb.KB, error) {
	store := kb.NewStore(rdb)
	store.Keys = keys
	k, err := kb.Open(ctx, store)
	if err != nil {
		return nil, err
	}
	if env.GeminiAPIKey != "" {
		emb, err := gemini.NewEmbedder(ctx, env.GeminiAPIKey.Reveal(), env.GeminiBaseURL, nil, retry.Policy{})
		if err != nil {
			return nil, fmt.Errorf("%w: GEMINI_API_KEY: %v", config.ErrInvalid, err)
		}
		k.SetEmbedder(sanitize.MaskedEmbedder{Embedder: emb, Engine: engine})
	}
	return k, nil
}

// NewAnalyzer builds the root-cause analyser: Gemini or an
// OpenAI-compatible endpoint as OPSGATE_LLM selects (JSON response schema, bounded retries, a circuit breaker), the
// extractive analysis otherwise. guard is the last-line secret check on
// every prompt.
func NewAnalyzer(ctx context.Context, env *config.Env, guard *sanitize.Guard, policy retry.Policy, log *slog.Logger) (*rca.Analyzer, error) {
	// 25 s bounds how long one analysis holds a worker (the queue's
	// heartbeat keeps a slow one from being reclaimed, so it is asked once);
	// a model slower than that gets the extractive analysis instead.
	an := &rca.Analyzer{Breaker: &rca.Breaker{Threshold: 5, Cooldown: time.Minute}, Timeout: 25 * time.Second, Log: log}
	if guard != nil {
		an.Guard = guard.Mask
	}
	m, err := newModel(ctx, env, policy, rca.Schema(), rca.JSONSchema())
	if err != nil || m == nil {
		return an, err
	}
	an.Model = m
	return an, nil
}

// newModel connects the configured model backend, asking for JSON of the
// given shape (the same shape written for Gemini and for OpenAI-compatible
// servers); nil when no model is configured.
func newModel(ctx context.Context, env *config.Env, policy retry.Policy, g *genai.Schema, j map[string]any) (rca.Model, error) {
	if policy.Attempts == 0 {
		policy = retry.Policy{Attempts: 3, Base: 500 * time.Millisecond}
	}
	switch env.Backend() {
	case "gemini":
		return gemini.NewGenerator(ctx, env.GeminiAPIKey.Reveal(), env.GeminiBaseURL, env.GeminiModel, g, nil, policy)
	case "openai":
		return openai.New(env.OpenAIBaseURL, env.OpenAIAPIKey.Reveal(), env.OpenAIModel, j, nil, policy), nil
	}
	return nil, nil
}

// newUpdateModel is the model that rewrites stakeholder updates:
// {"update": "<text>"}.
func newUpdateModel(ctx context.Context, env *config.Env, policy retry.Policy) (rca.Model, error) {
	return newModel(ctx, env, policy,
		&genai.Schema{Type: genai.TypeObject, Required: []string{"update"}, Properties: map[string]*genai.Schema{"update": {Type: genai.TypeString}}},
		map[string]any{"type": "object", "required": []string{"update"}, "properties": map[string]any{"update": map[string]any{"type": "string"}}, "additionalProperties": false})
}
