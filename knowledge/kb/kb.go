package kb

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/opsgate/opsgate/knowledge/search"
)

// Summary is what a search result shows (bodies stay in Redis).
type Summary struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	URL        string    `json:"url,omitempty"`
	Created    time.Time `json:"created,omitempty"`
	Resolved   time.Time `json:"resolved,omitempty"`
	Resolution string    `json:"resolution,omitempty"` // first line, capped
	Category   string    `json:"category,omitempty"`
	Source     string    `json:"source,omitempty"`
}

// Result is a search hit with its summary.
type Result struct {
	Summary
	Score      float64 `json:"score"`
	Similarity float64 `json:"similarity"` // score relative to the best possible match for this query, 0–1
}

// KB is the knowledge base of one replica: Redis plus an in-process index
// built at Open and kept in sync through the change stream.
type KB struct {
	store *Store
	mu    sync.RWMutex
	ix    *search.Index
	sums  map[string]Summary
	last  string
}

// Open loads every ticket from Redis into a fresh index.
func Open(ctx context.Context, store *Store) (*KB, error) {
	k := &KB{store: store, ix: search.NewIndex(), sums: map[string]Summary{}}
	last, err := store.LastChange(ctx) // changes after this are picked up by Sync
	if err != nil {
		return nil, err
	}
	k.last = last
	if err := store.Each(ctx, func(t Ticket) error { k.index(t); return nil }); err != nil {
		return nil, err
	}
	return k, nil
}

func firstLine(s string, n int) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			s = s[:i]
			break
		}
	}
	return cut(s, n)
}

func (k *KB) index(t Ticket) {
	title, body := t.SearchText()
	at := t.Created
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ix.Add(search.Doc{ID: t.ID, Title: title, Body: body, Time: at})
	k.sums[t.ID] = Summary{ID: t.ID, Title: cut(t.Title, 200), URL: t.URL, Created: t.Created, Resolved: t.Resolved,
		Resolution: firstLine(t.Resolution, 200), Category: t.Category, Source: t.Source}
}

// Add stores tickets and indexes them here (other replicas follow through
// Sync).
func (k *KB) Add(ctx context.Context, ts ...Ticket) error {
	for i := range ts {
		if err := ts[i].Validate(); err != nil {
			return err
		}
	}
	if err := k.store.Put(ctx, ts...); err != nil {
		return err
	}
	for _, t := range ts {
		k.index(t)
	}
	return nil
}

// Sync applies changes other replicas made since the last sync.
func (k *KB) Sync(ctx context.Context) (int, error) {
	k.mu.RLock()
	after := k.last
	k.mu.RUnlock()
	n := 0
	for {
		ids, next, err := k.store.Changes(ctx, after, 1000)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			t, err := k.store.Get(ctx, id)
			if err != nil {
				continue
			}
			k.index(t)
			n++
		}
		after = next
		k.mu.Lock()
		k.last = after
		k.mu.Unlock()
		if len(ids) < 1000 {
			return n, nil
		}
	}
}

// Follow syncs every interval until ctx ends.
func (k *KB) Follow(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = k.Sync(ctx)
		}
	}
}

// Query is what to search for.
type Query struct {
	Title   string
	Body    string
	At      time.Time // when it happened (time prior); zero = none
	Exclude string    // an id to leave out (the incident itself)
}

// Search returns the k best tickets.
func (k *KB) Search(q Query, n int) []Result {
	k.mu.RLock()
	defer k.mu.RUnlock()
	hits := k.ix.SearchAt(q.Title, q.Body, q.At, n, q.Exclude)
	out := make([]Result, 0, len(hits))
	best := 0.0
	if len(hits) > 0 {
		best = k.ix.SelfScore(q.Title, q.Body)
	}
	for _, h := range hits {
		sim := 0.0
		if best > 0 {
			sim = h.Score / best
			if sim > 1 {
				sim = 1
			}
		}
		out = append(out, Result{Summary: k.sums[h.ID], Score: h.Score, Similarity: sim})
	}
	return out
}

// Stats describes the knowledge base.
type Stats struct {
	Tickets  int            `json:"tickets"`
	BySource map[string]int `json:"by_source"`
	Terms    int            `json:"terms"`
}

// Stats counts what is indexed here.
func (k *KB) Stats() Stats {
	k.mu.RLock()
	defer k.mu.RUnlock()
	s := Stats{Tickets: k.ix.Len(), BySource: map[string]int{}, Terms: k.ix.Terms()}
	for _, sm := range k.sums {
		s.BySource[sm.Source]++
	}
	return s
}

// String is for logs.
func (s Stats) String() string { return fmt.Sprintf("%d tickets, %d terms", s.Tickets, s.Terms) }
