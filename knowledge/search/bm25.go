package search

import (
	"math"
	"sort"
	"sync"
	"time"
)

// Doc is what the index needs of a ticket.
type Doc struct {
	ID    string
	Title string
	Body  string
	Time  time.Time // when it happened (zero: unknown)
}

type posting struct {
	doc int32
	tf  float32 // field-weighted term frequency
}

// Index is an in-memory BM25F index.
type Index struct {
	K1, B       float64
	TitleWeight float64
	// TimeBoost multiplies a document's score by 1+TimeBoost·e^(−|Δt|/TimeScale)
	// when both it and the query have a time: what happened close in time is
	// more likely the same problem (0 disables).
	TimeBoost float64
	TimeScale time.Duration
	// TitleMatch adds this much of a title-only BM25 (query title against
	// document titles): reports of one problem tend to be named alike.
	TitleMatch float64
	// QueryBody weighs the query's body terms against its title terms.
	QueryBody float64
	// BodyTitleMatch adds this much of a BM25 of the query's body against
	// document titles: a report often describes in its text what the
	// earlier one named in its title.
	BodyTitleMatch float64
	tpost          map[string][]posting
	tlens          []float32
	ttotal         float64
	ids            []string
	times          []time.Time
	dead           map[int32]bool
	live           int
	lens           []float32
	total          float64
	post           map[string][]posting
	byID           map[string]int32
	scratch        []string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	// Tuned on the tune half of the GitBugs duplicate pairs only
	// (knowledge/search TestGridSearch); the holdout half is what is reported.
	return &Index{K1: 2, B: 0.9, TitleWeight: 5, QueryBody: 0.2, TitleMatch: 0.5, BodyTitleMatch: 0.25, TimeBoost: 1, TimeScale: 90 * 24 * time.Hour,
		post: map[string][]posting{}, tpost: map[string][]posting{}, byID: map[string]int32{}}
}

// Len is the number of documents.
func (ix *Index) Len() int { return ix.live }

// Add indexes a document; a document with the same id is replaced.
func (ix *Index) Add(d Doc) {
	if old, ok := ix.byID[d.ID]; ok {
		ix.remove(old)
	}
	n := int32(len(ix.ids))
	ix.ids = append(ix.ids, d.ID)
	ix.times = append(ix.times, d.Time)
	ix.byID[d.ID] = n
	tf := map[string]float32{}
	ttf := map[string]float32{}
	ix.scratch = Tokens(d.Title, ix.scratch)
	for _, t := range ix.scratch {
		tf[t] += float32(ix.TitleWeight)
		ttf[t]++
	}
	var tl float32
	for t, f := range ttf {
		ix.tpost[t] = append(ix.tpost[t], posting{n, f})
		tl += f
	}
	ix.tlens = append(ix.tlens, tl)
	ix.ttotal += float64(tl)
	ix.scratch = Tokens(d.Body, ix.scratch)
	for _, t := range ix.scratch {
		tf[t]++
	}
	var l float32
	for t, f := range tf {
		ix.post[t] = append(ix.post[t], posting{n, f})
		l += f
	}
	ix.lens = append(ix.lens, l)
	ix.total += float64(l)
	ix.live++
}

// remove tombstones a document: its postings stay but never score.
func (ix *Index) remove(n int32) {
	if ix.dead == nil {
		ix.dead = map[int32]bool{}
	}
	ix.dead[n] = true
	ix.total -= float64(ix.lens[n])
	ix.ttotal -= float64(ix.tlens[n])
	ix.live--
	delete(ix.byID, ix.ids[n])
}

// Remove deletes a document by id.
func (ix *Index) Remove(id string) {
	if n, ok := ix.byID[id]; ok {
		ix.remove(n)
	}
}

// Hit is a search result.
type Hit struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
}

// Search returns the k best documents for the query text.
func (ix *Index) Search(title, body string, k int, exclude string) []Hit {
	return ix.SearchAt(title, body, time.Time{}, k, exclude)
}

// maxQueryTerms caps the terms of a long query: the title's, then the
// body's rarest (highest idf) ones.
const maxQueryTerms = 96

type qterm struct {
	t   string
	w   float64
	idf float64
}

var accPool = sync.Pool{New: func() any { return &acc{} }}

// acc is a dense score accumulator reused across searches.
type acc struct {
	score   []float64
	seen    []bool
	touched []int32
}

