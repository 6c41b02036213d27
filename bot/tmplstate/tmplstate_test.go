package tmplstate_test

import (
	"context"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/tmplstate"
	"github.com/opsgate/opsgate/test/redistest"
)

func TestKnownAcrossIncidents(t *testing.T) {
	srv := redistest.Start(t)
	s := tmplstate.New(srv.Client(), time.Hour)
	ctx := context.Background()
	if k, err := s.Known(ctx, "checkout", []string{"a", "b"}); err != nil || len(k) != 0 {
		t.Fatalf("%v %v", k, err)
	}
	if err := s.Remember(ctx, "checkout", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	k, _ := s.Known(ctx, "checkout", []string{"a", "b"})
	if !k["a"] || k["b"] {
		t.Fatalf("known = %v", k)
	}
	if k, _ := s.Known(ctx, "payments", []string{"a"}); k["a"] {
		t.Fatal("services share templates")
	}
	if ttl := srv.Client().PTTL(ctx, tmplstate.Key("checkout")).Val(); ttl <= 0 {
		t.Fatal("no ttl")
	}
}
