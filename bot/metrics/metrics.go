// Package metrics holds opsgate's Prometheus collectors, on a registry of
// its own so tests and several in-process instances do not collide.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the collectors.
type Metrics struct {
	Registry   *prometheus.Registry
	Webhooks   *prometheus.CounterVec   // by outcome
	SlackReqs  *prometheus.CounterVec   // slash commands and interactions by endpoint, outcome
	Events     *prometheus.CounterVec   // queue entries by kind, result
	EventTime  *prometheus.HistogramVec // handling time by kind
	SlackCalls *prometheus.CounterVec   // Slack Web API calls by method, outcome
	GuardHits  *prometheus.CounterVec   // secrets the last-line guard had to mask, by kind
	SlackWaits *prometheus.HistogramVec // waits for shared Slack rate limits, by method and reason
}

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
	m.Registry.MustRegister(m.GuardHits, m.SlackWaits, m.Webhooks, m.SlackReqs, m.Events, m.EventTime, m.SlackCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveEvent records one handled queue entry.
func (m *Metrics) ObserveEvent(kind, result string, took time.Duration) {
	m.Events.WithLabelValues(kind, result).Inc()
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
