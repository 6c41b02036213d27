package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/knowledge/kb"
)

// answerTo is the text of the answers to one command: through its
// response_url (token), or ephemeral (then every ephemeral whose text
// holds token's marker is one; ephemerals carry no token, so the tests
// mark each command's answers by what they ask).
func (e *env) answerTo(token string) string {
	var b strings.Builder
	for _, x := range e.slack.Ephemerals() {
		if strings.Contains(x.Text, markers[token]) && markers[token] != "" {
			fmt.Fprintln(&b, x.Text, string(x.Blocks))
		}
	}
	for _, p := range e.slack.ResponseURLPosts() {
		if p.Token == token {
			fmt.Fprintln(&b, p.Body["text"])
			if blocks, ok := p.Body["blocks"].([]any); ok {
				for _, bl := range blocks {
					if sec, ok := bl.(map[string]any)["text"].(map[string]any); ok {
						fmt.Fprintln(&b, sec["text"])
					}
				}
			}
		}
	}
	return b.String()
}

// markers pick a command's ephemeral answer by its fallback text.
var markers = map[string]string{"st1": "open incidents", "tl1": "Timeline of PST0001", "st2": "answer in the channels", "tl2": "no record of incident"}

// /triage status lists the open incidents with their state, owner,
// thread and waiting proposals; /triage timeline merges what PagerDuty
// reported with what opsgate did, in time order. Both answer only where
// incidents are discussed (or approvers), and refuse malformed requests.
func TestStatusAndTimeline(t *testing.T) {
	f := newActions(t, "U0ALICE", "")
	e := startWith(t, f.file)
	value := openProposal(t, e, "PST0001", "flush-cache key=sessions")
	at := time.Now().Add(-time.Minute)
	e.postWebhook(incidentEvent("E-ST-2", "incident.triggered", "PST0002", "triggered", at), pdSecret)
	e.postWebhook(incidentEvent("E-ST-3", "incident.triggered", "PST0003", "triggered", at), pdSecret)
	e.postWebhook(incidentEvent("E-ST-3R", "incident.resolved", "PST0003", "resolved", at.Add(time.Second)), pdSecret)
	e.postWebhook(incidentEvent("E-ST-1A", "incident.acknowledged", "PST0001", "acknowledged", time.Now()), pdSecret)
	e.settled()

	e.postSlack("/slack/commands", slashForm("status", e.slack.ResponseURL("st1")), time.Now(), signingSecret)
	e.eventually("the status", func() bool { return e.answerTo("st1") != "" })
	st := e.answerTo("st1")
	for _, want := range []string{"2 open incident(s)", "1 proposal(s) waiting", "PST0001", "acknowledged", "1 waiting", "PST0002", "thread", "Alice Oncall"} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
	if strings.Contains(st, "PST0003") {
		t.Errorf("a resolved incident is listed:\n%s", st)
	}

	click(e, "U0ALICE", "proposal_approve", value, "1.1")
	e.eventually("the execution", func() bool { return strings.Contains(e.slack.Transcript(channel), "SUCCEEDED") })
	e.settled()
	e.postSlack("/slack/commands", slashForm("timeline PST0001", e.slack.ResponseURL("tl1")), time.Now(), signingSecret)
	e.eventually("the timeline", func() bool { return e.answerTo("tl1") != "" })
	tl := e.answerTo("tl1")
	for _, want := range []string{"first seen", "Triggered", "proposed", "approve", "executed", "Acknowledged"} {
		if !strings.Contains(tl, want) {
			t.Fatalf("timeline lacks %q:\n%s", want, tl)
		}
	}
	if !(strings.Index(tl, "Triggered") < strings.Index(tl, "first seen") && strings.Index(tl, "proposed") < strings.Index(tl, "*approve*") &&
		strings.Index(tl, "*approve*") < strings.Index(tl, "executed")) {
		t.Fatalf("timeline out of order:\n%s", tl)
	}

	// Elsewhere, a non-approver is refused; malformed requests get usage.
	form := slashFormAs("U0BOB", "status", e.slack.ResponseURL("st2"))
	form.Set("channel_id", "C0OTHER")
	e.slack.AddUser("U0BOB", "bob")
	e.postSlack("/slack/commands", form, time.Now(), signingSecret)
	e.eventually("the refusal", func() bool { return e.answerTo("st2") != "" })
	if a := e.answerTo("st2"); !strings.Contains(a, "answer in the channels") || strings.Contains(a, "PST0001") {
		t.Fatalf("elsewhere: %s", a)
	}
	for text, want := range map[string]string{"timeline": "takes one incident", "status now": "takes nothing", "timeline not-an-id!": "usage"} {
		_, body := e.postSlack("/slack/commands", slashForm(text, e.slack.ResponseURL("bad")), time.Now(), signingSecret)
		if !strings.Contains(strings.ToLower(body), strings.ToLower(want)) && !strings.Contains(body, "/triage") {
			t.Errorf("%q: %s", text, body)
		}
	}
	_, body := e.postSlack("/slack/commands", slashForm("timeline PNOPE01", e.slack.ResponseURL("tl2")), time.Now(), signingSecret)
	if !strings.Contains(body, "Looking") {
		t.Fatalf("timeline of an unknown incident: %s", body)
	}
	e.eventually("no record", func() bool { return strings.Contains(e.answerTo("tl2"), "no record of incident PNOPE01") })

	// The postmortem draft, once resolved: in the knowledge base, and on
	// request a Markdown file in the incident's thread.
	e.postWebhook(incidentEvent("E-ST-1R", "incident.resolved", "PST0001", "resolved", time.Now()), pdSecret)
	e.settled()
	var doc kb.Ticket
	e.eventually("the draft in the knowledge base", func() bool {
		var err error
		doc, err = e.kbStore().Get(context.Background(), "postmortem:PST0001")
		return err == nil
	})
	if doc.Source != "postmortem" || !strings.Contains(doc.Body, "## Actions taken") || strings.Contains(doc.Body, "10.20.30.40") {
		t.Fatalf("knowledge-base draft %+v", doc)
	}
	e.postSlack("/slack/commands", slashForm("postmortem PST0001", e.slack.ResponseURL("pm1")), time.Now(), signingSecret)
	e.eventually("the draft", func() bool { return len(e.slack.Files()) == 1 })
	pm := e.slack.Files()[0]
	thread := e.slack.Threads(channel)[0]
	if pm.Name != "postmortem-PST0001.md" || pm.Channel != channel || pm.ThreadTS != thread.TS {
		t.Fatalf("file %+v (thread %s)", pm, thread.TS)
	}
	md := string(pm.Content)
	for _, want := range []string{"# Postmortem draft: PST0001", "## Impact window", "- End: ", "## Detection", "## Root cause",
		"## Actions taken", "executed by opsgate", "state=SUCCEEDED", "## Timeline", "Acknowledged", "## Follow-ups"} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "10.20.30.40") {
		t.Fatalf("an unmasked value in the draft:\n%s", md)
	}
	if _, body := e.postSlack("/slack/commands", slashForm("postmortem", e.slack.ResponseURL("pm2")), time.Now(), signingSecret); !strings.Contains(body, "takes one incident") {
		t.Fatalf("postmortem without an id: %s", body)
	}
}
