package incident_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/test/redistest"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func snap(status incident.Status) *incident.Snapshot {
	return &incident.Snapshot{ID: "P1", Title: "t", Status: status, ServiceName: "svc"}
}

func TestApplyIsIdempotentAndOrdered(t *testing.T) {
	r := &incident.Record{}
	if !incident.Apply(r, incident.Update{EventID: "E1", Type: "incident.triggered", OccurredAt: t0, Snapshot: snap(incident.StatusTriggered)}, t0) {
		t.Fatal("first apply changed nothing")
	}
	if r.StateVersion != 1 || len(r.Timeline) != 0 {
		t.Fatalf("after trigger: %+v", r)
	}
	if incident.Apply(r, incident.Update{EventID: "E1", Type: "incident.triggered", OccurredAt: t0, Snapshot: snap(incident.StatusTriggered)}, t0) {
		t.Fatal("re-applying the same event changed the record")
	}
	incident.Apply(r, incident.Update{EventID: "E3", Type: "incident.resolved", OccurredAt: t0.Add(2 * time.Minute), Snapshot: snap(incident.StatusResolved), Reply: true}, t0)
	incident.Apply(r, incident.Update{EventID: "E2", Type: "incident.acknowledged", OccurredAt: t0.Add(time.Minute), Snapshot: snap(incident.StatusAcknowledged), Reply: true}, t0)
	if r.Snapshot.Status != incident.StatusResolved {
		t.Fatalf("an older event rolled the status back to %s", r.Snapshot.Status)
	}
	if len(r.Timeline) != 2 || r.Timeline[1].Type != "incident.acknowledged" {
		t.Fatalf("timeline = %+v", r.Timeline)
	}
	if r.StateVersion != 2 {
		t.Fatalf("state version = %d", r.StateVersion)
	}
	// Fetched alerts survive later webhook snapshots (which carry none).
	incident.Apply(r, incident.Update{Alerts: []incident.Alert{{Summary: "a"}}, AlertTotal: 1}, t0)
	incident.Apply(r, incident.Update{EventID: "E4", OccurredAt: t0.Add(3 * time.Minute), Snapshot: snap(incident.StatusResolved)}, t0)
	if len(r.Snapshot.Alerts) != 1 {
		t.Fatal("alerts dropped by a webhook snapshot")
	}
}

func TestStoreCompareAndSwapUnderContention(t *testing.T) {
	srv := redistest.Start(t)
	s := incident.NewStore(srv.Client(), time.Hour, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Update(ctx, "P1", func(r *incident.Record) (bool, error) { r.Replied++; return true, nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r, err := s.Get(ctx, "P1")
	if err != nil || r.Replied != 50 {
		t.Fatalf("replied = %d (lost updates), err %v", r.Replied, err)
	}
	if _, err := s.Get(ctx, "NOPE"); err != incident.ErrNotFound {
		t.Fatalf("unknown: %v", err)
	}
	ttl := srv.Client().PTTL(ctx, incident.Key("P1")).Val()
	if ttl <= 0 || ttl > time.Hour {
		t.Fatalf("ttl = %s", ttl)
	}
}

func TestStoreNoWriteWhenUnchanged(t *testing.T) {
	srv := redistest.Start(t)
	s := incident.NewStore(srv.Client(), time.Hour, nil)
	ctx := context.Background()
	if _, err := s.Update(ctx, "P2", func(r *incident.Record) (bool, error) { return false, nil }); err != nil {
		t.Fatal(err)
	}
	if n := srv.Client().Exists(ctx, incident.Key("P2")).Val(); n != 0 {
		t.Fatal("an unchanged update wrote a record")
	}
}

// Past MaxStorm members are counted once each, however often they are
// refreshed, and leave the count when split out.
func TestStormCountsMembersPastTheListOnce(t *testing.T) {
	r := &incident.Record{StateVersion: 1}
	for i := 0; i < incident.MaxStorm+3; i++ {
		r.JoinStorm(incident.Snapshot{ID: fmt.Sprintf("P%04d", i), Status: incident.StatusTriggered})
	}
	for range 3 { // refreshes of an unlisted member
		if r.JoinStorm(incident.Snapshot{ID: fmt.Sprintf("P%04d", incident.MaxStorm+1), Status: incident.StatusAcknowledged}) {
			t.Fatal("a refresh of an unlisted member changed the record")
		}
	}
	if len(r.Storm) != incident.MaxStorm || r.StormTotal != incident.MaxStorm+3 {
		t.Fatalf("listed %d, total %d", len(r.Storm), r.StormTotal)
	}
	if !r.LeaveStorm(fmt.Sprintf("P%04d", incident.MaxStorm+2)) || r.StormTotal != incident.MaxStorm+2 {
		t.Fatalf("after a split: total %d", r.StormTotal)
	}
	// A leader without a snapshot yet is not asked to redraw.
	empty := &incident.Record{}
	empty.JoinStorm(incident.Snapshot{ID: "P1"})
	if empty.StateVersion != 0 || empty.StormTotal != 1 {
		t.Fatalf("%+v", empty)
	}
}
