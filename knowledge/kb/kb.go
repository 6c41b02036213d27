package kb

import (
	"context"
	"errors"
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
	RootCause  string    `json:"root_cause,omitempty"` // first line, capped
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
	store    *Store
	mu       sync.RWMutex
	ix       *search.Index
	sums     map[string]Summary
	last     string
	embedder Embedder
	vecs     map[string][]float32
	// Snapshot bookkeeping: changes applied since the last snapshot, and
	// when it was taken (or loaded).
	sinceSnap int
	snapAt    time.Time
	// own are the change-stream entries this replica wrote (Add): Sync
	// passes them without reading the tickets again.
	own map[string]bool
	// FromSnapshot reports whether Open loaded a snapshot (else it read
	// every ticket).
	FromSnapshot bool
}

// Open loads the knowledge base: the saved snapshot and the changes after
// it, or — when there is none or it cannot be used — every ticket, after
// which it saves a snapshot for the next start.
func Open(ctx context.Context, store *Store) (*KB, error) {
	k := &KB{store: store, ix: search.NewIndex(), sums: map[string]Summary{}, vecs: map[string][]float32{}, snapAt: time.Now()}
	if data, _, err := store.LoadSnapshot(ctx); err == nil {
		if err := k.decode(data); err == nil {
			k.FromSnapshot = true
			if _, err := k.Sync(ctx); err != nil {
				return nil, err
			}
			return k, nil
		}
		k = &KB{store: store, ix: search.NewIndex(), sums: map[string]Summary{}, vecs: map[string][]float32{}, snapAt: time.Now()}
	} else if !errors.Is(err, ErrNoSnapshot) {
		return nil, err
	}
	if err := k.load(ctx); err != nil {
		return nil, err
	}
	if k.ix.Len() >= snapMinTickets {
		_, _ = k.Snapshot(ctx) // best effort: the next start is faster
	}
	return k, nil
}

// snapMinTickets: below this, reading every ticket is as fast as a snapshot.
const snapMinTickets = 1000

// load reads every ticket into the (fresh) knowledge base.
func (k *KB) load(ctx context.Context) error {
	store := k.store
	last, err := store.LastChange(ctx) // changes after this are picked up by Sync
	if err != nil {
		return err
	}
	k.last = last
	var ids []string
	if err := store.Each(ctx, func(t Ticket) error {
		k.index(t)
		ids = append(ids, t.ID)
		if len(ids) == 1000 {
			if err := k.loadVectors(ctx, ids); err != nil {
				return err
			}
			ids = ids[:0]
		}
		return nil
	}); err != nil {
		return err
	}
	return k.loadVectors(ctx, ids)
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
		RootCause: firstLine(t.RootCause, 200), Resolution: firstLine(t.Resolution, 200), Category: t.Category, Source: t.Source}
}

// Add stores tickets and indexes them here (other replicas follow through
// Sync).
func (k *KB) Add(ctx context.Context, ts ...Ticket) error {
	for i := range ts {
		if err := ts[i].Validate(); err != nil {
			return err
		}
	}
	written, err := k.store.Put(ctx, ts...)
	if err != nil {
		return err
	}
	for _, t := range ts {
		k.index(t)
	}
	k.mu.Lock()
	if k.own == nil {
		k.own = map[string]bool{}
	}
	for _, id := range written {
		k.own[id] = true
	}
	k.mu.Unlock()
	_ = k.embed(ctx, ts) // without embeddings, lexical search still finds them
	return nil
}

// Sync applies changes other replicas made since the last sync.
func (k *KB) Sync(ctx context.Context) (int, error) {
	k.mu.RLock()
	after := k.last
	k.mu.RUnlock()
	n := 0
	for {
		changes, next, err := k.store.Changes(ctx, after, 1000)
		if err != nil {
			return n, err
		}
		var ids []string
		k.mu.Lock()
		for _, c := range changes {
			if k.own[c.StreamID] {
				delete(k.own, c.StreamID) // indexed when it was added
				continue
			}
			ids = append(ids, c.TicketID)
		}
		k.mu.Unlock()
		ts, err := k.store.GetMany(ctx, ids)
		if err != nil {
			return n, err
		}
		for _, t := range ts {
			k.index(t)
			n++
		}
		_ = k.loadVectors(ctx, ids)
		after = next
		k.mu.Lock()
		k.last = after
		k.sinceSnap += len(changes)
		k.mu.Unlock()
		if len(changes) < 1000 {
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
			if k.snapshotDue() {
				_, _ = k.Snapshot(ctx)
			}
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

// Search returns the k best tickets: lexical, fused with vector similarity
// when an embedder is set and the query could be embedded.
func (k *KB) Search(q Query, n int) []Result {
	k.mu.RLock()
	e := k.embedder
	k.mu.RUnlock()
	var qv []float32
	if e != nil {
		ctx, cancel := context.WithTimeout(context.Background(), queryEmbedTimeout)
		if vs, err := e.Embed(ctx, []string{q.Title + "\n" + q.Body}, true); err == nil && len(vs) == 1 {
			qv = vs[0]
		}
		cancel()
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if qv == nil || len(k.vecs) == 0 {
		return k.results(k.ix.SearchAt(q.Title, q.Body, q.At, n, q.Exclude), q, nil)
	}
	lex := k.ix.SearchAt(q.Title, q.Body, q.At, 50, q.Exclude)
	lexIDs := make([]string, len(lex))
	byID := map[string]search.Hit{}
	for i, h := range lex {
		lexIDs[i] = h.ID
		byID[h.ID] = h
	}
	fused := fuse(lexIDs, k.vectorRank(qv, 50, q.Exclude))
	if len(fused) > n {
		fused = fused[:n]
	}
	hits := make([]search.Hit, len(fused))
	for i, id := range fused {
		hits[i] = search.Hit{ID: id, Score: byID[id].Score}
	}
	cos := map[string]float64{}
	for _, id := range fused {
		if v := k.vecs[id]; len(v) == len(qv) {
			var dot float32
			for i := range v {
				dot += v[i] * qv[i]
			}
			cos[id] = float64(dot)
		}
	}
	return k.results(hits, q, cos)
}

// results attaches summaries; similarity is the lexical score relative to a
// perfect match, or the cosine for a hit only the vectors found.
func (k *KB) results(hits []search.Hit, q Query, cos map[string]float64) []Result {
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
		if c, ok := cos[h.ID]; ok && c > sim {
			sim = max(0, min(c, 1))
		}
		out = append(out, Result{Summary: k.sums[h.ID], Score: h.Score, Similarity: sim})
	}
	return out
}

// Stats describes the knowledge base.
type Stats struct {
	Tickets    int            `json:"tickets"`
	BySource   map[string]int `json:"by_source"`
	Terms      int            `json:"terms"`
	Embeddings int            `json:"embeddings"`
}

// Stats counts what is indexed here.
func (k *KB) Stats() Stats {
	k.mu.RLock()
	defer k.mu.RUnlock()
	s := Stats{Tickets: k.ix.Len(), BySource: map[string]int{}, Terms: k.ix.Terms(), Embeddings: len(k.vecs)}
	for _, sm := range k.sums {
		s.BySource[sm.Source]++
	}
	return s
}

// String is for logs.
func (s Stats) String() string { return fmt.Sprintf("%d tickets, %d terms", s.Tickets, s.Terms) }
