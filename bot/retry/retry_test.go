package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

type recorder struct{ waits []time.Duration }

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return nil
}

var errTransient = errors.New("transient")
var errFinal = errors.New("final")

func classify(err error) Verdict {
	if errors.Is(err, errTransient) {
		return Verdict{Retry: true}
	}
	return Verdict{}
}

func TestDoBackoffThenSuccess(t *testing.T) {
	rec := &recorder{}
	calls := 0
	err := Do(context.Background(), Policy{Attempts: 5, Base: 100 * time.Millisecond, Max: 300 * time.Millisecond, Sleep: rec.sleep}, classify,
		func(context.Context) error {
			calls++
			if calls < 4 {
				return errTransient
			}
			return nil
		})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	if len(rec.waits) != len(want) {
		t.Fatalf("waits = %v, want %v", rec.waits, want)
	}
	for i := range want {
		if rec.waits[i] != want[i] {
			t.Fatalf("waits = %v, want %v", rec.waits, want)
		}
	}
}

func TestDoFinalErrorNotRetried(t *testing.T) {
	rec := &recorder{}
	calls := 0
	err := Do(context.Background(), Policy{Attempts: 5, Base: time.Second, Sleep: rec.sleep}, classify,
		func(context.Context) error { calls++; return errFinal })
	if !errors.Is(err, errFinal) || calls != 1 || len(rec.waits) != 0 {
		t.Fatalf("err=%v calls=%d waits=%v", err, calls, rec.waits)
	}
}

func TestDoHonoursServerWait(t *testing.T) {
	rec := &recorder{}
	calls := 0
	err := Do(context.Background(), Policy{Attempts: 3, Base: time.Millisecond, Sleep: rec.sleep},
		func(error) Verdict { return Verdict{Retry: true, After: 7 * time.Second} },
		func(context.Context) error {
			calls++
			if calls == 1 {
				return errTransient
			}
			return nil
		})
	if err != nil || len(rec.waits) != 1 || rec.waits[0] != 7*time.Second {
		t.Fatalf("err=%v waits=%v", err, rec.waits)
	}
}

func TestDoBudgetAndAttempts(t *testing.T) {
	rec := &recorder{}
	err := Do(context.Background(), Policy{Attempts: 10, Base: time.Second, Budget: 2 * time.Second, Sleep: rec.sleep}, classify,
		func(context.Context) error { return errTransient })
	if !errors.Is(err, ErrBudgetExhausted) || !errors.Is(err, errTransient) {
		t.Fatalf("err = %v, want budget exhausted wrapping transient", err)
	}
	if len(rec.waits) != 1 { // 1s fits, 1s+2s does not
		t.Fatalf("waits = %v", rec.waits)
	}
	rec = &recorder{}
	calls := 0
	err = Do(context.Background(), Policy{Attempts: 3, Base: time.Millisecond, Sleep: rec.sleep}, classify,
		func(context.Context) error { calls++; return errTransient })
	if !errors.Is(err, ErrBudgetExhausted) || calls != 3 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Do(ctx, Policy{Attempts: 10, Base: time.Second, Sleep: RealSleep}, classify,
		func(context.Context) error { calls++; cancel(); return errTransient })
	if !errors.Is(err, errTransient) || calls != 1 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}
