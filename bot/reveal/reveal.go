// Package reveal shows an approver the values behind an incident's
// placeholders, in a message only they see, each reveal (and each refused
// attempt) audited first. It is the one path on which opsgate sends
// unmasked values to Slack, so it is kept apart from everything else.
package reveal

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Vault returns an incident's placeholder → value map (package view).
type Vault interface {
	Reveal(ctx context.Context, incidentID string) (map[string]string, error)
}

// Access says who may reveal (package access).
type Access interface {
	IsApprover(ctx context.Context, user string) (bool, error)
}

// Auditor appends to the audit trail.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Handler handles Reveal clicks.
type Handler struct {
	Vault  Vault
	Access Access
	Audit  Auditor
	// Unguarded shows the values: the last-line guard would mask them.
	Unguarded slackapi.Teller
	// Guarded answers everything else.
	Guarded slackapi.Teller
	Log     *slog.Logger
}

func (h *Handler) log() *slog.Logger { return cmp.Or(h.Log, slog.Default()) }

// Handle reveals the incident's masked values to an approver; anyone else
// is told no, and the attempt is recorded.
func (h *Handler) Handle(ctx context.Context, req jobs.Reveal) error {
	ok, err := h.Access.IsApprover(ctx, req.UserID)
	if err != nil {
		return err
	}
	if !ok {
		if _, err := h.Audit.Append(ctx, audit.Entry{Actor: req.UserID, Action: "reveal_denied", Incident: req.IncidentID}); err != nil {
			return err
		}
		h.tell(ctx, h.Guarded, req, slackapi.Message{Text: "Only configured approvers can reveal masked values. This attempt was recorded."})
		return nil
	}
	m, err := h.Vault.Reveal(ctx, req.IncidentID)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Record before showing: a reveal that is not audited must not happen.
	if _, err := h.Audit.Append(ctx, audit.Entry{Actor: req.UserID, Action: "reveal", Incident: req.IncidentID,
		Details: map[string]string{"placeholders": strings.Join(keys, " "), "count": fmt.Sprint(len(keys))}}); err != nil {
		return err
	}
	h.tell(ctx, h.Unguarded, req, Message(req.IncidentID, keys, m))
	return nil
}

func (h *Handler) tell(ctx context.Context, t slackapi.Teller, req jobs.Reveal, m slackapi.Message) {
	if err := slackapi.Tell(ctx, t, req.ChannelID, req.UserID, req.ResponseURL, m); err != nil {
		h.log().Warn("could not answer a reveal", "incident", req.IncidentID, "err", err)
	}
}

// Message lists placeholder → value, escaped and within Block Kit's limits
// (values are cut at 300 characters; at most 45 sections).
func Message(incidentID string, keys []string, m map[string]string) slackapi.Message {
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
