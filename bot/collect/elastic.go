package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Elastic searches an Elasticsearch or OpenSearch index.
type Elastic struct {
	URL          string `yaml:"url"`
	Index        string `yaml:"index"`         // e.g. logs-*
	Query        string `yaml:"query"`         // query_string syntax; may use {{.Service}}
	TimeField    string `yaml:"time_field"`    // default @timestamp
	MessageField string `yaml:"message_field"` // default message
	Size         int    `yaml:"size"`          // hits (default 1000, at most 10000)
	Auth         *Auth  `yaml:"auth"`
}

type esAnswer struct {
	TimedOut bool `json:"timed_out"`
	Hits     struct {
		Hits []struct {
			Source map[string]any `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

func (e *Elastic) fetch(ctx context.Context, hc *http.Client, p Params, w Window, lim limits) ([]Line, bool, error) {
	q, err := fill(e.Query, p)
	if err != nil {
		return nil, false, err
	}
	index, err := fill(e.Index, p)
	if err != nil {
		return nil, false, err
	}
	tf, mf := e.TimeField, e.MessageField
	if tf == "" {
		tf = "@timestamp"
	}
	if mf == "" {
		mf = "message"
	}
	size := min(orInt(e.Size, 1000), 10000, lim.lines)
	filter := []any{map[string]any{"range": map[string]any{tf: map[string]any{"gte": p.Start, "lte": p.End, "format": "strict_date_optional_time"}}}}
	if strings.TrimSpace(q) != "" {
		filter = append(filter, map[string]any{"query_string": map[string]any{"query": q}})
	}
	body, _ := json.Marshal(map[string]any{
		"size": size, "query": map[string]any{"bool": map[string]any{"filter": filter}},
		"sort": []any{map[string]any{tf: map[string]any{"order": "desc"}}}, "_source": []string{tf, mf},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(e.URL, "/")+"/"+url.PathEscape(index)+"/_search", bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := e.Auth.apply(req); err != nil {
		return nil, false, err
	}
	raw, err := do(hc, req, lim.answerCap())
	if err != nil {
		return nil, false, err
	}
	var a esAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, false, fmt.Errorf("search answer is not JSON: %w", err)
	}
	k := keeper{lim: lim}
	for _, h := range a.Hits.Hits {
		msg := field(h.Source, mf)
		if msg == "" {
			continue
		}
		if !k.add(Line{Time: parseTime(field(h.Source, tf)), Text: msg}) {
			break
		}
	}
	if a.TimedOut {
		return k.lines, true, fmt.Errorf("search timed out on the server (partial: %d lines)", len(k.lines))
	}
	return k.lines, k.capped || len(a.Hits.Hits) >= size, nil
}

// field reads a dotted path ("log.message") from a _source document.
func field(doc map[string]any, path string) string {
	if v, ok := doc[path]; ok { // a flat key with dots
		return str(v)
	}
	var cur any = doc
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[part]
	}
	return str(cur)
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
