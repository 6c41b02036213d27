package fakeobs

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Series is a generated time series.
type Series struct {
	Labels map[string]string
	Value  func(t time.Time) float64
}

// Prometheus fakes /api/v1/query_range: registered queries answer their
// series; unknown ones an empty matrix, as for a metric with no data.
type Prometheus struct {
	*httptest.Server
	mu      sync.Mutex
	series  map[string][]Series
	instant map[string]func() bool
	Queries []string
}

// NewPrometheus starts the fake.
func NewPrometheus() *Prometheus {
	p := &Prometheus{series: map[string][]Series{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// Register answers query with series.
func (p *Prometheus) Register(query string, s ...Series) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.series[query] = append(p.series[query], s...)
}

func promError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": typ, "error": msg})
}

func promTime(s string) (time.Time, bool) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// Instant answers /api/v1/query for query with a vector of this many
// samples (a PromQL condition that holds returns its series; one that
// does not, an empty vector).
func (p *Prometheus) Instant(query string, holds func() bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.instant == nil {
		p.instant = map[string]func() bool{}
	}
	p.instant[query] = holds
}

func (p *Prometheus) serveInstant(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("query") == "" {
		promError(w, http.StatusBadRequest, "bad_data", "1:1: parse error: no expression found in input")
		return
	}
	q := r.Form.Get("query")
	p.mu.Lock()
	p.Queries = append(p.Queries, q)
	holds := p.instant[q]
	p.mu.Unlock()
	result := []any{}
	if holds != nil && holds() {
		result = append(result, map[string]any{"metric": map[string]string{}, "value": []any{float64(time.Now().Unix()), "0.4"}})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
}

func (p *Prometheus) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/query" {
		p.serveInstant(w, r)
		return
	}
	if r.URL.Path != "/api/v1/query_range" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		promError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	q := r.Form.Get("query")
	if q == "" {
		promError(w, http.StatusBadRequest, "bad_data", "1:1: parse error: no expression found in input")
		return
	}
	start, ok1 := promTime(r.Form.Get("start"))
	end, ok2 := promTime(r.Form.Get("end"))
	if !ok1 || !ok2 {
		promError(w, http.StatusBadRequest, "bad_data", "invalid parameter \"start\" or \"end\": cannot parse to a valid timestamp")
		return
	}
	if end.Before(start) {
		promError(w, http.StatusBadRequest, "bad_data", "end timestamp must not be before start time")
		return
	}
	stepF, err := strconv.ParseFloat(r.Form.Get("step"), 64)
	if err != nil || stepF <= 0 {
		promError(w, http.StatusBadRequest, "bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer")
		return
	}
	step := time.Duration(stepF * float64(time.Second))
	if end.Sub(start)/step > 11000 {
		promError(w, http.StatusBadRequest, "bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
		return
	}
	p.mu.Lock()
	p.Queries = append(p.Queries, q)
	series := p.series[q]
	p.mu.Unlock()
	result := []any{}
	for _, s := range series {
		var vals [][2]any
		for t := start; !t.After(end); t = t.Add(step) {
			vals = append(vals, [2]any{float64(t.UnixMilli()) / 1000, strconv.FormatFloat(s.Value(t), 'f', -1, 64)})
		}
		result = append(result, map[string]any{"metric": s.Labels, "values": vals})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": result}})
}
