package queue

import (
	"bytes"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/seal"
)

// Whatever is written to the stream, only what Enqueue sealed for that
// kind and dedupe id opens.
func FuzzOpen(f *testing.F) {
	q := New(nil, seal.Ephemeral())
	good := q.seal("decision", "", []byte(`{"x":1}`))
	f.Add("decision", "", good)
	f.Add("reveal", "", good)
	f.Add("decision", "d", []byte("s1.00000000.AAAA"))
	f.Fuzz(func(t *testing.T, kind, dedupe string, sealed []byte) {
		e, err := q.open(Entry{ID: "1-0", Kind: kind, Dedupe: dedupe, sealed: string(sealed)})
		if err != nil {
			return
		}
		if !bytes.Equal(sealed, good) || kind != "decision" || dedupe != "" || string(e.Payload) != `{"x":1}` || e.JobID == "" || time.Since(e.QueuedAt) > time.Hour {
			t.Fatalf("opened %q as %q/%q: %+v", sealed, kind, dedupe, e)
		}
	})
}
