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
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/integrations/pagerduty"
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
	// LogMask masks every value (addresses, hosts, names) in an error
	// before it is logged (nil: the error's type only).
	LogMask func(string) string
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
	// What failed is said in fixed words (the thread, the PagerDuty note
	// and the audit trail show it); the error itself, which can name a
	// recipient, a server or an address, goes only to the log.
	fail := func(outlet, why string, err error) {
		failed = append(failed, outlet+": "+why)
		detail := ""
		switch {
		case err == nil:
		case s.Out.LogMask != nil:
			detail = s.Out.LogMask(err.Error())
		default:
			detail = fmt.Sprintf("%T", err)
		}
		s.log().Warn("stakeholder update not delivered", "proposal", p.ID, "outlet", outlet, "err", detail)
	}
	if n := len(t.Email); n > 0 {
		if err := s.mail(ctx, t.Email, subject, text); err != nil {
			fail("e-mail", mailWhy(err), err)
		} else {
			sent = append(sent, fmt.Sprintf("e-mail (%d recipient(s))", n))
		}
	}
	if t.Channel != "" {
		// Escaped: the subject comes from the incident's title, which
		// alerts write; no <!channel> or disguised link reaches the channel.
		msg := slackapi.Message{Text: "*" + render.Escape(subject) + "*\n" + render.Escape(text)}
		// Posted at most once: a timed-out post may have landed.
		if _, _, err := s.Out.Slack.PostMessage(slackapi.NoRepeat(ctx), t.Channel, msg); err != nil {
			fail("Slack channel", "Slack did not take the post (see opsgate's log)", err)
		} else {
			sent = append(sent, "<#"+t.Channel+">")
		}
	}
	if t.PagerDutyStatusUpdate {
		switch {
		case s.Out.PagerDuty == nil || s.Out.From == "":
			fail("PagerDuty status update", "PAGERDUTY_API_TOKEN and PAGERDUTY_FROM_EMAIL must be set", nil)
		default:
			if err := s.Out.PagerDuty.StatusUpdate(ctx, rec.Snapshot.ID, s.Out.From, subject+"\n\n"+text); errors.Is(err, pagerduty.ErrForbidden) {
				fail("PagerDuty status update", "PagerDuty refused it for PAGERDUTY_FROM_EMAIL's user", err)
			} else if err != nil {
				fail("PagerDuty status update", "PagerDuty did not take it (see opsgate's log)", err)
			} else {
				sent = append(sent, "PagerDuty status update")
			}
		}
	}
	return sent, failed
}

// mailWhy says in fixed words why an e-mail was not sent.
func mailWhy(err error) string {
	switch {
	case errors.Is(err, errNoSMTP):
		return "SMTP_URL is not set"
	case errors.Is(err, mail.ErrConfig):
		return "SMTP_URL or SMTP_FROM is not usable"
	default:
		return "the SMTP server did not take it (see opsgate's log)"
	}
}

var errNoSMTP = errors.New("SMTP_URL is not set")

func (s *Sender) mail(ctx context.Context, to []string, subject, text string) error {
	if s.Out.Mail == nil {
		return errNoSMTP
	}
	return s.Out.Mail.Send(ctx, mail.Message{To: to, Subject: subject, Body: text})
}
