package approval_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/approval"
	"github.com/opsgate/opsgate/test/redistest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t *testing.T) (*approval.Store, *clock, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	c := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	return approval.NewStore(srv.Client(), time.Hour, c.now), c, srv
}

func propose(t *testing.T, s *approval.Store, c *clock, id string, required int) *approval.Proposal {
	t.Helper()
	p := approval.Proposal{ID: id, IncidentID: "P1", ActionID: "restart-deployment", Params: map[string]string{"deployment": "checkout-api"},
		Source: "human", Proposer: "U0PROP", Triggerer: "U0TRIG", Required: required, ExpiresAt: c.now().Add(30 * time.Minute)}
	ok, err := s.Create(context.Background(), p)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	got, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestApprovalRules(t *testing.T) {
	s, c, _ := setup(t)
	ctx := context.Background()
	p := propose(t, s, c, "X1", 2)
	if again, _ := s.Create(ctx, approval.Proposal{ID: "X1", ActionID: "other"}); again {
		t.Fatal("a redelivered proposal must not replace the first")
	}
	cases := []struct {
		user, hash string
		approver   bool
		want       error
	}{
		{"U0BOB", p.Hash, false, approval.ErrNotApprover},
		{"U0PROP", p.Hash, true, approval.ErrSelfApproval},
		{"U0TRIG", p.Hash, true, approval.ErrSelfApproval}, // allow_self false
		{"U0ALICE", "stale-hash", true, approval.ErrChanged},
	}
	for _, tc := range cases {
		if _, done, err := s.Approve(ctx, "X1", tc.user, tc.hash, tc.approver); !errors.Is(err, tc.want) || done {
			t.Errorf("%s: %v, want %v", tc.user, err, tc.want)
		}
	}
	if _, done, err := s.Approve(ctx, "X1", "U0ALICE", p.Hash, true); err != nil || done {
		t.Fatalf("first of two: %v %v", done, err)
	}
	if _, done, err := s.Approve(ctx, "X1", "U0ALICE", p.Hash, true); !errors.Is(err, approval.ErrAlreadyVoted) || done {
		t.Fatalf("same person twice must count once: %v", err)
	}
	got, done, err := s.Approve(ctx, "X1", "U0CAROL", p.Hash, true)
	if err != nil || !done || got.State != approval.Approved || len(got.Approvals) != 2 {
		t.Fatalf("%+v %v %v", got, done, err)
	}
	if _, _, err := s.Approve(ctx, "X1", "U0DAVE", p.Hash, true); !errors.Is(err, approval.ErrNotPending) {
		t.Fatalf("%v", err)
	}
	if _, err := s.Reject(ctx, "X1", "U0DAVE", "too late", true); !errors.Is(err, approval.ErrNotPending) {
		t.Fatalf("%v", err)
	}
	if _, _, err := s.Approve(ctx, "nope", "U0ALICE", "", true); !errors.Is(err, approval.ErrNotFound) {
		t.Fatalf("%v", err)
	}
}

func TestExpiryAndReject(t *testing.T) {
	s, c, _ := setup(t)
	ctx := context.Background()
	p := propose(t, s, c, "E1", 1)
	c.add(31 * time.Minute)
	if _, _, err := s.Approve(ctx, "E1", "U0ALICE", p.Hash, true); !errors.Is(err, approval.ErrExpired) {
		t.Fatalf("%v", err)
	}
	if got, _ := s.Get(ctx, "E1"); got.State != approval.Expired {
		t.Fatalf("%s", got.State)
	}
	propose(t, s, c, "R1", 1)
	if _, err := s.Reject(ctx, "R1", "U0BOB", "no", false); !errors.Is(err, approval.ErrNotApprover) {
		t.Fatalf("%v", err)
	}
	got, err := s.Reject(ctx, "R1", "U0ALICE", "wrong target", true)
	if err != nil || got.State != approval.Rejected || got.RejectedBy != "U0ALICE" || got.Reason != "wrong target" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, _, err := s.Begin(ctx, "R1", time.Minute); !errors.Is(err, approval.ErrNotApproved) {
		t.Fatalf("%v", err)
	}
}

// 1,000 concurrent Approve clicks from distinct approvers through two
// clients (two replicas) on one real Redis: exactly one completes the
// approvals, and of 100 racing executors exactly one gets the fence.
func TestConcurrentApprovalsExecuteOnce(t *testing.T) {
	s1, c, srv := setup(t)
	other := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer other.Close()
	s2 := approval.NewStore(other, time.Hour, c.now)
	p := propose(t, s1, c, "C1", 1)
	var completed, refused atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := s1
			if i%2 == 1 {
				s = s2
			}
			_, done, err := s.Approve(context.Background(), "C1", fmt.Sprintf("U0%04d", i), p.Hash, true)
			if done {
				completed.Add(1)
			}
			if errors.Is(err, approval.ErrNotPending) {
				refused.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if completed.Load() != 1 || refused.Load() != 999 {
		t.Fatalf("completed %d, refused %d", completed.Load(), refused.Load())
	}
	var winners atomic.Int32
	var fence atomic.Int64
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := s1
			if i%2 == 1 {
				s = s2
			}
			if _, f, err := s.Begin(context.Background(), "C1", time.Minute); err == nil {
				winners.Add(1)
				fence.Store(f)
			}
		}(i)
	}
	wg.Wait()
	if winners.Load() != 1 {
		t.Fatalf("%d executors won", winners.Load())
	}
	ctx := context.Background()
	if _, err := s1.Finish(ctx, "C1", fence.Load()+1, approval.Succeeded, "ok"); !errors.Is(err, approval.ErrFenced) {
		t.Fatalf("stale fence: %v", err)
	}
	if _, err := s1.Finish(ctx, "C1", fence.Load(), approval.Verified, ""); !errors.Is(err, approval.ErrBadTransition) {
		t.Fatalf("EXECUTING → VERIFIED: %v", err)
	}
	got, err := s1.Finish(ctx, "C1", fence.Load(), approval.Succeeded, "deployment restarted")
	if err != nil || got.State != approval.Succeeded {
		t.Fatalf("%+v %v", got, err)
	}
	for _, to := range []approval.State{approval.Verified, approval.Undone} {
		if got, err = s1.Finish(ctx, "C1", 0, to, ""); err != nil || got.State != to {
			t.Fatalf("→ %s: %v", to, err)
		}
	}
}

