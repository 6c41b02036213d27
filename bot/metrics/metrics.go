// Package metrics holds opsgate's Prometheus collectors, on a registry of
// its own so tests and several in-process instances do not collide.
package metrics

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the collectors.
type Metrics struct {
	Registry    *prometheus.Registry
	Webhooks    *prometheus.CounterVec   // by outcome
	SlackReqs   *prometheus.CounterVec   // slash commands and interactions by endpoint, outcome
	Events      *prometheus.CounterVec   // queue entries by kind, result
	EventTime   *prometheus.HistogramVec // handling time by kind
	SlackCalls  *prometheus.CounterVec   // Slack Web API calls by method, outcome
	GuardHits   *prometheus.CounterVec   // secrets the last-line guard had to mask, by kind
	SlackWaits  *prometheus.HistogramVec // waits for shared Slack rate limits, by method and reason
	PDCalls     *prometheus.CounterVec   // PagerDuty REST calls by operation, outcome
	ModelCalls  *prometheus.CounterVec   // model requests by backend, outcome
	Proposals   *prometheus.CounterVec   // proposal state changes, by the state reached
	Anchors     *prometheus.CounterVec   // audit anchors written, by outcome
	AnchorAt    prometheus.Gauge         // when the last audit anchor was written
	DeadLetters prometheus.Counter       // jobs dead-lettered or refused

	names []string // every metric registered (Names)
}

