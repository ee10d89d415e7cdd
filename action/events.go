package action

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Event is one status change of an action, as the local registry reads it
// from the feed: completed, rejected, dead, cancelled, or back to pending.
type Event struct {
	Cursor   string    `json:"cursor"`
	ActionID uuid.UUID `json:"action_id"`
	Status   Status    `json:"status"`
	Kind     Kind      `json:"kind"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// EventStore reads the status changes after a cursor, in the order they
// became visible, never skipping one that committed late.
type EventStore interface {
	Events(ctx context.Context, clientID, after string, limit int) ([]Event, string, error)
}

// Feed serves the pull feed of status changes.
type Feed struct {
	store EventStore
	poll  time.Duration
}

// NewFeed builds a feed that checks for new events every poll while a
// reader waits.
func NewFeed(store EventStore, poll time.Duration) *Feed {
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	return &Feed{store: store, poll: poll}
}

// Read returns the events after the cursor, waiting up to wait for the
// first one (long poll). next is the cursor to resume from; it equals after
// when nothing came.
func (f *Feed) Read(ctx context.Context, clientID, after string, limit int, wait time.Duration) ([]Event, string, error) {
	deadline := time.Now().Add(wait)
	for {
		evs, next, err := f.store.Events(ctx, clientID, after, limit)
		if err != nil || len(evs) > 0 || !time.Now().Before(deadline) {
			return evs, next, err
		}
		t := time.NewTimer(min(f.poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, after, nil
		case <-t.C:
		}
	}
}
