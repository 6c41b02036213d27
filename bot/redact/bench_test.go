package redact

import (
	"bytes"
	"github.com/opsgate/opsgate/test/evaldata"
	"os"
	"path/filepath"
	"testing"
)

func loghubCorpus(b *testing.B) []string {
	dir := evaldata.Need(b, "loghub-2k")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*_2k.log"))
	if len(files) == 0 {
		b.Skip("no loghub-2k logs")
	}
	var lines []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			lines = append(lines, string(l))
		}
	}
	return lines
}

// BenchmarkRedactLoghub redacts the 16 concatenated Loghub-2k logs (one
// core; MB/s is the throughput).
func BenchmarkRedactLoghub(b *testing.B) {
	lines := loghubCorpus(b)
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	e := Default()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := e.NewSession()
		for _, l := range lines {
			s.Line(l)
		}
	}
}
