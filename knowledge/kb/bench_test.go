package kb

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/knowledge/search"
	"github.com/opsgate/opsgate/test/evaldata"
	"github.com/opsgate/opsgate/test/redistest"
)

// reports reads the GitBugs reports as seed text for synthetic tickets.
func reports(b *testing.B) [][2]string {
	var out [][2]string
	for _, f := range []string{"gitbugs/hadoop/hadoop_bugs.csv", "gitbugs/seamonkey/SeaMonkey_bugs.csv"} {
		fh, err := os.Open(filepath.Join(evaldata.Dir(), f))
		if err != nil {
			b.Skipf("evaluation data is absent (it lives beside the checkout in shared/data): %v", err)
		}
		r := csv.NewReader(fh)
		r.LazyQuotes, r.FieldsPerRecord = true, -1
		rows, err := r.ReadAll()
		fh.Close()
		if err != nil {
			b.Fatal(err)
		}
		si, di := 0, 0
		for i, h := range rows[0] {
			switch h {
			case "Summary":
				si = i
			case "Description":
				di = i
			}
		}
		for _, row := range rows[1:] {
			out = append(out, [2]string{row[si], row[di]})
		}
	}
	return out
}

// synthetic builds n tickets by recombining the reports' titles and body
// passages (so vocabulary and lengths are realistic).
func synthetic(seed [][2]string, n int) []Ticket {
	out := make([]Ticket, n)
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		a, c := seed[i%len(seed)], seed[(i*7+3)%len(seed)]
		body := a[1]
		if len(body) > 1500 {
			body = body[:1500]
		}
		out[i] = Ticket{ID: fmt.Sprintf("SYN-%d", i), Title: a[0] + " / " + c[0], Body: body + "\n" + c[0],
			Resolution: "see " + c[0], Created: base.Add(time.Duration(i) * time.Hour), Source: "synthetic"}
	}
	return out
}

// BenchmarkSearch100k: 100,000 synthetic tickets in the index; each op is
// one search with a real report as the query. Reports p50/p99 latency and
// the index's heap.
func BenchmarkSearch100k(b *testing.B) {
	seed := reports(b)
	tickets := synthetic(seed, 100000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	k := &KB{ix: search.NewIndex(), sums: map[string]Summary{}}
	for _, t := range tickets {
		k.index(t)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tickets)
	indexMiB := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := seed[(i*31)%len(seed)]
		t0 := time.Now()
		k.Search(Query{Title: q[0], Body: q[1]}, 5)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(indexMiB, "index-MiB")
}

// BenchmarkIngest: tickets/s into a real redis-server (batches of 500, as
// `opsgate kb ingest` does), index included.
func BenchmarkIngest(b *testing.B) {
	seed := reports(b)
	srv := redistest.Start(b)
	ctx := context.Background()
	k, err := Open(ctx, NewStore(srv.Client()))
	if err != nil {
		b.Fatal(err)
	}
	tickets := synthetic(seed, 20000)
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for j := 0; j < len(tickets); j += 500 {
			if err := k.Add(ctx, tickets[j:min(j+500, len(tickets))]...); err != nil {
				b.Fatal(err)
			}
			n += min(500, len(tickets)-j)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tickets/s")
}

// BenchmarkOpen100k: a replica's start at 100,000 tickets in a real
// redis-server (sealed, as in production): from the snapshot (each op)
// and, reported once, from every ticket. Also the query latency of the
// loaded knowledge base and its heap.
//
//	go test ./knowledge/kb -run '^$' -bench Open100k -benchtime 5x
func BenchmarkOpen100k(b *testing.B) {
	seed := reports(b)
	srv := redistest.Start(b)
	ctx := context.Background()
	keys := seal.Ephemeral()
	store := func() *Store { s := NewStore(srv.Client()); s.Keys = keys; return s }
	k, err := Open(ctx, store())
	if err != nil {
		b.Fatal(err)
	}
	tickets := synthetic(seed, 100000)
	for j := 0; j < len(tickets); j += 1000 {
		if err := k.Add(ctx, tickets[j:min(j+1000, len(tickets))]...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := k.Snapshot(ctx); err != nil {
		b.Fatal(err)
	}
	// Once, for comparison: the start without a snapshot.
	srv.Client().Rename(ctx, snapKey, snapKey+":aside")
	t0 := time.Now()
	if full, err := Open(ctx, store()); err != nil || full.FromSnapshot {
		b.Fatal(err)
	}
	fullStart := time.Since(t0)
	srv.Client().Rename(ctx, snapKey+":aside", snapKey)
	b.ResetTimer()
	var loaded *KB
	for i := 0; i < b.N; i++ {
		loaded, err = Open(ctx, store())
		if err != nil || !loaded.FromSnapshot || loaded.Stats().Tickets != 100000 {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(fullStart.Seconds(), "s-without-snapshot")
	lat := make([]time.Duration, 0, 500)
	for i := 0; i < 500; i++ {
		q := seed[(i*31)%len(seed)]
		t0 := time.Now()
		loaded.Search(Query{Title: q[0], Body: q[1]}, 5)
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	runtime.KeepAlive(loaded)
}
