package kb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/knowledge/search"
)

// A snapshot is the whole in-memory knowledge base — index, summaries,
// vectors — and the change-stream position it covers, saved in Redis in
// sealed chunks. A replica (or `opsgate kb search`) loads it and replays
// only the changes after it, instead of reading and tokenizing every
// ticket: at 100,000 tickets that is the difference between seconds and a
// fraction of one.
const (
	snapKey       = "opsgate:{kb}:snap"      // the manifest: which generation, how many chunks
	snapChunk     = 4 << 20                  // bytes per chunk: no single huge Redis value
	snapOldTTL    = 10 * time.Minute         // a replaced generation lingers for readers mid-load
	snapLockKey   = "opsgate:{kb}:snap:lock" // one replica writes at a time
	snapEvery     = 1000                     // changes after which a replica writes a new snapshot
	snapEveryTime = 10 * time.Minute         // or this long, once anything changed
	kbMagic       = "OGKB1"
)

func snapChunkKey(gen string, i int) string { return snapKey + ":" + gen + ":" + strconv.Itoa(i) }

// ErrNoSnapshot: none saved, or one that cannot be used here.
var ErrNoSnapshot = errors.New("kb: no usable snapshot")

type manifest struct {
	Gen    string `json:"gen"`
	Chunks int    `json:"chunks"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
	Last   string `json:"last"` // change-stream id the snapshot covers
}

// snapAAD binds a chunk to its generation, its place and the number of
// chunks: a chunk moved, dropped or added does not open as part of it.
func snapAAD(gen string, i, n int) []byte {
	return []byte("opsgate kb snapshot v1\x00" + gen + "\x00" + strconv.Itoa(i) + "/" + strconv.Itoa(n))
}

// SaveSnapshot stores data as the snapshot covering changes up to last.
func (s *Store) SaveSnapshot(ctx context.Context, data []byte, last string) error {
	g := make([]byte, 8)
	_, _ = rand.Read(g)
	m := manifest{Gen: hex.EncodeToString(g), Bytes: len(data), Last: last}
	sum := sha256.Sum256(data)
	m.SHA256 = hex.EncodeToString(sum[:])
	old, _ := s.manifest(ctx)
	m.Chunks = max(1, (len(data)+snapChunk-1)/snapChunk)
	pipe := s.rdb.Pipeline()
	for i := 0; i < m.Chunks; i++ {
		chunk := data[min(i*snapChunk, len(data)):min((i+1)*snapChunk, len(data))]
		if s.Keys != nil {
			chunk = s.Keys.SealBinary(chunk, snapAAD(m.Gen, i, m.Chunks))
		}
		pipe.Set(ctx, snapChunkKey(m.Gen, i), chunk, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("kb snapshot: %w", err)
	}
	mb, _ := json.Marshal(m)
	if err := s.rdb.Set(ctx, snapKey, mb, 0).Err(); err != nil {
		return fmt.Errorf("kb snapshot: %w", err)
	}
	if old != nil && old.Gen != m.Gen {
		pipe := s.rdb.Pipeline()
		for i := 0; i < old.Chunks; i++ {
			pipe.Expire(ctx, snapChunkKey(old.Gen, i), snapOldTTL)
		}
		_, _ = pipe.Exec(ctx) // they would be replaced again at the next snapshot
	}
	return nil
}

func (s *Store) manifest(ctx context.Context) (*manifest, error) {
	b, err := s.rdb.Get(ctx, snapKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("kb snapshot: %w", err)
	}
	var m manifest
	if json.Unmarshal(b, &m) != nil || m.Chunks < 1 || m.Chunks > 1<<16 || m.Bytes < 0 {
		return nil, fmt.Errorf("%w: bad manifest", ErrNoSnapshot)
	}
	return &m, nil
}

// LoadSnapshot returns the saved snapshot and the change-stream id it
// covers; ErrNoSnapshot when there is none or it cannot be used (damaged,
// sealed with a removed key, or the change stream was trimmed past it).
func (s *Store) LoadSnapshot(ctx context.Context) ([]byte, string, error) {
	m, err := s.manifest(ctx)
	if err != nil {
		return nil, "", err
	}
	keys := make([]string, m.Chunks)
	for i := range keys {
		keys[i] = snapChunkKey(m.Gen, i)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("kb snapshot: %w", err)
	}
	data := make([]byte, 0, m.Bytes)
	for i, c := range cmds {
		chunk, err := c.Bytes()
		if err != nil {
			return nil, "", fmt.Errorf("%w: chunk %d missing", ErrNoSnapshot, i)
		}
		if s.Keys != nil {
			if chunk, err = s.Keys.OpenBinary(chunk, snapAAD(m.Gen, i, m.Chunks)); err != nil {
				return nil, "", fmt.Errorf("%w: chunk %d: %v", ErrNoSnapshot, i, err)
			}
		}
		data = append(data, chunk...)
	}
	if len(data) != m.Bytes {
		return nil, "", fmt.Errorf("%w: content does not match its manifest", ErrNoSnapshot)
	}
	if s.Keys == nil { // sealed chunks are authenticated already, each in its place
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != m.SHA256 {
			return nil, "", fmt.Errorf("%w: content does not match its manifest", ErrNoSnapshot)
		}
	}
	// Changes trimmed from the stream since the snapshot would be missed.
	// Entries are only ever trimmed from the front: if some were and what
	// remains starts after the snapshot, entries it needs may be gone.
	if info, err := s.rdb.XInfoStream(ctx, changesKey).Result(); err == nil {
		first := info.FirstEntry.ID
		if info.Length == 0 {
			first = info.LastGeneratedID
		}
		trimmed := info.EntriesAdded > info.Length
		if (trimmed && first != "" && !streamIDBefore(first, m.Last)) ||
			(info.MaxDeletedEntryID != "" && info.MaxDeletedEntryID != "0-0" && !streamIDBefore(info.MaxDeletedEntryID, m.Last)) {
			return nil, "", fmt.Errorf("%w: changes after it were trimmed", ErrNoSnapshot)
		}
	} else if !errors.Is(err, redis.Nil) && !strings.Contains(err.Error(), "no such key") {
		return nil, "", fmt.Errorf("%w: the change stream cannot be checked: %v", ErrNoSnapshot, err)
	}
	return data, m.Last, nil
}

// streamIDBefore reports whether stream id a <= b.
func streamIDBefore(a, b string) bool {
	pa, pb := parseStreamID(a), parseStreamID(b)
	return pa[0] < pb[0] || (pa[0] == pb[0] && pa[1] <= pb[1])
}

func parseStreamID(s string) [2]uint64 {
	ms, seq, _ := strings.Cut(s, "-")
	a, _ := strconv.ParseUint(ms, 10, 64)
	b, _ := strconv.ParseUint(seq, 10, 64)
	return [2]uint64{a, b}
}

// encode writes the knowledge base as a snapshot (the caller holds mu).
func (k *KB) encode() []byte {
	b := append([]byte(nil), kbMagic...)
	b = appendStr(b, k.last)
	b = k.ix.AppendBinary(b)
	b = binary.AppendUvarint(b, uint64(len(k.sums)))
	for _, s := range k.sums {
		for _, f := range []string{s.ID, s.Title, s.URL, s.RootCause, s.Resolution, s.Category, s.Source} {
			b = appendStr(b, f)
		}
		b = appendTime(b, s.Created)
		b = appendTime(b, s.Resolved)
	}
	b = binary.AppendUvarint(b, uint64(len(k.vecs)))
	for id, v := range k.vecs {
		b = appendStr(b, id)
		b = binary.AppendUvarint(b, uint64(len(v)))
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// decode reads a snapshot into k (index, summaries, vectors, position).
func (k *KB) decode(data []byte) error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrNoSnapshot, what) }
	if len(data) < len(kbMagic) || string(data[:len(kbMagic)]) != kbMagic {
		return bad("not a knowledge-base snapshot")
	}
	r := &snapReader{b: data[len(kbMagic):]}
	last := r.str()
	ix, rest, err := search.ReadIndex(r.b)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoSnapshot, err)
	}
	r.b = rest
	n := r.count(9)
	sums := make(map[string]Summary, n)
	for i := 0; i < n && r.err == nil; i++ {
		var s Summary
		for _, f := range []*string{&s.ID, &s.Title, &s.URL, &s.RootCause, &s.Resolution, &s.Category, &s.Source} {
			*f = r.str()
		}
		s.Created, s.Resolved = r.time(), r.time()
		sums[s.ID] = s
	}
	nv := r.count(2)
	vecs := make(map[string][]float32, nv)
	for i := 0; i < nv && r.err == nil; i++ {
		id := r.str()
		v := make([]float32, r.count(4))
		for j := range v {
			v[j] = math.Float32frombits(r.u32())
		}
		vecs[id] = v
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return bad("trailing bytes")
	}
	k.ix, k.sums, k.vecs, k.last = ix, sums, vecs, last
	return nil
}

type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated", ErrNoSnapshot)
	}
	r.b = nil
}

func (r *snapReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *snapReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *snapReader) time() time.Time {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return time.Time{}
	}
	r.b = r.b[n:]
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (r *snapReader) u32() uint32 {
	if len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// Snapshot saves the knowledge base as it is now (one replica at a time:
// a lock in Redis; false when another holds it).
func (k *KB) Snapshot(ctx context.Context) (bool, error) {
	ok, err := k.store.rdb.SetNX(ctx, snapLockKey, "1", time.Minute).Result()
	if err != nil || !ok {
		return false, err
	}
	defer k.store.rdb.Del(context.WithoutCancel(ctx), snapLockKey)
	// Catch up first, so the snapshot covers what this replica wrote too.
	if _, err := k.Sync(ctx); err != nil {
		return false, err
	}
	k.mu.RLock()
	data := k.encode()
	last := k.last
	k.mu.RUnlock()
	if err := k.store.SaveSnapshot(ctx, data, last); err != nil {
		return false, err
	}
	k.mu.Lock()
	k.sinceSnap, k.snapAt = 0, time.Now()
	k.mu.Unlock()
	return true, nil
}

// snapshotDue: enough changed since the last snapshot this replica saw.
func (k *KB) snapshotDue() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.sinceSnap >= snapEvery || (k.sinceSnap > 0 && time.Since(k.snapAt) >= snapEveryTime)
}