func TestHashBindsActionAndParams(t *testing.T) {
	a := approval.Hash("scale", map[string]string{"replicas": "3", "deployment": "x"})
	if a != approval.Hash("scale", map[string]string{"deployment": "x", "replicas": "3"}) {
		t.Fatal("order must not matter")
	}
	for _, other := range []string{
		approval.Hash("scale", map[string]string{"replicas": "4", "deployment": "x"}),
		approval.Hash("restart", map[string]string{"replicas": "3", "deployment": "x"}),
		approval.Hash("scale", map[string]string{"replicas": "3", "deployment": "x", "extra": ""}),
		approval.Hash("scale", map[string]string{"replicas": "3\x00deployment=x"}),
	} {
		if other == a {
			t.Fatal("different proposals share a hash")
		}
	}
}

func runToSuccess(t *testing.T, s *approval.Store, c *clock, id string) *approval.Proposal {
	t.Helper()
	ctx := context.Background()
	p := propose(t, s, c, id, 1)
	if _, done, err := s.Approve(ctx, id, "U0ALICE", p.Hash, true); err != nil || !done {
		t.Fatal(done, err)
	}
	_, fence, err := s.Begin(ctx, id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Finish(ctx, id, fence, approval.Succeeded, "ok")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestUndoIsOneProposalApprovedAsAnUndo(t *testing.T) {
	s, c, _ := setup(t)
	ctx := context.Background()
	pending := propose(t, s, c, "P1-aaaaaaaaaa", 1)
	undoID := approval.UndoID(pending.ID, 0)
	if !strings.HasPrefix(undoID, "P1-") || len(undoID) != len(pending.ID) || undoID == pending.ID {
		t.Fatalf("undo id %q", undoID)
	}
	if _, _, err := s.RequestUndo(ctx, pending.ID, undoID); !errors.Is(err, approval.ErrNotUndoable) {
		t.Fatalf("a pending proposal cannot be undone: %v", err)
	}
	done := runToSuccess(t, s, c, "P1-bbbbbbbbbb")
	undoID = approval.UndoID(done.ID, 0)
	for i := 0; i < 2; i++ { // a double click asks once
		got, linked, err := s.RequestUndo(ctx, done.ID, undoID)
		if err != nil || got.UndoID != undoID || linked != (i == 0) {
			t.Fatalf("%+v %v %v", got, linked, err)
		}
	}
	if _, _, err := s.RequestUndo(ctx, done.ID, "P1-cccccccccc"); !errors.Is(err, approval.ErrUndoRequested) {
		t.Fatalf("%v", err)
	}
	u := approval.Proposal{ID: undoID, IncidentID: "P1", ActionID: done.ActionID, Params: done.Params, UndoOf: done.ID, Required: 1}
	if ok, err := s.Create(ctx, u); !ok || err != nil {
		t.Fatal(ok, err)
	}
	got, _ := s.Get(ctx, undoID)
	if got.Hash == done.Hash || !got.IsUndo() {
		t.Fatal("an undo must not share the action's approval hash: an approval of one is never an approval of the other")
	}
	if _, _, err := s.Approve(ctx, undoID, "U0ALICE", done.Hash, true); !errors.Is(err, approval.ErrChanged) {
		t.Fatalf("%v", err)
	}
	if approval.UndoID(done.ID, 1) == undoID {
		t.Fatal("a fresh undo needs a fresh id")
	}
	// An undo that ended without undoing is unlinked: the action can be undone afresh.
	if _, err := s.Reject(ctx, undoID, "U0ALICE", "not now", true); err != nil {
		t.Fatal(err)
	}
	if dead, _ := s.Get(ctx, undoID); !dead.Dead() {
		t.Fatalf("%s", dead.State)
	}
	// A link to a dead undo is replaced even if nobody unlinked it.
	if got, linked, err := s.RequestUndo(ctx, done.ID, approval.UndoID(done.ID, 1)); err != nil || !linked || got.UndoID != approval.UndoID(done.ID, 1) {
		t.Fatalf("%+v %v", got, err)
	}
	if got, err := s.ClearUndo(ctx, done.ID, undoID); err != nil || got.UndoID != approval.UndoID(done.ID, 1) {
		t.Fatalf("unlinking an old undo must not unlink the live one: %+v %v", got, err)
	}
}

// A redelivered click of an approver whose approval completed M-of-N (the
// worker failed before it began the execution) completes again, so the
// action is not stranded in APPROVED; Begin still lets one executor in.
func TestRedeliveredCompletingClick(t *testing.T) {
	s, c, _ := setup(t)
	ctx := context.Background()
	p := propose(t, s, c, "D1", 1)
	if _, done, err := s.ApproveClick(ctx, "D1", "U0ALICE", p.Hash, "1.1", true); err != nil || !done {
		t.Fatal(done, err)
	}
	if _, done, err := s.ApproveClick(ctx, "D1", "U0ALICE", p.Hash, "1.1", true); err != nil || !done {
		t.Fatalf("redelivery: %v %v", done, err)
	}
	if _, done, err := s.ApproveClick(ctx, "D1", "U0ALICE", p.Hash, "1.2", true); !errors.Is(err, approval.ErrNotPending) || done {
		t.Fatalf("a second click is not a redelivery: %v %v", done, err)
	}
	if _, done, err := s.ApproveClick(ctx, "D1", "U0BOB", p.Hash, "1.1", true); !errors.Is(err, approval.ErrNotPending) || done {
		t.Fatalf("a late approver: %v %v", done, err)
	}
	got, fence, err := s.Begin(ctx, "D1", time.Minute)
	if err != nil || fence != 1 || !got.StartedAt.Equal(c.now()) || !got.Deadline.Equal(c.now().Add(time.Minute)) {
		t.Fatalf("%+v %d %v", got, fence, err)
	}
	if _, done, err := s.ApproveClick(ctx, "D1", "U0ALICE", p.Hash, "1.1", true); !errors.Is(err, approval.ErrDuplicateClick) || done {
		t.Fatalf("after Begin, a redelivered click is counted already: %v %v", done, err)
	}
}

func TestStalledExecutionReportedOnceAndSettledByHand(t *testing.T) {
	s, c, srv := setup(t)
	ctx := context.Background()
	p := propose(t, s, c, "S1", 1)
	if _, _, err := s.Approve(ctx, "S1", "U0ALICE", p.Hash, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Begin(ctx, "S1", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	finished := runToSuccess(t, s, c, "S2") // finished executions leave the index
	if n, _ := srv.Client().ZCard(ctx, approval.ExecutingKey).Result(); n != 1 {
		t.Fatalf("index holds %d, want 1 (S1 only; %s finished)", n, finished.ID)
	}
	if got, err := s.Stalled(ctx); err != nil || len(got) != 0 {
		t.Fatalf("before the deadline: %v %v", got, err)
	}
	if _, err := s.Settle(ctx, "S1", approval.Succeeded, "checked"); !errors.Is(err, approval.ErrNotStalled) {
		t.Fatalf("a running execution cannot be settled by hand: %v", err)
	}
	c.add(4 * time.Minute) // the worker died: nothing finished it
	got, err := s.Stalled(ctx)
	if err != nil || len(got) != 1 || got[0].ID != "S1" || !got[0].Stalled || got[0].State != approval.Executing {
		t.Fatalf("%+v %v", got, err)
	}
	if again, _ := s.Stalled(ctx); len(again) != 0 {
		t.Fatal("a stalled execution is reported once")
	}
	if _, _, err := s.Begin(ctx, "S1", time.Minute); !errors.Is(err, approval.ErrNotApproved) {
		t.Fatalf("a stalled execution must never be re-run: %v", err)
	}
	if _, err := s.Settle(ctx, "S1", approval.Verified, ""); !errors.Is(err, approval.ErrBadTransition) {
		t.Fatalf("%v", err)
	}
	settled, err := s.Settle(ctx, "S1", approval.Failed, "pods were not restarted (checked by U0ALICE)")
	if err != nil || settled.State != approval.Failed {
		t.Fatalf("%+v %v", settled, err)
	}
}

func TestExpireSweep(t *testing.T) {
	s, c, srv := setup(t)
	ctx := context.Background()
	propose(t, s, c, "W1", 1)
	p2 := propose(t, s, c, "W2", 1)
	if _, err := s.Reject(ctx, "W2", "U0ALICE", "", true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Expire(ctx); err != nil || len(got) != 0 {
		t.Fatalf("nothing is due yet: %v %v", got, err)
	}
	c.add(31 * time.Minute)
	got, err := s.Expire(ctx)
	if err != nil || len(got) != 1 || got[0].ID != "W1" || got[0].State != approval.Expired {
		t.Fatalf("%+v %v", got, err)
	}
	if again, _ := s.Expire(ctx); len(again) != 0 {
		t.Fatal("expired twice")
	}
	if n, _ := srv.Client().ZCard(ctx, approval.PendingKey).Result(); n != 0 {
		t.Fatalf("index keeps %d ids", n)
	}
	if w2, _ := s.Get(ctx, p2.ID); w2.State != approval.Rejected {
		t.Fatalf("a rejected proposal must stay rejected: %s", w2.State)
	}
}

// BenchmarkLifecycle: create → approve → begin → finish on a real
// redis-server, every step a Lua compare-and-swap (one proposal per op).
func BenchmarkLifecycle(b *testing.B) {
	srv := redistest.Start(b)
	s := approval.NewStore(srv.Client(), time.Hour, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("B%d", i)
		if ok, err := s.Create(ctx, approval.Proposal{ID: id, IncidentID: "PB", ActionID: "restart-deployment",
			Params: map[string]string{"deployment": "checkout-api"}, Required: 1, ExpiresAt: time.Now().Add(time.Hour)}); !ok || err != nil {
			b.Fatal(ok, err)
		}
		p, _ := s.Get(ctx, id)
		if _, done, err := s.Approve(ctx, id, "U0ALICE", p.Hash, true); !done || err != nil {
			b.Fatal(done, err)
		}
		_, fence, err := s.Begin(ctx, id, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Finish(ctx, id, fence, approval.Succeeded, "ok"); err != nil {
			b.Fatal(err)
		}
	}
}

// A failed undo that ran is not dead (it may have done part of its work);
// one that failed before running is. A verification whose worker died is
// reported by the sweep, and the action becomes undoable.
func TestDeadUndosAndStalledVerification(t *testing.T) {
	s, c, _ := setup(t)
	ctx := context.Background()
	for _, notRun := range []bool{false, true} {
		id := fmt.Sprintf("F%v", notRun)
		p := propose(t, s, c, id, 1)
		s.Approve(ctx, id, "U0ALICE", p.Hash, true)
		_, fence, _ := s.Begin(ctx, id, time.Minute)
		got, err := s.FinishRun(ctx, id, fence, approval.Failed, "x", approval.RunInfo{NotRun: notRun})
		if err != nil || got.Dead() != notRun {
			t.Fatalf("notRun=%v: dead=%v %v", notRun, got.Dead(), err)
		}
	}
	p := propose(t, s, c, "V1", 1)
	s.Approve(ctx, "V1", "U0ALICE", p.Hash, true)
	_, fence, _ := s.Begin(ctx, "V1", time.Minute)
	got, err := s.FinishRun(ctx, "V1", fence, approval.Succeeded, "exit 0", approval.RunInfo{VerifyWithin: 2 * time.Minute})
	if err != nil || !got.Verifying {
		t.Fatalf("%+v %v", got, err)
	}
	c.add(time.Minute)
	if st, _ := s.Stalled(ctx); len(st) != 0 {
		t.Fatal("verification reported before its deadline")
	}
	c.add(2 * time.Minute) // the worker died while verifying
	st, err := s.Stalled(ctx)
	if err != nil || len(st) != 1 || st[0].Verifying || st[0].State != approval.Succeeded || !strings.Contains(st[0].Outcome, "verification did not finish") {
		t.Fatalf("%+v %v", st, err)
	}
	if _, linked, err := s.RequestUndo(ctx, "V1", approval.UndoID("V1", 0)); err != nil || !linked {
		t.Fatalf("undo after a stalled verification: %v", err)
	}
	if again, _ := s.Stalled(ctx); len(again) != 0 {
		t.Fatal("reported twice")
	}
}

// The metric hook hears each state a proposal reaches, once: created,
// approved (not each vote), executing, finished.
func TestObserveHearsEachStateOnce(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := approval.NewStore(srv.Client(), time.Hour, nil)
	var heard []approval.State
	s.Observe = func(st approval.State) { heard = append(heard, st) }
	if _, err := s.Create(ctx, approval.Proposal{ID: "P1-0123456789", IncidentID: "P1", ActionID: "a", Required: 2}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Get(ctx, "P1-0123456789")
	for _, u := range []string{"U1", "U2"} {
		if _, _, err := s.Approve(ctx, p.ID, u, p.Hash, true); err != nil {
			t.Fatal(err)
		}
	}
	_, fence, err := s.Begin(ctx, p.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Finish(ctx, p.ID, fence, approval.Succeeded, "ok"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(heard); got != "[PROPOSED APPROVED EXECUTING SUCCEEDED]" {
		t.Fatalf("heard %s", got)
	}
}
