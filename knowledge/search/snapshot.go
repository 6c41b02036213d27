package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// ErrSnapshot: an encoded index that cannot be used (another format or
// title weight, or damaged): build the index from the tickets instead.
var ErrSnapshot = errors.New("search: index snapshot unusable")

const snapshotMagic = "OGIX3"

// AppendBinary appends the index in a compact binary form (documents,
// postings delta-encoded), for a snapshot that loads far faster than
// tokenizing every ticket again.
func (ix *Index) AppendBinary(b []byte) []byte {
	b = append(b, snapshotMagic...)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(ix.TitleWeight))
	b = binary.AppendUvarint(b, uint64(len(ix.ids)))
	for i, id := range ix.ids {
		b = appendString(b, id)
		var t int64
		if !ix.times[i].IsZero() {
			t = ix.times[i].UnixNano()
		}
		b = binary.AppendVarint(b, t)
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(ix.lens[i]))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(ix.tlens[i]))
		dead := byte(0)
		if ix.dead[int32(i)] {
			dead = 1
		}
		b = append(b, dead)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(ix.total))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(ix.ttotal))
	n := 0 // all postings: the reader allocates them at once
	for _, m := range []map[string][]posting{ix.post, ix.tpost} {
		for _, ps := range m {
			n += len(ps)
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	b = appendPostings(b, ix.post)
	return appendPostings(b, ix.tpost)
}

// appendTF writes a term frequency: a whole number (the usual case: title
// weight and counts) as a varint n<<1, anything else as 1 and its bits.
func appendTF(b []byte, tf float32) []byte {
	if tf >= 0 && tf < 1<<24 && tf == float32(uint32(tf)) {
		return binary.AppendUvarint(b, uint64(tf)<<1)
	}
	b = binary.AppendUvarint(b, 1)
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(tf))
}

func (r *reader) tf() float32 {
	v := r.uvarint()
	if v&1 == 0 {
		return float32(v >> 1)
	}
	return math.Float32frombits(r.u32())
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendPostings(b []byte, m map[string][]posting) []byte {
	terms := make([]string, 0, len(m))
	for t := range m {
		terms = append(terms, t)
	}
	sort.Strings(terms) // deterministic bytes
	b = binary.AppendUvarint(b, uint64(len(terms)))
	for _, t := range terms {
		ps := m[t]
		b = appendString(b, t)
		b = binary.AppendUvarint(b, uint64(len(ps)))
		prev := int32(0)
		for _, p := range ps {
			b = binary.AppendUvarint(b, uint64(p.doc-prev)) // postings are in document order
			prev = p.doc
			b = appendTF(b, p.tf)
		}
	}
	return b
}

// reader decodes a snapshot, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrSnapshot, what)
	}
}

func (r *reader) uvarint() uint64 { return readVarint(r, binary.Uvarint) }
func (r *reader) varint() int64   { return readVarint(r, binary.Varint) }

// readVarint reads one varint with dec (binary.Uvarint or binary.Varint);
// a truncated or overlong one fails the reader.
func readVarint[T uint64 | int64](r *reader, dec func([]byte) (T, int)) T {
	v, n := dec(r.b)
	if n <= 0 {
		r.fail("truncated")
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// take returns the next n bytes, or nil (and the reader fails) when
// fewer are left.
func (r *reader) take(n int) []byte {
	if len(r.b) < n {
		r.fail("truncated")
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *reader) byte1() byte {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("truncated string")
		r.b = nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// count reads a count that must fit in what is left (each item takes at
// least min bytes), so damaged input cannot make it allocate wildly.
func (r *reader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.fail("count larger than the data")
		return 0
	}
	return int(n)
}

// ReadIndex decodes an index written by AppendBinary into a fresh index
// with this build's defaults, returning the bytes after it.
func ReadIndex(b []byte) (*Index, []byte, error) {
	ix := NewIndex()
	if len(b) < len(snapshotMagic) || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return nil, nil, fmt.Errorf("%w: not an index snapshot", ErrSnapshot)
	}
	r := &reader{b: b[len(snapshotMagic):]}
	if tw := math.Float64frombits(r.u64()); tw != ix.TitleWeight {
		return nil, nil, fmt.Errorf("%w: made with title weight %g, this build uses %g", ErrSnapshot, tw, ix.TitleWeight)
	}
	n := r.count(11)
	ix.ids, ix.times, ix.lens, ix.tlens = make([]string, n), make([]time.Time, n), make([]float32, n), make([]float32, n)
	for i := 0; i < n && r.err == nil; i++ {
		ix.ids[i] = r.str()
		if t := r.varint(); t != 0 {
			ix.times[i] = time.Unix(0, t).UTC()
		}
		ix.lens[i] = math.Float32frombits(r.u32())
		ix.tlens[i] = math.Float32frombits(r.u32())
		if r.byte1() == 1 {
			if ix.dead == nil {
				ix.dead = map[int32]bool{}
			}
			ix.dead[int32(i)] = true
		} else {
			if _, dup := ix.byID[ix.ids[i]]; dup {
				r.fail("a live document twice")
			}
			ix.byID[ix.ids[i]] = int32(i)
			ix.live++
		}
	}
	ix.total = math.Float64frombits(r.u64())
	ix.ttotal = math.Float64frombits(r.u64())
	slab := make([]posting, r.count(2))
	ix.post = readPostings(r, n, &slab)
	ix.tpost = readPostings(r, n, &slab)
	if r.err != nil {
		return nil, nil, r.err
	}
	return ix, r.b, nil
}

func readPostings(r *reader, docs int, slab *[]posting) map[string][]posting {
	nt := r.count(2)
	m := make(map[string][]posting, nt)
	for i := 0; i < nt && r.err == nil; i++ {
		t := r.str()
		np := r.count(2)
		if np > len(*slab) {
			r.fail("more postings than announced")
			return m
		}
		// Full slice expression: a term's postings cannot grow into the
		// next term's (Add appends to them).
		ps := (*slab)[:np:np]
		*slab = (*slab)[np:]
		doc := int32(0)
		for j := range ps {
			d := r.uvarint()
			if d > uint64(docs) || int64(doc)+int64(d) >= int64(docs) {
				r.fail("posting outside the documents")
				return m
			}
			doc += int32(d)
			ps[j] = posting{doc: doc, tf: r.tf()}
		}
		m[t] = ps
	}
	return m
}
