package threads

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// RevealRequest is queued when someone clicks "Reveal".
type RevealRequest struct {
	IncidentID  string `json:"incident_id"`
	UserID      string `json:"user_id"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Revealer is Slack without the guard, used only to show an approver the
// values behind the placeholders.
type Revealer interface {
	PostEphemeral(ctx context.Context, channel, user string, m slackapi.Message) error
	Respond(ctx context.Context, responseURL string, m slackapi.Message) error
	UserGroupMembers(ctx context.Context, group string) ([]string, error)
}

// Approvers may reveal masked values.
type Approvers struct {
	Users  []string
	Groups []string
}

func (s *Syncer) isApprover(ctx context.Context, user string) (bool, error) {
	return s.inAllowlist(ctx, user, s.Approvers.Users, s.Approvers.Groups)
}

// inAllowlist reports whether user is one of users or a member of one of
// the Slack user groups.
func (s *Syncer) inAllowlist(ctx context.Context, user string, users, groups []string) (bool, error) {
	if slices.Contains(users, user) {
		return true, nil
	}
	for _, g := range groups {
		members, err := s.Revealer.UserGroupMembers(ctx, g)
		if err != nil {
			return false, fmt.Errorf("user group %s: %w", g, err)
		}
		if slices.Contains(members, user) {
			return true, nil
		}
	}
	return false, nil
}

func (s *Syncer) handleReveal(ctx context.Context, req RevealRequest) error {
	if s.Vault == nil || s.Revealer == nil || s.Audit == nil {
		return nil
	}
	ok, err := s.isApprover(ctx, req.UserID)
	if err != nil {
		return err
	}
	if !ok {
		if _, err := s.Audit.Append(ctx, audit.Entry{Actor: req.UserID, Action: "reveal_denied", Incident: req.IncidentID}); err != nil {
			return err
		}
		s.tell(ctx, req, slackapi.Message{Text: "Only configured approvers can reveal masked values. This attempt was recorded."})
		return nil
	}
	m, err := s.Vault.Reveal(ctx, req.IncidentID)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Record before showing: a reveal that is not audited must not happen.
	if _, err := s.Audit.Append(ctx, audit.Entry{Actor: req.UserID, Action: "reveal", Incident: req.IncidentID,
		Details: map[string]string{"placeholders": strings.Join(keys, " "), "count": fmt.Sprint(len(keys))}}); err != nil {
		return err
	}
	s.tell(ctx, req, RevealMessage(req.IncidentID, keys, m))
	return nil
}

// tell shows a message to the requester only: ephemeral in the channel, or
// through the response_url when the bot cannot post there.
func (s *Syncer) tell(ctx context.Context, req RevealRequest, msg slackapi.Message) {
	if req.ChannelID != "" {
		if err := s.Revealer.PostEphemeral(ctx, req.ChannelID, req.UserID, msg); err == nil {
			return
		}
	}
	if req.ResponseURL != "" {
		if err := s.Revealer.Respond(ctx, req.ResponseURL, msg); err != nil {
			s.log().Warn("could not answer a reveal", "incident", req.IncidentID, "err", err)
		}
	}
}

// RevealMessage lists placeholder → value, escaped and within Block Kit's
// limits (values are cut at 300 characters; at most 45 sections).
func RevealMessage(incidentID string, keys []string, m map[string]string) slackapi.Message {
	if len(keys) == 0 {
		return slackapi.Message{Text: "Nothing is masked in incident " + incidentID + "."}
	}
	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
		fmt.Sprintf(":unlock: Masked values of incident %s (only you can see this; the reveal was audited)", incidentID), false, false), nil, nil)}
	var b strings.Builder
	for _, k := range keys {
		line := fmt.Sprintf("`%s` → `%s`\n", k, strings.ReplaceAll(render.Escape(render.Truncate(strings.ReplaceAll(m[k], "\n", " "), 300)), "`", "'"))
		if b.Len()+len(line) > 2900 {
			blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, b.String(), false, false), nil, nil))
			b.Reset()
			if len(blocks) >= 45 {
				break
			}
		}
		b.WriteString(line)
	}
	if b.Len() > 0 && len(blocks) < 46 {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, b.String(), false, false), nil, nil))
	}
	return slackapi.Message{Text: fmt.Sprintf("Masked values of incident %s", incidentID), Blocks: blocks}
}
