package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/retry"
)

// Verification is the outcome of an action's verify check.
type Verification struct {
	Holds    bool   `json:"holds"`
	Attempts int    `json:"attempts"`
	Detail   string `json:"detail"`
}

// Verify polls action id's verify check (with the same validated params)
// every VerifyEvery until it holds or its `within` has passed: a PromQL
// condition that returns a non-empty vector, an HTTP probe answering the
// expected status, or a command exiting 0.
func (r *Runner) Verify(ctx context.Context, s catalog.Scoped, id string, params map[string]string) (Verification, error) {
	if why := s.Validate(id, params); why != "" {
		return Verification{}, fmt.Errorf("%s: %s", id, why)
	}
	spec, _ := s.Catalog.Get(id)
	v := spec.Verify
	if v == nil {
		return Verification{Holds: true, Detail: "no verify declared"}, nil
	}
	every := r.VerifyEvery
	if every <= 0 {
		every = 15 * time.Second
	}
	sleep := r.Sleep
	if sleep == nil {
		sleep = retry.RealSleep
	}
	attempts := int(v.Within/every) + 1 // counted, not timed: tests need no clock
	var out Verification
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if err := sleep(ctx, every); err != nil {
				return out, err
			}
		}
		out.Attempts = i + 1
		holds, detail, err := r.check(ctx, v, params)
		out.Holds, out.Detail = holds, detail
		if err != nil {
			out.Detail = err.Error()
		}
		if holds {
			return out, nil
		}
	}
	return out, nil
}

func fillParams(tmpl string, params map[string]string) (string, error) {
	t, err := template.New("v").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, params)
	return b.String(), err
}

func (r *Runner) check(ctx context.Context, v *catalog.Verify, params map[string]string) (bool, string, error) {
	switch {
	case v.Prometheus != "":
		if r.PrometheusURL == "" {
			return false, "", fmt.Errorf("%w: verify needs a Prometheus URL", errUnsupported)
		}
		q, err := fillParams(v.Prometheus, params)
		if err != nil {
			return false, "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(r.PrometheusURL, "/")+"/api/v1/query",
			strings.NewReader(url.Values{"query": {q}}.Encode()))
		if err != nil {
			return false, "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := r.client().Do(req)
		if err != nil {
			return false, "", fmt.Errorf("prometheus: %w", err)
		}
		defer resp.Body.Close()
		var a struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&a); err != nil || a.Status != "success" {
			return false, "", fmt.Errorf("prometheus: HTTP %d %s", resp.StatusCode, a.Error)
		}
		if len(a.Data.Result) > 0 {
			return true, "condition holds: " + q, nil
		}
		return false, "condition does not hold yet: " + q, nil
	case v.HTTP != nil:
		body, err := fillParams(v.HTTP.Body, params)
		if err != nil {
			return false, "", err
		}
		res, err := r.http(ctx, v.HTTP.Method, v.HTTP.URL, body, v.HTTP.Expect)
		if err != nil {
			return false, "", err
		}
		return true, fmt.Sprintf("HTTP %d", res.ExitCode), nil
	case v.Command != nil:
		argv := make([]string, len(v.Command.Argv))
		for i, a := range v.Command.Argv {
			x, err := fillParams(a, params)
			if err != nil {
				return false, "", err
			}
			argv[i] = x
		}
		res, err := r.command(ctx, argv[0], argv[1:], v.Command.Env, v.Command.Dir, false)
		if err != nil {
			return false, "", fmt.Errorf("exit %d", res.ExitCode)
		}
		return true, "exit 0", nil
	}
	return false, "", fmt.Errorf("%w: empty verify", errUnsupported)
}

func (r *Runner) client() *http.Client {
	if r.HTTP != nil {
		return r.HTTP
	}
	return http.DefaultClient
}
