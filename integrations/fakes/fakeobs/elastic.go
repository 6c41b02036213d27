package fakeobs

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Elastic fakes POST /<index>/_search with bool.filter of a range on the
// time field and an optional query_string (field:value terms or free text).
type Elastic struct {
	*httptest.Server
	APIKey string // when set, Authorization must be "ApiKey <APIKey>"
	mu     sync.Mutex
	docs   map[string][]map[string]any // index → documents
	Bodies []string
}

// NewElastic starts the fake.
func NewElastic() *Elastic {
	e := &Elastic{docs: map[string][]map[string]any{}}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	return e
}

// Index stores documents.
func (e *Elastic) Index(index string, docs ...map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.docs[index] = append(e.docs[index], docs...)
}

func esError(w http.ResponseWriter, status int, typ, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"root_cause": []any{map[string]any{"type": typ, "reason": reason}}, "type": typ, "reason": reason}, "status": status})
}

func (e *Elastic) serve(w http.ResponseWriter, r *http.Request) {
	if e.APIKey != "" && r.Header.Get("Authorization") != "ApiKey "+e.APIKey {
		esError(w, http.StatusUnauthorized, "security_exception", "missing authentication credentials for REST request ["+r.URL.Path+"]")
		return
	}
	index, op := path.Split(strings.TrimPrefix(r.URL.Path, "/"))
	index = strings.TrimSuffix(index, "/")
	if op != "_search" || index == "" {
		esError(w, http.StatusBadRequest, "illegal_argument_exception", "unsupported path "+r.URL.Path)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req struct {
		Size  *int `json:"size"`
		From  int  `json:"from"`
		Query struct {
			Bool struct {
				Filter []map[string]map[string]any `json:"filter"`
			} `json:"bool"`
		} `json:"query"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		esError(w, http.StatusBadRequest, "parsing_exception", "request body is not valid JSON")
		return
	}
	size := 10
	if req.Size != nil {
		size = *req.Size
	}
	if req.From+size > 10000 {
		esError(w, http.StatusBadRequest, "illegal_argument_exception",
			fmt.Sprintf("Result window is too large, from + size must be less than or equal to: [10000] but was [%d].", req.From+size))
		return
	}
	e.mu.Lock()
	e.Bodies = append(e.Bodies, string(body))
	var docs []map[string]any
	found := false
	for name, d := range e.docs {
		if ok, _ := path.Match(index, name); ok {
			docs, found = append(docs, d...), true
		}
	}
	e.mu.Unlock()
	if !found {
		esError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+index+"]")
		return
	}
	var timeField string
	var gte, lte time.Time
	var terms []string
	for _, f := range req.Query.Bool.Filter {
		if rg, ok := f["range"]; ok {
			for field, v := range rg {
				m, _ := v.(map[string]any)
				timeField = field
				gte, _ = time.Parse(time.RFC3339, fmt.Sprint(m["gte"]))
				lte, _ = time.Parse(time.RFC3339, fmt.Sprint(m["lte"]))
			}
		}
		if qs, ok := f["query_string"]; ok {
			terms = strings.Fields(fmt.Sprint(qs["query"]))
		}
	}
	var hits []map[string]any
	for _, d := range docs {
		if timeField != "" {
			t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(d[timeField]))
			if err != nil || t.Before(gte) || t.After(lte) {
				continue
			}
		}
		if matchTerms(d, terms) {
			hits = append(hits, d)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return fmt.Sprint(hits[i][timeField]) > fmt.Sprint(hits[j][timeField]) })
	total := len(hits)
	if len(hits) > size {
		hits = hits[:size]
	}
	out := make([]any, len(hits))
	for i, h := range hits {
		out[i] = map[string]any{"_index": index, "_id": fmt.Sprint(i), "_score": nil, "_source": h, "sort": []any{h[timeField]}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"took": 3, "timed_out": false,
		"_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits":    map[string]any{"total": map[string]any{"value": min(total, 10000), "relation": map[bool]string{true: "gte", false: "eq"}[total > 10000]}, "max_score": nil, "hits": out}})
}

// matchTerms: every field:value term equals the field, free text is a substring of any field.
func matchTerms(d map[string]any, terms []string) bool {
	for _, t := range terms {
		if t == "AND" {
			continue
		}
		if f, v, ok := strings.Cut(t, ":"); ok {
			if fmt.Sprint(d[f]) != strings.Trim(v, `"`) {
				return false
			}
			continue
		}
		hit := false
		for _, v := range d {
			hit = hit || strings.Contains(fmt.Sprint(v), t)
		}
		if !hit {
			return false
		}
	}
	return true
}
