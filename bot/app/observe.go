package app

import (
	"context"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/rca"
)

// state is what the scrape-time gauges read: the queue, the executions
// index and the model's breaker.
type state struct {
	queue     *queue.Queue
	proposals *approval.Store
	breaker   *rca.Breaker // nil: no model
}

func (s state) QueueLength(ctx context.Context) (int64, error)  { return s.queue.Len(ctx) }
func (s state) QueuePending(ctx context.Context) (int64, error) { return s.queue.Pending(ctx) }
func (s state) QueueLag(ctx context.Context) (time.Duration, error) {
	return s.queue.Lag(ctx)
}
func (s state) DeadLetters(ctx context.Context) (int64, error) { return s.queue.DeadLen(ctx) }
func (s state) StalledExecutions(ctx context.Context) (int64, error) {
	return s.proposals.StalledCount(ctx)
}
func (s state) CircuitOpen() bool { return s.breaker != nil && s.breaker.Open() }

// observe connects the counters to what they count and registers the
// scrape-time gauges.
func (a *App) observe(analyzer *rca.Analyzer) {
	m := a.Metrics
	a.Proposals.Observe = func(s approval.State) { m.Proposals.WithLabelValues(string(s)).Inc() }
	a.Anchorer.Observe = func(ok bool, at time.Time) {
		if !ok {
			m.Anchors.WithLabelValues("error").Inc()
			return
		}
		m.Anchors.WithLabelValues("ok").Inc()
		m.AnchorAt.Set(float64(at.Unix()))
	}
	st := state{queue: a.Queue, proposals: a.Proposals}
	if analyzer != nil && analyzer.Model != nil {
		analyzer.Observe = func(backend, outcome string) { m.ModelCalls.WithLabelValues(backend, outcome).Inc() }
		st.breaker = analyzer.Breaker
	}
	m.WatchState(st)
}
