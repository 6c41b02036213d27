// Package scope decides what an incident's actions may name: the scope
// configured for its service (by default, the service itself as the only
// target) joined with what its context handler added. One answer serves
// the analysis, the proposal and the execution.
package scope

import (
	"context"
	"errors"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
)

// Contexts reads an incident's gathered context (for its handler's scope).
type Contexts interface {
	Get(ctx context.Context, id string) (*enrich.Record, error)
}

// Resolver scopes the catalog to incidents.
type Resolver struct {
	Catalog  *catalog.Catalog                   // nil: the built-in catalog
	Config   func(service string) catalog.Scope // nil: the service is the only target
	Contexts Contexts                           // nil: handlers add nothing
}

// Actions is the catalog itself.
func (r *Resolver) Actions() *catalog.Catalog {
	if r.Catalog != nil {
		return r.Catalog
	}
	return catalog.MustDefault()
}

// With scopes the catalog to an incident whose handler added handler (nil:
// nothing).
func (r *Resolver) With(snap incident.Snapshot, handler *catalog.Scope) catalog.Scoped {
	s := catalog.For(snap.ServiceName).Scope
	if r.Config != nil {
		s = r.Config(snap.ServiceName)
	}
	if handler != nil {
		s = s.Union(*handler)
	}
	return r.Actions().For(s)
}

// For scopes the catalog to rec, reading what its handler added.
func (r *Resolver) For(ctx context.Context, rec *incident.Record) (catalog.Scoped, error) {
	var handler *catalog.Scope
	if r.Contexts != nil {
		c, err := r.Contexts.Get(ctx, rec.Snapshot.ID)
		switch {
		case err == nil:
			handler = c.Scope
		case !errors.Is(err, enrich.ErrNotFound):
			return catalog.Scoped{}, err
		}
	}
	return r.With(rec.Snapshot, handler), nil
}
