package threadsync_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/queue"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/render"
	"github.com/opsgate/opsgate/bot/threadsync"
	"github.com/opsgate/opsgate/bot/view"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/test/redistest"
	"github.com/opsgate/opsgate/test/testutil"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

const channel = "C0INC"

type fixture struct {
	store  *incident.Store
	slack  *fakeslack.Server
	client *slackapi.Client
	sync   *threadsync.Syncer
	drawn  map[string]int
	mu     sync.Mutex
}

func setup(t *testing.T) *fixture {
	rdb := redistest.Start(t).Client()
	fs, client := testutil.Slack(t, map[string]string{channel: "incidents"})
	f := &fixture{store: incident.NewStore(rdb, time.Hour, func() time.Time { return t0 }), slack: fs, client: client, drawn: map[string]int{}}
	log, _ := testutil.Logger()
	draw := func(kind string) threadsync.Renderer {
		return func(_ context.Context, rec *incident.Record) (slackapi.Message, error) {
			f.mu.Lock()
			f.drawn[kind]++
			f.mu.Unlock()
			return slackapi.Message{Text: kind + " of " + rec.Snapshot.ID}, nil
		}
	}
	f.sync = &threadsync.Syncer{Incidents: f.store, Redis: rdb, Slack: client, Masker: view.NewVault(rdb, redact.Default(), time.Hour),
		Route: func(string, string) string { return channel }, Log: log, LockTTL: time.Second,
		Replies: map[string]threadsync.Renderer{"excerpt": draw("excerpt"), "similar": draw("similar")}}
	return f
}

func (f *fixture) trigger(t *testing.T, id, title string) {
	t.Helper()
	if _, err := f.store.Apply(context.Background(), id, incident.Update{EventID: "E-" + id, Type: "incident.triggered", OccurredAt: t0,
		Snapshot: &incident.Snapshot{ID: id, Title: title, Status: incident.StatusTriggered, ServiceName: "checkout-api"}}); err != nil {
		t.Fatal(err)
	}
}

func TestSyncOpensTheThreadThenRepliesInOrderOnce(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.trigger(t, "P1", "db 10.1.2.3 down")
	if _, err := f.store.Update(ctx, "P1", func(r *incident.Record) (bool, error) { return r.Want("excerpt") && r.Want("similar"), nil }); err != nil {
		t.Fatal(err)
	}
	if err := f.sync.Sync(ctx, "P1"); err != nil {
		t.Fatal(err)
	}
	th := f.slack.Threads(channel)
	if len(th) != 1 || strings.Contains(th[0].Text, "10.1.2.3") || !strings.Contains(th[0].Text, "[IP_ADDRESS_1]") {
		t.Fatalf("parent %+v", th)
	}
	replies := f.slack.Replies(channel, th[0].TS)
	if len(replies) != 2 || replies[0].Text != "excerpt of P1" || replies[1].Text != "similar of P1" {
		t.Fatalf("replies %+v", replies)
	}
	rec, _ := f.store.Get(ctx, "P1")
	if !rec.Synced() || rec.Thread.Permalink == "" || rec.RenderedVersion != rec.StateVersion {
		t.Fatalf("%+v", rec)
	}
	// A change edits the parent in place and posts one reply.
	if _, err := f.store.Apply(ctx, "P1", incident.Update{EventID: "E2", Type: "incident.acknowledged", OccurredAt: t0.Add(time.Minute), Reply: true,
		Snapshot: &incident.Snapshot{ID: "P1", Title: "db 10.1.2.3 down", Status: incident.StatusAcknowledged, ServiceName: "checkout-api"}}); err != nil {
		t.Fatal(err)
	}
	posts := f.slack.Calls("chat.postMessage")
	if err := f.sync.Sync(ctx, "P1"); err != nil {
		t.Fatal(err)
	}
	if got := f.slack.Threads(channel)[0]; got.Edits != 1 || !strings.Contains(got.Text, "ACKNOWLEDGED") {
		t.Fatalf("parent not edited: %+v", got)
	}
	if f.slack.Calls("chat.postMessage") != posts+1 || len(f.slack.Replies(channel, th[0].TS)) != 3 {
		t.Fatal("the change was not posted once")
	}
	// In sync: another Sync writes nothing.
	calls := f.slack.Calls("chat.postMessage") + f.slack.Calls("chat.update")
	if err := f.sync.Sync(ctx, "P1"); err != nil || f.slack.Calls("chat.postMessage")+f.slack.Calls("chat.update") != calls {
		t.Fatal("a Sync in sync wrote to Slack", err)
	}
	if f.drawn["excerpt"] != 1 || f.drawn["similar"] != 1 {
		t.Fatalf("renderers ran %v", f.drawn)
	}
}