// register registers cs and remembers their names.
func (m *Metrics) register(cs ...prometheus.Collector) {
	m.Registry.MustRegister(cs...)
	for _, c := range cs {
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if f := fqName.FindStringSubmatch(d.String()); f != nil {
				m.names = append(m.names, f[1])
			}
		}
	}
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists the metrics opsgate exports (a histogram's series add
// _bucket, _sum and _count); the dashboard and alert rules are checked
// against it.
func (m *Metrics) Names() []string { return slices.Clone(m.names) }

// New registers the collectors on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_webhook_requests_total",
			Help: "PagerDuty webhook deliveries by outcome (accepted, duplicate, ping, bad_signature, malformed, stale, too_large, unavailable)."}, []string{"outcome"}),
		SlackReqs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_slack_requests_total",
			Help: "Slack slash commands and interactions received, by endpoint and outcome."}, []string{"endpoint", "outcome"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_events_handled_total",
			Help: "Queued events handled, by kind and result (ok, retry, dead)."}, []string{"kind", "result"}),
		EventTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "opsgate_event_handle_seconds",
			Help: "Time to handle one queued event.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"kind"}),
		SlackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_slack_api_calls_total",
			Help: "Slack Web API calls by method and outcome (ok, rate_limited, server_error, error)."}, []string{"method", "outcome"}),
	}
	m.GuardHits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_redaction_guard_hits_total",
		Help: "Secrets the last-line check found in an outbound Slack message or LLM request (and masked), by kind. Should stay 0."}, []string{"kind"})
	m.SlackWaits = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "opsgate_slack_rate_wait_seconds",
		Help:    "Waits before a Slack call for a rate limit shared by every replica: held (a 429's Retry-After) or paced (per channel).",
		Buckets: []float64{0.05, 0.25, 1, 5, 15, 60}}, []string{"method", "reason"})
	m.PDCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_pagerduty_api_calls_total",
		Help: "PagerDuty REST calls (each after its retries) by operation and outcome (ok, not_found, error)."}, []string{"op", "outcome"})
	m.ModelCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_model_calls_total",
		Help: "Model requests for the analysis by backend and outcome (ok, error, circuit_open)."}, []string{"backend", "outcome"})
	m.Proposals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_proposal_transitions_total",
		Help: "Proposal state changes, by the state reached (PROPOSED, APPROVED, REJECTED, EXPIRED, EXECUTING, SUCCEEDED, FAILED, UNDONE, …)."}, []string{"state"})
	m.Anchors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsgate_audit_anchors_total",
		Help: "Audit anchors written outside Redis, by outcome (ok, error)."}, []string{"outcome"})
	m.AnchorAt = prometheus.NewGauge(prometheus.GaugeOpts{Name: "opsgate_audit_anchor_last_success_timestamp_seconds",
		Help: "Unix time of the last audit anchor written (0: none since start)."})
	// Series an alert takes increase() of start at 0, so their first event
	// counts (increase ignores a series' first sample).
	m.Anchors.WithLabelValues("error")
	m.Anchors.WithLabelValues("ok")
	m.DeadLetters = prometheus.NewCounter(prometheus.CounterOpts{Name: "opsgate_dead_letters_total",
		Help: "Jobs set aside: failed for good after their retries, or refused as not queued by opsgate."})
	m.register(m.PDCalls, m.ModelCalls, m.Proposals, m.Anchors, m.AnchorAt, m.DeadLetters)
	m.register(m.GuardHits, m.SlackWaits, m.Webhooks, m.SlackReqs, m.Events, m.EventTime, m.SlackCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveEvent records one handled queue entry.
func (m *Metrics) ObserveEvent(kind, result string, took time.Duration) {
	m.Events.WithLabelValues(kind, result).Inc()
	if result == "dead" || result == "refused" {
		m.DeadLetters.Inc()
	}
	m.EventTime.WithLabelValues(kind).Observe(took.Seconds())
}

// ObserveSlackWait records one wait for a shared Slack rate limit.
func (m *Metrics) ObserveSlackWait(method, reason string, d time.Duration) {
	m.SlackWaits.WithLabelValues(method, reason).Observe(d.Seconds())
}

// ObserveSlackCall records one Slack Web API call.
func (m *Metrics) ObserveSlackCall(method, outcome string) {
	m.SlackCalls.WithLabelValues(method, outcome).Inc()
}

// State reads opsgate's shared state for the gauges read at each scrape
// (package app gives it Redis).
type State interface {
	QueueLength(ctx context.Context) (int64, error)
	QueuePending(ctx context.Context) (int64, error)
	QueueLag(ctx context.Context) (time.Duration, error)
	DeadLetters(ctx context.Context) (int64, error)
	StalledExecutions(ctx context.Context) (int64, error)
	CircuitOpen() bool
}

// WatchState registers the gauges read from st at each scrape (each read
// bounded by a second; an unreadable value is reported as -1).
func (m *Metrics) WatchState(st State) {
	read := func(f func(ctx context.Context) (float64, error)) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			v, err := f(ctx)
			if err != nil {
				return -1
			}
			return v
		}
	}
	count := func(f func(ctx context.Context) (int64, error)) func(ctx context.Context) (float64, error) {
		return func(ctx context.Context) (float64, error) { n, err := f(ctx); return float64(n), err }
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.register(
		gauge("opsgate_queue_length", "Entries in the work stream (handled entries are trimmed).", read(count(st.QueueLength))),
		gauge("opsgate_queue_pending", "Entries delivered to a worker and not yet acknowledged.", read(count(st.QueuePending))),
		gauge("opsgate_queue_lag_seconds", "Age of the oldest entry waiting: pending, or not yet delivered (0: none).",
			read(func(ctx context.Context) (float64, error) { d, err := st.QueueLag(ctx); return d.Seconds(), err })),
		gauge("opsgate_dead_letters", "Entries in the dead-letter stream (kept 7 days).", read(count(st.DeadLetters))),
		gauge("opsgate_executions_stalled", "Executions past their deadline whose outcome is unknown (never re-run; settle by hand).", read(count(st.StalledExecutions))),
		gauge("opsgate_model_circuit_open", "1 while the model's circuit breaker is open (the extractive analysis is used).", func() float64 {
			if st.CircuitOpen() {
				return 1
			}
			return 0
		}),
	)
}
