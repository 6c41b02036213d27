package executor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/executor"
	"github.com/opsgate/opsgate/integrations/fakes/fakeobs"
)

func TestVerifyPollsUntilTheConditionHolds(t *testing.T) {
	prom := fakeobs.NewPrometheus()
	defer prom.Close()
	var calls atomic.Int32
	cond := `sum(rate(http_requests_total{service="checkout-api",code=~"5.."}[2m])) < 1`
	prom.Instant(cond, func() bool { return calls.Add(1) >= 3 }) // holds on the third look
	specs := []catalog.Spec{
		{ID: "restart", Risk: catalog.RiskMedium, Approvals: catalog.Approvals{Required: 1},
			Params: map[string]*catalog.Param{"deployment": {EnumFrom: "scope.targets"}},
			Run:    catalog.Exec{Kubectl: []string{"rollout", "restart", "deployment/{{.deployment}}"}},
			Verify: &catalog.Verify{Prometheus: `sum(rate(http_requests_total{service="{{.deployment}}",code=~"5.."}[2m])) < 1`, Within: 5 * time.Minute}},
		{ID: "never", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1},
			Run:    catalog.Exec{Kubectl: []string{"get", "pods"}},
			Verify: &catalog.Verify{Command: &catalog.CommandExec{Argv: []string{"false"}}, Within: time.Minute}},
		{ID: "none", Risk: catalog.RiskLow, Approvals: catalog.Approvals{Required: 1}, Run: catalog.Exec{Kubectl: []string{"get", "pods"}}},
	}
	c, err := catalog.New(specs)
	if err != nil {
		t.Fatal(err)
	}
	s := c.For(catalog.Scope{Targets: []string{"checkout-api"}})
	var slept int
	r := &executor.Runner{PrometheusURL: prom.URL, VerifyEvery: 15 * time.Second, Sleep: func(context.Context, time.Duration) error { slept++; return nil }}
	v, err := r.Verify(context.Background(), s, "restart", map[string]string{"deployment": "checkout-api"})
	if err != nil || !v.Holds || v.Attempts != 3 || slept != 2 {
		t.Fatalf("%+v %v slept=%d", v, err, slept)
	}
	v, err = r.Verify(context.Background(), s, "never", map[string]string{})
	if err != nil || v.Holds || v.Attempts != 5 { // within 1m at 15s: 5 looks
		t.Fatalf("%+v %v", v, err)
	}
	if v, err := r.Verify(context.Background(), s, "none", map[string]string{}); err != nil || !v.Holds {
		t.Fatalf("%+v %v", v, err)
	}
	if _, err := r.Verify(context.Background(), s, "restart", map[string]string{"deployment": "payments"}); err == nil {
		t.Fatal("verify with out-of-scope params")
	}
}
