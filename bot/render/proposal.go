package render

import (
	"fmt"
	"maps"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/catalog"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// maxSectionQuote is how much quoted text one section carries (a section
// holds 3,000 characters).
const maxSectionQuote = 2900

// quoteSections renders text quoted, whole, over as many sections as it
// needs: approvers see every word that will be sent, never a cut.
func quoteSections(id, heading, text string) []slack.Block {
	var blocks []slack.Block
	cur := heading
	flush := func() {
		blocks = append(blocks, section(fmt.Sprintf("%s_%d", id, len(blocks)+1), cur))
		cur = ""
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		q := Quote(line)
		for len([]rune(q)) > maxSectionQuote { // one very long line: split it
			if cur != "" {
				flush()
			}
			r := []rune(q)
			cut := maxSectionQuote
			if amp := strings.LastIndex(string(r[:cut]), "&"); amp >= 0 && !strings.Contains(string(r[:cut])[amp:], ";") {
				cut = len([]rune(string(r[:cut])[:amp])) // not inside an escape such as &amp;
			}
			cur = string(r[:cut])
			flush()
			q = "> " + string(r[cut:])
		}
		if cur != "" && len([]rune(cur))+1+len([]rune(q)) > maxSectionQuote {
			flush()
		}
		if cur != "" {
			cur += "\n"
		}
		cur += q
	}
	if cur != "" {
		flush()
	}
	return blocks
}

// Quote renders text as a Slack block quote, escaped, line by line.
func Quote(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "> " + Escape(l)
	}
	return strings.Join(lines, "\n")
}

// Proposal buttons (value: "<proposal id>|<hash>", so a click approves
// exactly what its clicker saw).
const (
	ActionApprove = "proposal_approve"
	ActionReject  = "proposal_reject"
	ActionUndo    = "proposal_undo"
)

var stateLabel = map[approval.State]string{
	approval.Proposed: ":hourglass_flowing_sand: Waiting for approval", approval.Approved: ":white_check_mark: Approved",
	approval.Executing: ":gear: Running", approval.Succeeded: ":large_green_circle: Succeeded", approval.Failed: ":red_circle: Failed",
	approval.Verified: ":large_green_circle: Verified", approval.VerifyFailed: ":warning: Verification failed",
	approval.Undone: ":leftwards_arrow_with_hook: Undone", approval.Rejected: ":no_entry: Rejected", approval.Expired: ":zzz: Expired",
}

// ProposalMessage renders a proposal: the action, its parameters, risk,
// exactly what it will run (its preview), the approvals so far (who,
// when), the expiry, and — while it waits — Approve and Reject buttons;
// once the action ran, an Undo button if the action has an undo. It is
// pure: the same proposal renders the same message, so clicks update it
// in place.
func ProposalMessage(p approval.Proposal, spec catalog.Spec) slackapi.Message {
	label, ok := stateLabel[p.State]
	if !ok {
		label = Escape(string(p.State))
	}
	if p.Stalled && p.State == approval.Executing {
		label = ":warning: Outcome unknown — the worker running it stopped; it will not be re-run"
	}
	kind := "Proposed action"
	if spec.Message != "" {
		kind = "Proposed"
	}
	if p.IsUndo() {
		kind = "Proposed undo of"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* `%s` — risk *%s* — %s\n", kind, Escape(p.ActionID), Escape(string(spec.Risk)), label)
	if spec.Description != "" {
		b.WriteString(Escape(Truncate(oneLine(spec.Description), 200)) + "\n")
	}
	shown := p.Params
	if spec.Message != "" {
		shown = maps.Clone(p.Params)
		delete(shown, spec.Message)
	}
	if len(shown) > 0 {
		fmt.Fprintf(&b, "*Parameters:* `%s`\n", codeSafe(params(shown)))
	}
	if len(p.Preview) > 0 {
		fmt.Fprintf(&b, "*Will run:* `%s`\n", inlineCode(strings.Join(p.Preview, " "), 600))
	}
	if p.DryRun != "" {
		fmt.Fprintf(&b, "*Server dry run:* `%s`\n", inlineCode(oneLine(p.DryRun), 400))
	}
	src := map[string]string{"rca": "the root-cause analysis", "handler": "the incident's handler (runbook step)",
		"verify": "opsgate, because verification failed"}[p.Source]
	switch {
	case src != "":
	case p.Proposer != "":
		src = "<@" + Escape(p.Proposer) + ">"
	case p.Source == "undo" && p.Requester != "":
		src = "<@" + Escape(p.Requester) + ">, one-click undo (low-risk action)"
	case p.Source == "undo":
		src = "a one-click undo (low-risk action)"
	default:
		src = Escape(p.Source)
	}
	fmt.Fprintf(&b, "Proposed by %s", src)
	blocks := []slack.Block{section("proposal", b.String())}
	if text := p.Params[spec.Message]; spec.Message != "" && text != "" {
		blocks = append(blocks, quoteSections("message", "*Will send:*", text)...)
	}

	var ctx []string
	ctx = append(ctx, fmt.Sprintf("Approvals %d of %d", len(p.Approvals), p.Required))
	for _, a := range p.Approvals {
		ctx = append(ctx, fmt.Sprintf("<@%s> at %s", Escape(a.User), a.At.UTC().Format("15:04:05 UTC")))
	}
	if p.State == approval.Proposed && !p.ExpiresAt.IsZero() {
		ctx = append(ctx, "expires "+p.ExpiresAt.UTC().Format("15:04 UTC"))
	}
	if p.State == approval.Proposed {
		ctx = append(ctx, fmt.Sprintf("id `%s` (reject with a reason: `/triage reject %s <reason>`)", Escape(p.ID), Escape(p.ID)))
	}
	if p.State == approval.Rejected {
		r := fmt.Sprintf("rejected by <@%s>", Escape(p.RejectedBy))
		if p.Reason != "" {
			r += ": " + Escape(Truncate(oneLine(p.Reason), 200))
		}
		ctx = append(ctx, r)
	}
	if p.Outcome != "" {
		ctx = append(ctx, Escape(Truncate(oneLine(p.Outcome), 300)))
	}
	if p.Verifying {
		ctx = append(ctx, "verifying…")
	}
	if p.UndoID != "" && p.State != approval.Undone {
		ctx = append(ctx, "undo requested")
	}
	blocks = append(blocks, slack.NewContextBlock("proposal_status", mrkdwn(Truncate(strings.Join(ctx, " · "), maxSectionText))))
	if p.State == approval.Proposed {
		approve := slack.NewButtonBlockElement(ActionApprove, p.ID+"|"+p.Hash, slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
		approve.Style = slack.StylePrimary
		reject := slack.NewButtonBlockElement(ActionReject, p.ID+"|"+p.Hash, slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false))
		reject.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock("proposal_actions", approve, reject))
	}
	// Undo once the action ran and its verification (if any) has finished.
	if p.Ran() && !p.Verifying && spec.Undo != nil && !p.IsUndo() && p.UndoID == "" {
		undo := slack.NewButtonBlockElement(ActionUndo, p.ID+"|"+p.Hash, slack.NewTextBlockObject(slack.PlainTextType, "Undo", false, false))
		blocks = append(blocks, slack.NewActionBlock("proposal_actions", undo))
	}
	return slackapi.Message{Text: Escape(fmt.Sprintf("Proposed action %s (risk %s): %s", p.ActionID, spec.Risk, p.State)), Blocks: blocks}
}
