package tmplstate_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/bot/tmplstate"
	"github.com/opsgate/opsgate/test/redistest"
)

// A service's second incident recognises the first one's templates — one
// line of an old event and a template that generalized — while another
// service's do not count; the memory is sealed and expires.
func TestTemplatesAreRememberedAcrossIncidents(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	s := tmplstate.New(rdb, time.Hour)
	s.Keys = seal.Ephemeral()
	ctx := context.Background()
	if st, err := s.Load(ctx, "checkout"); err != nil || st != nil {
		t.Fatalf("%v %v", st, err)
	}
	first := []string{"ERROR login failed for alice from 10.0.0.1", "ERROR login failed for bob from 10.0.0.2", "ERROR login failed for dave from 10.0.0.4", "INFO pool size 20"}
	for range 3 {
		first = append(first, "INFO pool size 21")
	}
	if err := s.Learn(ctx, "checkout", excerpt.Messages(first)); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(ctx, "checkout")
	if err != nil || st == nil {
		t.Fatal(st, err)
	}
	second := []excerpt.Line{{Text: "ERROR login failed for carol from 10.0.0.3"}, {Text: "ERROR disk full on /var"}}
	x := excerpt.Build(second, excerpt.Options{History: st})
	if x.Entries[0].New || !x.Entries[1].New {
		t.Fatalf("%+v", x.Entries)
	}
	other, _ := s.Load(ctx, "payments")
	if y := excerpt.Build(second, excerpt.Options{History: other}); !y.Entries[0].New {
		t.Fatal("services share templates")
	}
	raw := rdb.HGet(ctx, tmplstate.Key("checkout"), "data").Val()
	if strings.Contains(raw, "login") {
		t.Fatal("template memory in plaintext")
	}
	if ttl := rdb.PTTL(ctx, tmplstate.Key("checkout")).Val(); ttl <= 0 {
		t.Fatal("no ttl")
	}
}

// Incidents of one service learning at once all land.
func TestConcurrentLearningLosesNothing(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := tmplstate.New(rdb, time.Hour)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Learn(ctx, "checkout", []string{fmt.Sprintf("event%c happened", 'A'+i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, err := s.Load(ctx, "checkout")
	if err != nil || len(st.Clusters) != 8 {
		t.Fatalf("%d templates remembered, want 8 (%v)", len(st.Clusters), err)
	}
}
