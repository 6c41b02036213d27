// Package threadsync keeps an incident's Slack thread true to its record,
// and does nothing else: under a per-incident lease it posts the parent
// once (finding a parent posted before a crash instead of posting twice),
// edits it in place when the snapshot changes, and posts each reply the
// record asks for — ledger replies through the renderer registered for
// their kind, then timeline changes — marking each posted by
// compare-and-swap.
package threadsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/lock"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/render"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// DefaultLockTTL bounds how long a crashed worker's lease delays the next
// one; the holder extends it every third of that while it works.
const DefaultLockTTL = 15 * time.Second

// DefaultLockWait is how long Sync waits for another worker's lease
// before it gives up (its event is retried later).
const DefaultLockWait = 45 * time.Second

// LockKey is the per-incident lease that serialises Slack writes.
func LockKey(id string) string { return "opsgate:lock:incident:" + id }

// ErrNoChannel: no channel is configured for the incident's service.
var ErrNoChannel = errors.New("no Slack channel configured for this incident's service")

// Incidents reads and changes incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
	Update(ctx context.Context, id string, fn func(r *incident.Record) (bool, error)) (*incident.Record, error)
}

// Slack is what the syncer writes (through the guard) and looks up.
type Slack interface {
	PostMessage(ctx context.Context, channel string, m slackapi.Message) (string, string, error)
	UpdateMessage(ctx context.Context, channel, ts string, m slackapi.Message) error
	Permalink(ctx context.Context, channel, ts string) (string, error)
	FindByMetadata(ctx context.Context, channel, eventType, key, value string, oldest time.Time) (string, bool, error)
	FindReply(ctx context.Context, channel, threadTS, eventType string, match map[string]string) (string, bool, error)
}

// Masker returns the record as Slack may see it and how many values are
// masked (package view).
type Masker interface {
	Incident(ctx context.Context, rec *incident.Record) (*incident.Record, int, error)
}

// Renderer renders the reply of one ledger kind for an incident; it loads
// and masks whatever it shows.
type Renderer func(ctx context.Context, rec *incident.Record) (slackapi.Message, error)

// Router picks the channel for a service; "" when none is configured.
type Router func(serviceID, serviceName string) string

// Syncer brings threads up to date.
type Syncer struct {
	Incidents Incidents
	Redis     redis.Cmdable // holds the leases
	Slack     Slack
	Masker    Masker
	Route     Router
	Replies   map[string]Renderer // by ledger kind
	Log       *slog.Logger
	LockTTL   time.Duration // 0: DefaultLockTTL
	LockWait  time.Duration // 0: DefaultLockWait
	// Parent says what an incident's parent offers (PagerDuty buttons,
	// Draft update); nil: nothing beyond the incident.
	Parent func(rec *incident.Record) render.ParentOptions
	// Durable, when set, holds a post until the "about to post" marker is
	// on the replicas: a failover that lost it would post a second time.
	Durable Waiter
}

// Waiter waits until the replicas hold the writes to a key's master (a
// *durable.Waiter).
type Waiter interface {
	Wait(ctx context.Context, key string) error
}

func (s *Syncer) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// maxRounds bounds one Sync: a round is one Slack write.
const maxRounds = 10

