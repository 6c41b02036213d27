package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
)

// poolService stands in for checkout-api's admin endpoints: recycling the
// database pool makes it healthy, restoring undoes that. It is what the
// demo's catalog action calls — harmless and local.
type poolService struct {
	mu       sync.Mutex
	healthy  bool
	recycles int
	*httptest.Server
}

func newPoolService() *poolService {
	p := &poolService{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/pool/recycle", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Service string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Service != "checkout-api" {
			http.Error(w, `{"error":"unknown service"}`, http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.healthy, p.recycles = true, p.recycles+1
		n := p.recycles
		p.mu.Unlock()
		fmt.Fprintf(w, `{"service":"checkout-api","recycled":%d,"closed_idle":37}`, n)
	})
	mux.HandleFunc("POST /admin/pool/restore", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.healthy = false
		p.mu.Unlock()
		fmt.Fprint(w, `{"restored":true}`)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.healthy {
			http.Error(w, `{"status":"degraded"}`, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	p.Server = httptest.NewServer(mux)
	return p
}

func (p *poolService) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.recycles
}

// actionsConfig is the demo's catalog: one harmless HTTP action with a
// verify probe and an undo, offered by the checkout handler.
func actionsConfig(svc string) string {
	return fmt.Sprintf(`actions:
  - id: recycle-db-pool
    description: Recycle checkout-api's database connection pool (drops leaked connections)
    risk: medium
    params: {service: {enum_from: scope.targets}}
    run: {http: {method: POST, url: "%[1]s/admin/pool/recycle", body: '{"service": "{{.service}}"}', expect: 200}}
    verify: {http: {method: GET, url: "%[1]s/healthz", expect: 200}, within: 1s}
    undo: {http: {method: POST, url: "%[1]s/admin/pool/restore", body: '{"service": "{{.service}}"}', expect: 200}}
    approvals: {required: 1}
`, svc)
}

var approveButton = regexp.MustCompile(`"action_id":"` + render.ActionApprove + `","value":"([^"]+)"`)

func proposalButton(fs *fakeslack.Server) string {
	for _, th := range fs.Threads(demoChannel) {
		for _, r := range fs.Replies(demoChannel, th.TS) {
			if m := approveButton.FindStringSubmatch(string(r.Blocks)); m != nil {
				return m[1]
			}
		}
	}
	return ""
}

func ephemeralFor(fs *fakeslack.Server, user string) string {
	for _, e := range fs.Ephemerals() {
		if e.User == user && !strings.Contains(e.Text, "Masked values") {
			return e.Text
		}
	}
	return ""
}

// approveAct plays the approval: a non-approver is refused, an approver
// approves, opsgate runs the action once, verifies it, and the audit
// trail holds every step.
func approveAct(ctx context.Context, out io.Writer, base, signing string, fs *fakeslack.Server, svc *poolService, log *audit.Log, anchorer *audit.Anchorer,
	q interface {
		Len(context.Context) (int64, error)
	}, waitFor func(string, func() bool) error) error {
	if err := waitFor("the handler's proposal", func() bool { return proposalButton(fs) != "" }); err != nil {
		return err
	}
	value := proposalButton(fs)
	fmt.Fprintln(out, "→ the checkout handler's runbook step is proposed in the thread: recycle-db-pool [Approve] [Reject]")
	if err := click(ctx, base, signing, fs.ResponseURL("demo-bob"), "U0BOB", render.ActionApprove, value, "2.0"); err != nil {
		return err
	}
	if err := waitFor("the refusal", func() bool { return ephemeralFor(fs, "U0BOB") != "" }); err != nil {
		return err
	}
	fmt.Fprintf(out, "→ sre-bob (not an approver) clicks Approve — only he sees: %q; nothing runs\n", ephemeralFor(fs, "U0BOB"))
	if err := click(ctx, base, signing, fs.ResponseURL("demo-approve"), "U0DEMO", render.ActionApprove, value, "3.0"); err != nil {
		return err
	}
	if err := waitFor("the verification", func() bool { return strings.Contains(fs.Transcript(demoChannel), "Verified") }); err != nil {
		return err
	}
	if err := waitFor("the queue drained", func() bool { n, err := q.Len(ctx); return err == nil && n == 0 }); err != nil {
		return err
	}
	fmt.Fprintf(out, "→ sre-alice approves: opsgate ran POST /admin/pool/recycle %d time(s), then verified GET /healthz → 200\n", svc.count())
	entries, err := log.Entries(ctx, 0, -1)
	if err != nil {
		return err
	}
	// An anchor (kept outside Redis: a file and the log) makes cutting the
	// trail's end detectable too.
	if _, err := anchorer.Anchor(ctx); err != nil {
		return err
	}
	r, verr := log.Verify(ctx, []audit.Anchor{anchorer.Latest()})
	fmt.Fprintf(out, "→ audit trail (opsgate audit export): %d entries, every HMAC and link verified and anchored: %v\n", r.Entries, verr == nil)
	for i, e := range entries {
		keys := []string{"action", "source", "reason", "state", "attempts", "output_sha256"}
		var d []string
		for _, k := range keys {
			if v := e.Details[k]; v != "" {
				if len(v) > 16 && k == "output_sha256" {
					v = v[:16] + "…"
				}
				d = append(d, k+"="+v)
			}
		}
		fmt.Fprintf(out, "   %-3d %s  %-8s %-15s %s\n", i+1, e.MAC[:8], e.Actor, e.Action, strings.Join(d, " "))
	}
	return nil
}

// click sends a signed block_actions click as Slack would.
func click(ctx context.Context, base, secret, responseURL, user, actionID, value, actionTs string) error {
	return clickWith(ctx, base, secret, responseURL, user, actionID, value, actionTs, "1.2")
}

// clickWith is click with the interaction's trigger_id (a modal opens
// only with one Slack issued).
func clickWith(ctx context.Context, base, secret, responseURL, user, actionID, value, actionTs, trigger string) error {
	payload := `{"type":"block_actions","user":{"id":"` + user + `","username":"u","name":"u","team_id":"TDEMO"},"api_app_id":"A1","token":"x",` +
		`"container":{"type":"message","message_ts":"1","channel_id":"` + demoChannel + `","is_ephemeral":false},"trigger_id":"` + trigger + `",` +
		`"team":{"id":"TDEMO","domain":"demo"},"channel":{"id":"` + demoChannel + `","name":"incidents"},"response_url":"` + responseURL + `",` +
		`"actions":[{"action_id":"` + actionID + `","block_id":"b","type":"button","value":"` + value + `","text":{"type":"plain_text","text":"x"},"action_ts":"` + actionTs + `"}]}`
	resp, err := postSlack(ctx, base+"/slack/interactions", secret, url.Values{"payload": {payload}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("demo: %s click answered %d", actionID, resp.StatusCode)
	}
	return nil
}
