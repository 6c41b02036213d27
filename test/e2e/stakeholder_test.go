package e2e

import (
	"bytes"
	"context"
	"mime"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
	"github.com/opsgate/opsgate/integrations/fakes/mailbox"
)

var placeholderRe = regexp.MustCompile(`\[[A-Z][A-Z0-9_]*_\d+\]`)

// A stakeholder update from the thread: Draft update opens a modal with a
// plain-language draft (masked values described in words, never shown);
// the edited text is proposed in the thread and approved like an action
// (not by its writer); once approved it is sent once — e-mail through a
// real SMTP server (STARTTLS, AUTH), the stakeholder channel and a
// PagerDuty status update — and audited. A value pasted into the form is
// masked before anyone sees it.
func TestStakeholderUpdateFromDraftToInbox(t *testing.T) {
	mb, err := mailbox.Start(mailbox.Options{User: "opsgate", Pass: "smtp-pass-4411", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mb.Close)
	smtpTLS = mb.ClientTLS
	t.Cleanup(func() { smtpTLS = nil })
	file := writeConfig(t, `approvers:
  users: [U0ALICE, U0CAROL]
stakeholders:
  email: [cto@acme.example, status@acme.example]
  channel: C0OTHER
  pagerduty_status_update: true
`)
	e := startWith(t, file, withPagerDutyAPI, func(c *config.Env) {
		c.SMTPURL = config.Secret("smtp://opsgate:smtp-pass-4411@127.0.0.1:" + mb.Port)
		c.SMTPFrom = "opsgate@acme.example"
		c.PagerDutyFromEmail = "bot@acme.example"
	})
	e.slack.AddUser("U0CAROL", "carol")
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PSH0001", Title: "x", Status: "triggered"})
	e.pd.AddUser(fakepagerduty.User{ID: "PBOT001", Name: "opsgate", Email: "bot@acme.example"})
	body := bytes.Replace(incidentEvent("E-SH-1", "incident.triggered", "PSH0001", "triggered", time.Now().Add(-10*time.Minute)),
		[]byte("Checkout API 5xx rate above 5%"), []byte("Checkout 5xx: db-7.corp.example.com (10.9.8.7) refusing"), 1)
	if code, _ := e.postWebhook(body, pdSecret); code != 202 {
		t.Fatal(code)
	}
	e.eventually("the parent with Draft update", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 1 && strings.Contains(string(th[0].Blocks), render.ActionDraftUpdate)
	})
	e.settled()

	// A trigger that expired: told to click again, nothing opened.
	clickWithTrigger(e, "U0ALICE", render.ActionDraftUpdate, "PSH0001", "1.2.expired")
	e.eventually("the expired-trigger answer", func() bool { return strings.Contains(e.answers(), "could not open in time") })
	if code, _ := clickWithTrigger(e, "U0ALICE", render.ActionDraftUpdate, "PSH0001", e.slack.Trigger("U0ALICE")); code != 200 {
		t.Fatal(code)
	}
	e.eventually("the update modal", func() bool { return len(e.slack.Views()) == 1 })
	v := e.slack.Views()[0]
	draft := string(v.Raw)
	if v.CallbackID != render.CallbackUpdate || v.PrivateMetadata != "PSH0001|"+channel {
		t.Fatalf("view %+v", v)
	}
	for _, want := range []string{"Status: Investigating", "checkout-api (priority P1)", "a server (an internal address) refusing", "Next update: by",
		"e-mail to 2 recipient(s)", "Slack channel C0OTHER", "PagerDuty status update"} {
		if !strings.Contains(draft, want) {
			t.Errorf("draft modal lacks %q:\n%s", want, draft)
		}
	}
	if strings.Contains(draft, "10.9.8.7") || strings.Contains(draft, "db-7.corp") || placeholderRe.MatchString(draft) || strings.Contains(draft, "acme.example") {
		t.Fatalf("draft shows a value or a placeholder:\n%s", draft)
	}

	// Submissions: too short, tampered, then the edited text twice.
	if _, b := submitField(e, "U0ALICE", v.ID, render.CallbackUpdate, v.PrivateMetadata, render.BlockUpdate, render.ActionUpdate, "short"); !strings.Contains(b, "response_action") {
		t.Fatalf("short update accepted: %s", b)
	}
	if _, b := submitField(e, "U0ALICE", v.ID, render.CallbackUpdate, "p-1;drop|C0INCIDENT", render.BlockUpdate, render.ActionUpdate, strings.Repeat("x", 40)); !strings.Contains(b, "no longer valid") {
		t.Fatalf("tampered form accepted: %s", b)
	}
	text := "Status: Investigating\nCheckout is failing for some customers. Questions: bob@corp.example.com or 10.9.8.7.\nNext update in 30 minutes."
	for range 2 {
		if code, b := submitField(e, "U0ALICE", v.ID, render.CallbackUpdate, v.PrivateMetadata, render.BlockUpdate, render.ActionUpdate, text); code != 200 || b != "" {
			t.Fatalf("submit: %d %q", code, b)
		}
	}
	var value string
	e.eventually("the update proposal", func() bool {
		value = e.buttonFor("proposal_approve", "Will send:")
		return value != ""
	})
	e.settled()
	tr := e.slack.Transcript(channel)
	if strings.Count(tr, "Will send:") != 1 || strings.Contains(tr, "bob@corp") || strings.Contains(tr, "10.9.8.7") || !strings.Contains(tr, "Questions: a person or an internal address") {
		t.Fatalf("proposal (once, masked and readable):\n%s", tr)
	}
	// Its writer may not approve it; another approver may, and it is sent once.
	click(e, "U0ALICE", render.ActionApprove, value, "5.1")
	e.eventually("self-approval refused", func() bool { return strings.Contains(e.answers(), "Not approved") })
	click(e, "U0CAROL", render.ActionApprove, value, "5.2")
	click(e, "U0CAROL", render.ActionApprove, value, "5.3")
	e.eventually("the e-mail", func() bool { return len(mb.Messages()) == 1 })
	e.eventually("the outcome in the thread", func() bool { return strings.Contains(e.slack.Transcript(channel), "SUCCEEDED* stakeholder update") })
	e.settled()
	msgs := mb.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d e-mails", len(msgs))
	}
	m := msgs[0]
	if m.From != "opsgate@acme.example" || strings.Join(m.To, ",") != "cto@acme.example,status@acme.example" {
		t.Fatalf("envelope %+v", m)
	}
	parsed, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != "Status update: checkout-api — Checkout 5xx: a server (an internal address) refusing" {
		t.Errorf("subject %q (%v)", subject, err)
	}
	for _, want := range []string{"Questions: a person or an internal address", "Next update in 30 minutes"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("e-mail lacks %q:\n%s", want, m.Data)
		}
	}
	if strings.Contains(m.Data, "10.9.8.7") || strings.Contains(m.Data, "bob@corp") || strings.Contains(m.Data, "db-7.corp") || placeholderRe.MatchString(m.Data) {
		t.Fatalf("e-mail shows a value or a placeholder:\n%s", m.Data)
	}
	if other := e.slack.Transcript("C0OTHER"); !strings.Contains(other, "Questions: a person or an internal address") || strings.Contains(other, "10.9.8.7") {
		t.Fatalf("stakeholder channel:\n%s", other)
	}
	ups := e.pd.StatusUpdates()
	if len(ups) != 1 || ups[0].From != "bot@acme.example" || !strings.Contains(ups[0].Message, "Checkout is failing") || strings.Contains(ups[0].Message, "10.9.8.7") {
		t.Fatalf("PagerDuty status updates %+v", ups)
	}
	entries, err := e.app.Audit.Entries(context.Background(), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range entries {
		if x.Action == "stakeholder_update_sent" {
			n++
			if x.Details["state"] != "SUCCEEDED" || !strings.Contains(x.Details["sent"], "e-mail (2 recipient(s))") {
				t.Errorf("audit %+v", x.Details)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d sends audited", n)
	}
	if strings.Contains(e.logs.String(), "smtp-pass-4411") {
		t.Fatal("the SMTP password reached the logs")
	}
}

// With a model configured, the form opens at once with the template's
// draft and the model's rewrite is added under the box (views.update with
// the form's hash; the box keeps its ids, so nothing typed is lost); the
// model saw only the masked, readable draft; a value it makes up is
// masked and described in words. A model that answers nonsense leaves the
// template's draft, and says so.
func TestStakeholderUpdateDraftedByTheModel(t *testing.T) {
	gm := fakegemini.New(geminiKey)
	t.Cleanup(gm.Close)
	file := writeConfig(t, `approvers:
  users: [U0ALICE, U0CAROL]
stakeholders:
  channel: C0OTHER
`)
	e := startWith(t, file, withGemini(gm))
	body := bytes.Replace(incidentEvent("E-SM-1", "incident.triggered", "PSM0001", "triggered", time.Now().Add(-5*time.Minute)),
		[]byte("Checkout API 5xx rate above 5%"), []byte("Checkout 5xx: db-7.corp.example.com (10.9.8.7) refusing"), 1)
	e.postWebhook(body, pdSecret)
	e.eventually("the parent with Draft update", func() bool {
		th := e.slack.Threads(channel)
		return len(th) == 1 && strings.Contains(string(th[0].Blocks), render.ActionDraftUpdate)
	})
	e.settled() // the analysis has had its (default) answer
	gm.Script(fakegemini.Reply{Text: `{"update":"Checkout is failing for some customers because a server stopped answering. Our team is on it; contact ops at 10.1.1.1 [HOSTNAME_1]. Next update by 15:00 UTC."}`},
		fakegemini.Reply{Text: `not json at all`})
	clickWithTrigger(e, "U0ALICE", render.ActionDraftUpdate, "PSM0001", e.slack.Trigger("U0ALICE"))
	e.eventually("the model's draft in the form", func() bool { v := e.slack.Views(); return len(v) == 1 && v[0].Updates == 1 })
	v := e.slack.Views()[0]
	raw := string(v.Raw)
	for _, want := range []string{`"block_id":"update"`, `"block_id":"update_suggestion_1"`, "Checkout is failing for some customers", "contact ops at an internal address a server", "is the model's (gemini)",
		"Status: Investigating"} { // the template's draft stays in the box: nothing typed is overwritten
		if !strings.Contains(raw, want) {
			t.Errorf("form lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "10.1.1.1") || strings.Contains(raw, "10.9.8.7") || placeholderRe.MatchString(raw) {
		t.Fatalf("form shows a value or a placeholder:\n%s", raw)
	}
	prompts := gm.Prompts()
	last := prompts[len(prompts)-1]
	if !strings.Contains(last, "a server (an internal address) refusing") || strings.Contains(last, "10.9.8.7") || strings.Contains(last, "db-7.corp") || placeholderRe.MatchString(last) {
		t.Fatalf("the model was sent more than the readable draft:\n%s", last)
	}
	text := "Checkout is failing for some customers. Next update by 15:00 UTC."
	values := map[string]any{render.BlockUpdate: map[string]any{render.ActionUpdate: map[string]any{"type": "plain_text_input", "value": text}}}
	if code, b := submitState(e, "U0ALICE", v.ID, v.CallbackID, v.PrivateMetadata, values); code != 200 || b != "" {
		t.Fatalf("submit: %d %q", code, b)
	}
	e.eventually("the proposal", func() bool { return e.buttonFor("proposal_approve", "Will send:") != "" })

	// Nonsense from the model: the template's draft stays, and the form says so.
	clickWithTrigger(e, "U0ALICE", render.ActionDraftUpdate, "PSM0001", e.slack.Trigger("U0ALICE"))
	e.eventually("the second form, updated", func() bool { v := e.slack.Views(); return len(v) == 2 && v[1].Updates == 1 })
	raw = string(e.slack.Views()[1].Raw)
	if strings.Contains(raw, "update_suggestion") || !strings.Contains(raw, "did not give a usable draft") || !strings.Contains(raw, "Status: Investigating") {
		t.Fatalf("fallback form:\n%s", raw)
	}
}
