package threads

import (
	"context"
	"errors"
	"fmt"
	"time"

	"strings"

	"github.com/opsgate/opsgate/bot/collect"
	"github.com/opsgate/opsgate/bot/excerpt"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/lock"
	"github.com/opsgate/opsgate/bot/logtmpl"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/rca"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/knowledge/kb"
)

// DefaultLockTTL bounds how long a crashed worker's lease delays the next
// one; the holder extends it every third of that while it works.
const DefaultLockTTL = 15 * time.Second

// LockKey is the per-incident lease that serialises Slack writes.
func LockKey(id string) string { return "opsgate:lock:incident:" + id }

// Sync brings Slack up to date with the incident's record: it posts the
// parent if there is none (finding a parent posted before a crash instead
// of posting twice), edits it when the snapshot changed, and posts pending
// replies. It returns only when Slack shows everything the record held when
// the lease was taken, so callers may ack their event.
func (s *Syncer) Sync(ctx context.Context, id string) error {
	ttl, wait := s.LockTTL, s.LockWait
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	if wait <= 0 {
		wait = 45 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	lease, err := lock.AcquireWait(wctx, s.Redis, LockKey(id), ttl, 25*time.Millisecond)
	cancel()
	if err != nil {
		return fmt.Errorf("incident %s: %w", id, err)
	}
	defer func() { _ = lease.Release(context.WithoutCancel(ctx)) }()
	for round := 0; round < 10; round++ {
		rec, err := s.Store.Get(ctx, id)
		if err != nil {
			return err
		}
		if rec.Synced() || (!rec.HasThread() && rec.StateVersion == 0) {
			return s.learn(ctx, rec) // in sync, or nothing to show yet (no snapshot)
		}
		select {
		case <-lease.Lost():
			return fmt.Errorf("incident %s: lease lost during sync", id)
		default:
		}
		if err := s.step(ctx, rec); err != nil {
			return err
		}
	}
	return fmt.Errorf("incident %s: still not in sync after 10 rounds", id)
}

// permanent marks Slack errors no retry can fix.
func permanent(err error) error {
	if errors.Is(err, slackapi.ErrFinal) {
		return fmt.Errorf("%w: %w", err, queue.ErrPermanent)
	}
	return err
}

func (s *Syncer) step(ctx context.Context, rec *incident.Record) error {
	id := rec.Snapshot.ID
	switch {
	case !rec.HasThread():
		return s.openThread(ctx, rec)
	case rec.RenderedVersion < rec.StateVersion:
		view, err := s.view(ctx, rec)
		if err != nil {
			return err
		}
		msg := render.Parent(view)
		if err := s.Slack.UpdateMessage(ctx, rec.Thread.Channel, rec.Thread.TS, msg); err != nil {
			return permanent(err)
		}
		v := rec.StateVersion
		_, err = s.Store.Update(ctx, id, func(r *incident.Record) (bool, error) {
			if r.RenderedVersion >= v {
				return false, nil
			}
			r.RenderedVersion = v
			return true, nil
		})
		return err
	case (rec.Excerpt != nil || len(rec.Sources) > 0) && !rec.ExcerptPosted:
		return s.replyOnce(ctx, rec, func(view *incident.Record) slackapi.Message {
			return render.ExcerptReply(view.Excerpt, view.Sources, view.Metrics)
		},
			func(r *incident.Record) *bool { return &r.ExcerptPosted })
	case len(rec.Similar) > 0 && !rec.SimilarPosted:
		return s.replyOnce(ctx, rec, func(view *incident.Record) slackapi.Message { return render.SimilarReply(view.Similar) },
			func(r *incident.Record) *bool { return &r.SimilarPosted })
	case rec.RCA != nil && !rec.RCAPosted:
		return s.replyOnce(ctx, rec, func(view *incident.Record) slackapi.Message {
			return render.RCAReply(view.RCA, lineTexts(view), view.Similar, view.Snapshot.ID)
		},
			func(r *incident.Record) *bool { return &r.RCAPosted })
	default:
		i := rec.Replied
		view, err := s.view(ctx, rec)
		if err != nil {
			return err
		}
		msg := render.Reply(view.Timeline[i])
		msg.ThreadTS = rec.Thread.TS
		if _, _, err := s.Slack.PostMessage(ctx, rec.Thread.Channel, msg); err != nil {
			return permanent(err)
		}
		_, err = s.Store.Update(ctx, id, func(r *incident.Record) (bool, error) {
			if r.Replied > i {
				return false, nil
			}
			r.Replied = i + 1
			return true, nil
		})
		return err
	}
}

// replyOnce posts one reply rendered from the sanitized view, then marks
// it posted (flag) by compare-and-swap.
func (s *Syncer) replyOnce(ctx context.Context, rec *incident.Record, build func(view *incident.Record) slackapi.Message, flag func(*incident.Record) *bool) error {
	view, err := s.view(ctx, rec)
	if err != nil {
		return err
	}
	msg := build(view)
	msg.ThreadTS = rec.Thread.TS
	if _, _, err := s.Slack.PostMessage(ctx, rec.Thread.Channel, msg); err != nil {
		return permanent(err)
	}
	_, err = s.Store.Update(ctx, rec.Snapshot.ID, func(r *incident.Record) (bool, error) {
		posted := flag(r)
		changed := !*posted
		*posted = true
		return changed, nil
	})
	return err
}

func (s *Syncer) openThread(ctx context.Context, rec *incident.Record) error {
	id := rec.Snapshot.ID
	channel := rec.Channel
	if channel == "" {
		channel = s.Route(rec.Snapshot.ServiceID, rec.Snapshot.ServiceName)
	}
	if channel == "" {
		return fmt.Errorf("incident %s (service %q): %w: %w", id, rec.Snapshot.ServiceName, ErrNoChannel, queue.ErrPermanent)
	}
	var ts string
	if rec.ParentPending {
		// An earlier attempt may have posted before it could record the ts.
		found, ok, err := s.Slack.FindByMetadata(ctx, channel, render.MetadataEventType, "incident_id", id, rec.FirstSeenAt.Add(-time.Hour))
		if err != nil {
			return permanent(err)
		}
		if ok {
			ts = found
			s.log().Info("found the thread posted before a crash", "incident", id, "ts", ts)
		}
	} else if _, err := s.Store.Update(ctx, id, func(r *incident.Record) (bool, error) {
		changed := !r.ParentPending || r.Channel != channel
		r.ParentPending, r.Channel = true, channel
		return changed, nil
	}); err != nil {
		return err
	}
	rendered := rec.StateVersion
	if ts == "" {
		view, err := s.view(ctx, rec)
		if err != nil {
			return err
		}
		if channel, ts, err = s.Slack.PostMessage(ctx, channel, render.Parent(view)); err != nil {
			return permanent(err)
		}
	} else {
		rendered = -1 // content unknown: edit it on the next round
	}
	link, err := s.Slack.Permalink(ctx, channel, ts)
	if err != nil {
		s.log().Warn("no permalink for thread", "incident", id, "err", err)
	}
	if _, err := s.Store.Update(ctx, id, func(r *incident.Record) (bool, error) {
		r.Thread = incident.Thread{Channel: channel, TS: ts, Permalink: link}
		r.Channel, r.ParentPending, r.RenderedVersion = channel, false, rendered
		return true, nil
	}); err != nil {
		return err
	}
	s.log().Info("thread opened", "incident", id, "channel", channel, "ts", ts)
	s.noteThread(ctx, id, link)
	return nil
}

// noteThread adds the thread link to the PagerDuty incident once (best effort).
func (s *Syncer) noteThread(ctx context.Context, id, link string) {
	if s.PagerDuty == nil || s.NoteFrom == "" || link == "" {
		return
	}
	if err := s.PagerDuty.AddNote(ctx, id, s.NoteFrom, "opsgate Slack thread: "+link); err != nil {
		s.log().Warn("could not add the thread link to PagerDuty", "incident", id, "err", err)
		return
	}
	_, _ = s.Store.Update(ctx, id, func(r *incident.Record) (bool, error) {
		changed := !r.NoteAdded
		r.NoteAdded = true
		return changed, nil
	})
}

// view is the record as Slack may see it: untrusted text (title, service,
// alert summaries, change details) passed through the incident's redaction
// session, whose new placeholders are saved to the vault first.
func (s *Syncer) view(ctx context.Context, rec *incident.Record) (*incident.Record, error) {
	if s.Vault == nil {
		return rec, nil
	}
	id := rec.Snapshot.ID
	sess, err := s.Vault.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	v := Sanitized(rec, sess)
	if err := s.Vault.Save(ctx, id, sess); err != nil {
		return nil, err
	}
	v.Masked = sess.Len() // the stored map and what this view added
	return v, nil
}

// Sanitized returns a copy of rec with every free-text field passed through
// the redaction session (pure: the caller persists new placeholders).
func Sanitized(rec *incident.Record, sess *redact.Session) *incident.Record {
	v := *rec
	v.Snapshot.Title = sess.String(rec.Snapshot.Title)
	v.Snapshot.ServiceName = sess.String(rec.Snapshot.ServiceName)
	v.Snapshot.Alerts = make([]incident.Alert, len(rec.Snapshot.Alerts))
	for i, a := range rec.Snapshot.Alerts {
		v.Snapshot.Alerts[i] = incident.Alert{Summary: sess.String(a.Summary), Severity: a.Severity}
	}
	if len(rec.Similar) > 0 {
		v.Similar = make([]incident.Similar, len(rec.Similar))
		for i, x := range rec.Similar {
			x.Title, x.RootCause, x.Resolution = sess.String(x.Title), sess.String(x.RootCause), sess.String(x.Resolution)
			v.Similar[i] = x
		}
	}
	if rec.Excerpt != nil {
		x := *rec.Excerpt
		x.Entries = make([]excerpt.Entry, len(rec.Excerpt.Entries))
		for i, e := range rec.Excerpt.Entries {
			e.Text = sess.String(e.Text)
			e.Template = sess.String(e.Template)
			if len(e.Vars) > 0 {
				vars := make([]logtmpl.Var, len(e.Vars))
				for j, v := range e.Vars {
					v.Value = sess.String(v.Value)
					vars[j] = v
				}
				e.Vars = vars
			}
			x.Entries[i] = e
		}
		v.Excerpt = &x
	}
	if len(rec.Metrics) > 0 {
		v.Metrics = make([]string, len(rec.Metrics))
		for i, m := range rec.Metrics {
			v.Metrics[i] = sess.String(m)
		}
	}
	if len(rec.Sources) > 0 {
		v.Sources = make([]collect.Status, len(rec.Sources))
		for i, st := range rec.Sources {
			st.Error = sess.String(st.Error)
			v.Sources[i] = st
		}
	}
	if rec.RCA != nil {
		a := *rec.RCA
		a.Summary, a.RootCause = sess.String(a.Summary), sess.String(a.RootCause)
		a.Evidence = make([]rca.Evidence, len(rec.RCA.Evidence))
		for i, e := range rec.RCA.Evidence {
			e.Claim = sess.String(e.Claim)
			a.Evidence[i] = e
		}
		a.Actions = make([]rca.Action, len(rec.RCA.Actions))
		for i, x := range rec.RCA.Actions {
			x.Reason = sess.String(x.Reason)
			a.Actions[i] = x
		}
		a.Dropped = make([]string, len(rec.RCA.Dropped))
		for i, d := range rec.RCA.Dropped {
			a.Dropped[i] = sess.String(d)
		}
		v.RCA = &a
	}
	v.Timeline = make([]incident.Change, len(rec.Timeline))
	for i, c := range rec.Timeline {
		c.Detail = sess.String(c.Detail)
		v.Timeline[i] = c
	}
	return &v
}

// learn writes a resolved incident back to the knowledge base, sanitized,
// so the next similar incident finds it (once per incident).
func (s *Syncer) learn(ctx context.Context, rec *incident.Record) error {
	if s.Knowledge == nil || rec.Learned || rec.Snapshot.Status != incident.StatusResolved || !rec.HasThread() {
		return nil
	}
	view, err := s.view(ctx, rec)
	if err != nil {
		return err
	}
	var body strings.Builder
	for _, a := range view.Snapshot.Alerts {
		body.WriteString("Alert: " + a.Summary + "\n")
	}
	if view.Excerpt != nil {
		for _, e := range view.Excerpt.Entries {
			if len(e.Flags) == 0 && (e.Level == "ERROR" || e.Level == "WARN" || e.Level == "WARNING" || e.New) {
				body.WriteString(e.Template + "\n")
			}
		}
	}
	resolution := "Resolved"
	var resolvedAt time.Time
	for i := len(view.Timeline) - 1; i >= 0; i-- {
		if c := view.Timeline[i]; c.Type == "incident.resolved" {
			resolvedAt = c.OccurredAt
			if c.Agent != "" {
				resolution += " by " + c.Agent
			}
			break
		}
	}
	if rec.Thread.Permalink != "" {
		resolution += " — thread: " + rec.Thread.Permalink
	}
	t := kb.Ticket{ID: rec.Snapshot.ID, Title: view.Snapshot.Title, Body: body.String(), Resolution: resolution,
		Service: view.Snapshot.ServiceName, Created: rec.Snapshot.CreatedAt, Resolved: resolvedAt, URL: rec.Snapshot.HTMLURL, Source: "opsgate"}
	if a := view.RCA; a != nil {
		up, down, err := s.verdicts(ctx, rec.Snapshot.ID)
		if err != nil {
			return err
		}
		verdict := fmt.Sprintf("responders' verdict: %d 👍, %d 👎", up, down)
		// A model root cause responders did not reject becomes the ticket's
		// root cause; otherwise it is kept only as a labelled note.
		if a.Source != "extractive" && a.RootCause != "" && !a.InsufficientEvidence && up >= down && (up > 0 || !a.Hypothesis) {
			t.RootCause = a.RootCause
			t.Category = a.Category
		}
		fmt.Fprintf(&body, "RCA (%s, confidence %.0f%%, %s): %s %s\n", a.Source, 100*a.Confidence, verdict, a.Summary, a.RootCause)
		for _, x := range a.Actions {
			fmt.Fprintf(&body, "Proposed action: %s %v\n", x.ID, x.Params)
		}
		t.Body = body.String()
	}
	if err := s.Knowledge.Add(ctx, t); err != nil {
		return err
	}
	_, err = s.Store.Update(ctx, rec.Snapshot.ID, func(r *incident.Record) (bool, error) {
		changed := !r.Learned
		r.Learned = true
		return changed, nil
	})
	return err
}
