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

// UpdateForm is what the update modal shows.
type UpdateForm struct {
	IncidentID, Channel string
	Draft               string
	To                  string // where it goes once approved
	How                 string // how it was drafted ("": not said)
	// Suggestion is the model's rewrite, shown under the input to copy
	// from: it never replaces what the person may have typed already.
	Suggestion string
	Min, Max   int // the text's bounds
}

// UpdateModal shows a drafted stakeholder update for editing; private
// metadata carries "incident id|channel" back with the submission.
func UpdateModal(f UpdateForm) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(nil, ActionUpdate)
	input.Multiline = true
	input.MinLength = f.Min
	input.MaxLength = f.Max
	input.InitialValue = Truncate(f.Draft, f.Max)
	label := slack.NewTextBlockObject(slack.PlainTextType, "Status update", false, false)
	intro := "Edit the update, then submit it for approval. Once approved it goes to: " + Escape(f.To) + "."
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(Truncate(intro, 3000)), nil, nil),
		slack.NewInputBlock(BlockUpdate, label, nil, input),
	}
	if f.Suggestion != "" {
		blocks = append(blocks, quoteSections("update_suggestion", "*The model's rewrite* — copy what helps into the box above:", f.Suggestion)...)
	}
	if f.How != "" {
		blocks = append(blocks, slack.NewContextBlock("update_how", mrkdwn(Truncate(Escape(f.How), 3000))))
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Stakeholder update", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Submit for approval", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		CallbackID:      CallbackUpdate,
		PrivateMetadata: f.IncidentID + "|" + f.Channel,
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// The Reassign and Escalate modals.
const (
	CallbackReassign = "incident_reassign"
	CallbackEscalate = "incident_escalate"
	BlockAssignee    = "assignee"
	ActionAssignee   = "assignee"
	BlockPolicy      = "policy"
	ActionPolicy     = "policy"
	BlockLevel       = "level"
	ActionLevel      = "level"
)

// Choice is one option of a picker.
type Choice struct{ Value, Label string }

// MaxChoices is how many options a picker holds (Slack: 100).
const MaxChoices = 100

func choices(cs []Choice) []*slack.OptionBlockObject {
	var out []*slack.OptionBlockObject
	for _, c := range cs[:min(len(cs), MaxChoices)] {
		out = append(out, slack.NewOptionBlockObject(Truncate(c.Value, 150), slack.NewTextBlockObject(slack.PlainTextType, Truncate(orDash(c.Label), 75), false, false), nil))
	}
	return out
}

// ReassignModal asks for a person or an escalation policy to reassign
// the incident to; private metadata carries "incident id|channel".
func ReassignModal(incidentID, channel string, policies []Choice) slack.ModalViewRequest {
	user := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, slack.NewTextBlockObject(slack.PlainTextType, "Choose a person", false, false), ActionAssignee)
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(Truncate("Reassign "+Escape(incidentID)+" in PagerDuty, as you: choose a person *or* an escalation policy.", 3000)), nil, nil),
		optional(slack.NewInputBlock(BlockAssignee, slack.NewTextBlockObject(slack.PlainTextType, "Person", false, false), nil, user)),
	}
	if len(policies) > 0 {
		pick := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slack.NewTextBlockObject(slack.PlainTextType, "Choose a policy", false, false), ActionPolicy, choices(policies)...)
		blocks = append(blocks, optional(slack.NewInputBlock(BlockPolicy, slack.NewTextBlockObject(slack.PlainTextType, "Escalation policy", false, false), nil, pick)))
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Reassign incident", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Reassign", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		CallbackID:      CallbackReassign,
		PrivateMetadata: incidentID + "|" + channel,
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// EscalateModal asks which level of the incident's escalation policy to
// escalate to; private metadata carries "incident id|channel".
func EscalateModal(incidentID, channel, policy string, levels []Choice) slack.ModalViewRequest {
	pick := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slack.NewTextBlockObject(slack.PlainTextType, "Choose a level", false, false), ActionLevel, choices(levels)...)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Escalate incident", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Escalate", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		CallbackID:      CallbackEscalate,
		PrivateMetadata: incidentID + "|" + channel,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(Truncate("Escalate "+Escape(incidentID)+" in PagerDuty, as you, to a level of its policy *"+Escape(policy)+"*. Everyone at that level is paged.", 3000)), nil, nil),
			slack.NewInputBlock(BlockLevel, slack.NewTextBlockObject(slack.PlainTextType, "Level", false, false), nil, pick),
		}},
	}
}

func optional(b *slack.InputBlock) *slack.InputBlock {
	b.Optional = true
	return b
}
