package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/clicks"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/bot/triage"
)

// slackBody reads a Slack request's body (limit → 413) and verifies it;
// ok=false means an answer was written.
func (s *Server) slackBody(w http.ResponseWriter, r *http.Request, endpoint string, limit int64) ([]byte, bool) {
	body, ok := readBody(w, r, limit)
	if !ok {
		s.Metrics.SlackReqs.WithLabelValues(endpoint, "unreadable").Inc()
		return nil, false
	}
	return body, s.verifySlack(w, r, endpoint, body)
}

// verifySlack checks the signature and timestamp window (slack-go) and
// rejects replays of an already-seen signed request. ok=false means an
// answer was written.
func (s *Server) verifySlack(w http.ResponseWriter, r *http.Request, endpoint string, body []byte) bool {
	if fromSocket(r) {
		return true // authenticated by the Socket Mode connection; envelopes are deduplicated by id
	}
	count := func(outcome string) { s.Metrics.SlackReqs.WithLabelValues(endpoint, outcome).Inc() }
	sv, err := slack.NewSecretsVerifier(r.Header, s.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	// Unauthenticated requests are only counted and logged: anyone can
	// send them, so auditing them would let anyone flood the trail.
	if errors.Is(err, slack.ErrExpiredTimestamp) {
		count("stale")
		s.Log.Warn("slack request rejected: timestamp outside ±5 min", "endpoint", endpoint, "remote", r.RemoteAddr)
		apiError(w, http.StatusUnauthorized, "stale_request", "the request timestamp is more than 5 minutes from now; nothing was done — click again")
		return false
	}
	if err != nil {
		count("bad_signature")
		s.Log.Warn("slack request rejected: signature", "endpoint", endpoint, "remote", r.RemoteAddr, "err", err)
		apiError(w, http.StatusUnauthorized, "bad_signature", "the Slack signature is invalid; nothing was done")
		return false
	}
	sig, ok := decodedSignature(r.Header.Get("X-Slack-Signature"))
	if !ok { // verified, so this cannot happen; refuse rather than key on it
		count("bad_signature")
		apiError(w, http.StatusUnauthorized, "bad_signature", "the Slack signature is invalid; nothing was done")
		return false
	}
	first, err := s.firstSeen(r.Context(), "slack", sig)
	if err != nil {
		count("unavailable")
		apiError(w, http.StatusServiceUnavailable, "unavailable", "try again")
		return false
	}
	if !first {
		count("replay")
		s.Log.Warn("slack request rejected: replay", "endpoint", endpoint)
		s.auditRefusedDecision(r.Context(), body, "replayed request (already handled)")
		writeJSON(w, http.StatusOK, ephemeral("This request was already handled; nothing was done again."))
		return false
	}
	return true
}

// decodedSignature is the signature's bytes: the replay guard keys on
// them, since the hex a verifier accepts may be written in either case
// (an upper-cased copy of a used signature is the same signature).
func decodedSignature(h string) (string, bool) {
	hexSig, ok := strings.CutPrefix(h, "v0=")
	if !ok {
		return "", false
	}
	b, err := hex.DecodeString(hexSig)
	if err != nil || len(b) != sha256.Size {
		return "", false
	}
	return "v0:" + string(b), true
}

// workspaceOK checks a verified request's workspace and app against
// SLACK_TEAM_ID / SLACK_APP_ID when they are set: the signing secret is
// per app, but one app may be installed in several workspaces.
func (s *Server) workspaceOK(team, app string) bool {
	return (s.TeamID == "" || team == s.TeamID) && (s.AppID == "" || app == s.AppID)
}

// foreign answers a verified request from another workspace or app.
func (s *Server) foreign(w http.ResponseWriter, r *http.Request, endpoint string, body []byte) {
	s.Metrics.SlackReqs.WithLabelValues(endpoint, "foreign").Inc()
	s.Log.Warn("slack request refused: another workspace or app", "endpoint", endpoint)
	if endpoint == "interactions" {
		s.auditRefusedDecision(r.Context(), body, "request from another Slack workspace or app")
	}
	apiError(w, http.StatusForbidden, "wrong_workspace", "this opsgate serves another Slack workspace; nothing was done")
}

func ephemeral(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "text": text}
}

// answer writes an ephemeral answer, through the guard.
func (s *Server) answer(w http.ResponseWriter, text string) {
	if s.Guard != nil {
		text = s.Guard(text)
	}
	writeJSON(w, http.StatusOK, ephemeral(text))
}

