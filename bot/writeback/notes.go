package writeback

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/lock"
	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

// NoteAPI writes and lists PagerDuty incident notes (a *pagerduty.Client).
type NoteAPI interface {
	AddNote(ctx context.Context, incidentID, from, content string) error
	ListNotes(ctx context.Context, incidentID string) ([]string, error)
}

// Notes writes PagerDuty incident notes at most once each. PagerDuty
// cannot be asked to deduplicate a note, and a note is asked for by more
// than one path (the trigger and a change racing on two replicas, a
// redelivered event, a worker that died between writing the note and
// recording it), so under a per-incident lease Notes lists the incident's
// notes and skips one whose text is there already. Every note passes the
// last-line guard (Mask) first, as every Slack message does.
type Notes struct {
	PagerDuty NoteAPI
	Redis     redis.Cmdable
	Mask      func(string) string
	LeaseTTL  time.Duration // 0: 15s; kept alive while held
	Wait      time.Duration // 0: 45s to wait for another writer's lease
	Retry     retry.Policy  // zero: 3 attempts, each listing the notes first
}

// NoteLockKey is the lease that serialises one incident's notes.
func NoteLockKey(id string) string { return "opsgate:lock:pdnote:" + id }

// AddNote writes content as a note on the incident unless the incident
// has that note already.
func (n *Notes) AddNote(ctx context.Context, incidentID, from, content string) error {
	if n.Mask != nil {
		content = n.Mask(content)
	}
	ttl, wait := n.LeaseTTL, n.Wait
	if ttl <= 0 {
		ttl = 15 * time.Second
	}
	if wait <= 0 {
		wait = 45 * time.Second
	}
	lease, err := lock.AcquireWithin(ctx, n.Redis, NoteLockKey(incidentID), ttl, wait)
	if err != nil {
		return fmt.Errorf("pagerduty note on %s: %w", incidentID, err)
	}
	defer func() { _ = lease.Release(context.WithoutCancel(ctx)) }()
	// A write that failed may have landed (a timeout, a 5xx): each retry
	// looks again before it writes, so the note is there once.
	want := strings.TrimSpace(content)
	return retry.Do(ctx, n.policy(), pagerduty.Classify, func(ctx context.Context) error {
		have, err := n.PagerDuty.ListNotes(ctx, incidentID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(have, func(h string) bool { return strings.TrimSpace(h) == want }) {
			return nil
		}
		return n.PagerDuty.AddNote(ctx, incidentID, from, content)
	})
}

func (n *Notes) policy() retry.Policy {
	if n.Retry.Attempts > 0 {
		return n.Retry
	}
	return retry.Policy{Attempts: 3, Base: 500 * time.Millisecond, Max: 4 * time.Second, Jitter: true}
}
