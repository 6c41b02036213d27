package slack_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/ratelimit"
	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/test/redistest"
)

// fakeTime is one injected clock for two replicas; sleeping advances it.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	slept map[string][]time.Duration // by who slept
}

func (f *fakeTime) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

func (f *fakeTime) sleeper(who string) retry.Sleeper {
	return func(_ context.Context, d time.Duration) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.slept[who] = append(f.slept[who], d)
		f.now = f.now.Add(d)
		return nil
	}
}

// When one replica spends every attempt on 429s, the next caller of that
// method — on another replica — waits out Slack's Retry-After before it
// calls, instead of calling again at once.
func TestA429HoldsTheMethodOnEveryReplica(t *testing.T) {
	rdb := redistest.Start(t).Client()
	fs := fakeslack.New(token, map[string]string{"C0TEST": "test"})
	t.Cleanup(fs.Close)
	ft := &fakeTime{now: time.Unix(1_800_000_000, 0), slept: map[string][]time.Duration{}}
	replica := func(name string) *slackapi.Client {
		sleep := ft.sleeper(name)
		c := slackapi.New(fs.APIURL(), token, nil, retry.Policy{Attempts: 2, Base: time.Second, Budget: time.Minute, Sleep: sleep})
		c.Gate = &ratelimit.Gate{Redis: rdb, Prefix: "opsgate:slack:", Now: ft.Now, Sleep: sleep}
		return c
	}
	a, b := replica("a"), replica("b")
	ctx := context.Background()
	fs.FailNext("chat.postMessage", 2, 429, 30)
	if _, _, err := a.PostMessage(ctx, "C0TEST", slackapi.Message{Text: "first"}); !errors.Is(err, retry.ErrBudgetExhausted) {
		t.Fatalf("a: %v", err)
	}
	// a waited out the first Retry-After itself (once, not twice).
	if got := ft.slept["a"]; len(got) != 1 || got[0] != 30*time.Second {
		t.Fatalf("a slept %v, want [30s]", got)
	}
	if _, _, err := b.PostMessage(ctx, "C0TEST", slackapi.Message{Text: "second"}); err != nil {
		t.Fatal(err)
	}
	if got := ft.slept["b"]; len(got) != 1 || got[0] != 30*time.Second {
		t.Fatalf("b slept %v before calling, want [30s] (the second 429's Retry-After)", got)
	}
	if n := fs.Calls("chat.postMessage"); n != 3 {
		t.Fatalf("%d calls, want 3 (two 429s, one post)", n)
	}
	// Other methods were never held.
	if _, err := b.Permalink(ctx, "C0TEST", fs.Messages("C0TEST")[0].TS); err != nil {
		t.Fatal(err)
	}
	if got := ft.slept["b"]; len(got) != 1 {
		t.Fatalf("b slept %v", got)
	}
}
