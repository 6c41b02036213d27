package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/metrics"
)

// value finds a metric's value by name and label values.
func value(t *testing.T, m *metrics.Metrics, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, x := range mf.GetMetric() {
			for i, l := range x.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue next
				}
			}
			if c := x.GetCounter(); c != nil {
				return c.GetValue()
			}
			return float64(x.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func TestInstancesDoNotCollideAndCount(t *testing.T) {
	a, b := metrics.New(), metrics.New() // two in-process instances (tests, replicas)
	a.ObserveEvent("pagerduty", "ok", 20*time.Millisecond)
	a.ObserveEvent("pagerduty", "ok", 20*time.Millisecond)
	a.ObserveSlackCall("chat.postMessage", "rate_limited")
	if got := value(t, a, "opsgate_events_handled_total", "pagerduty", "ok"); got != 2 {
		t.Fatal(got)
	}
	if got := value(t, a, "opsgate_event_handle_seconds", "pagerduty"); got != 2 {
		t.Fatal(got)
	}
	if got := value(t, b, "opsgate_events_handled_total", "pagerduty", "ok"); got != 0 {
		t.Fatal("instances share counters")
	}
	if got := value(t, a, "opsgate_slack_api_calls_total", "chat.postMessage", "rate_limited"); got != 1 {
		t.Fatal(got)
	}
	// Every opsgate metric is named and documented.
	mfs, err := a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "opsgate_") && mf.GetHelp() == "" {
			t.Errorf("%s has no help", mf.GetName())
		}
	}
}
