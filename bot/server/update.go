package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

// updateSubmission queues a submitted stakeholder update for proposal in
// the thread; a bad length or a tampered form is answered next to the
// field, and a double submit of one modal is one proposal.
func (s *Server) updateSubmission(w http.ResponseWriter, r *http.Request, cb slack.InteractionCallback) {
	fieldError := func(msg string) {
		writeJSON(w, http.StatusOK, map[string]any{"response_action": "errors", "errors": map[string]string{render.BlockUpdate: msg}})
	}
	text := strings.TrimSpace(cb.View.State.Values[render.BlockUpdate][render.ActionUpdate].Value)
	if n := utf8.RuneCountInString(text); n < jobs.MinUpdate || n > jobs.MaxUpdate {
		fieldError(fmt.Sprintf("Write the update in %d to %d characters.", jobs.MinUpdate, jobs.MaxUpdate))
		return
	}
	id, channel, ok := strings.Cut(cb.View.PrivateMetadata, "|")
	if !ok || !pagerduty.ValidID(id) || (channel != "" && !channelID.MatchString(channel)) {
		fieldError("This form is no longer valid; click Draft update on the incident again.")
		return
	}
	req := jobs.ProposeUpdate{IncidentID: id, UserID: cb.User.ID, ChannelID: channel, Text: text}
	if _, err := jobs.Submit(r.Context(), s.Queue, req, "update:"+cb.User.ID+":"+cb.View.ID, time.Hour); err != nil {
		fieldError("opsgate cannot queue the update right now; try again in a minute.")
		return
	}
	w.WriteHeader(http.StatusOK)
}
