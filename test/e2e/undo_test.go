package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/cli"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
)

// actionsFixture writes two real programs — an action that records each
// run in a file, and a verify check that fails while a "broken" file
// exists — and a config with two undoable actions and a handler default.
type actionsFixture struct {
	runs, broken string
	file         *config.File
}

func newActions(t *testing.T, approvers string, extra string) actionsFixture {
	t.Helper()
	dir := t.TempDir()
	f := actionsFixture{runs: filepath.Join(dir, "runs"), broken: filepath.Join(dir, "broken")}
	act, check := filepath.Join(dir, "act"), filepath.Join(dir, "check")
	_ = os.WriteFile(act, []byte("#!/bin/sh\necho \"$*\" >> "+f.runs+"\necho \"did $* on 10.20.30.40\"\n"), 0o755)
	_ = os.WriteFile(check, []byte("#!/bin/sh\n[ ! -e "+f.broken+" ]\n"), 0o755)
	f.file = writeConfig(t, fmt.Sprintf(`approvers:
  users: [%s]
actions:
  - id: restart-worker
    risk: medium
    params: {service: {enum_from: scope.targets}}
    run: {command: {argv: [%q, restart, "{{.service}}"]}}
    undo: {command: {argv: [%q, unrestart, "{{.service}}"]}}
    verify: {command: {argv: [%q]}, within: 1s}
    approvals: {required: 1}
  - id: flush-cache
    risk: low
    params: {key: {pattern: '[a-z:]+'}}
    run: {command: {argv: [%q, flush, "{{.key}}"]}}
    undo: {command: {argv: [%q, unflush, "{{.key}}"]}}
    approvals: {required: 1}
%s`, approvers, act, act, check, act, act, extra))
	return f
}

func (f actionsFixture) ran() []string {
	b, _ := os.ReadFile(f.runs)
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "_"))
}

var anyButton = regexp.MustCompile(`"action_id":"(proposal_approve|proposal_undo)","value":"([^"|]+)\|([^"]+)"`)

// buttonFor finds the value of a button on a thread reply whose text
// contains marker.
func (e *env) buttonFor(action, marker string) string {
	th := e.slack.Threads(channel)
	if len(th) == 0 {
		return ""
	}
	for _, r := range e.slack.Replies(channel, th[0].TS) {
		if !strings.Contains(blocksText(r), marker) {
			continue
		}
		for _, m := range anyButton.FindAllStringSubmatch(string(r.Blocks), -1) {
			if m[1] == action {
				return m[2] + "|" + m[3]
			}
		}
	}
	return ""
}

// answers joins every ephemeral and response_url text so far.
func (e *env) answers() string {
	var b strings.Builder
	for _, x := range e.slack.Ephemerals() {
		b.WriteString(x.Text + "\n")
	}
	for _, x := range e.slack.ResponseURLPosts() {
		b.WriteString(fmt.Sprint(x.Body["text"]) + "\n")
	}
	return b.String()
}

