package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Prometheus runs a PromQL range query and summarises each series.
type Prometheus struct {
	URL       string        `yaml:"url"`
	Query     string        `yaml:"query"` // PromQL; may use {{.Service}}
	Step      time.Duration `yaml:"step"`  // default: window/120, at least 15s
	MaxSeries int           `yaml:"max_series"`
	Auth      *Auth         `yaml:"auth"`
}

type promAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// Point is one sample.
type Point struct {
	T time.Time
	V float64
}

func (pr *Prometheus) fetch(ctx context.Context, hc *http.Client, p Params, w Window) ([]string, int, error) {
	q, err := fill(pr.Query, p)
	if err != nil {
		return nil, 0, err
	}
	step := pr.Step
	if step <= 0 {
		step = max(w.End.Sub(w.Start)/120, 15*time.Second)
	}
	if w.End.Sub(w.Start)/step > 11000 {
		step = w.End.Sub(w.Start) / 11000
	}
	v := url.Values{"query": {q}, "start": {ts(w.Start)}, "end": {ts(w.End)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(pr.URL, "/")+"/api/v1/query_range", strings.NewReader(v.Encode()))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := pr.Auth.apply(req); err != nil {
		return nil, 0, err
	}
	body, err := do(hc, req, 8<<20)
	if err != nil {
		var he *HTTPError
		var a promAnswer
		if errors.As(err, &he) && json.Unmarshal([]byte(he.Body), &a) == nil && a.Error != "" {
			return nil, 0, fmt.Errorf("HTTP %d %s: %s", he.Status, a.ErrorType, clipText(a.Error, 300))
		}
		return nil, 0, err
	}
	var a promAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, 0, fmt.Errorf("prometheus answer is not JSON: %w", err)
	}
	if a.Status != "success" || a.Data.ResultType != "matrix" {
		return nil, 0, fmt.Errorf("prometheus answered status %q (%s: %s), resultType %q", a.Status, a.ErrorType, a.Error, a.Data.ResultType)
	}
	maxSeries := orInt(pr.MaxSeries, 5)
	var out []string
	for i, s := range a.Data.Result {
		if i == maxSeries {
			out = append(out, fmt.Sprintf("…%d more series", len(a.Data.Result)-maxSeries))
			break
		}
		pts := make([]Point, 0, len(s.Values))
		for _, pair := range s.Values {
			t, ok1 := pair[0].(float64)
			vs, ok2 := pair[1].(string)
			if !ok1 || !ok2 {
				return nil, 0, fmt.Errorf("prometheus sample %v is not [<unix seconds>, \"<value>\"]", pair)
			}
			f, err := strconv.ParseFloat(vs, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("prometheus value %q: %w", vs, err)
			}
			sec, frac := math.Modf(t)
			pts = append(pts, Point{T: time.Unix(int64(sec), int64(frac*1e9)).UTC(), V: f})
		}
		line := Summarize(pts, w.At)
		if len(s.Metric) > 0 {
			line = labels(s.Metric) + " " + line
		}
		out = append(out, line)
	}
	return out, len(a.Data.Result), nil
}

func ts(t time.Time) string { return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 3, 64) }

func labels(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Summarize turns a series into one line of numbers: the baseline (median
// of the samples before split), the latest value, the peak and when it
// happened, and when the series first left its baseline band (median ±
// 3 robust σ, at least ±10%) — which may be before split, since alerts
// fire after the change.
func Summarize(pts []Point, split time.Time) string {
	if len(pts) == 0 {
		return "no samples"
	}
	var base []float64
	for _, p := range pts {
		if p.T.Before(split) {
			base = append(base, p.V)
		}
	}
	peak := pts[0]
	for _, p := range pts {
		if p.V > peak.V {
			peak = p
		}
	}
	now := pts[len(pts)-1]
	if len(base) == 0 {
		return fmt.Sprintf("now %s, peak %s at %s (no baseline before the incident)", num(now.V), num(peak.V), peak.T.Format("15:04:05"))
	}
	med := median(base)
	dev := make([]float64, len(base))
	for i, v := range base {
		dev[i] = math.Abs(v - med)
	}
	band := math.Max(3*1.4826*median(dev), 0.1*math.Abs(med))
	changed := ""
	for _, p := range pts {
		if math.Abs(p.V-med) > band {
			changed = fmt.Sprintf(", left baseline at %s", p.T.Format("15:04:05"))
			break
		}
	}
	ratio := ""
	if med != 0 {
		ratio = fmt.Sprintf(" (%.1f× baseline)", now.V/med)
	}
	return fmt.Sprintf("baseline %s, now %s%s, peak %s at %s%s", num(med), num(now.V), ratio, num(peak.V), peak.T.Format("15:04:05"), changed)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func num(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return fmt.Sprint(f)
	case math.Abs(f) >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	default:
		return strconv.FormatFloat(f, 'g', 3, 64)
	}
}
