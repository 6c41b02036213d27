package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"net/url"
	"strings"

	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	"github.com/opsgate/opsgate/integrations/fakes/mailbox"
)

// stakeholderUpdate plays a status update: sre-bob drafts it from the
// thread and submits it, sre-alice approves it, and the local SMTP server
// receives it.
func stakeholderUpdate(ctx context.Context, out io.Writer, base, signing string, fs *fakeslack.Server, pd *fakepagerduty.Server, mb *mailbox.Server, waitFor func(string, func() bool) error) error {
	if err := clickWith(ctx, base, signing, fs.ResponseURL("demo-draft"), "U0BOB", render.ActionDraftUpdate, demoIncident, "4.0", fs.Trigger("U0BOB")); err != nil {
		return err
	}
	if err := waitFor("the update form", func() bool { return len(fs.Views()) == 1 }); err != nil {
		return err
	}
	v := fs.Views()[0]
	draft, err := initialValue(v.Raw)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "→ sre-bob clicks Draft update: a form opens with a plain-language draft (masked values in words) he can edit")
	sub := map[string]any{"type": "view_submission", "user": map[string]any{"id": "U0BOB", "team_id": "TDEMO"}, "team": map[string]any{"id": "TDEMO"},
		"api_app_id": "A1", "token": "x", "view": map[string]any{"id": v.ID, "type": "modal", "callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata,
			"state": map[string]any{"values": map[string]any{render.BlockUpdate: map[string]any{render.ActionUpdate: map[string]any{"type": "plain_text_input", "value": draft}}}}}}
	b, _ := json.Marshal(sub)
	resp, err := postSlack(ctx, base+"/slack/interactions", signing, url.Values{"payload": {string(b)}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if err := waitFor("the update proposal", func() bool { return proposalButton(fs) != "" }); err != nil {
		return err
	}
	fmt.Fprintln(out, "→ he submits it: it is proposed in the thread as stakeholder-update [Approve] [Reject] (he may not approve his own)")
	if err := click(ctx, base, signing, fs.ResponseURL("demo-approve-update"), "U0DEMO", render.ActionApprove, proposalButton(fs), "4.5"); err != nil {
		return err
	}
	if err := waitFor("the update sent", func() bool { return strings.Contains(fs.Transcript(demoChannel), "SUCCEEDED* stakeholder update") }); err != nil {
		return err
	}
	m := mb.Messages()[0]
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return err
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	body, _ := io.ReadAll(msg.Body)
	fmt.Fprintf(out, "→ sre-alice approves: the local SMTP server received the e-mail (STARTTLS, AUTH) for %s:\n", strings.Join(m.To, ", "))
	fmt.Fprintf(out, "  │ Subject: %s\n", subject)
	for _, l := range strings.Split(strings.TrimSpace(strings.ReplaceAll(string(body), "\r\n", "\n")), "\n") {
		fmt.Fprintf(out, "  │ %s\n", l)
	}
	fmt.Fprintf(out, "  also posted to #status (%d message) and published as a PagerDuty status update (%d)\n", len(fs.Threads("C0STATUS")), len(pd.StatusUpdates()))
	return nil
}

// initialValue is the draft in an update modal's input.
func initialValue(raw []byte) (string, error) {
	var v struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	for _, b := range v.Blocks {
		if b.BlockID == render.BlockUpdate {
			return b.Element.InitialValue, nil
		}
	}
	return "", fmt.Errorf("demo: the update form has no draft")
}
