// Package fakeobs holds stateful fakes of Loki, Elasticsearch/OpenSearch,
// Prometheus and the Kubernetes API server that answer in the real
// response formats and enforce the limits and errors the real services do
// (see API-FACTS.md).
package fakeobs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Entry is a stored log line.
type Entry struct {
	Labels map[string]string
	Time   time.Time
	Line   string
}

// Loki fakes /loki/api/v1/query_range for selectors of the form
// {k="v",...} with optional |= "text" filters.
type Loki struct {
	*httptest.Server
	Tenant string // when set, X-Scope-OrgID must equal it
	mu     sync.Mutex
	logs   []Entry
	reqs   []string
}

// NewLoki starts the fake.
func NewLoki() *Loki {
	l := &Loki{}
	l.Server = httptest.NewServer(http.HandlerFunc(l.serve))
	return l
}

// Push stores entries.
func (l *Loki) Push(e ...Entry) { l.mu.Lock(); l.logs = append(l.logs, e...); l.mu.Unlock() }

// Queries returns the LogQL queries received.
func (l *Loki) Queries() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs...)
}

var (
	matcherRe = regexp.MustCompile(`(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"`)
	filterRe  = regexp.MustCompile(`\|=\s*"((?:[^"\\]|\\.)*)"`)
)

func lokiTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(0, n), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(f*1e9)), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func (l *Loki) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/loki/api/v1/query_range" {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if l.Tenant != "" && r.Header.Get("X-Scope-OrgID") != l.Tenant {
		http.Error(w, "no org id", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	query := q.Get("query")
	sel, _, _ := strings.Cut(query, "}")
	if !strings.HasPrefix(strings.TrimSpace(query), "{") || !strings.Contains(query, "}") {
		http.Error(w, fmt.Sprintf("parse error : syntax error: unexpected IDENTIFIER, query: %q", query), http.StatusBadRequest)
		return
	}
	now := time.Now()
	end, err1 := lokiTime(q.Get("end"), now)
	start, err2 := lokiTime(q.Get("start"), end.Add(-time.Hour))
	if err1 != nil || err2 != nil {
		http.Error(w, "invalid start or end time", http.StatusBadRequest)
		return
	}
	if end.Before(start) {
		http.Error(w, "end timestamp must not be before or equal to start time", http.StatusBadRequest)
		return
	}
	if end.Sub(start) > 721*time.Hour {
		http.Error(w, "the query time range exceeds the limit (query length: "+end.Sub(start).String()+", limit: 30d1h)", http.StatusBadRequest)
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			http.Error(w, "invalid limit", http.StatusBadRequest)
			return
		}
		limit = n
	}
	if limit > 5000 {
		http.Error(w, fmt.Sprintf("max entries limit per query exceeded, limit > max_entries_limit (%d > 5000)", limit), http.StatusBadRequest)
		return
	}
	matchers := matcherRe.FindAllStringSubmatch(sel, -1)
	filters := filterRe.FindAllStringSubmatch(query, -1)
	l.mu.Lock()
	l.reqs = append(l.reqs, query)
	var hits []Entry
	for _, e := range l.logs {
		if e.Time.Before(start) || !e.Time.Before(end) {
			continue
		}
		ok := true
		for _, m := range matchers {
			ok = ok && e.Labels[m[1]] == m[2]
		}
		for _, f := range filters {
			ok = ok && strings.Contains(e.Line, f[1])
		}
		if ok {
			hits = append(hits, e)
		}
	}
	l.mu.Unlock()
	backward := q.Get("direction") != "forward"
	sort.SliceStable(hits, func(i, j int) bool {
		if backward {
			return hits[i].Time.After(hits[j].Time)
		}
		return hits[i].Time.Before(hits[j].Time)
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	streams := map[string]*struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}{}
	var order []string
	for _, e := range hits {
		key := fmt.Sprint(e.Labels)
		s, ok := streams[key]
		if !ok {
			s = &struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			}{Stream: e.Labels}
			streams[key] = s
			order = append(order, key)
		}
		s.Values = append(s.Values, [2]string{strconv.FormatInt(e.Time.UnixNano(), 10), e.Line})
	}
	result := []any{}
	for _, k := range order {
		result = append(result, streams[k])
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
		"resultType": "streams", "result": result, "stats": map[string]any{"summary": map[string]any{"totalEntriesReturned": len(hits)}}}})
}
