package storm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/pipeline"
)

// Incidents reads and changes incident records.
type Incidents interface {
	Get(ctx context.Context, id string) (*incident.Record, error)
	Update(ctx context.Context, id string, fn func(r *incident.Record) (bool, error)) (*incident.Record, error)
}

// Storms decides and ends storms (a *Grouper).
type Storms interface {
	Join(ctx context.Context, sig, id string, window time.Duration) (string, error)
	Close(ctx context.Context, sig, leader string) error
}

// Syncer brings an incident's thread up to date.
type Syncer interface {
	Sync(ctx context.Context, id string) error
}

// Policy gives the storm window for a service's incidents; 0 = never
// group them.
type Policy func(serviceID, serviceName string) time.Duration

// Group decides, for a triggered incident, whether it opens its own
// thread or joins a storm. A member's snapshot is recorded with its
// membership in one write, its line is added to the leader's parent, and
// the run stops there: nothing is gathered, analysed or proposed for it
// (its leader's thread has that), which is also what keeps a storm cheap.
type Group struct {
	Incidents Incidents
	Storms    Storms
	Policy    Policy
	Syncer    Syncer
	Now       func() time.Time
}

// Name implements pipeline.Stage.
func (Group) Name() string { return "storm" }

// Run implements pipeline.Stage.
func (g Group) Run(ctx context.Context, st *pipeline.State) error {
	snap := st.Update.Snapshot
	if snap == nil {
		return nil
	}
	id := st.IncidentID
	leader := ""
	rec, err := g.Incidents.Get(ctx, id)
	switch {
	case errors.Is(err, incident.ErrNotFound):
	case err != nil:
		return err
	case rec.StormOf != "":
		leader = rec.StormOf // decided before: a redelivery
	case rec.Split || rec.HasThread() || rec.StormSig != "":
		return nil // has, or will have, its own thread
	}
	if leader == "" {
		window := g.Policy(snap.ServiceID, snap.ServiceName)
		if window <= 0 {
			return nil
		}
		sig := Signature(serviceKey(snap), snap.Title)
		if leader, err = g.Storms.Join(ctx, sig, id, window); err != nil {
			return err
		}
		if leader == id {
			// The snapshot in the same write: a member that joins at once
			// finds a leader with something to show.
			now := g.Now()
			_, err := g.Incidents.Update(ctx, id, func(r *incident.Record) (bool, error) {
				changed := incident.Apply(r, st.Update, now)
				if r.StormSig == "" {
					r.StormSig, changed = sig, true
				}
				return changed, nil
			})
			return err
		}
	}
	now := g.Now()
	rec, err = g.Incidents.Update(ctx, id, func(r *incident.Record) (bool, error) {
		changed := incident.Apply(r, st.Update, now)
		if r.StormOf == "" && !r.HasThread() {
			r.StormOf, changed = leader, true
		}
		return changed, nil
	})
	if err != nil {
		return err
	}
	if rec.StormOf != leader {
		return nil // it got a thread of its own meanwhile
	}
	st.Stop = true
	return joinLeader(ctx, g.Incidents, g.Syncer, leader, rec.Snapshot)
}

func serviceKey(s *incident.Snapshot) string {
	if s.ServiceID != "" {
		return s.ServiceID
	}
	return s.ServiceName
}

// joinLeader adds or refreshes the member's line on its leader and edits
// the leader's parent to show it.
func joinLeader(ctx context.Context, in Incidents, sy Syncer, leader string, s incident.Snapshot) error {
	if _, err := in.Update(ctx, leader, func(r *incident.Record) (bool, error) { return r.JoinStorm(s), nil }); err != nil {
		return fmt.Errorf("storm leader %s: %w", leader, err)
	}
	return sy.Sync(ctx, leader)
}

// Follow runs after a change is recorded. For a storm member it refreshes
// the member's line in the leader's thread and stops the run (a member has
// no thread, note or write-back of its own); when a leader resolves, its
// storm closes, so the next incident of that signature starts a new one.
type Follow struct {
	Incidents Incidents
	Storms    Storms
	Syncer    Syncer
}

// Name implements pipeline.Stage.
func (Follow) Name() string { return "storm" }

// Run implements pipeline.Stage.
func (f Follow) Run(ctx context.Context, st *pipeline.State) error {
	rec, err := f.Incidents.Get(ctx, st.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.StormSig != "" && rec.Snapshot.Status == incident.StatusResolved {
		if err := f.Storms.Close(ctx, rec.StormSig, rec.Snapshot.ID); err != nil {
			return err
		}
	}
	if rec.StormOf == "" || rec.HasThread() {
		return nil
	}
	st.Stop = true
	return joinLeader(ctx, f.Incidents, f.Syncer, rec.StormOf, rec.Snapshot)
}

// Split takes a storm member out of its storm for `/triage split`: it
// leaves the leader's list and is never grouped again, and the rest of the
// /triage pipeline gathers its context and opens its own thread.
type Split struct {
	Incidents Incidents
	Syncer    Syncer
}

// Name implements pipeline.Stage.
func (Split) Name() string { return "split" }

// Run implements pipeline.Stage.
func (s Split) Run(ctx context.Context, st *pipeline.State) error {
	if st.Triage == nil || !st.Triage.Split {
		return nil
	}
	if _, err := s.Incidents.Get(ctx, st.IncidentID); errors.Is(err, incident.ErrNotFound) {
		return nil // not known: lookup reads it from PagerDuty, ungrouped
	} else if err != nil {
		return err
	}
	var leader string
	rec, err := s.Incidents.Update(ctx, st.IncidentID, func(r *incident.Record) (bool, error) {
		if r.StormOf == "" && r.Split {
			return false, nil
		}
		leader = r.StormOf
		r.StormOf, r.Split = "", true
		return true, nil
	})
	if err != nil {
		return err
	}
	if leader != "" {
		if _, err := s.Incidents.Update(ctx, leader, func(r *incident.Record) (bool, error) { return r.LeaveStorm(rec.Snapshot.ID), nil }); err != nil {
			return fmt.Errorf("storm leader %s: %w", leader, err)
		}
		if err := s.Syncer.Sync(ctx, leader); err != nil {
			return err
		}
	}
	if !rec.HasThread() {
		// What the member never had gathered: gather it now, as for a new incident.
		snap := rec.Snapshot
		st.Update = incident.Update{Type: "api.read", Snapshot: &snap}
		st.At = rec.FirstSeenAt
	}
	return nil
}