func (e *env) auditActions() map[string]int {
	e.t.Helper()
	entries, err := e.app.Audit.Entries(context.Background(), 0, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, en := range entries {
		out[en.Action]++
	}
	if _, err := e.app.Audit.Verify(context.Background(), nil); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) auditEntries(action string) []audit.Entry {
	entries, _ := e.app.Audit.Entries(context.Background(), 0, -1)
	var out []audit.Entry
	for _, en := range entries {
		if en.Action == action {
			out = append(out, en)
		}
	}
	return out
}

func (e *env) proposeAs(user, text string) (int, string) {
	// A response_url takes five answers, as Slack's does: one per command.
	respURL := e.slack.ResponseURL(fmt.Sprintf("prop-%s-%d", user, time.Now().UnixNano()))
	return e.postSlack("/slack/commands", slashFormAs(user, "propose "+text, respURL), time.Now(), signingSecret)
}

var checkoutService = map[string]any{"id": "PSVC001", "type": "service_reference", "summary": "checkout-api"}

// The handler's runbook step is proposed as soon as the thread exists;
// the engineer whose /triage opened it may not approve it (allow_self is
// false); another approver does; verification fails, so opsgate proposes
// the undo, which runs after its own approval and marks the action UNDONE.
func TestHandlerProposalVerifyFailsUndoApproved(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", `handlers:
  - name: checkout
    match: {service: "^checkout-api$"}
    actions:
      - {id: restart-worker, params: {service: "{{.Service}}"}}
`)
	_ = os.WriteFile(f.broken, nil, 0o644) // the restart will not help
	e := startWith(t, f.file, withPagerDutyAPI)
	e.slack.AddUser("U0BOB", "bob")
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PUNDO01", Title: "workers stuck", Status: "triggered", Service: checkoutService})
	if code, body := e.postSlack("/slack/commands", slashForm("PUNDO01", e.slack.ResponseURL("tri")), time.Now(), signingSecret); code != 200 {
		t.Fatal(code, body)
	}
	var value string
	e.eventually("the handler's proposal", func() bool { value = e.buttonFor("proposal_approve", "restart-worker"); return value != "" })
	if tr := e.slack.Transcript(channel); !strings.Contains(tr, "runbook step") || !strings.Contains(tr, "restart checkout-api") {
		t.Fatalf("proposal lacks its source or preview:\n%s", tr)
	}
	click(e, "U0ALICE", "proposal_approve", value, "1700000300.000") // she ran /triage: not her own approval
	e.eventually("self-approval refused", func() bool { return strings.Contains(e.answers(), "triggered the triage") })
	if len(f.ran()) != 0 {
		t.Fatal("a refused approval ran the action")
	}
	click(e, "U0BOB", "proposal_approve", value, "1700000301.000")
	var undo string
	e.eventually("the undo proposed after the failed verification", func() bool {
		undo = e.buttonFor("proposal_approve", "Proposed undo of")
		return undo != ""
	})
	if tr := e.slack.Transcript(channel); !strings.Contains(tr, "Verification failed") || !strings.Contains(tr, "because verification failed") {
		t.Fatalf("verification outcome not shown:\n%s", tr)
	}
	if undo == value {
		t.Fatal("the undo must be its own proposal")
	}
	click(e, "U0BOB", "proposal_approve", undo, "1700000302.000")
	e.eventually("the action undone", func() bool { return strings.Contains(e.slack.Transcript(channel), "Undone") })
	e.settled()
	if got := f.ran(); len(got) != 2 || got[0] != "restart_checkout-api" || got[1] != "unrestart_checkout-api" {
		t.Fatalf("runs: %v", got)
	}
	a := e.auditActions()
	if a["proposed"] != 2 || a["approve_denied"] != 1 || a["approve"] != 2 || a["executed"] != 2 || a["verified"] != 1 || a["undone"] != 1 {
		t.Fatalf("audit: %v", a)
	}
	if d := e.auditEntries("approve_denied"); d[0].Actor != "U0ALICE" || !strings.Contains(d[0].Details["reason"], "triggered the triage") {
		t.Fatalf("%+v", d)
	}
}

// A human proposes with /triage propose (bad proposals are refused with
// the reason); the proposer cannot approve; after it ran, Undo of a
// low-risk action is one click, and a double click undoes once.
func TestHumanProposalOneClickUndo(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB, U0CAROL", "")
	e := startWith(t, f.file)
	e.slack.AddUser("U0BOB", "bob")
	e.slack.AddUser("U0CAROL", "carol")
	e.openThread("PHUM001")
	for _, bad := range []struct{ text, want string }{
		{"PHUM001 nuke-prod", "There is no action"},
		{"PHUM001 flush-cache key=a;rm", "Not proposed"},
		{"PHUM001 flush-cache key=$(id)", "Not proposed"},
		{"PHUM001 flush-cache key=../../etc", "Not proposed"},
		{"PHUM001 restart-worker service=payments-api", "Not proposed"},
		{"PNOTHRD flush-cache key=x", "no opsgate thread"},
	} {
		if code, body := e.proposeAs("U0CAROL", bad.text); code != 200 {
			t.Fatal(code, body)
		}
		e.eventually(bad.want, func() bool { return strings.Contains(e.answers(), bad.want) })
	}
	if _, body := e.proposeAs("U0CAROL", "PHUM001 flush-cache --kubeconfig=/x"); !strings.Contains(body, "key=value") {
		t.Fatalf("flag-like argument: %s", body)
	}
	e.proposeAs("U0CAROL", "PHUM001 flush-cache key=sessions")
	var value string
	e.eventually("the human proposal", func() bool { value = e.buttonFor("proposal_approve", "flush-cache"); return value != "" })
	e.proposeAs("U0BOB", "PHUM001 flush-cache key=sessions")
	e.eventually("already proposed", func() bool { return strings.Contains(e.answers(), "already proposed") })
	click(e, "U0CAROL", "proposal_approve", value, "1700000400.000")
	e.eventually("the proposer refused", func() bool { return strings.Contains(e.answers(), "proposer") })
	click(e, "U0BOB", "proposal_approve", value, "1700000401.000")
	var undo string
	e.eventually("the Undo button", func() bool { undo = e.buttonFor("proposal_undo", "flush-cache"); return undo != "" })
	if undo != value {
		t.Fatalf("Undo carries the proposal it undoes: %s vs %s", undo, value)
	}
	click(e, "U0ALICE", "proposal_undo", undo, "1700000402.000")
	click(e, "U0ALICE", "proposal_undo", undo, "1700000403.000") // double click
	e.eventually("undone", func() bool { return strings.Contains(e.slack.Transcript(channel), "Undone") })
	e.settled()
	if got := f.ran(); len(got) != 2 || got[0] != "flush_sessions" || got[1] != "unflush_sessions" {
		t.Fatalf("runs: %v", got)
	}
	if !strings.Contains(e.answers(), "one click") {
		t.Fatalf("answers:\n%s", e.answers())
	}
	a := e.auditActions()
	if a["propose_denied"] < 4 || a["proposed"] != 2 || a["undo"] != 1 || a["executed"] != 2 || a["undone"] != 1 {
		t.Fatalf("audit: %v", a)
	}
	// Proposing it again after it was undone opens a new proposal.
	e.proposeAs("U0BOB", "PHUM001 flush-cache key=sessions")
	e.eventually("a fresh proposal", func() bool { return strings.Count(e.slack.Transcript(channel), "Proposed action") == 2 })
}

// 1,000 concurrent Approve clicks — 500 approvers clicking twice each,
// alternating between two opsgate instances on one real Redis — approve a
// 2-of-N proposal once and run it exactly once.
func TestThousandApproveClicksTwoInstances(t *testing.T) {
	users := make([]string, 500)
	for i := range users {
		users[i] = fmt.Sprintf("U%04d", i)
	}
	f := newActions(t, strings.Join(users, ", "), "")
	f.file.Actions[1].Approvals.Required = 2
	a := startWith(t, f.file)
	b := a.replica()
	a.postWebhook(incidentEvent("EVT-K1", "incident.triggered", "PKILO01", "triggered", time.Now()), pdSecret)
	a.eventually("the thread", func() bool { return len(a.slack.Threads(channel)) == 1 })
	a.settled()
	a.proposeAs("U0PROP", "PKILO01 flush-cache key=sessions")
	var value string
	a.eventually("the proposal", func() bool { value = a.buttonFor("proposal_approve", "flush-cache"); return value != "" })
	sem := make(chan struct{}, 64)
	done := make(chan int, 1000)
	for i := 0; i < 1000; i++ {
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem }()
			inst := a
			if i%2 == 1 {
				inst = b
			}
			code, _ := click(inst, users[i/2], "proposal_approve", value, fmt.Sprintf("1700001%03d.%03d", i/2, i%2))
			done <- code
		}(i)
	}
	for i := 0; i < 1000; i++ {
		if code := <-done; code != 200 {
			t.Fatalf("click answered %d", code)
		}
	}
	a.eventually("the execution", func() bool { return strings.Contains(a.slack.Transcript(channel), "SUCCEEDED") })
	a.settled()
	if got := f.ran(); len(got) != 1 {
		t.Fatalf("executed %d times: %v", len(got), got)
	}
	id, _, _ := strings.Cut(value, "|")
	p, err := a.app.Proposals.Get(context.Background(), id)
	if err != nil || p.State != approval.Succeeded || len(p.Approvals) != 2 {
		t.Fatalf("%+v %v", p, err)
	}
	au := a.auditActions()
	if au["approve"] != 2 || au["approve_denied"] != 998 || au["executed"] != 1 {
		t.Fatalf("audit: %v", au)
	}
}

func clickAt(e *env, user, action, value, actionTs string, at time.Time, secret string) (int, string) {
	payload := `{"type":"block_actions","user":{"id":"` + user + `","username":"u","name":"u","team_id":"T1"},"api_app_id":"A1","token":"x",` +
		`"container":{"type":"message","message_ts":"1","channel_id":"` + channel + `","is_ephemeral":false},"trigger_id":"1.2",` +
		`"team":{"id":"T1","domain":"acme"},"channel":{"id":"` + channel + `","name":"incidents"},"response_url":"` + e.slack.ResponseURL("ap-"+user) + `",` +
		`"actions":[{"action_id":"` + action + `","block_id":"proposal_actions","type":"button","value":"` + value + `","text":{"type":"plain_text","text":"x"},"action_ts":"` + actionTs + `"}]}`
	return e.postSlack("/slack/interactions", url.Values{"payload": {payload}}, at, secret)
}

// Forged, stale and replayed clicks are refused with a reason and run
// nothing; only the authenticated one (the replay) is audited — forged
// requests are counted in the metrics, so they cannot flood the trail.
func TestRefusedClicksAreAuditedAndRunNothing(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	e := startWith(t, f.file)
	value := openProposal(t, e, "PREF001", "flush-cache key=sessions")
	now := time.Now()
	if code, body := clickAt(e, "U0BOB", "proposal_approve", value, "1.1", now, "not-the-signing-secret"); code != 401 || !strings.Contains(body, "signature is invalid") {
		t.Fatalf("forged: %d %s", code, body)
	}
	if code, body := clickAt(e, "U0BOB", "proposal_approve", value, "1.2", now.Add(-10*time.Minute), signingSecret); code != 401 || !strings.Contains(body, "more than 5 minutes") {
		t.Fatalf("stale: %d %s", code, body)
	}
	if n := len(f.ran()); n != 0 {
		t.Fatalf("refused clicks ran %d actions", n)
	}
	if code, _ := clickAt(e, "U0BOB", "proposal_approve", value, "1.3", now, signingSecret); code != 200 {
		t.Fatal(code)
	}
	code, body := clickAt(e, "U0BOB", "proposal_approve", value, "1.3", now, signingSecret) // the same request again
	if code != 200 || !strings.Contains(slackResponse(t, body), "already handled") {
		t.Fatalf("replay: %d %s", code, body)
	}
	e.eventually("the execution", func() bool { return strings.Contains(e.slack.Transcript(channel), "SUCCEEDED") })
	e.settled()
	if n := len(f.ran()); n != 1 {
		t.Fatalf("ran %d times", n)
	}
	refused := e.auditEntries("decision_refused")
	if len(refused) != 1 || !strings.Contains(refused[0].Details["reason"], "replayed") || refused[0].Incident != "PREF001" || refused[0].Actor != "U0BOB" {
		t.Fatalf("refused clicks audited: %+v", refused)
	}
	metrics := e.metricsText()
	for _, want := range []string{`opsgate_slack_requests_total{endpoint="interactions",outcome="bad_signature"} 1`, `opsgate_slack_requests_total{endpoint="interactions",outcome="stale"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
	e.auditActions() // the chain verifies
}

// A worker that began an execution and died leaves it EXECUTING: the sweep
// reports it once in the thread and the audit trail, the message says the
// outcome is unknown, and nothing runs it again.
func TestStalledExecutionReportedNeverRerun(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	e := startWith(t, f.file)
	value := openProposal(t, e, "PSTL001", "flush-cache key=sessions") // settled: the proposal knows where its message is
	id, hash, _ := strings.Cut(value, "|")
	ctx := context.Background()
	st := e.app.Proposals
	// The worker approves and begins, then dies before running anything
	// (a deadline already past stands in for its timeout going by).
	if _, done, err := st.Approve(ctx, id, "U0BOB", hash, true); err != nil || !done {
		t.Fatal(done, err)
	}
	if _, _, err := st.Begin(ctx, id, -time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Executor.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	e.eventually("the stall reported", func() bool { return strings.Contains(e.slack.Transcript(channel), "outcome is unknown") })
	if n, err := e.app.Executor.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("reported again: %d %v", n, err)
	}
	click(e, "U0ALICE", "proposal_approve", value, "1700000500.000")
	e.eventually("the late click refused", func() bool { return strings.Contains(e.answers(), "no longer waiting") })
	e.settled()
	tr := e.slack.Transcript(channel)
	if strings.Count(tr, "outcome is unknown") != 1 || !strings.Contains(tr, "Outcome unknown") || !strings.Contains(tr, "proposals settle") {
		t.Fatalf("%s", tr)
	}
	if n := len(f.ran()); n != 0 {
		t.Fatalf("a stalled execution was re-run %d times", n)
	}
	if a := e.auditActions(); a["execution_stalled"] != 1 || a["executed"] != 0 {
		t.Fatalf("audit: %v", a)
	}
	// The engineer checks by hand and settles it; the thread is told.
	t.Setenv("REDIS_URL", e.redis.URL())
	e.setKeyVars(t)
	var out, errOut strings.Builder
	if code := cli.Main([]string{"proposals", "settle", id, "failed", "--by", "alice", "--note", "cache untouched"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("settle: %d %s", code, errOut.String())
	}
	e.eventually("the settlement in the thread", func() bool {
		tr := e.slack.Transcript(channel)
		return strings.Contains(tr, "settled by hand as *FAILED* by alice") && strings.Contains(tr, ":red_circle: Failed")
	})
	if a := e.auditActions(); a["settled"] != 1 || len(f.ran()) != 0 {
		t.Fatalf("audit: %v, ran %v", a, f.ran())
	}
}

// A click after expiry is refused with the reason and takes the buttons
// away; a proposal nobody clicks loses its buttons at the next sweep.
func TestExpiredProposalsLoseTheirButtons(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	f.file.Actions[1].Expiry = time.Second
	e := startWith(t, f.file)
	e.slack.AddUser("U0BOB", "bob")
	e.openThread("PEXP001")
	e.proposeAs("U0CAROL", "PEXP001 flush-cache key=sessions")
	e.proposeAs("U0CAROL", "PEXP001 flush-cache key=carts")
	var clicked, ignored string
	e.eventually("two proposals", func() bool {
		clicked, ignored = e.buttonFor("proposal_approve", "key=sessions"), e.buttonFor("proposal_approve", "key=carts")
		return clicked != "" && ignored != ""
	})
	e.settled()
	ctx := context.Background()
	for _, v := range []string{clicked, ignored} {
		id, _, _ := strings.Cut(v, "|")
		p, err := e.app.Proposals.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		e.eventually("the expiry", func() bool { return time.Now().After(p.ExpiresAt) })
	}
	click(e, "U0BOB", "proposal_approve", clicked, "1700000600.000")
	e.eventually("the refusal", func() bool { return strings.Contains(e.answers(), "has expired") })
	e.settled()
	if e.buttonFor("proposal_approve", "key=sessions") != "" {
		t.Fatal("an expired proposal still offers Approve")
	}
	if _, err := e.app.Executor.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	e.eventually("the sweep's expiry", func() bool { return e.buttonFor("proposal_approve", "key=carts") == "" })
	if n := strings.Count(e.slack.Transcript(channel), ":zzz: Expired"); n != 2 {
		t.Fatalf("%d expired messages:\n%s", n, e.slack.Transcript(channel))
	}
	if len(f.ran()) != 0 {
		t.Fatal("an expired proposal ran")
	}
	if a := e.auditActions(); a["approve_denied"] != 1 || a["expired"] != 1 {
		t.Fatalf("audit: %v", a)
	}
}

// `/triage reject <id> <reason>`: only an approver may, the reason shows
// under the proposal, and nothing runs afterwards.
func TestRejectWithReason(t *testing.T) {
	f := newActions(t, "U0ALICE, U0BOB", "")
	e := startWith(t, f.file)
	value := openProposal(t, e, "PREJ001", "flush-cache key=sessions")
	id, _, _ := strings.Cut(value, "|")
	if !strings.Contains(e.slack.Transcript(channel), "/triage reject "+id) {
		t.Fatalf("the proposal does not say how to reject it with a reason:\n%s", e.slack.Transcript(channel))
	}
	reject := func(user, text string) {
		form := slashFormAs(user, "reject "+text, e.slack.ResponseURL(fmt.Sprintf("rej-%d", time.Now().UnixNano())))
		if code, body := e.postSlack("/slack/commands", form, time.Now(), signingSecret); code != 200 || !strings.Contains(body, "Rejecting") {
			t.Fatalf("%d %s", code, body)
		}
	}
	reject("U0CAROL", id+" I changed my mind") // the proposer is not an approver here
	e.eventually("the refusal", func() bool { return strings.Contains(e.answers(), "Not rejected: not an approver") })
	reject("U0BOB", id+" wrong key: <!channel> it is carts")
	e.eventually("the rejection shown", func() bool { return strings.Contains(e.slack.Transcript(channel), "rejected by <@U0BOB>: wrong key") })
	click(e, "U0ALICE", "proposal_approve", value, "1700000700.000")
	e.eventually("the late approval refused", func() bool { return strings.Contains(e.answers(), "no longer waiting") })
	e.settled()
	if strings.Contains(e.slack.Transcript(channel), "<!channel>") {
		t.Fatal("a reason pinged the channel")
	}
	if len(f.ran()) != 0 {
		t.Fatal("a rejected proposal ran")
	}
	rej := e.auditEntries("reject")
	if len(rej) != 1 || rej[0].Actor != "U0BOB" || !strings.HasPrefix(rej[0].Details["reason"], "wrong key") {
		t.Fatalf("%+v", rej)
	}
	if a := e.auditActions(); a["reject_denied"] != 1 || a["approve_denied"] != 1 {
		t.Fatalf("audit: %v", a)
	}
}
