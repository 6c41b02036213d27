package stakeholder

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/mail"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// Mailer sends e-mail (package mail).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Poster posts Slack messages (through the guard).
type Poster interface {
	PostMessage(ctx context.Context, channel string, m slackapi.Message) (string, string, error)
}

// StatusUpdater publishes PagerDuty status updates.
type StatusUpdater interface {
	StatusUpdate(ctx context.Context, incidentID, from, message string) error
}

// Outlets are the ways an update leaves: each nil when not configured.
type Outlets struct {
	Mail      Mailer        // nil: no SMTP_URL
	Slack     Poster        // guarded
	PagerDuty StatusUpdater // nil: no PAGERDUTY_API_TOKEN
	From      string        // PAGERDUTY_FROM_EMAIL: who PagerDuty shows as the sender
	Guard     func(string) string
}

// Board edits proposal messages and replies in the thread (package actions).
type Board interface {
	Refresh(ctx context.Context, p *approval.Proposal)
	Reply(ctx context.Context, rec *incident.Record, text, proposal string)
}

// Auditor appends to the audit trail.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Sender sends approved updates.
type Sender struct {
	Proposals *approval.Store
	Incidents Incidents
	Targets   Targets
	Out       Outlets
	Board     Board
	Audit     Auditor
	Log       *slog.Logger
}

func (s *Sender) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// Execute sends an approved update once: only the caller that wins the
// proposal's fence sends it (a redelivered or double approval finds it
// past APPROVED); a worker that dies while sending leaves it EXECUTING and
// the sweep reports it — it is never sent twice. It is sent only where its
// approvers saw it would go: if the stakeholders changed since, nothing is
// sent.
func (s *Sender) Execute(ctx context.Context, p *approval.Proposal, spec catalog.Spec) error {
	ctx = context.WithoutCancel(ctx)
	p, fence, err := s.Proposals.Begin(ctx, p.ID, spec.Timeout+time.Minute)
	if errors.Is(err, approval.ErrNotApproved) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, err := s.Incidents.Get(ctx, p.IncidentID)
	if err != nil {
		s.log().Error("update not sent: incident unreadable", "proposal", p.ID, "err", err)
		return nil // stays EXECUTING: the sweep reports it
	}
	sent, failed := s.send(ctx, rec, p, spec.Timeout)
	state, outcome := approval.Succeeded, "sent to "+strings.Join(sent, ", ")
	switch {
	case len(sent) == 0:
		state, outcome = approval.Failed, "not sent: "+strings.Join(failed, "; ")
	case len(failed) > 0:
		state, outcome = approval.Failed, outcome+"; not sent: "+strings.Join(failed, "; ")
	}
	done, err := s.Proposals.Finish(ctx, p.ID, fence, state, outcome)
	if err != nil {
		s.log().Error("update outcome not recorded", "proposal", p.ID, "err", err)
		return nil
	}
	sum := sha256.Sum256([]byte(p.Params[ParamText]))
	if _, err := s.Audit.Append(ctx, audit.Entry{Actor: audit.System, Action: "stakeholder_update_sent", Incident: p.IncidentID,
		Details: map[string]string{"proposal": p.ID, "state": string(state), "sent": strings.Join(sent, ", "),
			"failed": strings.Join(failed, "; "), "text_sha256": hex.EncodeToString(sum[:])}}); err != nil {
		s.log().Error("update not audited", "proposal", p.ID, "err", err)
	}
	s.Board.Refresh(ctx, done)
	s.Board.Reply(ctx, rec, fmt.Sprintf("*%s* stakeholder update (proposal %s): %s", state, p.ID, outcome), p.ID)
	return nil
}

// send delivers the update to each outlet the route names and reports
// which took it and which did not (and why, in words safe to show).
func (s *Sender) send(ctx context.Context, rec *incident.Record, p *approval.Proposal, timeout time.Duration) (sent, failed []string) {
	t := s.Targets(rec)
	if now := Summary(t); now != p.Params[ParamTo] {
		return nil, []string{"the stakeholders changed since it was approved (now: " + now + "); propose it again"}
	}
	guard := s.Out.Guard
	if guard == nil {
		guard = func(x string) string { return x }
	}
	subject, text := guard(p.Params[ParamSubject]), guard(p.Params[ParamText])
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if n := len(t.Email); n > 0 {
		switch err := s.mail(ctx, t.Email, subject, text); {
		case err == nil:
			sent = append(sent, fmt.Sprintf("e-mail (%d recipient(s))", n))
		default:
			failed = append(failed, "e-mail: "+err.Error())
		}
	}
	if t.Channel != "" {
		msg := slackapi.Message{Text: "*" + subject + "*\n" + text}
		if _, _, err := s.Out.Slack.PostMessage(ctx, t.Channel, msg); err != nil {
			failed = append(failed, "Slack channel: "+err.Error())
		} else {
			sent = append(sent, "<#"+t.Channel+">")
		}
	}
	if t.PagerDutyStatusUpdate {
		switch {
		case s.Out.PagerDuty == nil || s.Out.From == "":
			failed = append(failed, "PagerDuty status update: PAGERDUTY_API_TOKEN and PAGERDUTY_FROM_EMAIL must be set")
		default:
			if err := s.Out.PagerDuty.StatusUpdate(ctx, rec.Snapshot.ID, s.Out.From, subject+"\n\n"+text); err != nil {
				failed = append(failed, "PagerDuty status update: "+err.Error())
			} else {
				sent = append(sent, "PagerDuty status update")
			}
		}
	}
	for _, f := range failed {
		s.log().Warn("stakeholder update not delivered", "proposal", p.ID, "why", f)
	}
	return sent, failed
}

func (s *Sender) mail(ctx context.Context, to []string, subject, text string) error {
	if s.Out.Mail == nil {
		return errors.New("SMTP_URL is not set")
	}
	return s.Out.Mail.Send(ctx, mail.Message{To: to, Subject: subject, Body: text})
}