// Sync brings Slack up to date with the incident's record. It returns only
// when Slack shows everything the record held when the lease was taken, so
// callers may ack their event.
func (s *Syncer) Sync(ctx context.Context, id string) error {
	ttl, wait := s.LockTTL, s.LockWait
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	if wait <= 0 {
		wait = DefaultLockWait
	}
	lease, err := lock.AcquireWithin(ctx, s.Redis, LockKey(id), ttl, wait)
	if err != nil {
		return fmt.Errorf("incident %s: %w", id, err)
	}
	defer func() { _ = lease.Release(context.WithoutCancel(ctx)) }()
	for round := 0; round < maxRounds; round++ {
		rec, err := s.Incidents.Get(ctx, id)
		if err != nil {
			return err
		}
		if rec.Synced() || (!rec.HasThread() && rec.StateVersion == 0) {
			return nil // in sync, or nothing to show yet (no snapshot)
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
	return fmt.Errorf("incident %s: still not in sync after %d rounds", id, maxRounds)
}

// step makes one write: the parent, its edit, the next ledger reply, or
// the next timeline reply — in that order.
func (s *Syncer) step(ctx context.Context, rec *incident.Record) error {
	if !rec.HasThread() {
		return s.openThread(ctx, rec)
	}
	if rec.RenderedVersion < rec.StateVersion {
		return s.editParent(ctx, rec)
	}
	if kind, ok := rec.NextReply(); ok {
		return s.postReply(ctx, rec, kind)
	}
	return s.postChange(ctx, rec)
}

func (s *Syncer) options(rec *incident.Record) render.ParentOptions {
	if s.Parent == nil {
		return render.ParentOptions{}
	}
	return s.Parent(rec)
}

func (s *Syncer) editParent(ctx context.Context, rec *incident.Record) error {
	view, masked, err := s.Masker.Incident(ctx, rec)
	if err != nil {
		return err
	}
	if err := s.Slack.UpdateMessage(ctx, rec.Thread.Channel, rec.Thread.TS, render.ParentWith(view, masked, s.options(rec))); err != nil {
		return queue.PermanentIf(err, slackapi.ErrFinal)
	}
	v := rec.StateVersion
	_, err = s.Incidents.Update(ctx, rec.Snapshot.ID, func(r *incident.Record) (bool, error) {
		if r.RenderedVersion >= v {
			return false, nil
		}
		r.RenderedVersion = v
		return true, nil
	})
	return err
}

// postReply posts the ledger reply of kind, then marks it posted.
func (s *Syncer) postReply(ctx context.Context, rec *incident.Record, kind string) error {
	id := rec.Snapshot.ID
	draw, ok := s.Replies[kind]
	if !ok {
		// A wiring mistake must not stall the thread: skip the reply.
		s.log().Error("no renderer for a reply kind; skipped", "incident", id, "kind", kind)
	} else {
		msg, err := draw(ctx, rec)
		if err != nil {
			return fmt.Errorf("incident %s: %s reply: %w", id, kind, err)
		}
		pending := func(r *incident.Record) bool { return r.MarkPending(kind) }
		if err := s.postOnce(ctx, rec, kind, rec.ReplyPending(kind), pending, msg); err != nil {
			return err
		}
	}
	_, err := s.Incidents.Update(ctx, id, func(r *incident.Record) (bool, error) { return r.MarkPosted(kind), nil })
	return err
}

// postChange posts the next timeline change.
func (s *Syncer) postChange(ctx context.Context, rec *incident.Record) error {
	i := rec.Replied
	view, _, err := s.Masker.Incident(ctx, rec)
	if err != nil {
		return err
	}
	key := "change:" + rec.Timeline[i].EventID
	if rec.Timeline[i].EventID == "" {
		key = fmt.Sprintf("change:#%d", i)
	}
	pending := func(r *incident.Record) bool {
		if r.Replied != i || r.ChangePending {
			return false
		}
		r.ChangePending = true
		return true
	}
	if err := s.postOnce(ctx, rec, key, rec.ChangePending, pending, render.Reply(view.Timeline[i])); err != nil {
		return err
	}
	_, err = s.Incidents.Update(ctx, rec.Snapshot.ID, func(r *incident.Record) (bool, error) {
		if r.Replied > i {
			return false, nil
		}
		r.Replied, r.ChangePending = i+1, false
		return true, nil
	})
	return err
}

// postOnce posts msg as the thread reply key at most once across crashes
// and failovers: it records (durably) that the post is about to happen,
// and when an earlier attempt had recorded that, looks for the reply by
// its metadata first. Posted first and marked afterwards, a reply whose
// mark was lost is found instead of posted again.
func (s *Syncer) postOnce(ctx context.Context, rec *incident.Record, key string, attempted bool, markPending func(*incident.Record) bool, msg slackapi.Message) error {
	id := rec.Snapshot.ID
	if attempted {
		_, found, err := s.Slack.FindReply(ctx, rec.Thread.Channel, rec.Thread.TS, render.ReplyEventType,
			map[string]string{"incident_id": id, "reply": key})
		if err != nil {
			return queue.PermanentIf(err, slackapi.ErrFinal)
		}
		if found {
			s.log().Info("found a reply posted before a crash", "incident", id, "reply", key)
			return nil
		}
	} else {
		if _, err := s.Incidents.Update(ctx, id, func(r *incident.Record) (bool, error) { return markPending(r), nil }); err != nil {
			return err
		}
		if s.Durable != nil {
			if err := s.Durable.Wait(ctx, incident.Key(id)); err != nil {
				return fmt.Errorf("incident %s: %w", id, err)
			}
		}
	}
	msg.ThreadTS = rec.Thread.TS
	msg.Metadata = &slack.SlackMetadata{EventType: render.ReplyEventType, EventPayload: map[string]any{"incident_id": id, "reply": key}}
	// Not repeated inside the call after a timeout or a 5xx: the retry of
	// the job looks for the reply first.
	if _, _, err := s.Slack.PostMessage(slackapi.NoRepeat(ctx), rec.Thread.Channel, msg); err != nil {
		return queue.PermanentIf(err, slackapi.ErrFinal)
	}
	return nil
}

func (s *Syncer) openThread(ctx context.Context, rec *incident.Record) error {
	id := rec.Snapshot.ID
	channel := rec.Channel
	if channel == "" && s.Route != nil {
		channel = s.Route(rec.Snapshot.ServiceID, rec.Snapshot.ServiceName)
	}
	if channel == "" {
		return fmt.Errorf("incident %s (service %q): %w: %w", id, rec.Snapshot.ServiceName, ErrNoChannel, queue.ErrPermanent)
	}
	// Mark the parent as about to be posted, durably, then look for it:
	// an attempt that posted and died before recording the ts — on this
	// replica or another, before or across a failover — left it in Slack.
	if !rec.ParentPending || rec.Channel != channel {
		if _, err := s.Incidents.Update(ctx, id, func(r *incident.Record) (bool, error) {
			changed := !r.ParentPending || r.Channel != channel
			r.ParentPending, r.Channel = true, channel
			return changed, nil
		}); err != nil {
			return err
		}
	}
	if s.Durable != nil {
		if err := s.Durable.Wait(ctx, incident.Key(id)); err != nil {
			return fmt.Errorf("incident %s: %w", id, err)
		}
	}
	var ts string
	found, ok, err := s.Slack.FindByMetadata(ctx, channel, render.MetadataEventType, "incident_id", id, rec.FirstSeenAt.Add(-time.Hour))
	if err != nil {
		return queue.PermanentIf(err, slackapi.ErrFinal)
	}
	if ok {
		ts = found
		s.log().Info("found the thread posted before a crash", "incident", id, "ts", ts)
	}
	rendered := rec.StateVersion
	if ts == "" {
		view, masked, err := s.Masker.Incident(ctx, rec)
		if err != nil {
			return err
		}
		if channel, ts, err = s.Slack.PostMessage(slackapi.NoRepeat(ctx), channel, render.ParentWith(view, masked, s.options(rec))); err != nil {
			return queue.PermanentIf(err, slackapi.ErrFinal)
		}
	} else {
		rendered = -1 // content unknown: edit it on the next round
	}
	link, err := s.Slack.Permalink(ctx, channel, ts)
	if err != nil {
		s.log().Warn("no permalink for thread", "incident", id, "err", err)
	}
	if _, err := s.Incidents.Update(ctx, id, func(r *incident.Record) (bool, error) {
		r.Thread = incident.Thread{Channel: channel, TS: ts, Permalink: link}
		r.Channel, r.ParentPending, r.RenderedVersion = channel, false, rendered
		return true, nil
	}); err != nil {
		return err
	}
	s.log().Info("thread opened", "incident", id, "channel", channel, "ts", ts)
	return nil
}
