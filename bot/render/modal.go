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
