package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
)

// Acknowledge and Resolve on the parent act in PagerDuty as the person
// who clicked: their Slack e-mail names their PagerDuty user, who is the
// From of the change. A double click is one change; a user PagerDuty
// refuses (403), one with no PagerDuty user and one without an e-mail are
// told so and nothing happens; the parent changes when PagerDuty's webhook
// says so, and no e-mail address reaches Slack.
func TestAcknowledgeAndResolveFromTheThread(t *testing.T) {
	e := start(t, withPagerDutyAPI)
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PWB0001", Title: "x", Status: "triggered"})
	e.pd.AddUser(fakepagerduty.User{ID: "PALICE1", Name: "Alice Oncall", Email: "alice@acme.example"})
	e.pd.AddUser(fakepagerduty.User{ID: "PBOB001", Name: "Bob Watcher", Email: "bob@acme.example", Role: "observer"})
	e.pd.AddUser(fakepagerduty.User{ID: "PEVE001", Name: "Eve", Email: "eve@acme.example"})
	e.slack.SetEmail("U0ALICE", "Alice@Acme.example")
	for id, email := range map[string]string{"U0BOB": "bob@acme.example", "U0CAROL": "carol@elsewhere.example", "U0DAVE": "", "U0EVE": "eve@acme.example"} {
		e.slack.AddUser(id, strings.ToLower(id[2:]))
		e.slack.SetEmail(id, email)
	}
	at := time.Now().Add(-time.Minute)
	e.postWebhook(incidentEvent("E-WB-1", "incident.triggered", "PWB0001", "triggered", at), pdSecret)
	e.eventually("the thread with its buttons", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 1 && strings.Contains(string(th[0].Blocks), render.ActionAcknowledge)
	})
	e.settled()

	// Refused: an observer (by opsgate: PagerDuty would take the change
	// from the API key), a user PagerDuty answers 403 for, no PagerDuty
	// user, no e-mail.
	click(e, "U0BOB", render.ActionResolve, "PWB0001", "1.1")
	e.pd.FailNext("PUT /incidents", 1, 403, 0)
	click(e, "U0EVE", render.ActionAcknowledge, "PWB0001", "1.4")
	e.eventually("the 403", func() bool { return strings.Contains(e.answers(), "may not change this incident") })
	click(e, "U0CAROL", render.ActionAcknowledge, "PWB0001", "1.2")
	click(e, "U0DAVE", render.ActionAcknowledge, "PWB0001", "1.3")
	e.eventually("four refusals", func() bool { return strings.Count(e.answers(), "nothing was changed") == 4 })
	for _, want := range []string{"role (observer) may not change incidents", "may not change this incident", "No PagerDuty user", "no e-mail address"} {
		if !strings.Contains(e.answers(), want) {
			t.Errorf("answers lack %q:\n%s", want, e.answers())
		}
	}
	if n := len(e.pd.StatusChanges()); n != 0 {
		t.Fatalf("%d changes made for refused users", n)
	}
	// Alice acknowledges, twice in a row: one change, as her.
	click(e, "U0ALICE", render.ActionAcknowledge, "PWB0001", "2.1")
	click(e, "U0ALICE", render.ActionAcknowledge, "PWB0001", "2.2")
	e.eventually("the acknowledgement", func() bool { return strings.Contains(e.answers(), "Acknowledged in PagerDuty as you") })
	e.settled()
	ch := e.pd.StatusChanges()
	if len(ch) != 1 || ch[0] != (fakepagerduty.StatusChange{IncidentID: "PWB0001", From: "alice@acme.example", Status: "acknowledged"}) {
		t.Fatalf("changes %+v", ch)
	}
	// The parent follows PagerDuty's webhook, not the click.
	if strings.Contains(e.slack.Transcript(channel), "Acknowledged") {
		t.Fatal("the parent changed before PagerDuty confirmed")
	}
	e.postWebhook(incidentEvent("E-WB-2", "incident.acknowledged", "PWB0001", "acknowledged", at.Add(time.Second)), pdSecret)
	e.eventually("the parent acknowledged, Acknowledge gone", func() bool {
		th := e.slack.Threads(channel)[0]
		return strings.Contains(blocksText(th), "Acknowledged") && !strings.Contains(string(th.Blocks), render.ActionAcknowledge) &&
			strings.Contains(string(th.Blocks), render.ActionResolve)
	})
	// Resolve, then the buttons go.
	click(e, "U0ALICE", render.ActionResolve, "PWB0001", "3.1")
	e.eventually("resolved in PagerDuty", func() bool { return len(e.pd.StatusChanges()) == 2 })
	e.postWebhook(incidentEvent("E-WB-3", "incident.resolved", "PWB0001", "resolved", at.Add(2*time.Second)), pdSecret)
	e.eventually("no buttons once resolved", func() bool {
		th := e.slack.Threads(channel)[0]
		return !strings.Contains(string(th.Blocks), render.ActionResolve) && strings.Contains(blocksText(th), "Resolved")
	})
	// A click on a stale message of a resolved incident changes nothing.
	click(e, "U0DAVE", render.ActionResolve, "PWB0001", "3.2")
	e.eventually("told it is resolved", func() bool { return strings.Contains(e.answers(), "already resolved") })
	e.settled()
	if n := len(e.pd.StatusChanges()); n != 2 {
		t.Fatalf("%d changes", n)
	}
	e.noEmailInSlack()
	got := e.auditActions()
	if got["pagerduty_acknowledged"] != 1 || got["pagerduty_resolved"] != 1 || got["pagerduty_resolved_refused"] != 1 || got["pagerduty_acknowledged_refused"] != 3 {
		t.Fatalf("audit %v", got)
	}
}

