package action

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// EventType tells what an event of the feed is about.
type EventType string

// The types of event.
const (
	// EventStatus is a status change of an action: completed, rejected,
	// dead, cancelled, or back to pending.
	EventStatus EventType = "status"
	// EventNotice is a notice of the migration service to the registration
	// body (002 §7.7–7.8, package notice): an action to re-check, or
	// residence records to cancel.
	EventNotice EventType = "notice"
)

// Event is one event of the feed the local registry reads: a status change
// of one of its actions, or a notice of the migration service.
type Event struct {
	Cursor string    `json:"cursor"`
	Type   EventType `json:"type"`
	// ActionID is the action changed; for a notice, the action it concerns
	// when the hub knows it (absent otherwise).
	ActionID uuid.UUID `json:"action_id,omitzero"`
	// Status and Kind are the action's new status and its kind (status
	// changes only).
	Status Status    `json:"status,omitempty"`
	Kind   Kind      `json:"kind,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// Notice is the notice (notices only), as notice.View encodes it: the
	// adapter renders it, since this package cannot import notice.
	Notice json.RawMessage `json:"notice,omitempty"`
}

// EventStore reads the events after a cursor, in the order they
// became visible, never skipping one that committed late.
type EventStore interface {
	Events(ctx context.Context, clientID, after string, limit int) ([]Event, string, error)
}

// Feed serves the pull feed of status changes and notices.
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
