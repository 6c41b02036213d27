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
	// Threshold is the alert's threshold, drawn on the chart when set.
	Threshold *float64 `yaml:"threshold"`
}

// Series is one metric series for a chart: its labels and samples
// (at most MaxChartPoints, evenly thinned).
type Series struct {
	Label  string  `json:"label"`
	Points []Point `json:"points"`
}

// Chart is a metric source's series over the incident window.
type Chart struct {
	Source    string    `json:"source"`
	Series    []Series  `json:"series"`
	More      int       `json:"more,omitempty"` // series left out (MaxSeries)
	Start     time.Time `json:"start"`          // the incident started
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Threshold *float64  `json:"threshold,omitempty"`
}

// MaxChartPoints bounds the samples kept per series for a chart.
const MaxChartPoints = 240

// thin keeps at most n points: the series cut into n/2 runs of samples,
// each run's lowest and highest in time order, so no spike or dip
// disappears from the picture; the first and last samples stay.
func thin(pts []Point, n int) []Point {
	if len(pts) <= n || n < 4 {
		return pts
	}
	buckets := n / 2
	out := make([]Point, 0, n)
	for b := 0; b < buckets; b++ {
		lo, hi := b*len(pts)/buckets, (b+1)*len(pts)/buckets
		run := pts[lo:hi]
		minI, maxI := 0, 0
		for i, p := range run {
			if p.V < run[minI].V {
				minI = i
			}
			if p.V > run[maxI].V {
				maxI = i
			}
		}
		first, second := min(minI, maxI), max(minI, maxI)
		if b == 0 {
			first = 0 // the window's start stays
		}
		if b == buckets-1 {
			second = len(run) - 1 // and its end
		}
		out = append(out, run[first])
		if second != first {
			out = append(out, run[second])
		}
	}
	return out
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
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

func (pr *Prometheus) fetch(ctx context.Context, hc *http.Client, p Params, w Window) ([]string, *Chart, int, error) {
	lines, chart, n, err := pr.query(ctx, hc, p, w)
	if chart != nil {
		chart.Start, chart.From, chart.To, chart.Threshold = w.At, w.Start, w.End, pr.Threshold
	}
	return lines, chart, n, err
}

func (pr *Prometheus) query(ctx context.Context, hc *http.Client, p Params, w Window) ([]string, *Chart, int, error) {
	q, err := fill(pr.Query, p)
	if err != nil {
		return nil, nil, 0, err
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
		return nil, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := pr.Auth.apply(req); err != nil {
		return nil, nil, 0, err
	}
	body, err := do(hc, req, 8<<20)
	if err != nil {
		var he *HTTPError
		var a promAnswer
		if errors.As(err, &he) && json.Unmarshal([]byte(he.Body), &a) == nil && a.Error != "" {
			return nil, nil, 0, fmt.Errorf("HTTP %d %s: %s", he.Status, a.ErrorType, clipText(a.Error, 300))
		}
		return nil, nil, 0, err
	}
	var a promAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, nil, 0, fmt.Errorf("prometheus answer is not JSON: %w", err)
	}
	if a.Status != "success" || a.Data.ResultType != "matrix" {
		return nil, nil, 0, fmt.Errorf("prometheus answered status %q (%s: %s), resultType %q", a.Status, a.ErrorType, a.Error, a.Data.ResultType)
	}
	maxSeries := orInt(pr.MaxSeries, 5)
	var out []string
	chart := &Chart{}
	for i, s := range a.Data.Result {
		if i == maxSeries {
			out = append(out, fmt.Sprintf("…%d more series", len(a.Data.Result)-maxSeries))
			chart.More = len(a.Data.Result) - maxSeries
			break
		}
		pts := make([]Point, 0, len(s.Values))
		for _, pair := range s.Values {
			t, ok1 := pair[0].(float64)
			vs, ok2 := pair[1].(string)
			if !ok1 || !ok2 {
				return nil, nil, 0, fmt.Errorf("prometheus sample %v is not [<unix seconds>, \"<value>\"]", pair)
			}
			f, err := strconv.ParseFloat(vs, 64)
			if err != nil {
				return nil, nil, 0, fmt.Errorf("prometheus value %q: %w", vs, err)
			}
			sec, frac := math.Modf(t)
			pts = append(pts, Point{T: time.Unix(int64(sec), int64(frac*1e9)).UTC(), V: f})
		}
		line := Summarize(pts, w.At)
		label := ""
		if len(s.Metric) > 0 {
			label = labels(s.Metric)
			line = label + " " + line
		}
		out = append(out, line)
		chart.Series = append(chart.Series, Series{Label: label, Points: thin(pts, MaxChartPoints)})
	}
	return out, chart, len(a.Data.Result), nil
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
	pts = finite(pts)
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
	med, band := bandOf(base)
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

// Band is a series' baseline: the median of the samples before split and
// the half-width of its band (3 robust σ, at least 10% of the median);
// ok is false without samples before split.
func Band(pts []Point, split time.Time) (med, half float64, ok bool) {
	var base []float64
	for _, p := range finite(pts) {
		if p.T.Before(split) {
			base = append(base, p.V)
		}
	}
	if len(base) == 0 {
		return 0, 0, false
	}
	med, half = bandOf(base)
	return med, half, true
}

// finite drops NaN and infinite samples (Prometheus answers NaN for 0/0):
// they are gaps, and would poison a median or a peak.
func finite(pts []Point) []Point {
	for i, p := range pts {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			out := append([]Point(nil), pts[:i]...)
			for _, q := range pts[i+1:] {
				if !math.IsNaN(q.V) && !math.IsInf(q.V, 0) {
					out = append(out, q)
				}
			}
			return out
		}
	}
	return pts
}

func bandOf(base []float64) (med, half float64) {
	med = median(base)
	dev := make([]float64, len(base))
	for i, v := range base {
		dev[i] = math.Abs(v - med)
	}
	return med, math.Max(3*1.4826*median(dev), 0.1*math.Abs(med))
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