// Reassign and Escalate open a picker (PagerDuty's escalation policies; the
// levels of the incident's policy) and make the chosen change in PagerDuty
// as the clicker. A person chosen is found in PagerDuty by their Slack
// e-mail; one without a PagerDuty user, neither or both choices, a level
// PagerDuty refuses: answered, nothing changed; a double submit is one change.
func TestReassignAndEscalateFromTheThread(t *testing.T) {
	e := start(t, withPagerDutyAPI)
	e.pd.AddPolicy(fakepagerduty.Policy{ID: "PEP0001", Name: "Checkout", Levels: []string{"Alice Oncall", "Bob Backup", "Engineering manager"}})
	e.pd.AddPolicy(fakepagerduty.Policy{ID: "PEP0002", Name: "Databases", Levels: []string{"DBA on call"}})
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PRA0001", Title: "x", Status: "triggered", EscalationPolicy: map[string]any{"id": "PEP0001", "summary": "Checkout"}})
	e.pd.AddUser(fakepagerduty.User{ID: "PALICE1", Name: "Alice Oncall", Email: "alice@acme.example"})
	e.pd.AddUser(fakepagerduty.User{ID: "PBOB001", Name: "Bob Backup", Email: "bob@acme.example"})
	e.slack.SetEmail("U0ALICE", "alice@acme.example")
	e.slack.AddUser("U0BOB", "bob")
	e.slack.SetEmail("U0BOB", "bob@acme.example")
	e.slack.AddUser("U0CAROL", "carol")
	e.slack.SetEmail("U0CAROL", "carol@elsewhere.example")
	e.postWebhook(incidentEvent("E-RA-1", "incident.triggered", "PRA0001", "triggered", time.Now().Add(-time.Minute)), pdSecret)
	e.eventually("the parent with Reassign and Escalate", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 1 && strings.Contains(string(th[0].Blocks), render.ActionReassign) && strings.Contains(string(th[0].Blocks), render.ActionEscalate)
	})
	e.settled()
	picker := func(action string) fakeslack.View {
		t.Helper()
		n := len(e.slack.Views())
		clickWithTrigger(e, "U0ALICE", action, "PRA0001", e.slack.Trigger("U0ALICE"))
		e.eventually("the picker", func() bool { return len(e.slack.Views()) == n+1 })
		return e.slack.Views()[n]
	}
	person := func(u string) map[string]any {
		return map[string]any{render.BlockAssignee: map[string]any{render.ActionAssignee: map[string]any{"type": "users_select", "selected_user": u}}}
	}
	option := func(value string) map[string]any {
		return map[string]any{"type": "static_select", "selected_option": map[string]any{"text": map[string]any{"type": "plain_text", "text": "x"}, "value": value}}
	}

	v := picker(render.ActionReassign)
	if v.CallbackID != render.CallbackReassign || !strings.Contains(string(v.Raw), "Databases") || !strings.Contains(string(v.Raw), "users_select") {
		t.Fatalf("reassign picker %+v", v)
	}
	both := person("U0BOB")
	both[render.BlockPolicy] = map[string]any{render.ActionPolicy: option("PEP0002")}
	for _, values := range []map[string]any{{}, both} {
		if _, b := submitState(e, "U0ALICE", v.ID, v.CallbackID, v.PrivateMetadata, values); !strings.Contains(b, "one of them") {
			t.Fatalf("neither/both accepted: %s", b)
		}
	}
	if _, b := submitState(e, "U0ALICE", v.ID, v.CallbackID, "p;x|C0INCIDENT", person("U0BOB")); !strings.Contains(b, "no longer valid") {
		t.Fatalf("tampered picker accepted: %s", b)
	}
	submitState(e, "U0ALICE", v.ID, v.CallbackID, v.PrivateMetadata, person("U0CAROL"))
	e.eventually("carol has no PagerDuty user", func() bool { return strings.Contains(e.answers(), "The person you chose has no PagerDuty user") })

	v = picker(render.ActionReassign)
	for range 2 {
		if code, b := submitState(e, "U0ALICE", v.ID, v.CallbackID, v.PrivateMetadata, person("U0BOB")); code != 200 || b != "" {
			t.Fatalf("submit: %d %q", code, b)
		}
	}
	e.eventually("reassigned to bob", func() bool { return strings.Contains(e.answers(), "Reassigned to <@U0BOB> in PagerDuty as you") })

	v = picker(render.ActionEscalate)
	if v.CallbackID != render.CallbackEscalate || !strings.Contains(string(v.Raw), "Level 3: Engineering manager") {
		t.Fatalf("escalate picker %s", v.Raw)
	}
	level := func(n string) map[string]any {
		return map[string]any{render.BlockLevel: map[string]any{render.ActionLevel: option(n)}}
	}
	if _, b := submitState(e, "U0ALICE", v.ID, v.CallbackID, v.PrivateMetadata, level("zero")); !strings.Contains(b, "Choose a level") {
		t.Fatalf("bad level accepted: %s", b)
	}
	submitState(e, "U0ALICE", v.ID, v.CallbackID, v.PrivateMetadata, level("2"))
	e.eventually("escalated", func() bool { return strings.Contains(e.answers(), "Escalated to level 2 in PagerDuty as you") })
	v = picker(render.ActionEscalate)
	submitState(e, "U0ALICE", v.ID, v.CallbackID, v.PrivateMetadata, level("9")) // not a level of the policy: PagerDuty says no
	e.eventually("level 9 refused", func() bool { return strings.Contains(e.answers(), "PagerDuty refused the change") })

	v = picker(render.ActionReassign)
	submitState(e, "U0ALICE", v.ID, v.CallbackID, v.PrivateMetadata, map[string]any{render.BlockPolicy: map[string]any{render.ActionPolicy: option("PEP0002")}})
	e.eventually("reassigned to a policy", func() bool { return strings.Contains(e.answers(), "Reassigned to escalation policy PEP0002") })
	e.settled()

	want := []fakepagerduty.StatusChange{{IncidentID: "PRA0001", From: "alice@acme.example", Assignee: "PBOB001"},
		{IncidentID: "PRA0001", From: "alice@acme.example", Level: 2}, {IncidentID: "PRA0001", From: "alice@acme.example", Policy: "PEP0002"}}
	got := e.pd.StatusChanges()
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("changes %+v", got)
	}
	e.noEmailInSlack()
	count := e.auditActions()
	if count["pagerduty_reassigned"] != 2 || count["pagerduty_escalated"] != 1 || count["pagerduty_reassign_refused"] != 1 || count["pagerduty_escalate_refused"] != 1 {
		t.Fatalf("audit %v", count)
	}
}