func (s *Server) slashCommand(w http.ResponseWriter, r *http.Request) {
	count := func(outcome string) { s.Metrics.SlackReqs.WithLabelValues("commands", outcome).Inc() }
	body, ok := s.slackBody(w, r, "commands", MaxSlackBody)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	cmd, err := slack.SlashCommandParse(r)
	if err != nil || cmd.UserID == "" {
		count("malformed")
		apiError(w, http.StatusBadRequest, "malformed", "not a slash command form")
		return
	}
	if !s.workspaceOK(cmd.TeamID, cmd.APIAppID) {
		s.foreign(w, r, "commands", body)
		return
	}
	count("ok")
	parsed, err := triage.Parse(cmd.Text)
	if err != nil {
		s.answer(w, fmt.Sprintf("%v\n\n%s", err, triage.Help))
		return
	}
	switch parsed.Kind {
	case triage.KindHelp:
		s.answer(w, triage.Help)
	case triage.KindIncident:
		s.answer(w, s.triageIncident(r, cmd, parsed.IncidentID))
	case triage.KindSplit:
		s.answer(w, s.split(r, cmd, parsed.IncidentID))
	case triage.KindStatus, triage.KindTimeline, triage.KindPostmortem:
		if !validResponseURL(cmd.ResponseURL) {
			s.answer(w, "Slack did not send a usable response_url; try again.")
			return
		}
		req := jobs.Overview{IncidentID: parsed.IncidentID, Postmortem: parsed.Kind == triage.KindPostmortem,
			UserID: cmd.UserID, ChannelID: cmd.ChannelID, ResponseURL: cmd.ResponseURL}
		if _, err := jobs.Submit(r.Context(), s.Queue, req, "", 0); err != nil {
			s.answer(w, "opsgate cannot queue the request right now; try again in a minute.")
			return
		}
		s.answer(w, "Looking…")
	case triage.KindSearch:
		s.answer(w, s.search(r, cmd, parsed.Text))
	case triage.KindPropose:
		s.answer(w, s.propose(r, cmd, parsed))
	case triage.KindReject:
		req := jobs.Decision{ProposalID: parsed.ProposalID, UserID: cmd.UserID, Reason: parsed.Reason, ChannelID: cmd.ChannelID, ResponseURL: cmd.ResponseURL}
		if _, err := jobs.Submit(r.Context(), s.Queue, req, "", 0); err != nil {
			s.answer(w, "opsgate cannot queue the request right now; try again in a minute.")
			return
		}
		s.answer(w, "Rejecting "+parsed.ProposalID+"…")
	}
}

// propose queues a human's proposal; the worker checks it against the
// catalog and the incident's scope and answers through response_url.
func (s *Server) propose(r *http.Request, cmd slack.SlashCommand, c triage.Command) string {
	if !validResponseURL(cmd.ResponseURL) {
		return "Slack did not send a usable response_url; try again."
	}
	req := jobs.Propose{IncidentID: c.IncidentID, ActionID: c.ActionID, Params: c.Params,
		UserID: cmd.UserID, ChannelID: cmd.ChannelID, ResponseURL: cmd.ResponseURL}
	if _, err := jobs.Submit(r.Context(), s.Queue, req, "", 0); err != nil {
		s.Log.Error("proposal not queued", "incident", c.IncidentID, "err", err)
		return "opsgate cannot queue the request right now; try again in a minute."
	}
	return fmt.Sprintf("Checking `%s` for incident %s…", c.ActionID, c.IncidentID)
}

// triageIncident links an existing thread at once, or queues a request to
// open it (answered later through response_url).
func (s *Server) triageIncident(r *http.Request, cmd slack.SlashCommand, id string) string {
	rec, err := s.Incidents.Get(r.Context(), id)
	switch {
	case err == nil && !rec.HasThread() && rec.StormOf != "":
		where := "its storm's thread"
		if l, lerr := s.Incidents.Get(r.Context(), rec.StormOf); lerr == nil && l.Thread.Permalink != "" {
			where = fmt.Sprintf("<%s|the storm thread> of %s", l.Thread.Permalink, rec.StormOf)
		}
		return fmt.Sprintf("Incident %s is grouped into %s. `/triage split %s` gives it its own thread.", id, where, id)
	case err == nil && rec.HasThread():
		if rec.Thread.Permalink != "" {
			return fmt.Sprintf("Incident %s is being handled in <%s|this thread> in <#%s>.", id, rec.Thread.Permalink, rec.Thread.Channel)
		}
		return fmt.Sprintf("Incident %s is being handled in a thread in <#%s>.", id, rec.Thread.Channel)
	case err != nil && !errors.Is(err, incident.ErrNotFound):
		s.Log.Error("triage lookup failed", "incident", id, "err", err)
		return "opsgate cannot reach its store right now; try again in a minute."
	case errors.Is(err, incident.ErrNotFound) && !s.CanFetch:
		return fmt.Sprintf("I have no thread for incident %s, and no PagerDuty API token is configured to look it up.", id)
	}
	if !validResponseURL(cmd.ResponseURL) {
		return "Slack did not send a usable response_url; try again."
	}
	req := jobs.Triage{IncidentID: id, UserID: cmd.UserID, ChannelID: cmd.ChannelID, ResponseURL: cmd.ResponseURL}
	if _, err := jobs.Submit(r.Context(), s.Queue, req, "", 0); err != nil {
		s.Log.Error("triage not queued", "incident", id, "err", err)
		return "opsgate cannot queue the request right now; try again in a minute."
	}
	return fmt.Sprintf("Opening the thread for incident %s…", id)
}