func TestConcurrentSyncsPostOneParent(t *testing.T) {
	f := setup(t)
	f.trigger(t, "P2", "x")
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.sync.Sync(context.Background(), "P2"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(f.slack.Threads(channel)); n != 1 {
		t.Fatalf("%d parents", n)
	}
}

// The worker posted the parent and died before recording its ts: the next
// Sync finds it by its metadata instead of posting a second one.
func TestAParentPostedBeforeACrashIsFound(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.trigger(t, "P3", "x")
	if _, err := f.store.Update(ctx, "P3", func(r *incident.Record) (bool, error) { r.ParentPending, r.Channel = true, channel; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.client.PostMessage(ctx, channel, slackapi.Message{Text: "parent",
		Metadata: &slack.SlackMetadata{EventType: render.MetadataEventType, EventPayload: map[string]any{"incident_id": "P3"}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.sync.Sync(ctx, "P3"); err != nil {
		t.Fatal(err)
	}
	th := f.slack.Threads(channel)
	if len(th) != 1 || th[0].Edits != 1 {
		t.Fatalf("%+v", th)
	}
}

func TestNoChannelIsPermanentAndAnUnknownReplyIsSkipped(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.trigger(t, "P4", "x")
	f.sync.Route = func(string, string) string { return "" }
	err := f.sync.Sync(ctx, "P4")
	if !errors.Is(err, threadsync.ErrNoChannel) || !errors.Is(err, queue.ErrPermanent) {
		t.Fatal(err)
	}
	f.sync.Route = func(string, string) string { return channel }
	_, _ = f.store.Update(ctx, "P4", func(r *incident.Record) (bool, error) { return r.Want("from-a-newer-version"), nil })
	if err := f.sync.Sync(ctx, "P4"); err != nil {
		t.Fatal(err)
	}
	if rec, _ := f.store.Get(ctx, "P4"); !rec.Synced() {
		t.Fatal("an unknown reply kind stalls the thread")
	}
	// Slack refusing for good is permanent too.
	f.trigger(t, "P5", "y")
	f.sync.Route = func(string, string) string { return "C0GONE" }
	if err := f.sync.Sync(ctx, "P5"); !errors.Is(err, queue.ErrPermanent) {
		t.Fatal(err)
	}
}

// A worker posted a reply and died before marking it posted: the next Sync
// finds it by its metadata in the thread instead of posting it again — for
// ledger replies and timeline changes alike. A reply whose attempt never
// reached Slack is posted once.
func TestARepliesPostedBeforeACrashAreFoundNotRepeated(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.trigger(t, "P6", "x")
	if _, err := f.store.Update(ctx, "P6", func(r *incident.Record) (bool, error) { return r.Want("excerpt") && r.Want("similar"), nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Apply(ctx, "P6", incident.Update{EventID: "E-ack", Type: "incident.acknowledged", OccurredAt: t0.Add(time.Minute), Reply: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.sync.Sync(ctx, "P6"); err != nil {
		t.Fatal(err)
	}
	parent := f.slack.Threads(channel)[0]
	if n := len(f.slack.Replies(channel, parent.TS)); n != 3 {
		t.Fatalf("%d replies, want 3", n)
	}
	// Lose the "posted" marks, as a crash between post and mark would.
	if _, err := f.store.Update(ctx, "P6", func(r *incident.Record) (bool, error) {
		r.Replies[0].Posted, r.Replies[0].Pending = false, true
		r.Replied, r.ChangePending = 0, true
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.sync.Sync(ctx, "P6"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.slack.Replies(channel, parent.TS)); n != 3 {
		t.Fatalf("%d replies after recovery, want still 3", n)
	}
	if rec, _ := f.store.Get(ctx, "P6"); !rec.Synced() || rec.ChangePending || rec.ReplyPending("excerpt") {
		t.Fatalf("record not settled: %+v", rec)
	}
	// A pending reply that never reached Slack (the post failed) is posted.
	if _, err := f.store.Update(ctx, "P6", func(r *incident.Record) (bool, error) { return r.Want("late"), nil }); err != nil {
		t.Fatal(err)
	}
	f.sync.Replies["late"] = func(context.Context, *incident.Record) (slackapi.Message, error) {
		return slackapi.Message{Text: "late"}, nil
	}
	f.slack.FailNext("chat.postMessage", 1, 400, 0) // a final refusal: nothing posted
	if err := f.sync.Sync(ctx, "P6"); err == nil {
		t.Fatal("want the refusal")
	}
	if rec, _ := f.store.Get(ctx, "P6"); !rec.ReplyPending("late") {
		t.Fatal("the attempt was not recorded")
	}
	if err := f.sync.Sync(ctx, "P6"); err != nil {
		t.Fatal(err)
	}
	rs := f.slack.Replies(channel, parent.TS)
	if len(rs) != 4 || rs[3].Text != "late" || rs[3].Metadata == nil || rs[3].Metadata.EventPayload["reply"] != "late" {
		t.Fatalf("%d replies; last %+v", len(rs), rs[len(rs)-1])
	}
}
