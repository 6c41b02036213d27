package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Loki queries /loki/api/v1/query_range with LogQL.
type Loki struct {
	URL    string `yaml:"url"`
	Query  string `yaml:"query"`  // LogQL; may use {{.Service}} etc.
	Tenant string `yaml:"tenant"` // X-Scope-OrgID
	Limit  int    `yaml:"limit"`  // entries (default 1000, Loki's cap is 5000)
	Auth   *Auth  `yaml:"auth"`
}

type lokiAnswer struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func (l *Loki) fetch(ctx context.Context, hc *http.Client, p Params, w Window, lim limits) ([]Line, bool, error) {
	q, err := fill(l.Query, p)
	if err != nil {
		return nil, false, err
	}
	limit := min(orInt(l.Limit, 1000), 5000, lim.lines)
	v := url.Values{"query": {q}, "start": {strconv.FormatInt(w.Start.UnixNano(), 10)}, "end": {strconv.FormatInt(w.End.UnixNano(), 10)},
		"limit": {strconv.Itoa(limit)}, "direction": {"backward"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(l.URL, "/")+"/loki/api/v1/query_range?"+v.Encode(), nil)
	if err != nil {
		return nil, false, err
	}
	if l.Tenant != "" {
		req.Header.Set("X-Scope-OrgID", l.Tenant)
	}
	if err := l.Auth.apply(req); err != nil {
		return nil, false, err
	}
	body, err := do(hc, req, lim.answerCap())
	if err != nil {
		return nil, false, err
	}
	var a lokiAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, false, fmt.Errorf("loki answer is not JSON: %w", err)
	}
	if a.Status != "success" || a.Data.ResultType != "streams" {
		return nil, false, fmt.Errorf("loki answered status %q, resultType %q (want success, streams)", a.Status, a.Data.ResultType)
	}
	var all []Line
	for _, s := range a.Data.Result {
		for _, e := range s.Values {
			ns, err := strconv.ParseInt(e[0], 10, 64)
			if err != nil {
				return nil, false, fmt.Errorf("loki entry timestamp %q is not nanoseconds", e[0])
			}
			all = append(all, Line{Time: time.Unix(0, ns).UTC(), Text: e[1]})
		}
	}
	k := keeper{lim: lim}
	k.addAll(newestFirst(all))
	return k.lines, k.capped || len(all) >= limit, nil
}

// newestFirst orders lines so a budget keeps the most recent ones.
func newestFirst(ls []Line) []Line {
	out := append([]Line(nil), ls...)
	sortLines(out, true)
	return out
}
