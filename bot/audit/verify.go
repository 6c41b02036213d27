package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Problem is where and how the trail fails verification. It wraps
// ErrTampered.
type Problem struct {
	Position int64  // the trail position (Seq) where the trail first goes wrong
	StreamID string // the stream entry found there ("" when entries are missing)
	Why      string
}

func (p *Problem) Error() string {
	at := fmt.Sprintf("entry #%d", p.Position)
	if p.StreamID != "" {
		at += " (stream id " + p.StreamID + ")"
	}
	return fmt.Sprintf("audit: chain broken at %s: %s", at, p.Why)
}

func (p *Problem) Unwrap() error { return ErrTampered }

// Report is what a successful verification covered.
type Report struct {
	Entries        int64 // entries checked
	First, Last    int64 // their positions (-1, -1 when the trail is empty)
	Anchors        int   // anchors the trail was checked against
	LatestAnchor   time.Time
	TrimmedAt      int64 // >0: entries before this position were trimmed at an anchored checkpoint
	UncheckedStart bool  // the trail starts after position 0 and no anchor was given to prove the trim
	Unanchored     int64 // entries after the latest anchor (removable without detection until the next anchor)
}

// chain is the state of a walk: the position and MAC expected next.
type chain struct {
	next int64
	prev string
	seen bool // at least one entry walked (or the walk resumes after one)
}

// step checks one stored entry against the chain and the key.
func (l *Log) step(c *chain, s Stored, start func(Entry) *Problem) *Problem {
	if s.Err != nil {
		return &Problem{Position: c.next, StreamID: s.ID, Why: s.Err.Error()}
	}
	e := s.Entry
	if !validMAC(l.key, e) {
		return &Problem{Position: c.next, StreamID: s.ID, Why: "the entry does not match its MAC (rewritten, or written without the audit key)"}
	}
	if !c.seen {
		if p := start(e); p != nil {
			p.StreamID = s.ID
			return p
		}
	} else {
		if e.Seq != c.next {
			return &Problem{Position: c.next, StreamID: s.ID, Why: fmt.Sprintf("found entry #%d where #%d belongs (entries removed or reordered)", e.Seq, c.next)}
		}
		if e.Prev != c.prev {
			return &Problem{Position: c.next, StreamID: s.ID, Why: "the entry does not follow the one before it (entries removed or reordered)"}
		}
	}
	c.seen, c.next, c.prev = true, e.Seq+1, e.MAC
	return nil
}

// Verify walks the whole trail, a page at a time, and checks every MAC
// and link, the head, and — when anchors are given — that every anchored
// checkpoint is still there unchanged and the trail was trimmed only at
// one. The error is a *Problem for a broken trail.
func (l *Log) Verify(ctx context.Context, anchors []Anchor) (Report, error) {
	byCount := map[int64]Anchor{}
	var latest Anchor
	for _, a := range anchors {
		if !a.Valid(l.key) {
			return Report{}, fmt.Errorf("%w (count %d)", ErrBadAnchor, a.Count)
		}
		if o, ok := byCount[a.Count]; ok && o.Head != a.Head {
			return Report{}, &Problem{Position: a.Count - 1, Why: fmt.Sprintf("two anchors disagree about entry #%d (the trail was rebuilt after %s)", a.Count-1, o.At.Format(time.RFC3339))}
		}
		byCount[a.Count] = a
		if a.Count > latest.Count {
			latest = a
		}
	}
	r := Report{First: -1, Last: -1}
	c := &chain{}
	lastID := ""
	start := func(e Entry) *Problem {
		switch {
		case e.Seq == 0 && e.Prev == "":
		case e.Seq == 0:
			return &Problem{Position: 0, Why: "the first entry links to a predecessor"}
		default:
			if a, ok := byCount[e.Seq]; ok && a.Head == e.Prev {
				r.TrimmedAt = e.Seq
			} else if len(anchors) > 0 {
				return &Problem{Position: 0, Why: fmt.Sprintf("entries #0..#%d are missing and no anchor marks #%d as a retention checkpoint (pass every replica's anchor file)", e.Seq-1, e.Seq)}
			} else {
				r.UncheckedStart = true
			}
		}
		r.First = e.Seq
		return nil
	}
	walk := func(s Stored) error {
		if p := l.step(c, s, start); p != nil {
			return p
		}
		pos := c.next - 1
		if a, ok := byCount[c.next]; ok {
			if a.Head != c.prev {
				return &Problem{Position: pos, StreamID: s.ID, Why: "the entry differs from the one anchored at " + a.At.Format(time.RFC3339) + " (the trail was rewritten)"}
			}
			r.Anchors++
		}
		r.Entries++
		r.Last, lastID = pos, s.ID
		return nil
	}
	// Entries appended while the walk runs move the head on: walk on from
	// where it stopped until the head and the walk agree.
	var head Head
	for round := 0; ; round++ {
		if err := l.Each(ctx, lastID, walk); err != nil {
			return Report{}, err
		}
		var err error
		if head, err = l.ReadHead(ctx); err != nil {
			var p *Problem
			if errors.As(err, &p) || !errors.Is(err, ErrTampered) {
				return Report{}, err
			}
			return Report{}, &Problem{Position: c.next, Why: err.Error()}
		}
		if head.Count <= c.next || round == 10 {
			break
		}
	}
	if head.Count != c.next || head.MAC != c.prev {
		return Report{}, &Problem{Position: min(head.Count, c.next), Why: fmt.Sprintf("the head records %d entries but the trail holds %d (entries removed from the end, or the head reset)", head.Count, c.next)}
	}
	if latest.Count > c.next {
		return Report{}, &Problem{Position: c.next, Why: fmt.Sprintf("the anchor of %s records %d entries but the trail ends at #%d: entries #%d..#%d were removed (truncated)",
			latest.At.Format(time.RFC3339), latest.Count, c.next-1, c.next, latest.Count-1)}
	}
	// Anchors before the first entry were trimmed with it; the rest must
	// all have been met on the walk.
	want := 0
	counts := make([]int64, 0, len(byCount))
	for n := range byCount {
		counts = append(counts, n)
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i] < counts[j] })
	for _, n := range counts {
		if r.First >= 0 && n > r.First {
			want++
		}
	}
	if want != r.Anchors {
		return Report{}, fmt.Errorf("%w: %d anchors fall inside the trail but %d were met", ErrTampered, want, r.Anchors)
	}
	if len(anchors) > 0 {
		r.LatestAnchor = latest.At
		r.Unanchored = c.next - latest.Count
	}
	return r, nil
}
