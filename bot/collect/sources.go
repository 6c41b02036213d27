package collect

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func (s Source) kind() string {
	switch {
	case s.Loki != nil:
		return "loki"
	case s.Elasticsearch != nil:
		return "elasticsearch"
	case s.Kubernetes != nil:
		return "kubernetes"
	case s.File != nil:
		return "file"
	case s.Command != nil:
		return "command"
	case s.Prometheus != nil:
		return "prometheus"
	}
	return ""
}

// templates lists the source's parameterised strings.
func (s Source) templates() []string {
	switch {
	case s.Loki != nil:
		return []string{s.Loki.Query}
	case s.Elasticsearch != nil:
		return []string{s.Elasticsearch.Query, s.Elasticsearch.Index}
	case s.Kubernetes != nil:
		return []string{s.Kubernetes.Selector}
	case s.File != nil:
		return []string{s.File.Glob}
	case s.Command != nil:
		return s.Command.Argv
	case s.Prometheus != nil:
		return []string{s.Prometheus.Query}
	}
	return nil
}

func (s Source) label(i int) string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("%s-%d", s.kind(), i+1)
}

func (s Source) validate(log bool) error {
	n := 0
	for _, set := range []bool{s.Loki != nil, s.Elasticsearch != nil, s.Kubernetes != nil, s.File != nil, s.Command != nil, s.Prometheus != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("source %q: set exactly one of loki, elasticsearch, kubernetes, file, command, prometheus", s.Name)
	}
	if log == (s.Prometheus != nil) {
		if log {
			return fmt.Errorf("source %q: prometheus belongs under metrics", s.Name)
		}
		return fmt.Errorf("source %q: only prometheus belongs under metrics", s.Name)
	}
	var err error
	switch {
	case s.Loki != nil:
		err = checkURL(s.Loki.URL, s.Loki.Query)
	case s.Elasticsearch != nil:
		err = checkURL(s.Elasticsearch.URL, s.Elasticsearch.Index)
	case s.Prometheus != nil:
		err = checkURL(s.Prometheus.URL, s.Prometheus.Query)
		if t := s.Prometheus.Threshold; err == nil && t != nil && (math.IsNaN(*t) || math.IsInf(*t, 0)) {
			err = errors.New("prometheus threshold must be a finite number")
		}
	case s.Kubernetes != nil:
		if s.Kubernetes.Namespace == "" || s.Kubernetes.Selector == "" {
			err = errors.New("kubernetes needs namespace and selector")
		}
	case s.File != nil:
		if s.File.Glob == "" {
			err = errors.New("file needs glob")
		}
	case s.Command != nil:
		if len(s.Command.Argv) == 0 {
			err = errors.New("command needs argv (a program and its arguments; no shell)")
		}
	}
	if err != nil {
		return fmt.Errorf("source %q: %w", s.label(0), err)
	}
	return nil
}

func checkURL(raw, query string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("url must be http(s)://host[:port]")
	}
	if strings.TrimSpace(query) == "" {
		return errors.New("query (or index) is required")
	}
	return nil
}

func (s Source) logs(ctx context.Context, hc *http.Client, p Params, w Window, lim limits) ([]Line, bool, error) {
	switch {
	case s.Loki != nil:
		return s.Loki.fetch(ctx, hc, p, w, lim)
	case s.Elasticsearch != nil:
		return s.Elasticsearch.fetch(ctx, hc, p, w, lim)
	case s.Kubernetes != nil:
		return s.Kubernetes.fetch(ctx, hc, p, w, lim)
	case s.File != nil:
		return s.File.fetch(ctx, p, lim)
	case s.Command != nil:
		return s.Command.fetch(ctx, p, lim)
	}
	return nil, false, errors.New("no log source")
}

func (s Source) metrics(ctx context.Context, hc *http.Client, p Params, w Window) ([]string, *Chart, int, error) {
	return s.Prometheus.fetch(ctx, hc, p, w)
}

// Auth names an environment variable holding a credential, so secrets stay
// out of the config file. Type: bearer, basic ("user:password"), apikey
// (Elasticsearch "id:key" or its base64 form).
type Auth struct {
	Type string `yaml:"type"`
	Env  string `yaml:"env"`
}

func (a *Auth) apply(req *http.Request) error {
	if a == nil || a.Type == "" {
		return nil
	}
	v := os.Getenv(a.Env)
	if v == "" {
		return fmt.Errorf("credential env %s is unset", a.Env)
	}
	switch a.Type {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+v)
	case "basic":
		user, pass, _ := strings.Cut(v, ":")
		req.SetBasicAuth(user, pass)
	case "apikey":
		if strings.Contains(v, ":") {
			v = base64.StdEncoding.EncodeToString([]byte(v))
		}
		req.Header.Set("Authorization", "ApiKey "+v)
	default:
		return fmt.Errorf("auth type %q (want bearer, basic or apikey)", a.Type)
	}
	return nil
}

// do performs a request and reads a 2xx body of at most max bytes (larger
// answers are an error: lower the source's limit); other statuses become
// errors carrying the (capped) server message, never the request's
// credentials or URL.
func do(hc *http.Client, req *http.Request, max int) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a query; the cause is enough
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &HTTPError{Status: resp.StatusCode, Body: string(body)}
	}
	if len(body) > max {
		return nil, fmt.Errorf("answer larger than %d bytes; lower the source's limit", max)
	}
	return body, nil
}

// HTTPError is a non-2xx answer.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, clipText(e.Body, 300))
}

func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// answerCap bounds an HTTP answer: JSON framing on top of the text budget.
func (l limits) answerCap() int { return 4*l.bytes + 1<<20 }

// keeper appends lines while the byte and line budgets allow.
type keeper struct {
	lim    limits
	bytes  int
	lines  []Line
	capped bool
}

func (k *keeper) add(l Line) bool {
	if len(k.lines) >= k.lim.lines || k.bytes+len(l.Text) > k.lim.bytes {
		k.capped = true
		return false
	}
	k.bytes += len(l.Text)
	k.lines = append(k.lines, l)
	return true
}

// addAll adds lines in order until the budget refuses one; it reports
// whether all fitted.
func (k *keeper) addAll(ls []Line) bool {
	for _, l := range ls {
		if !k.add(l) {
			return false
		}
	}
	return true
}

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
