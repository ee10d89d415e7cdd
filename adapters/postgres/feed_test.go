package postgres_test

import (
	"errors"
	"testing"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/outbox"
)

func TestFeedReadsStatusChangesInOrderAndResumes(t *testing.T) {
	b := setup(t)
	first, second := newAction("unzr:F1", "f1"), newAction("unzr:F2", "f2")
	b.insert(t, first)
	b.insert(t, second)
	msgs := b.claim(t, 10)
	for _, m := range msgs {
		if m.ActionID != first.ID {
			continue
		}
		if _, err := b.store.Complete(b.ctx, []outbox.Result{ack(m)}); err != nil {
			t.Fatalf("complete: %v", err)
		}
	}
	step := ops.Step{Actor: "op-1", Role: "operator", Operation: ops.OpCancel, Target: "action:" + second.ID.String(), Reason: "duplicate submission"}
	if err := b.store.CancelAction(b.ctx, step, second.ID); err != nil {
		t.Fatalf("cancel: %v", err)
	}

	evs, next, err := b.store.Events(b.ctx, "reg", "", 100)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	if len(evs) != 2 || evs[0].ActionID != first.ID || evs[0].Status != action.StatusCompleted ||
		evs[1].ActionID != second.ID || evs[1].Status != action.StatusCancelled {
		t.Fatalf("events %+v; want first completed, then second cancelled", evs)
	}
	if evs[1].Reason != "duplicate submission" {
		t.Fatalf("cancellation reason %q", evs[1].Reason)
	}
	// Resuming from the last cursor gives nothing new; from the first, the second.
	if more, _, err := b.store.Events(b.ctx, "reg", next, 100); err != nil || len(more) != 0 {
		t.Fatalf("after the last cursor: %d events, err %v; want none", len(more), err)
	}
	if more, _, err := b.store.Events(b.ctx, "reg", evs[0].Cursor, 100); err != nil || len(more) != 1 || more[0].ActionID != second.ID {
		t.Fatalf("after the first cursor: %+v, err %v; want the second event", more, err)
	}
	// Another client sees none of them.
	if other, _, err := b.store.Events(b.ctx, "someone-else", "", 100); err != nil || len(other) != 0 {
		t.Fatalf("other client sees %d events (err %v), want 0", len(other), err)
	}
	if _, _, err := b.store.Events(b.ctx, "reg", "bogus", 100); !errors.Is(err, action.ErrBadCursor) {
		t.Fatalf("bad cursor: %v, want ErrBadCursor", err)
	}
}
