package kb

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"
)

// VectorKey holds a ticket's embedding (little-endian float32s).
func VectorKey(id string) string { return "opsgate:{kb}:e:" + id }

// Embedder turns texts into normalised vectors (Gemini when configured).
type Embedder interface {
	Embed(ctx context.Context, texts []string, query bool) ([][]float32, error)
}

// SetEmbedder turns on hybrid search: tickets added from now on are
// embedded and stored next to the ticket, queries are embedded, and the
// lexical and vector rankings are fused (reciprocal rank fusion).
func (k *KB) SetEmbedder(e Embedder) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.embedder = e
}

func embedText(t Ticket) string {
	title, body := t.SearchText()
	if len(body) > 2000 {
		body = body[:2000]
	}
	return title + "\n" + body
}

func encodeVec(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// embed stores the tickets' vectors; a failure leaves them lexical-only.
func (k *KB) embed(ctx context.Context, ts []Ticket) error {
	k.mu.RLock()
	e := k.embedder
	k.mu.RUnlock()
	if e == nil || len(ts) == 0 {
		return nil
	}
	texts := make([]string, len(ts))
	for i, t := range ts {
		texts[i] = embedText(t)
	}
	vs, err := e.Embed(ctx, texts, false)
	if err != nil {
		return fmt.Errorf("kb: embeddings skipped: %w", err)
	}
	pipe := k.store.rdb.Pipeline()
	for i, t := range ts {
		pipe.Set(ctx, VectorKey(t.ID), encodeVec(vs[i]), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("kb: embeddings not stored: %w", err)
	}
	k.mu.Lock()
	for i, t := range ts {
		k.vecs[t.ID] = vs[i]
	}
	k.mu.Unlock()
	return nil
}

// loadVectors reads stored embeddings for the given ids.
func (k *KB) loadVectors(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = VectorKey(id)
	}
	vals, err := k.store.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, v := range vals {
		if s, ok := v.(string); ok && len(s)%4 == 0 && len(s) > 0 {
			k.vecs[ids[i]] = decodeVec([]byte(s))
		}
	}
	return nil
}

// vectorRank returns ids by cosine similarity to q (vectors are normalised).
func (k *KB) vectorRank(q []float32, n int, exclude string) []string {
	type sc struct {
		id string
		s  float32
	}
	top := make([]sc, 0, n+1)
	for id, v := range k.vecs {
		if id == exclude || len(v) != len(q) {
			continue
		}
		var dot float32
		for i := range v {
			dot += v[i] * q[i]
		}
		if len(top) == n && dot <= top[n-1].s {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return top[i].s < dot })
		top = append(top, sc{})
		copy(top[i+1:], top[i:])
		top[i] = sc{id, dot}
		if len(top) > n {
			top = top[:n]
		}
	}
	out := make([]string, len(top))
	for i, x := range top {
		out[i] = x.id
	}
	return out
}

// fuse combines rankings by reciprocal rank fusion (k = 60).
func fuse(rankings ...[]string) []string {
	score := map[string]float64{}
	for _, r := range rankings {
		for i, id := range r {
			score[id] += 1 / (60 + float64(i+1))
		}
	}
	ids := make([]string, 0, len(score))
	for id := range score {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if score[ids[i]] != score[ids[j]] {
			return score[ids[i]] > score[ids[j]]
		}
		return ids[i] < ids[j]
	})
	return ids
}

const queryEmbedTimeout = 2 * time.Second
