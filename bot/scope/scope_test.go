package scope_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/scope"
)

type contexts map[string]*enrich.Record

func (c contexts) Get(_ context.Context, id string) (*enrich.Record, error) {
	if id == "PBROKEN" {
		return nil, errors.New("redis down")
	}
	r, ok := c[id]
	if !ok {
		return nil, enrich.ErrNotFound
	}
	return r, nil
}

func rec(id, service string) *incident.Record {
	return &incident.Record{Snapshot: incident.Snapshot{ID: id, ServiceName: service}}
}

func TestScopeIsConfigJoinedWithTheHandler(t *testing.T) {
	ctx := context.Background()
	cs := contexts{"P2": {Scope: &catalog.Scope{Targets: []string{"checkout-db"}, Namespaces: []string{"prod"}}}}
	r := &scope.Resolver{Contexts: cs}
	// Default: the service itself is the only target.
	got, err := r.For(ctx, rec("P1", "checkout-api"))
	if err != nil || !slices.Equal(got.Scope.Targets, []string{"checkout-api"}) || got.Catalog != catalog.MustDefault() {
		t.Fatalf("%+v %v", got.Scope, err)
	}
	// The handler's scope widens it.
	got, _ = r.For(ctx, rec("P2", "checkout-api"))
	if !slices.Contains(got.Scope.Targets, "checkout-db") || !slices.Contains(got.Scope.Targets, "checkout-api") || !slices.Contains(got.Scope.Namespaces, "prod") {
		t.Fatalf("%+v", got.Scope)
	}
	// Configured scopes replace the default.
	r.Config = func(service string) catalog.Scope { return catalog.Scope{Targets: []string{service + "-canary"}} }
	got, _ = r.For(ctx, rec("P1", "checkout-api"))
	if !slices.Equal(got.Scope.Targets, []string{"checkout-api-canary"}) {
		t.Fatalf("%+v", got.Scope)
	}
	if _, err := r.For(ctx, rec("PBROKEN", "x")); err == nil {
		t.Fatal("a store failure was taken for 'no handler scope'")
	}
}
