package jobs

import (
	"errors"
	"unicode/utf8"
)

// Stakeholder update jobs.
const (
	KindDraftUpdate   Kind = "draft_update"   // DraftUpdate
	KindProposeUpdate Kind = "propose_update" // ProposeUpdate
)

// MinUpdate and MaxUpdate bound a stakeholder update's text (characters).
const (
	MinUpdate = 20
	MaxUpdate = 2000
)

// DraftUpdate is a "Draft update" click: draft a stakeholder update and
// open it in a modal for the clicker (TriggerID lives three seconds).
type DraftUpdate struct {
	IncidentID  string `json:"incident_id"`
	UserID      string `json:"user_id"`
	ChannelID   string `json:"channel_id"`
	TriggerID   string `json:"trigger_id"`
	ResponseURL string `json:"response_url"`
}

// Kind implements Job.
func (DraftUpdate) Kind() Kind { return KindDraftUpdate }

// Validate implements Job.
func (j DraftUpdate) Validate() error {
	var trig error
	if j.TriggerID == "" || len(j.TriggerID) > 255 {
		trig = errors.New("no trigger_id")
	}
	return errors.Join(incidentOK(j.IncidentID), userOK(j.UserID), trig)
}

// ProposeUpdate is a submitted update modal: the edited text, to be
// proposed for approval in the incident's thread.
type ProposeUpdate struct {
	IncidentID string `json:"incident_id"`
	UserID     string `json:"user_id"`
	ChannelID  string `json:"channel_id"`
	Text       string `json:"text"`
}

// Kind implements Job.
func (ProposeUpdate) Kind() Kind { return KindProposeUpdate }

// Validate implements Job.
func (j ProposeUpdate) Validate() error {
	var text error
	if n := utf8.RuneCountInString(j.Text); n < MinUpdate || n > MaxUpdate {
		text = errors.New("update text must be 20 to 2,000 characters")
	}
	return errors.Join(incidentOK(j.IncidentID), userOK(j.UserID), text)
}
