package render

import (
	"github.com/slack-go/slack"
)

// The reject-with-a-reason modal.
const (
	CallbackRejectReason = "reject_reason"
	BlockReason          = "reason"
	ActionReason         = "reason"
	MinReason            = 3
	MaxReason            = 500
)

// RejectModal asks for the reason a proposal is rejected; private
// metadata carries "proposal id|hash|channel" back with the submission.
func RejectModal(proposalID, hash, channel string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "Why should it not run?", false, false), ActionReason)
	input.Multiline = true
	input.MinLength = MinReason
	input.MaxLength = MaxReason
	label := slack.NewTextBlockObject(slack.PlainTextType, Truncate("Reason for rejecting proposal "+proposalID, 2000), false, false)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Reject proposal", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		CallbackID:      CallbackRejectReason,
		PrivateMetadata: proposalID + "|" + hash + "|" + channel,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn("The proposer and the thread see the reason (masked like everything else)."), nil, nil),
			slack.NewInputBlock(BlockReason, label, nil, input),
		}},
	}
}

// The stakeholder update modal.
const (
	CallbackUpdate = "stakeholder_update"
	BlockUpdate    = "update"
	ActionUpdate   = "update"
)

// UpdateModal shows a drafted stakeholder update for editing; private
// metadata carries "incident id|channel" back with the submission. to
// says where it will go once approved; how says how it was drafted.
func UpdateModal(incidentID, channel, draft, to, how string, minLen, maxLen int) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(nil, ActionUpdate)
	input.Multiline = true
	input.MinLength = minLen
	input.MaxLength = maxLen
	input.InitialValue = Truncate(draft, maxLen)
	label := slack.NewTextBlockObject(slack.PlainTextType, "Status update", false, false)
	intro := "Edit the update, then submit it for approval. Once approved it goes to: " + Escape(to) + "."
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(Truncate(intro, 3000)), nil, nil),
		slack.NewInputBlock(BlockUpdate, label, nil, input),
	}
	if how != "" {
		blocks = append(blocks, slack.NewContextBlock("update_how", mrkdwn(Truncate(Escape(how), 3000))))
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Stakeholder update", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Submit for approval", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		CallbackID:      CallbackUpdate,
		PrivateMetadata: incidentID + "|" + channel,
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}
