package audit_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/opsgate/opsgate/test/redistest"
)

// BenchmarkVerify verifies a 20,000-entry trail per iteration (paged reads
// from a real redis-server) and reports the peak live heap seen while
// walking it: it stays flat as the trail grows, since pages are dropped.
//
//	go test ./bot/audit -run XXX -bench Verify -benchtime 3x
func BenchmarkVerify(b *testing.B) {
	rdb := redistest.Start(b).Client()
	l := newLog(b, rdb, nil)
	const n = 20000
	fill(b, l, n)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := l.Verify(ctx, nil)
		if err != nil || r.Entries != n {
			b.Fatal(r, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap-after")
}
