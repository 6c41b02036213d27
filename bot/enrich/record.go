// Package enrich gathers what opsgate knows about an incident beyond
// PagerDuty's snapshot — its alerts, the logs and metrics its handler
// collects, the log excerpt, similar past incidents — and keeps it, with
// the analysis drawn from it, in a record of its own. Everything in the
// record is raw: it is masked on its way out (package view).
package enrich

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/versioned"
)

// Similar is a past incident or ticket like this one.
type Similar struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	URL        string    `json:"url,omitempty"`
	Date       time.Time `json:"date,omitempty"`
	Similarity float64   `json:"similarity"`
	RootCause  string    `json:"root_cause,omitempty"`
	Resolution string    `json:"resolution,omitempty"`
}

// Record is what was gathered about one incident (once: the first
// gathering wins) and the analysis drawn from it (the first answer wins).
type Record struct {
	GatheredAt time.Time        `json:"gathered_at"`
	Alerts     []incident.Alert `json:"alerts,omitempty"` // fetched from PagerDuty (also shown on the parent)
	AlertTotal int              `json:"alert_total,omitempty"`
	Excerpt    *excerpt.Excerpt `json:"excerpt,omitempty"`
	Similar    []Similar        `json:"similar,omitempty"`
	Metrics    []string         `json:"metrics,omitempty"` // metric summaries from the handler's sources
	Charts     []collect.Chart  `json:"charts,omitempty"`  // the same sources' series, for pictures (labels raw: view masks them)
	Sources    []collect.Status `json:"sources,omitempty"` // how each context source fared
	// Suggested are the handler's runbook steps (filled from trusted
	// fields, not yet checked against the catalog).
	Suggested []rca.Action `json:"suggested,omitempty"`
	// Scope is what the matching handler adds to what actions may name.
	Scope *catalog.Scope `json:"scope,omitempty"`
	// Analysis is the checked root-cause analysis.
	Analysis *rca.Analysis `json:"analysis,omitempty"`
}

// HasLogs reports whether there is an excerpt or a source to report on.
func (r *Record) HasLogs() bool { return r.Excerpt != nil || len(r.Sources) > 0 }

// Analyzable reports whether there is anything for an analysis to cite.
func (r *Record) Analyzable() bool {
	return r.Excerpt != nil || len(r.Similar) > 0 || len(r.Metrics) > 0
}

// ErrNotFound: nothing was gathered for the incident yet.
var ErrNotFound = errors.New("enrich: nothing gathered for this incident")

// Store keeps records in Redis, changed only by compare-and-swap.
type Store struct {
	rdb redis.Cmdable
	ttl time.Duration
	// Keys seal the records in Redis (nil: plaintext — tests only).
	Keys versioned.Sealer
}

// NewStore returns a store whose records expire ttl after their last change.
func NewStore(rdb redis.Cmdable, ttl time.Duration) *Store { return &Store{rdb: rdb, ttl: ttl} }

// Key is the Redis key of an incident's record.
func Key(incidentID string) string { return "opsgate:context:" + incidentID }

// Get returns the incident's record or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	var r Record
	_, found, err := versioned.Load(ctx, s.rdb, s.Keys, Key(id), &r)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	return &r, nil
}

// Put stores r unless a record exists, and returns the stored one: a
// second gathering (a redelivery, a racing replica) keeps the first.
func (s *Store) Put(ctx context.Context, id string, r *Record) (*Record, error) {
	return versioned.Update(ctx, s.rdb, s.Keys, Key(id), s.ttl, func(cur *Record, found bool) (bool, error) {
		if found {
			return false, nil
		}
		*cur = *r
		return true, nil
	})
}

// SetAnalysis stores a as the incident's analysis unless one is stored;
// won reports whether a was stored.
func (s *Store) SetAnalysis(ctx context.Context, id string, a rca.Analysis) (stored *Record, won bool, err error) {
	stored, err = versioned.Update(ctx, s.rdb, s.Keys, Key(id), s.ttl, func(cur *Record, _ bool) (bool, error) {
		won = cur.Analysis == nil
		if won {
			cur.Analysis = &a
		}
		return won, nil
	})
	return stored, won, err
}
