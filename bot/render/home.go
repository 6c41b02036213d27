package render

import (
	"fmt"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/approval"
)

// Home renders a user's App Home tab: the open incidents and the
// proposals waiting for their approval (each linked to its message when
// it has one). Up to 100 blocks.
func Home(lines []StatusLine, mine []*approval.Proposal) slack.HomeTabViewRequest {
	blocks := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "opsgate", false, false))}
	if len(mine) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("*Waiting for your approval:* nothing."), nil, nil))
	} else {
		var rows []string
		for _, p := range mine {
			row := fmt.Sprintf(":hourglass: `%s` for %s — %d of %d approvals", Escape(p.ActionID), Escape(p.IncidentID), len(p.Approvals), p.Required)
			if p.Channel != "" && p.TS != "" {
				row += fmt.Sprintf(" · in <#%s>", Escape(p.Channel))
			}
			rows = append(rows, row)
		}
		blocks = append(blocks, listMessage(fmt.Sprintf("*Waiting for your approval: %d*", len(mine)), rows, "").Blocks...)
	}
	blocks = append(blocks, slack.NewDividerBlock())
	blocks = append(blocks, Status(lines, false, len(mine)).Blocks...)
	if len(lines) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("No open incidents."), nil, nil))
	}
	if len(blocks) > 100 {
		blocks = blocks[:100]
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}
