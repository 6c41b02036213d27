package incident_test

import (
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

func TestReplyLedgerPostsEachKindOnceInOrder(t *testing.T) {
	r := &incident.Record{Thread: incident.Thread{Channel: "C1", TS: "1.0"}}
	if !r.Synced() {
		t.Fatal("an empty thread is not in sync")
	}
	if !r.Want("excerpt") || !r.Want("similar") || r.Want("excerpt") {
		t.Fatal("Want must add each kind once")
	}
	if r.Synced() {
		t.Fatal("replies asked for, yet in sync")
	}
	if k, ok := r.NextReply(); !ok || k != "excerpt" {
		t.Fatal(k, ok)
	}
	if !r.MarkPosted("excerpt") || r.MarkPosted("excerpt") || r.MarkPosted("unknown") {
		t.Fatal("MarkPosted must change the record once, for a kind asked for")
	}
	if k, _ := r.NextReply(); k != "similar" {
		t.Fatal(k)
	}
	r.MarkPosted("similar")
	if _, ok := r.NextReply(); ok || !r.Synced() {
		t.Fatal("all posted, yet something pending")
	}
	// A kind asked for again after it was posted is not posted twice.
	if r.Want("excerpt") {
		t.Fatal("a posted kind was asked for again")
	}
}

func TestStepsAreDoneOnce(t *testing.T) {
	r := &incident.Record{}
	if r.IsDone(incident.StepOffer) || !r.MarkDone(incident.StepOffer) || r.MarkDone(incident.StepOffer) || !r.IsDone(incident.StepOffer) {
		t.Fatal(r.Done)
	}
	if r.IsDone(incident.StepLearn) {
		t.Fatal("another step is done")
	}
}

func TestUpdateForEvents(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	data := &pagerduty.IncidentData{ID: "Q1", Title: "t", Status: "acknowledged", Priority: &pagerduty.Reference{Summary: "P1"},
		Assignees: []pagerduty.Reference{{Summary: "Ann"}, {Summary: "Bo"}}}
	for typ, want := range map[string]struct {
		reply  bool
		detail string
	}{
		"incident.triggered":        {false, ""},
		"incident.acknowledged":     {true, ""},
		"incident.reassigned":       {true, "Now assigned to Ann, Bo"},
		"incident.priority_updated": {true, "Priority is now P1"},
	} {
		u, ok := incident.UpdateFor(&pagerduty.Event{ID: "E1", EventType: typ, OccurredAt: at, Incident: data, Agent: &pagerduty.Reference{Summary: "Cy"}})
		if !ok || u.Reply != want.reply || u.Detail != want.detail || u.Agent != "Cy" || u.Snapshot.Priority != "P1" || len(u.Snapshot.Assignees) != 2 {
			t.Errorf("%s: %+v", typ, u)
		}
	}
	// A note is a reply without a snapshot (its text is never posted).
	u, ok := incident.UpdateFor(&pagerduty.Event{ID: "E2", EventType: "incident.annotated", Note: &pagerduty.NoteData{Content: "secret"}})
	if !ok || !u.Reply || u.Snapshot != nil || u.Detail != "" {
		t.Fatalf("%+v", u)
	}
	if _, ok := incident.UpdateFor(&pagerduty.Event{ID: "E3", EventType: "service.updated"}); ok {
		t.Fatal("an event about no incident was mapped")
	}
}
