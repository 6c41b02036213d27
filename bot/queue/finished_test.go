package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/test/redistest"
)

// A worker acks an entry while another holds a reclaimed delivery of the
// very same entry (a reclaim racing the ack): the second delivery is
// recognised as finished — acked quietly, not dead-lettered as a forgery —
// while a copy of the entry under another stream id is still refused.
func TestAReclaimedDeliveryOfAFinishedEntryIsNoForgery(t *testing.T) {
	ctx := context.Background()
	q := New(redistest.Start(t).Client(), seal.Ephemeral())
	if err := q.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Enqueue(ctx, "", 0, "decision", []byte(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	msgs := q.rdb.XRange(ctx, q.Stream, "-", "+").Val()
	first, ok := raw(msgs[0])
	if !ok {
		t.Fatal("entry unreadable")
	}
	second := first // the reclaimed delivery, held by another worker
	opened, err := q.admit(ctx, first, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.ack(ctx, opened, "", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := q.admit(ctx, second, time.Now(), time.Hour); !errors.Is(err, errFinished) || errors.Is(err, ErrRefused) {
		t.Fatalf("the reclaimed delivery: %v, want errFinished", err)
	}
	copied := first
	copied.ID = "1-1"
	if _, err := q.admit(ctx, copied, time.Now(), time.Hour); !errors.Is(err, ErrRefused) {
		t.Fatalf("a copy under another id: %v, want refused", err)
	}
}
