package jobs

import (
	"errors"
	"regexp"
	"strings"

	"github.com/opsgate/opsgate/integrations/pagerduty"
)

var (
	errIncident = errors.New("no valid incident id")
	errUser     = errors.New("no user id")
	errProposal = errors.New("no valid proposal id")
	errAction   = errors.New("no action id")
	errSearch   = errors.New("no search text (or too long), or no response_url")
)

// Triage is queued by `/triage <incident>` when no thread is known.
type Triage struct {
	IncidentID  string `json:"incident_id"`
	UserID      string `json:"user_id"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
	// Split takes the incident out of its storm into a thread of its own.
	Split bool `json:"split,omitempty"`
}

// Kind implements Job.
func (Triage) Kind() Kind { return KindTriage }

// Validate implements Job.
func (j Triage) Validate() error { return incidentOK(j.IncidentID) }

// Reveal is queued when someone clicks "Reveal" on a parent message.
type Reveal struct {
	IncidentID  string `json:"incident_id"`
	UserID      string `json:"user_id"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Kind implements Job.
func (Reveal) Kind() Kind { return KindReveal }

// Validate implements Job.
func (j Reveal) Validate() error { return errors.Join(incidentOK(j.IncidentID), userOK(j.UserID)) }

// IncidentAction is a click on a thread parent's PagerDuty buttons, done
// in PagerDuty as the clicking user: Acknowledge, Resolve, or Reassign /
// Escalate — first with the click's TriggerID (open the picker), then
// from the submitted picker with its choice (Assignee or Policy; Level).
type IncidentAction struct {
	IncidentID  string `json:"incident_id"`
	Status      string `json:"status"` // acknowledged | resolved | reassign | escalate
	UserID      string `json:"user_id"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
	TriggerID   string `json:"trigger_id,omitempty"`
	Assignee    string `json:"assignee,omitempty"` // a Slack user: reassign to their PagerDuty user
	Policy      string `json:"policy,omitempty"`   // a PagerDuty escalation policy id
	Level       int    `json:"level,omitempty"`    // an escalation level
}

// Kind implements Job.
func (IncidentAction) Kind() Kind { return KindIncident }

// Picker reports whether j asks for a picker to be opened (a Reassign or
// Escalate click) rather than a change.
func (j IncidentAction) Picker() bool {
	return (j.Status == "reassign" && j.Assignee == "" && j.Policy == "") || (j.Status == "escalate" && j.Level == 0)
}

// MaxLevel bounds an escalation level.
const MaxLevel = 20

// Validate implements Job.
func (j IncidentAction) Validate() error {
	var bad error
	switch {
	case j.Status != "acknowledged" && j.Status != "resolved" && j.Status != "reassign" && j.Status != "escalate":
		bad = errors.New("status must be acknowledged, resolved, reassign or escalate")
	case j.Picker() && (j.TriggerID == "" || len(j.TriggerID) > 255):
		bad = errors.New("a picker needs a trigger_id")
	case j.Status == "reassign" && j.Assignee != "" && j.Policy != "":
		bad = errors.New("reassign to a user or a policy, not both")
	case j.Assignee != "" && !slackUser.MatchString(j.Assignee):
		bad = errors.New("assignee is not a Slack user id")
	case j.Policy != "" && !pagerduty.ValidID(j.Policy):
		bad = errors.New("policy is not a PagerDuty id")
	case j.Level < 0 || j.Level > MaxLevel:
		bad = errors.New("level out of range")
	}
	return errors.Join(incidentOK(j.IncidentID), userOK(j.UserID), bad)
}

var slackUser = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// Overview is `/triage status` (IncidentID ""), `/triage timeline <id>`
// or `/triage postmortem <id>` (Postmortem).
type Overview struct {
	IncidentID  string `json:"incident_id,omitempty"`
	Postmortem  bool   `json:"postmortem,omitempty"`
	UserID      string `json:"user_id"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Kind implements Job.
func (Overview) Kind() Kind { return KindOverview }

// Validate implements Job.
func (j Overview) Validate() error {
	var id error
	if j.IncidentID != "" || j.Postmortem {
		id = incidentOK(j.IncidentID)
	}
	return errors.Join(id, userOK(j.UserID))
}

// Home is someone opening opsgate's App Home tab.
type Home struct {
	UserID string `json:"user_id"`
}

// Kind implements Job.
func (Home) Kind() Kind { return KindHome }

// Validate implements Job.
func (j Home) Validate() error { return userOK(j.UserID) }

// Verdict is a responder's 👍/👎 on an incident's root-cause analysis.
type Verdict struct {
	IncidentID  string `json:"incident_id"`
	UserID      string `json:"user_id"`
	Up          bool   `json:"up"`
	ResponseURL string `json:"response_url"`
}

// Kind implements Job.
func (Verdict) Kind() Kind { return KindVerdict }

// Validate implements Job.
func (j Verdict) Validate() error { return errors.Join(incidentOK(j.IncidentID), userOK(j.UserID)) }

// Decision is an Approve, Reject or Undo click on a proposal (or
// `/triage reject`).
type Decision struct {
	ProposalID  string `json:"proposal_id"`
	Hash        string `json:"hash"` // the proposal hash the clicker saw
	UserID      string `json:"user_id"`
	Approve     bool   `json:"approve"`
	Undo        bool   `json:"undo,omitempty"`
	Reason      string `json:"reason,omitempty"` // a rejection's reason (/triage reject)
	Click       string `json:"click,omitempty"`  // Slack's action_ts: identifies a redelivered click
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Kind implements Job.
func (Decision) Kind() Kind { return KindDecision }

// Validate implements Job.
func (j Decision) Validate() error {
	var err error
	if !ValidProposalID(j.ProposalID) {
		err = errProposal
	}
	return errors.Join(err, userOK(j.UserID))
}

// Propose is `/triage propose <incident> <action> [key=value ...]`.
type Propose struct {
	IncidentID  string            `json:"incident_id"`
	ActionID    string            `json:"action_id"`
	Params      map[string]string `json:"params"`
	UserID      string            `json:"user_id"`
	ChannelID   string            `json:"channel_id"`
	ResponseURL string            `json:"response_url"`
}

// Kind implements Job.
func (Propose) Kind() Kind { return KindPropose }

// Validate implements Job.
func (j Propose) Validate() error {
	var err error
	if j.ActionID == "" {
		err = errAction
	}
	return errors.Join(incidentOK(j.IncidentID), userOK(j.UserID), err)
}

// Search is `/triage search <text>`: answered through response_url by a
// worker, which checks who may search where.
type Search struct {
	Text        string `json:"text"`
	UserID      string `json:"user_id"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Kind implements Job.
func (Search) Kind() Kind { return KindSearch }

// Validate implements Job.
func (j Search) Validate() error {
	var err error
	if strings.TrimSpace(j.Text) == "" || len(j.Text) > maxSearchText || j.ResponseURL == "" {
		err = errSearch
	}
	return errors.Join(err, userOK(j.UserID))
}

// maxSearchText bounds a search's text (Slack caps a command at 4,000
// bytes).
const maxSearchText = 4000

// Settled is queued by `opsgate proposals settle`: the thread learns the
// outcome an engineer recorded by hand.
type Settled struct {
	ProposalID string `json:"proposal_id"`
	By         string `json:"by"`
}

// Kind implements Job.
func (Settled) Kind() Kind { return KindSettled }

// Validate implements Job.
func (j Settled) Validate() error {
	if !ValidProposalID(j.ProposalID) {
		return errProposal
	}
	return nil
}

func incidentOK(id string) error {
	if !pagerduty.ValidID(id) {
		return errIncident
	}
	return nil
}

func userOK(id string) error {
	if id == "" {
		return errUser
	}
	return nil
}

// A proposal id is "<incident id>-<10 lowercase hex>": the incident it
// belongs to, readable at a glance, and a hash that makes it unique.
// PagerDuty's incident ids are upper-case letters and digits.
const proposalHexLen = 10

var incidentPart = regexp.MustCompile(`^[A-Z0-9]{1,64}$`)

// ProposalID forms a proposal id from its incident and a hex digest (the
// first ten characters are used).
func ProposalID(incidentID, hexDigest string) string {
	return incidentID + "-" + hexDigest[:proposalHexLen]
}

// ParseProposalID returns the incident a proposal id belongs to; ok is
// false for anything that is not a proposal id.
func ParseProposalID(id string) (incidentID string, ok bool) {
	i := strings.IndexByte(id, '-')
	if i <= 0 || len(id)-i-1 != proposalHexLen || !incidentPart.MatchString(id[:i]) {
		return "", false
	}
	for _, c := range id[i+1:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return id[:i], true
}

// ValidProposalID reports whether id is a proposal id.
func ValidProposalID(id string) bool { _, ok := ParseProposalID(id); return ok }
