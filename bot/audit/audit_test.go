package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/test/redistest"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func newLog(t testing.TB, rdb redis.Cmdable, now func() time.Time) *audit.Log {
	t.Helper()
	l, err := audit.New(rdb, key, now)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func fill(t testing.TB, l *audit.Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := l.Append(context.Background(), audit.Entry{Actor: "U1", Action: "reveal", Incident: fmt.Sprint("P", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// rebuild rewrites the stream as a Redis writer would: edit may change,
// drop (false) or reorder entries; head is then set as given ("" = as the
// last kept entry says).
func rebuild(t testing.TB, rdb *redis.Client, edit func(es []audit.Entry) []audit.Entry) {
	t.Helper()
	ctx := context.Background()
	var es []audit.Entry
	for _, m := range rdb.XRange(ctx, audit.StreamKey, "-", "+").Val() {
		var e audit.Entry
		if err := json.Unmarshal([]byte(m.Values["e"].(string)), &e); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	es = edit(es)
	rdb.Del(ctx, audit.StreamKey)
	for _, e := range es {
		b, _ := json.Marshal(e)
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: map[string]any{"e": string(b)}})
	}
	if len(es) > 0 {
		last := es[len(es)-1]
		rdb.Set(ctx, audit.HeadKey, fmt.Sprintf("%d %s", last.Seq+1, last.MAC), 0)
	} else {
		rdb.Del(ctx, audit.HeadKey)
	}
}

func problemAt(t *testing.T, err error, pos int64, why string) {
	t.Helper()
	var p *audit.Problem
	if !errors.As(err, &p) || !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("want a problem at #%d, got %v", pos, err)
	}
	if p.Position != pos || !strings.Contains(p.Error(), why) {
		t.Fatalf("want #%d %q, got %v", pos, why, err)
	}
}

func TestTheKeyedChainDetectsEveryEditWithoutTheKey(t *testing.T) {
	rdb := redistest.Start(t).Client()
	l := newLog(t, rdb, func() time.Time { return time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) })
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Append(ctx, audit.Entry{Actor: "U1", Action: "reveal", Incident: fmt.Sprint("P", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r, err := l.Verify(ctx, nil)
	if err != nil || r.Entries != 20 || r.First != 0 || r.Last != 19 {
		t.Fatalf("verify: %+v %v", r, err)
	}
	pristine := rdb.XRange(ctx, audit.StreamKey, "-", "+").Val()
	head := rdb.Get(ctx, audit.HeadKey).Val()
	restore := func() {
		rdb.Del(ctx, audit.StreamKey)
		for _, m := range pristine {
			rdb.XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: m.Values})
		}
		rdb.Set(ctx, audit.HeadKey, head, 0)
	}

	// An actor changed, MAC kept.
	rebuild(t, rdb, func(es []audit.Entry) []audit.Entry { es[5].Actor = "U666"; return es })
	_, err = l.Verify(ctx, nil)
	problemAt(t, err, 5, "does not match its MAC")

	// The whole chain recomputed after the edit — but without the key (an
	// unkeyed hash, or any other key) it cannot be re-signed.
	restore()
	other, _ := audit.New(rdb, bytes.Repeat([]byte("x"), 32), nil)
	rdb.Del(ctx, audit.StreamKey, audit.HeadKey)
	for i := 0; i < 20; i++ {
		actor := "U1"
		if i == 5 {
			actor = "U666"
		}
		if _, err := other.Append(ctx, audit.Entry{Actor: actor, Action: "reveal", Incident: fmt.Sprint("P", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = l.Verify(ctx, nil)
	problemAt(t, err, 0, "does not match its MAC")

	// An entry removed from the middle.
	restore()
	rebuild(t, rdb, func(es []audit.Entry) []audit.Entry { return append(es[:7], es[8:]...) })
	_, err = l.Verify(ctx, nil)
	problemAt(t, err, 7, "found entry #8 where #7 belongs")

	// Two entries swapped.
	restore()
	rebuild(t, rdb, func(es []audit.Entry) []audit.Entry { es[11], es[12] = es[12], es[11]; return es })
	_, err = l.Verify(ctx, nil)
	problemAt(t, err, 11, "found entry #12 where #11 belongs")

	// The last entry dropped, head left alone.
	restore()
	ids := func() []redis.XMessage { return rdb.XRange(ctx, audit.StreamKey, "-", "+").Val() }
	rdb.XDel(ctx, audit.StreamKey, ids()[19].ID)
	_, err = l.Verify(ctx, nil)
	problemAt(t, err, 19, "head records 20 entries but the trail holds 19")

	// The first entries dropped: without anchors the start cannot be
	// proved, and the report says so.
	restore()
	rdb.XDel(ctx, audit.StreamKey, ids()[0].ID, ids()[1].ID)
	r, err = l.Verify(ctx, nil)
	if err != nil || !r.UncheckedStart || r.First != 2 {
		t.Fatalf("%+v %v", r, err)
	}

	// A malformed head, an entry that is not JSON.
	restore()
	rdb.Set(ctx, audit.HeadKey, "garbage", 0)
	_, err = l.Verify(ctx, nil)
	problemAt(t, err, 20, "not \"<count> <mac>\"")
	restore()
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: map[string]any{"e": "{"}})
	_, err = l.Verify(ctx, nil)
	problemAt(t, err, 20, "not an audit entry")

	restore()
	if r, err := l.Verify(ctx, nil); err != nil || r.Entries != 20 {
		t.Fatalf("restored: %+v %v", r, err)
	}
}

// What the chain alone cannot see — the newest entries dropped and the
// head pointed back — the anchors do.
func TestAnchorsCatchTruncationAndBoundTheTrim(t *testing.T) {
	rdb := redistest.Start(t).Client()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := newLog(t, rdb, clock)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "anchors.jsonl")
	an := &audit.Anchorer{Log: l, File: file, Every: 10, Now: clock, Logger: newJSONLogger(io.Discard)}
	fill(t, l, 140)
	if ok, err := an.Anchor(ctx); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, err := an.Anchor(ctx); err != nil || ok {
		t.Fatal("anchored twice with nothing new", ok, err)
	}
	anchors, err := audit.ReadAnchorFiles(key, file)
	if err != nil || len(anchors) != 1 || anchors[0].Count != 140 {
		t.Fatalf("%+v %v", anchors, err)
	}
	// Drop the last 120 entries and reset the head to the 20th: the chain
	// alone looks intact.
	msgs := rdb.XRange(ctx, audit.StreamKey, "-", "+").Val()
	var e19 audit.Entry
	_ = json.Unmarshal([]byte(msgs[19].Values["e"].(string)), &e19)
	for _, m := range msgs[20:] {
		rdb.XDel(ctx, audit.StreamKey, m.ID)
	}
	rdb.Set(ctx, audit.HeadKey, fmt.Sprintf("20 %s", e19.MAC), 0)
	if _, err := l.Verify(ctx, nil); err != nil {
		t.Fatalf("without anchors the cut is invisible, yet: %v", err)
	}
	_, err = l.Verify(ctx, anchors)
	problemAt(t, err, 20, "records 140 entries but the trail ends at #19: entries #20..#139 were removed")
	// The anchorer refuses to vouch for the cut trail.
	if _, err := an.Anchor(ctx); !errors.Is(err, audit.ErrChainBroken) {
		t.Fatalf("anchored a truncated trail: %v", err)
	}
}

func TestRetentionTrimsOnlyAtAnAnchoredCheckpoint(t *testing.T) {
	rdb := redistest.Start(t).Client()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := newLog(t, rdb, clock)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "anchors.jsonl")
	an := &audit.Anchorer{Log: l, File: file, Retention: 48 * time.Hour, Now: clock, Logger: newJSONLogger(io.Discard)}
	fill(t, l, 30)
	if _, err := an.Anchor(ctx); err != nil { // checkpoint at 30, day 0
		t.Fatal(err)
	}
	now = now.Add(24 * time.Hour)
	fill(t, l, 30)
	if _, err := an.Anchor(ctx); err != nil { // checkpoint at 60, day 1
		t.Fatal(err)
	}
	if n := rdb.XLen(ctx, audit.StreamKey).Val(); n != 60 {
		t.Fatalf("trimmed before retention: %d", n)
	}
	now = now.Add(25 * time.Hour) // day 2+: the day-0 checkpoint is past retention
	fill(t, l, 5)
	if _, err := an.Anchor(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rdb.XLen(ctx, audit.StreamKey).Val(); n != 35 {
		t.Fatalf("want the 30 entries up to the day-0 checkpoint trimmed, %d left", n)
	}
	anchors, err := audit.ReadAnchorFiles(key, file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Verify(ctx, anchors)
	if err != nil || r.TrimmedAt != 30 || r.First != 30 || r.Last != 64 || r.Anchors != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	// A trim that is not at a checkpoint (someone XTRIMs two more) is
	// reported.
	msgs := rdb.XRangeN(ctx, audit.StreamKey, "-", "+", 2).Val()
	rdb.XDel(ctx, audit.StreamKey, msgs[0].ID, msgs[1].ID)
	_, err = l.Verify(ctx, anchors)
	problemAt(t, err, 0, "entries #0..#31 are missing")
}

func TestTheAnchorerNeverVouchesForAForgedEntry(t *testing.T) {
	rdb := redistest.Start(t).Client()
	l := newLog(t, rdb, nil)
	ctx := context.Background()
	var logs bytes.Buffer
	var observed []bool                                                                                                                  // what the anchor metrics are told
	an := &audit.Anchorer{Log: l, Logger: newJSONLogger(&logs), Observe: func(ok bool, _ time.Time) { observed = append(observed, ok) }} // log only
	fill(t, l, 3)
	if ok, err := an.Anchor(ctx); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, err := an.Anchor(ctx); err != nil || ok { // nothing new: no anchor, nothing observed
		t.Fatal(ok, err)
	}
	// The log line is itself an anchor source.
	anchors, err := audit.ReadAnchors(&logs, "log", key)
	if err != nil || len(anchors) != 1 || anchors[0].Count != 3 {
		t.Fatalf("%+v %v", anchors, err)
	}
	// A hand-written entry claiming to be #3, head moved to match.
	forged, _ := json.Marshal(audit.Entry{Seq: 3, Actor: "U0BOSS", Action: "decision", Prev: anchors[0].Head, MAC: strings.Repeat("ab", 32)})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: audit.StreamKey, Values: map[string]any{"e": string(forged)}})
	rdb.Set(ctx, audit.HeadKey, "4 "+strings.Repeat("ab", 32), 0)
	if _, err := an.Anchor(ctx); !errors.Is(err, audit.ErrChainBroken) || !strings.Contains(err.Error(), "#3") {
		t.Fatalf("anchored a forged entry: %v", err)
	}
	if len(observed) != 2 || !observed[0] || observed[1] {
		t.Fatalf("observed %v, want one written anchor then one failure", observed)
	}
}

func TestAnchorFilesAreCheckedLineByLine(t *testing.T) {
	a := audit.Anchor{Count: 5, Head: "h", LastID: "1-0", At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}.Sign(key)
	good := string(a.Line())
	noise := `{"time":"2026-12-01T00:00:00Z","level":"INFO","msg":"something else"}` + "\n" + strings.Repeat("x", 2<<20) + "\n"
	got, err := audit.ReadAnchors(strings.NewReader(noise+good), "f", key)
	if err != nil || len(got) != 1 || got[0].Count != 5 {
		t.Fatalf("%+v %v", got, err)
	}
	edited := strings.Replace(good, `"count":5`, `"count":9`, 1)
	if _, err := audit.ReadAnchors(strings.NewReader(good+edited), "f", key); !errors.Is(err, audit.ErrBadAnchor) || !strings.Contains(err.Error(), "f line 2") {
		t.Fatalf("edited anchor accepted: %v", err)
	}
	if _, err := audit.ReadAnchors(strings.NewReader(good), "f", bytes.Repeat([]byte("y"), 32)); !errors.Is(err, audit.ErrBadAnchor) {
		t.Fatalf("anchor accepted under another key: %v", err)
	}
	if _, err := audit.ReadAnchorFiles(key, filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// Verification reads the stream a page at a time: a trail many pages long
// verifies and a break on a later page is found.
func TestVerifyPagesThroughALongTrail(t *testing.T) {
	rdb := redistest.Start(t).Client()
	l := newLog(t, rdb, nil)
	ctx := context.Background()
	fill(t, l, 1203)
	r, err := l.Verify(ctx, nil)
	if err != nil || r.Entries != 1203 {
		t.Fatalf("%+v %v", r, err)
	}
	msgs := rdb.XRange(ctx, audit.StreamKey, "-", "+").Val()
	rdb.XDel(ctx, audit.StreamKey, msgs[1100].ID)
	_, err = l.Verify(ctx, nil)
	problemAt(t, err, 1100, "found entry #1101")
}

// Invalid UTF-8 in any field (a forged request's user id, say) must not
// break the chain: it is made valid before the MAC.
func TestInvalidUTF8KeepsTheChain(t *testing.T) {
	l := newLog(t, redistest.Start(t).Client(), nil)
	ctx := context.Background()
	bad := strings.Repeat("A", 31) + "\xe2\x82" // a cut "€"
	if _, err := l.Append(ctx, audit.Entry{Actor: bad, Action: "decision_refused", Details: map[string]string{bad: bad}}); err != nil {
		t.Fatal(err)
	}
	fill(t, l, 1)
	if r, err := l.Verify(ctx, nil); err != nil || r.Entries != 2 {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestAShortKeyIsRefused(t *testing.T) {
	if _, err := audit.New(nil, []byte("short"), nil); !errors.Is(err, audit.ErrNoKey) {
		t.Fatal(err)
	}
}

func FuzzReadAnchors(f *testing.F) {
	a := audit.Anchor{Count: 5, Head: "h", LastID: "1-0", At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}.Sign(key)
	f.Add(a.Line())
	f.Add([]byte(`{"anchor_sig":"x"}`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := audit.ReadAnchors(bytes.NewReader(data), "f", key)
		for _, x := range got {
			if err == nil && !x.Valid(key) {
				t.Fatal("an unsigned anchor was returned")
			}
		}
	})
}

// An incident's entries come from its index, in order, without another
// incident's; without an index (entries from before it existed) the trail
// is read instead, with the same answer; trimmed entries are skipped.
func TestForIncidentReadsItsIndex(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	l := newLog(t, rdb, nil)
	for i := 0; i < 7; i++ {
		inc := "PA"
		if i%2 == 1 {
			inc = "PB"
		}
		if _, err := l.Append(ctx, audit.Entry{Actor: "U1", Action: fmt.Sprint("step", i), Incident: inc}); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []string {
		var got []string
		if err := l.ForIncident(ctx, "PA", func(s audit.Stored) error { got = append(got, s.Entry.Action); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := "step0 step2 step4 step6"
	if got := strings.Join(read(), " "); got != want {
		t.Fatalf("from the index: %s, want %s", got, want)
	}
	rdb.Del(ctx, audit.IncidentKey("PA"))
	if got := strings.Join(read(), " "); got != want {
		t.Fatalf("from the trail: %s, want %s", got, want)
	}
	// An index naming another incident's entry does not show it.
	b := rdb.LRange(ctx, audit.IncidentKey("PB"), 0, 0).Val()
	rdb.RPush(ctx, audit.IncidentKey("PA"), b[0], "1-1")
	if got := strings.Join(read(), " "); got != "" {
		t.Fatalf("a forged index entry shown: %s", got)
	}
}
