package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/test/pgtest"
)

type bundle struct {
	store *postgres.Store
	ctx   context.Context
}

func setup(t *testing.T) bundle {
	t.Helper()
	s := postgres.New(pgtest.Pool(t))
	ctx := context.Background()
	if err := s.AddClient(ctx, auth.Client{ID: "reg", Name: "registry", Role: auth.RoleRegistry}, auth.HashToken("tok")); err != nil {
		t.Fatalf("add client: %v", err)
	}
	return bundle{store: s, ctx: ctx}
}

func newAction(person, key string) action.NewAction {
	id := uuid.Must(uuid.NewV7())
	return action.NewAction{
		ID: id, Reference: "RH-" + id.String(), ClientID: "reg", IdempotencyKey: key,
		BodyHash: []byte(key), Kind: action.KindRegister, PersonKey: person,
		Body:      []byte(`{"kind":"residence.register"}`),
		CreatedAt: time.Now(),
		Messages: []action.NewMessage{
			{ID: uuid.Must(uuid.NewV7()), Destination: action.DestMigrationService},
			{ID: uuid.Must(uuid.NewV7()), Destination: action.DestNationalRegistry},
		},
	}
}

func (b bundle) insert(t *testing.T, a action.NewAction) {
	t.Helper()
	if _, _, created, err := b.store.Insert(b.ctx, a); err != nil || !created {
		t.Fatalf("insert: created=%v err=%v", created, err)
	}
}

func (b bundle) claim(t *testing.T, n int) []outbox.Message {
	t.Helper()
	msgs, err := b.store.Claim(b.ctx, n, time.Minute, uuid.New())
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return msgs
}

func ack(m outbox.Message) outbox.Result {
	return outbox.Result{
		MessageID: m.ID, ActionID: m.ActionID, ClaimToken: m.ClaimToken, State: action.DeliveryAcknowledged,
		UpstreamRef: "REF-" + m.ID.String()[:8], Sent: true,
		Attempt: outbox.Attempt{Number: m.Attempt, Stage: m.Stage, StartedAt: time.Now(), Outcome: "acknowledged"},
	}
}

func TestInsertIsIdempotentPerClientKey(t *testing.T) {
	b := setup(t)
	a := newAction("unzr:1", "k1")
	b.insert(t, a)
	again := newAction("unzr:1", "k1")
	existing, hash, created, err := b.store.Insert(b.ctx, again)
	if err != nil || created {
		t.Fatalf("second insert: created=%v err=%v", created, err)
	}
	if existing.ID != a.ID || string(hash) != "k1" {
		t.Fatalf("want the original action %s, got %s (hash %q)", a.ID, existing.ID, hash)
	}
	if len(existing.Deliveries) != 2 {
		t.Fatalf("want 2 deliveries, got %d", len(existing.Deliveries))
	}
	page, err := b.store.List(b.ctx, action.ListFilter{Limit: 10})
	if err != nil || len(page.Actions) != 1 {
		t.Fatalf("want exactly one stored action, got %d (err %v)", len(page.Actions), err)
	}
}

func TestClaimKeepsPerPersonOrderWithoutHeadOfLineBlocking(t *testing.T) {
	b := setup(t)
	first, second := newAction("unzr:A", "a1"), newAction("unzr:A", "a2")
	other := newAction("unzr:B", "b1")
	b.insert(t, first)
	b.insert(t, second)
	b.insert(t, other)

	msgs := b.claim(t, 100)
	got := map[uuid.UUID]int{}
	for _, m := range msgs {
		got[m.ActionID]++
	}
	// Both destinations of A's first action and of B's; none of A's second.
	if got[first.ID] != 2 || got[other.ID] != 2 || got[second.ID] != 0 {
		t.Fatalf("claimed per action: first=%d second=%d other=%d; want 2, 0, 2", got[first.ID], got[second.ID], got[other.ID])
	}
	// A leased message is not claimed again.
	if again := b.claim(t, 100); len(again) != 0 {
		t.Fatalf("claimed %d leased messages again", len(again))
	}
	// Acknowledging A's first message to dms frees A's second for dms only.
	var results []outbox.Result
	for _, m := range msgs {
		if m.ActionID == first.ID && m.Destination == action.DestMigrationService {
			results = append(results, ack(m))
		}
	}
	if _, err := b.store.Complete(b.ctx, results); err != nil {
		t.Fatalf("complete: %v", err)
	}
	next := b.claim(t, 100)
	if len(next) != 1 || next[0].ActionID != second.ID || next[0].Destination != action.DestMigrationService {
		t.Fatalf("want A's second message to dms only, got %+v", next)
	}
}

