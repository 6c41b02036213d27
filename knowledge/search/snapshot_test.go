package search

import (
	"reflect"
	"testing"
	"time"
)

func TestIndexSnapshotAnswersAlike(t *testing.T) {
	ix := NewIndex()
	for i, d := range []Doc{
		{ID: "a", Title: "kafka consumer lag", Body: "rebalance storm", Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "b", Title: "postgres refused connections", Body: "pool exhausted 3.8.3"},
		{ID: "c", Title: "certificate expired", Body: "tls handshake"},
		{ID: "a", Title: "kafka consumer lag again", Body: "replaced"}, // a replaced document
	} {
		_ = i
		ix.Add(d)
	}
	ix.Remove("c")
	got, rest, err := ReadIndex(ix.AppendBinary([]byte(nil)))
	if err != nil || len(rest) != 0 {
		t.Fatal(err, len(rest))
	}
	for _, q := range [][2]string{{"kafka lag", ""}, {"refused", "pool"}, {"certificate", ""}, {"3.8.9 upgrade", ""}} {
		if a, b := ix.Search(q[0], q[1], 5, ""), got.Search(q[0], q[1], 5, ""); !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: %v vs %v", q, a, b)
		}
	}
	if got.Len() != ix.Len() || got.Terms() != ix.Terms() {
		t.Fatal("sizes differ")
	}
	// Another title weight, another format, truncation: refused.
	other := NewIndex()
	other.TitleWeight = 1
	other.Add(Doc{ID: "x", Title: "y"})
	for _, bad := range [][]byte{other.AppendBinary(nil), []byte("OGIX0"), ix.AppendBinary(nil)[:20]} {
		if _, _, err := ReadIndex(bad); err == nil {
			t.Fatalf("%q read", bad[:5])
		}
	}
}

func FuzzReadIndex(f *testing.F) {
	ix := NewIndex()
	ix.Add(Doc{ID: "a", Title: "kafka lag", Body: "x"})
	ix.Add(Doc{ID: "b", Title: "disk full"})
	f.Add(ix.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _, err := ReadIndex(data)
		if err != nil {
			return
		}
		got.Search("kafka disk", "lag", 3, "") // must not panic on whatever it read
	})
}
