package kb

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/test/redistest"
)

func tickets(n int) []Ticket {
	words := []string{"kafka", "lag", "postgres", "refused", "certificate", "expired", "disk", "full", "oom", "killed", "dns", "timeout"}
	out := make([]Ticket, n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		w := func(k int) string { return words[(i*k+k)%len(words)] }
		out[i] = Ticket{ID: fmt.Sprintf("T-%d", i), Title: fmt.Sprintf("%s %s on node-%d", w(1), w(3), i%50),
			Body: fmt.Sprintf("saw %s then %s, password=hunter%d", w(5), w(7), i), Resolution: "restarted " + w(11),
			Created: base.Add(time.Duration(i) * time.Hour), Source: "test"}
	}
	return out
}

// searchAll answers a few queries, printed (times compare by instant).
func searchAll(k *KB) string {
	var b strings.Builder
	for _, q := range []Query{{Title: "kafka lag"}, {Title: "postgres refused", Body: "disk full"}, {Title: "dns timeout", At: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}} {
		for _, r := range k.Search(q, 5) {
			fmt.Fprintf(&b, "%s %q %s %.9f %.9f|", r.ID, r.Title, r.Created.UTC().Format(time.RFC3339), r.Score, r.Similarity)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// A knowledge base of ≥ 1000 tickets saves a snapshot when it is first
// built; the next Open loads it (sealed, no ticket text in Redis), picks
// up what other replicas added since, and answers exactly as a full build.
func TestOpenLoadsTheSnapshotAndCatchesUp(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	keys := seal.Ephemeral()
	store := func() *Store { s := NewStore(rdb); s.Keys = keys; return s }
	first, err := Open(ctx, store())
	if err != nil || first.FromSnapshot {
		t.Fatal(err)
	}
	if err := first.Add(ctx, tickets(1200)...); err != nil {
		t.Fatal(err)
	}
	if ok, err := first.Snapshot(ctx); err != nil || !ok {
		t.Fatal(ok, err)
	}
	// Another replica adds a ticket after the snapshot.
	late := Ticket{ID: "LATE-1", Title: "kafka lag after broker upgrade", Body: "consumer group rebalancing", Created: time.Now(), Source: "test"}
	if err := first.Add(ctx, late); err != nil {
		t.Fatal(err)
	}
	second, err := Open(ctx, store())
	if err != nil || !second.FromSnapshot {
		t.Fatalf("not from the snapshot: %v", err)
	}
	if second.Stats().Tickets != 1201 {
		t.Fatalf("%d tickets after catching up", second.Stats().Tickets)
	}
	// The same answers as a knowledge base built from every ticket.
	rdb.Del(ctx, snapKey)
	full, err := Open(ctx, store())
	if err != nil || full.FromSnapshot {
		t.Fatal(err)
	}
	if a, b := searchAll(second), searchAll(full); a != b {
		t.Fatalf("snapshot answers differ from a full build:\n%v\n%v", a, b)
	}
	// Nothing of the tickets is readable in the snapshot's chunks.
	m, err := full.store.manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < m.Chunks; i++ {
		if b := rdb.Get(ctx, snapChunkKey(m.Gen, i)).Val(); strings.Contains(b, "hunter") || strings.Contains(b, "kafka") {
			t.Fatal("snapshot in plaintext")
		}
	}
}

// A snapshot that cannot be trusted is not used: damaged, incomplete,
// with a broken manifest, or older than changes trimmed from the stream — Open reads
// every ticket instead and gives the same answers.
func TestAnUnusableSnapshotFallsBackToTheTickets(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	keys := seal.Ephemeral()
	s := NewStore(rdb)
	s.Keys = keys
	k, _ := Open(ctx, s)
	if err := k.Add(ctx, tickets(1100)...); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	want := searchAll(k)
	m, _ := s.manifest(ctx)
	good := rdb.Get(ctx, snapChunkKey(m.Gen, 0)).Val()
	for name, spoil := range map[string]func(){
		"damaged chunk": func() { rdb.Set(ctx, snapChunkKey(m.Gen, 0), good[:len(good)-3]+"AAA", 0) },
		"missing chunk": func() { rdb.Del(ctx, snapChunkKey(m.Gen, 0)) },
		"bad manifest":  func() { rdb.Set(ctx, snapKey, "{", 0) },
	} {
		spoil()
		k2, err := Open(ctx, s)
		if err != nil || k2.FromSnapshot {
			t.Fatalf("%s: used (%v)", name, err)
		}
		if got := searchAll(k2); got != want {
			t.Fatalf("%s: answers differ:\n%v\n%v", name, got, want)
		}
		// Open saved a fresh snapshot; restore the scene for the next case.
		s.Keys = keys
		m, _ = s.manifest(ctx)
		good = rdb.Get(ctx, snapChunkKey(m.Gen, 0)).Val()
	}
	// Changes trimmed past the snapshot: it would miss them.
	if err := k.Add(ctx, Ticket{ID: "X-1", Title: "after the snapshot", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rdb.XTrimMaxLen(ctx, changesKey, 0)
	k3, err := Open(ctx, s)
	if err != nil || k3.FromSnapshot || k3.Stats().Tickets != 1101 {
		t.Fatalf("trimmed stream: from snapshot %v, %d tickets, %v", k3.FromSnapshot, k3.Stats().Tickets, err)
	}
}