// SearchAt is Search with the query's time (for the time prior).
func (ix *Index) SearchAt(title, body string, at time.Time, k int, exclude string) []Hit {
	if ix.live == 0 || k <= 0 {
		return nil
	}
	N := float64(ix.live)
	idf := func(df int) float64 { return math.Log(1 + (N-float64(df)+0.5)/(float64(df)+0.5)) }
	weights := map[string]float64{}
	titleTerms := map[string]bool{}
	for _, t := range Tokens(title, nil) {
		weights[t] += ix.TitleWeight
		titleTerms[t] = true
	}
	bodyTerms := map[string]bool{}
	for _, t := range Tokens(body, nil) {
		weights[t] += ix.QueryBody
		if !titleTerms[t] {
			bodyTerms[t] = true
		}
	}
	terms := make([]qterm, 0, len(weights))
	for t, w := range weights {
		if ps := ix.post[t]; len(ps) > 0 {
			terms = append(terms, qterm{t, w, idf(len(ps))})
		}
	}
	// title terms first, then by idf; deterministic order for equal keys
	sort.Slice(terms, func(i, j int) bool {
		ti, tj := titleTerms[terms[i].t], titleTerms[terms[j].t]
		if ti != tj {
			return ti
		}
		if terms[i].idf != terms[j].idf {
			return terms[i].idf > terms[j].idf
		}
		return terms[i].t < terms[j].t
	})
	if len(terms) > maxQueryTerms {
		terms = terms[:maxQueryTerms]
	}
	a := accPool.Get().(*acc)
	defer accPool.Put(a)
	if len(a.score) < len(ix.ids) {
		a.score = make([]float64, len(ix.ids)+1024)
		a.seen = make([]bool, len(ix.ids)+1024)
	}
	a.touched = a.touched[:0]
	add := func(d int32, v float64) {
		if !a.seen[d] {
			a.seen[d] = true
			a.touched = append(a.touched, d)
		}
		a.score[d] += v
	}
	avg := ix.total / N
	for _, q := range terms {
		qw := q.w / (q.w + 2) // saturate long queries' repeated terms
		for _, p := range ix.post[q.t] {
			tf := float64(p.tf)
			add(p.doc, q.idf*qw*tf*(ix.K1+1)/(tf+ix.K1*(1-ix.B+ix.B*float64(ix.lens[p.doc])/avg)))
		}
	}
	titleMatch := func(terms map[string]bool, weight float64) {
		tavg := ix.ttotal / N
		tts := make([]string, 0, len(terms))
		for t := range terms {
			tts = append(tts, t)
		}
		sort.Strings(tts)
		if len(tts) > maxQueryTerms { // the rarest
			sort.SliceStable(tts, func(i, j int) bool { return len(ix.tpost[tts[i]]) < len(ix.tpost[tts[j]]) })
			tts = tts[:maxQueryTerms]
		}
		for _, t := range tts {
			ps := ix.tpost[t]
			if len(ps) == 0 {
				continue
			}
			w := weight * idf(len(ps))
			for _, p := range ps {
				tf := float64(p.tf)
				add(p.doc, w*tf*(ix.K1+1)/(tf+ix.K1*(1-ix.B+ix.B*float64(ix.tlens[p.doc])/tavg)))
			}
		}
	}
	if ix.TitleMatch > 0 {
		titleMatch(titleTerms, ix.TitleMatch)
	}
	if ix.BodyTitleMatch > 0 {
		titleMatch(bodyTerms, ix.BodyTitleMatch)
	}
	top := make([]Hit, 0, k+1)
	for _, d := range a.touched {
		s := a.score[d]
		a.score[d], a.seen[d] = 0, false
		if ix.dead[d] || ix.ids[d] == exclude {
			continue
		}
		if ix.TimeBoost > 0 && !at.IsZero() && !ix.times[d].IsZero() {
			dt := at.Sub(ix.times[d])
			if dt < 0 {
				dt = -dt
			}
			s *= 1 + ix.TimeBoost*math.Exp(-float64(dt)/float64(ix.TimeScale))
		}
		if len(top) == k && !better(Hit{ix.ids[d], s}, top[k-1]) {
			continue
		}
		h := Hit{ID: ix.ids[d], Score: s}
		i := sort.Search(len(top), func(i int) bool { return better(h, top[i]) })
		top = append(top, Hit{})
		copy(top[i+1:], top[i:])
		top[i] = h
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}

// ParseTime reads the timestamp layouts ticket exports use; zero if none fits.
func ParseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05-07:00", "2006-01-02 15:04:05", "2006-01-02T15:04:05",
		"02/Jan/06 15:04", "2006-01-02", "01/02/2006 15:04", "Jan 2, 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Terms is the number of distinct indexed terms.
func (ix *Index) Terms() int { return len(ix.post) }

// SelfScore estimates the score a document identical to the query would get
// (for a 0–1 similarity): the query's terms each at full weight.
func (ix *Index) SelfScore(title, body string) float64 {
	if ix.live == 0 {
		return 0
	}
	q := map[string]float64{}
	for _, t := range Tokens(title, nil) {
		q[t] += ix.TitleWeight
	}
	for _, t := range Tokens(body, nil) {
		q[t] += ix.QueryBody
	}
	N := float64(ix.live)
	s := 0.0
	for t, qf := range q {
		df := float64(len(ix.post[t]))
		if df == 0 {
			df = 1
		}
		idf := math.Log(1 + (N-df+0.5)/(df+0.5))
		s += idf * (ix.K1 + 1) * qf / (qf + 2)
	}
	return s
}