// split queues taking a storm member out into its own thread.
func (s *Server) split(r *http.Request, cmd slack.SlashCommand, id string) string {
	rec, err := s.Incidents.Get(r.Context(), id)
	switch {
	case errors.Is(err, incident.ErrNotFound):
		return fmt.Sprintf("I have no record of incident %s.", id)
	case err != nil:
		s.Log.Error("split lookup failed", "incident", id, "err", err)
		return "opsgate cannot reach its store right now; try again in a minute."
	case rec.HasThread():
		return fmt.Sprintf("Incident %s already has its own thread in <#%s>.", id, rec.Thread.Channel)
	case rec.StormOf == "":
		return fmt.Sprintf("Incident %s is not part of a storm.", id)
	}
	if !validResponseURL(cmd.ResponseURL) {
		return "Slack did not send a usable response_url; try again."
	}
	req := jobs.Triage{IncidentID: id, UserID: cmd.UserID, ChannelID: cmd.ChannelID, ResponseURL: cmd.ResponseURL, Split: true}
	if _, err := jobs.Submit(r.Context(), s.Queue, req, "split:"+id, time.Minute); err != nil {
		s.Log.Error("split not queued", "incident", id, "err", err)
		return "opsgate cannot queue the request right now; try again in a minute."
	}
	return fmt.Sprintf("Taking incident %s out of the storm of %s into its own thread…", id, rec.StormOf)
}

// viewSubmission handles a submitted modal (package clicks says what it
// asks for). Slack closes the modal on an empty 200, or shows errors next
// to the field.
func (s *Server) viewSubmission(w http.ResponseWriter, r *http.Request, cb *slack.InteractionCallback) {
	fieldError := func(e *clicks.FieldError) {
		writeJSON(w, http.StatusOK, map[string]any{"response_action": "errors", "errors": map[string]string{e.Block: e.Message}})
	}
	req, ok, err := clicks.Submission(cb)
	var fe *clicks.FieldError
	switch {
	case !ok:
		w.WriteHeader(http.StatusOK)
	case errors.As(err, &fe):
		fieldError(fe)
	case err != nil:
		fieldError(clicks.QueueError(cb))
	default:
		if _, err := jobs.Submit(r.Context(), s.Queue, req.Job, req.Key, req.TTL); err != nil {
			fieldError(clicks.QueueError(cb))
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func validResponseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func (s *Server) interaction(w http.ResponseWriter, r *http.Request) {
	count := func(outcome string) { s.Metrics.SlackReqs.WithLabelValues("interactions", outcome).Inc() }
	body, ok := s.slackBody(w, r, "interactions", MaxInteractionBody)
	if !ok {
		return
	}
	cb, err := parseInteraction(body)
	if err != nil || cb.Type == "" || cb.User.ID == "" {
		count("malformed")
		apiError(w, http.StatusBadRequest, "malformed", "payload is not a Slack interaction")
		return
	}
	if !s.workspaceOK(cb.Team.ID, cb.APIAppID) {
		s.foreign(w, r, "interactions", body)
		return
	}
	count("ok")
	if cb.Type == slack.InteractionTypeViewSubmission {
		s.viewSubmission(w, r, &cb)
		return
	}
	for _, a := range cb.ActionCallback.BlockActions {
		s.Log.Info("interaction", "type", string(cb.Type), "action_id", a.ActionID, "user", cb.User.ID)
		req, ok := clicks.Click(&cb, a)
		if !ok {
			continue
		}
		if d, isDecision := req.Job.(jobs.Decision); isDecision && a.ActionID == render.ActionReject && s.Modals != nil && cb.TriggerID != "" {
			// Ask for the reason; the submission rejects. If the modal
			// cannot open (the trigger expired), reject at once as before.
			_, err := s.Modals.OpenView(r.Context(), cb.TriggerID, render.RejectModal(d.ProposalID, d.Hash, cb.Channel.ID))
			if err == nil {
				continue
			}
			s.Log.Warn("reject modal not opened; rejecting without a reason", "proposal", d.ProposalID, "err", err)
		}
		if _, err := jobs.Submit(r.Context(), s.Queue, req.Job, req.Key, req.TTL); err != nil {
			apiError(w, http.StatusServiceUnavailable, "unavailable", "try again")
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// search queues /triage search; a worker checks who may search where and
// answers through response_url with the masked matches.
func (s *Server) search(r *http.Request, cmd slack.SlashCommand, text string) string {
	if !validResponseURL(cmd.ResponseURL) {
		return "Slack did not send a usable response_url; try again."
	}
	req := jobs.Search{Text: text, UserID: cmd.UserID, ChannelID: cmd.ChannelID, ResponseURL: cmd.ResponseURL}
	if _, err := jobs.Submit(r.Context(), s.Queue, req, "", 0); err != nil {
		s.Log.Error("search not queued", "err", err)
		return "opsgate cannot queue the request right now; try again in a minute."
	}
	return "Searching the knowledge base…"
}

// parseInteraction decodes an interaction request's form and its JSON payload.
func parseInteraction(body []byte) (slack.InteractionCallback, error) {
	var cb slack.InteractionCallback
	form, err := url.ParseQuery(string(body))
	if err == nil {
		err = json.Unmarshal([]byte(form.Get("payload")), &cb)
	}
	return cb, err
}
