package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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
	params, why := s.Normalize(id, params)
	if why != "" {
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

func (r *Runner) check(ctx context.Context, v *catalog.Verify, params map[string]string) (bool, string, error) {
	switch {
	case v.Prometheus != "":
		if r.PrometheusURL == "" {
			return false, "", fmt.Errorf("%w: verify needs a Prometheus URL", errUnsupported)
		}
		// Values are escaped for PromQL strings (the catalog checked that
		// string parameters sit inside them): a value cannot close the
		// string and turn the condition into one that always holds.
		q, err := catalog.Fill(v.Prometheus, params, catalog.PromQLString)
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
		body, err := catalog.FillJSON(v.HTTP.Body, params)
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
			x, err := catalog.Fill(a, params, nil)
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

// client is the Runner's HTTP client that never follows a redirect: an
// action or check goes to the URL the catalog names, and a 3xx is an
// answer (not the expected one), not a hop to wherever the server says.
func (r *Runner) client() *http.Client {
	c := http.Client{}
	if r.HTTP != nil {
		c = *r.HTTP
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
