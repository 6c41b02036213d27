package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Anchorer writes signed anchors of the trail to a file and to the log:
// after every Every new entries, at least every Interval while entries
// arrive, and on shutdown. It anchors only a trail that verifies from its
// previous anchor on, so it never vouches for entries forged in Redis.
// With Retention set it trims the stream, but only up to an anchored
// checkpoint older than Retention, so Verify can still prove the start.
type Anchorer struct {
	Log       *Log
	File      string // "" = anchors go to the log only
	Every     int64
	Interval  time.Duration
	Retention time.Duration // 0 = keep every entry
	Logger    *slog.Logger
	Now       func() time.Time
	// Tick is how often the head is looked at (default min(Interval, 5s)).
	Tick time.Duration
	// Observe is told each anchor written (ok) or failed (nil: nobody).
	Observe func(ok bool, at time.Time)

	mu       sync.Mutex // one Anchor at a time (Run's and a caller's)
	last     Anchor     // the newest anchor written or read back from File
	lastTrim time.Time
}

// ErrChainBroken is returned when the trail since the last anchor does not
// verify; nothing is anchored until an operator looks.
var ErrChainBroken = errors.New("audit: not anchoring a trail that does not verify")

func (a *Anchorer) defaults() {
	if a.Every <= 0 {
		a.Every = 100
	}
	if a.Interval <= 0 {
		a.Interval = 5 * time.Minute
	}
	if a.Tick <= 0 {
		a.Tick = min(a.Interval, 5*time.Second)
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
}

// Resume reads the newest anchor back from File, so a restart continues
// from it (and checks that Redis still holds what it anchored).
func (a *Anchorer) Resume() error {
	a.defaults()
	if a.File == "" {
		return nil
	}
	as, err := ReadAnchorFiles(a.Log.key, a.File)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, x := range as {
		if x.Count > a.last.Count {
			a.last = x
		}
	}
	return nil
}

// Latest is the newest anchor written (or resumed from File).
func (a *Anchorer) Latest() Anchor {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// Run anchors until ctx ends, then writes a last anchor.
func (a *Anchorer) Run(ctx context.Context) {
	a.defaults()
	t := time.NewTicker(a.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if _, err := a.Anchor(fctx); err != nil {
				a.Logger.Error("final audit anchor failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			head, err := a.Log.ReadHead(ctx)
			if err != nil {
				a.Logger.Warn("audit head unreadable", "err", err)
				continue
			}
			last := a.Latest()
			due := head.Count-last.Count >= a.Every || (head.Count > last.Count && a.Now().Sub(last.At) >= a.Interval)
			if !due {
				continue
			}
			if _, err := a.Anchor(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Error("audit anchor failed", "err", err)
			}
		}
	}
}

// Anchor verifies the entries since the last anchor and, if there are
// any, writes a new anchor; it reports whether it wrote one.
func (a *Anchorer) Anchor(ctx context.Context) (bool, error) {
	wrote, err := a.anchor(ctx)
	if a.Observe != nil && (wrote || err != nil) {
		a.Observe(err == nil, a.now())
	}
	return wrote, err
}

func (a *Anchorer) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Anchorer) anchor(ctx context.Context) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.defaults()
	c := &chain{}
	after := ""
	if a.last.Count > 0 {
		c = &chain{next: a.last.Count, prev: a.last.Head, seen: true}
		after = a.last.LastID
	}
	lastID := a.last.LastID
	start := func(e Entry) *Problem { // no previous anchor: the trail must start at 0 or a trim
		if e.Seq != 0 || e.Prev != "" {
			return &Problem{Position: 0, Why: fmt.Sprintf("the trail starts at #%d with no anchor of that checkpoint", e.Seq)}
		}
		return nil
	}
	// The head is read first and the walk stops there: entries appended
	// meanwhile wait for the next anchor.
	head, err := a.Log.ReadHead(ctx)
	if err != nil {
		return false, err
	}
	if head.Count == a.last.Count && head.MAC == a.last.Head {
		return false, nil // nothing new
	}
	errDone := errors.New("done")
	err = a.Log.Each(ctx, after, func(s Stored) error {
		if c.next >= head.Count {
			return errDone
		}
		if p := a.Log.step(c, s, start); p != nil {
			return p
		}
		lastID = s.ID
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		var p *Problem
		if errors.As(err, &p) {
			return false, fmt.Errorf("%w: %w", ErrChainBroken, err)
		}
		return false, err
	}
	if head.Count != c.next || head.MAC != c.prev {
		return false, fmt.Errorf("%w: the head records %d entries, the trail since the last anchor ends at %d", ErrChainBroken, head.Count, c.next)
	}
	an := Anchor{Count: c.next, Head: c.prev, LastID: lastID, At: a.Now()}.Sign(a.Log.key)
	if a.File != "" {
		if err := appendAnchor(a.File, an); err != nil {
			return false, err
		}
	}
	a.Logger.Info("audit anchor", "count", an.Count, "head", an.Head, "last_id", an.LastID, "at", an.At, "anchor_sig", an.Sig)
	a.last = an
	if a.Retention > 0 && a.Now().Sub(a.lastTrim) >= min(a.Retention, time.Hour) {
		a.lastTrim = a.Now()
		if err := a.trim(ctx); err != nil {
			a.Logger.Warn("audit retention trim failed", "err", err)
		}
	}
	return true, nil
}

// trim removes entries older than Retention up to the newest anchor
// (from File) taken before then: exactly to it, never past it.
func (a *Anchorer) trim(ctx context.Context) error {
	if a.File == "" {
		return nil // without a file no checkpoint would prove the trim
	}
	as, err := ReadAnchorFiles(a.Log.key, a.File)
	if err != nil {
		return err
	}
	cutoff := a.Now().Add(-a.Retention)
	var to Anchor
	for _, x := range as {
		if !x.At.After(cutoff) && x.Count > to.Count {
			to = x
		}
	}
	if to.Count == 0 {
		return nil
	}
	minID, ok := nextID(to.LastID)
	if !ok {
		return fmt.Errorf("audit: anchor of %s has a bad stream id", to.At)
	}
	n, err := a.Log.rdb.XTrimMinID(ctx, StreamKey, minID).Result()
	if err != nil {
		return fmt.Errorf("audit trim: %w", err)
	}
	if n > 0 {
		a.Logger.Info("audit entries trimmed at an anchored checkpoint", "removed", n, "checkpoint", to.Count, "anchored_at", to.At)
	}
	return nil
}
