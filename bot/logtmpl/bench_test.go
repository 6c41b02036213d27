package logtmpl

import (
	"github.com/opsgate/opsgate/test/evaldata"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rawCorpus(b *testing.B) []string {
	files, _ := filepath.Glob(filepath.Join(evaldata.Need(b, "loghub-2k"), "*", "*_2k.log"))
	var lines []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimRight(string(data), "\n"), "\n")...)
	}
	return lines
}

// BenchmarkMineRaw mines the 32,000 raw Loghub-2k lines (header stripping
// included), one core; lines/s is the throughput.
func BenchmarkMineRaw(b *testing.B) {
	lines := rawCorpus(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := NewMiner(Default)
		for _, l := range lines {
			m.Add(StripHeader(l))
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkMineWarm: the steady state — a miner that has seen the corpus
// once mines it again (templates exist; no new clusters).
func BenchmarkMineWarm(b *testing.B) {
	lines := rawCorpus(b)
	m := NewMiner(Default)
	for _, l := range lines {
		m.Add(StripHeader(l))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			m.Add(StripHeader(l))
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "lines/s")
}
