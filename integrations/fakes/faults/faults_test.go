package faults_test

import (
	"net/http/httptest"
	"testing"

	"github.com/opsgate/opsgate/integrations/fakes/faults"
)

func TestPlanTakesFaultsInOrderPerMethod(t *testing.T) {
	var p faults.Plan
	if _, ok := p.Take("m"); ok {
		t.Fatal("the zero plan failed a call")
	}
	p.FailNext("m", 2, 429, 7)
	p.FailNext("m", 1, 503, 0)
	want := []faults.Fault{{429, 7}, {429, 7}, {503, 0}}
	for i, w := range want {
		if f, ok := p.Take("m"); !ok || f != w {
			t.Fatalf("call %d: %+v %v", i, f, ok)
		}
		if _, ok := p.Take("other"); ok {
			t.Fatal("another method failed")
		}
	}
	if _, ok := p.Take("m"); ok {
		t.Fatal("more failures than scripted")
	}
	rec := httptest.NewRecorder()
	faults.Fault{Status: 429, RetryAfter: 7}.Header(rec)
	if rec.Header().Get("Retry-After") != "7" {
		t.Fatal(rec.Header())
	}
	rec = httptest.NewRecorder()
	faults.Fault{Status: 503}.Header(rec)
	if rec.Header().Get("Retry-After") != "" {
		t.Fatal("Retry-After without a delay")
	}
}