func TestCompleteDerivesActionStatus(t *testing.T) {
	cases := []struct {
		name   string
		states [2]action.DeliveryStatus
		want   action.Status
	}{
		{"all acknowledged", [2]action.DeliveryStatus{action.DeliveryAcknowledged, action.DeliveryAcknowledged}, action.StatusCompleted},
		{"one still waiting", [2]action.DeliveryStatus{action.DeliveryAcknowledged, action.DeliveryAwaitingAck}, action.StatusPending},
		{"one rejected", [2]action.DeliveryStatus{action.DeliveryAcknowledged, action.DeliveryRejected}, action.StatusRejected},
		{"one dead", [2]action.DeliveryStatus{action.DeliveryDead, action.DeliveryAcknowledged}, action.StatusDead},
		{"rejected beats dead", [2]action.DeliveryStatus{action.DeliveryDead, action.DeliveryRejected}, action.StatusRejected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t)
			a := newAction("unzr:C", "c1")
			b.insert(t, a)
			msgs := b.claim(t, 10)
			if len(msgs) != 2 {
				t.Fatalf("want 2 claimed, got %d", len(msgs))
			}
			var results []outbox.Result
			for i, m := range msgs {
				r := ack(m)
				r.State = tc.states[i]
				if r.State == action.DeliveryAwaitingAck {
					r.DueAt = time.Now().Add(time.Second)
				}
				if r.State == action.DeliveryRejected || r.State == action.DeliveryDead {
					r.LastError = "refused for test"
				}
				results = append(results, r)
			}
			if _, err := b.store.Complete(b.ctx, results); err != nil {
				t.Fatalf("complete: %v", err)
			}
			got, err := b.store.Get(b.ctx, a.ID)
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if got.Status != tc.want {
				t.Fatalf("status %s, want %s", got.Status, tc.want)
			}
			if (tc.want == action.StatusRejected || tc.want == action.StatusDead) && got.StatusReason == "" {
				t.Fatalf("status %s without a reason", got.Status)
			}
		})
	}
}

func TestCompleteIgnoresALostLease(t *testing.T) {
	b := setup(t)
	a := newAction("unzr:D", "d1")
	b.insert(t, a)
	msgs := b.claim(t, 10)
	stale := ack(msgs[0])
	stale.ClaimToken = uuid.New() // another relay re-claimed it since
	if _, err := b.store.Complete(b.ctx, []outbox.Result{stale}); err != nil {
		t.Fatalf("complete: %v", err)
	}
	got, err := b.store.Get(b.ctx, a.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	for _, d := range got.Deliveries {
		if d.Status != action.DeliveryPending {
			t.Fatalf("a result with a lost lease changed delivery %s to %s", d.Destination, d.Status)
		}
	}
}

// Concurrent claimers, as several replicas would be, never take one message twice.
func TestConcurrentClaimsNeverOverlap(t *testing.T) {
	b := setup(t)
	const actions = 200
	for i := 0; i < actions; i++ {
		b.insert(t, newAction(fmt.Sprintf("unzr:%d", i), fmt.Sprintf("k%d", i)))
	}
	var mu sync.Mutex
	seen := map[uuid.UUID]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msgs, err := b.store.Claim(b.ctx, 7, time.Minute, uuid.New())
				if err != nil {
					errs <- err
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("claim: %v", err)
	}
	if len(seen) != 2*actions {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), 2*actions)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s claimed %d times", id, n)
		}
	}
}

func TestListPagesWithCursor(t *testing.T) {
	b := setup(t)
	for i := 0; i < 5; i++ {
		b.insert(t, newAction(fmt.Sprintf("unzr:L%d", i), fmt.Sprintf("l%d", i)))
	}
	var ids []uuid.UUID
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		page, err := b.store.List(b.ctx, action.ListFilter{Limit: 2, Cursor: cursor, Status: action.StatusPending})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, a := range page.Actions {
			ids = append(ids, a.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(ids) != 5 {
		t.Fatalf("paged through %d actions, want 5", len(ids))
	}
	if _, err := b.store.List(b.ctx, action.ListFilter{Limit: 2, Cursor: "not-a-cursor"}); !errors.Is(err, action.ErrBadCursor) {
		t.Fatalf("bad cursor: want ErrBadCursor, got %v", err)
	}
}
