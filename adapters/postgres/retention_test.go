package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/outbox"
)

// Retention in these tests: rows are "old" when backdated by oldAge, and
// young when left as written.
const (
	testRetain = 7 * 24 * time.Hour
	oldAge     = 30 * 24 * time.Hour
)

// drive claims due messages and completes those of action id with the
// states asked for, per destination; other claimed messages are left leased.
func (b bundle) drive(t *testing.T, id uuid.UUID, states map[action.Destination]action.DeliveryStatus) {
	t.Helper()
	var results []outbox.Result
	for _, m := range b.claim(t, 100) {
		st, ok := states[m.Destination]
		if m.ActionID != id || !ok {
			continue
		}
		r := ack(m)
		r.State = st
		switch st {
		case action.DeliveryAwaitingAck:
			r.DueAt = time.Now().Add(time.Hour)
		case action.DeliveryRejected, action.DeliveryDead:
			r.LastError = "refused for test"
		}
		results = append(results, r)
	}
	if len(results) != len(states) {
		t.Fatalf("drive %s: claimed %d of its %d messages", id, len(results), len(states))
	}
	if _, err := b.store.Complete(b.ctx, results); err != nil {
		t.Fatalf("complete: %v", err)
	}
}

// backdate moves an action, its messages and its lifecycle events age into
// the past, as if it had all happened then.
func (b bundle) backdate(t *testing.T, id uuid.UUID, age time.Duration) {
	t.Helper()
	for _, q := range []string{
		`UPDATE actions SET created_at = created_at - $2::interval, updated_at = updated_at - $2::interval,
		        completed_at = completed_at - $2::interval WHERE id = $1`,
		`UPDATE outbox_messages SET created_at = created_at - $2::interval, updated_at = updated_at - $2::interval,
		        due_at = due_at - $2::interval WHERE action_id = $1`,
		`UPDATE watermill_action_lifecycle SET created_at = created_at - $2::interval WHERE payload->>'action_id' = $1::text`,
	} {
		if _, err := b.store.Pool().Exec(b.ctx, q, id, age); err != nil {
			t.Fatalf("backdate %s: %v", id, err)
		}
	}
}

// rowCounts are the rows of one action in each table retention deletes from.
type rowCounts struct{ actions, messages, attempts int }

func (b bundle) rows(t *testing.T, id uuid.UUID) rowCounts {
	t.Helper()
	var c rowCounts
	if err := b.store.Pool().QueryRow(b.ctx, `
		SELECT (SELECT count(*) FROM actions WHERE id = $1),
		       (SELECT count(*) FROM outbox_messages WHERE action_id = $1),
		       (SELECT count(*) FROM delivery_attempts d JOIN outbox_messages m ON m.id = d.message_id WHERE m.action_id = $1)`,
		id).Scan(&c.actions, &c.messages, &c.attempts); err != nil {
		t.Fatalf("count rows of %s: %v", id, err)
	}
	return c
}

func (b bundle) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func (b bundle) prune(t *testing.T) postgres.RetentionReport {
	t.Helper()
	rep, err := b.store.PruneHistory(b.ctx, postgres.RetentionOptions{Retain: testRetain, BatchSize: 3})
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if rep.Skipped {
		t.Fatal("prune skipped with no other run")
	}
	return rep
}

var (
	both  = []action.Destination{action.DestMigrationService, action.DestNationalRegistry}
	acked = map[action.Destination]action.DeliveryStatus{
		action.DestMigrationService: action.DeliveryAcknowledged, action.DestNationalRegistry: action.DeliveryAcknowledged,
	}
)

func TestPruneHistoryDeletesOnlyOldFinishedActions(t *testing.T) {
	b := setup(t)
	if err := b.store.AddClient(b.ctx, auth.Client{ID: "hooked", Name: "with webhook", Role: auth.RoleRegistry}, auth.HashToken("tok2")); err != nil {
		t.Fatal(err)
	}
	if err := b.store.SetWebhook(b.ctx, "hooked", "http://127.0.0.1:1/hook", "secret"); err != nil {
		t.Fatal(err)
	}
	// In the order of acceptance (seq): old ones first, as in life.
	cases := []struct {
		name   string
		client string
		old    bool
		// build drives the action to its state once inserted.
		build func(t *testing.T, id uuid.UUID)
		// after runs once it is backdated.
		after func(t *testing.T, id uuid.UUID)
		kept  bool
	}{
		{name: "completed, old", old: true, build: func(t *testing.T, id uuid.UUID) { b.drive(t, id, acked) }},
		{name: "rejected, every delivery resolved, old", old: true, build: func(t *testing.T, id uuid.UUID) {
			b.drive(t, id, map[action.Destination]action.DeliveryStatus{
				action.DestMigrationService: action.DeliveryAcknowledged, action.DestNationalRegistry: action.DeliveryRejected})
		}},
		{name: "cancelled, old", old: true, build: func(t *testing.T, id uuid.UUID) {
			if err := b.store.CancelAction(b.ctx, ops.Step{At: time.Now(), Actor: "op", Role: "operator", Operation: ops.OpCancel,
				Target: id.String(), Reason: "test"}, id); err != nil {
				t.Fatalf("cancel: %v", err)
			}
		}},
		{name: "rejected with a delivery still awaiting its ack, old", old: true, kept: true, build: func(t *testing.T, id uuid.UUID) {
			b.drive(t, id, map[action.Destination]action.DeliveryStatus{
				action.DestMigrationService: action.DeliveryRejected, action.DestNationalRegistry: action.DeliveryAwaitingAck})
		}},
		{name: "dead, old", old: true, kept: true, build: func(t *testing.T, id uuid.UUID) {
			b.drive(t, id, map[action.Destination]action.DeliveryStatus{
				action.DestMigrationService: action.DeliveryDead, action.DestNationalRegistry: action.DeliveryAcknowledged})
		}},
		{name: "pending, old", old: true, kept: true, build: func(t *testing.T, id uuid.UUID) {}},
		{name: "completed, webhook notification pending, old", client: "hooked", old: true, kept: true,
			build: func(t *testing.T, id uuid.UUID) { b.drive(t, id, acked) }},
		{name: "completed, webhook notification dead, old", client: "hooked", old: true, kept: true,
			build: func(t *testing.T, id uuid.UUID) {
				b.drive(t, id, acked)
				b.drive(t, id, map[action.Destination]action.DeliveryStatus{action.DestWebhook: action.DeliveryDead})
			}},
		{name: "completed, webhook notification delivered, old", client: "hooked", old: true,
			build: func(t *testing.T, id uuid.UUID) {
				b.drive(t, id, acked)
				b.drive(t, id, map[action.Destination]action.DeliveryStatus{action.DestWebhook: action.DeliveryAcknowledged})
			}},
		{name: "completed long ago, a message changed since", old: true, kept: true,
			build: func(t *testing.T, id uuid.UUID) { b.drive(t, id, acked) },
			after: func(t *testing.T, id uuid.UUID) {
				if _, err := b.store.Pool().Exec(b.ctx, `UPDATE outbox_messages SET updated_at = now() WHERE action_id = $1 AND destination = 'dms'`, id); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "completed, young", kept: true, build: func(t *testing.T, id uuid.UUID) { b.drive(t, id, acked) }},
		{name: "cancelled, young", kept: true, build: func(t *testing.T, id uuid.UUID) {
			if err := b.store.CancelAction(b.ctx, ops.Step{At: time.Now(), Actor: "op", Role: "operator", Operation: ops.OpCancel,
				Target: id.String(), Reason: "test"}, id); err != nil {
				t.Fatalf("cancel: %v", err)
			}
		}},
	}
	ids := make([]uuid.UUID, len(cases))
	before := make([]rowCounts, len(cases))
	var want rowCounts
	for i, tc := range cases {
		a := newAction(fmt.Sprintf("unzr:R%d", i), fmt.Sprintf("r%d", i))
		if tc.client != "" {
			a.ClientID = tc.client
		}
		b.insert(t, a)
		tc.build(t, a.ID)
		ids[i] = a.ID
	}
	// Backdated once all are built: a claim for a later case touches the
	// messages left unresolved by earlier ones.
	for i, tc := range cases {
		if tc.old {
			b.backdate(t, ids[i], oldAge)
		}
		if tc.after != nil {
			tc.after(t, ids[i])
		}
		before[i] = b.rows(t, ids[i])
		if !tc.kept {
			want.actions += before[i].actions
			want.messages += before[i].messages
			want.attempts += before[i].attempts
		}
	}
	steps := b.count(t, "operator_steps")
	if steps != 2 {
		t.Fatalf("%d operator steps before, want the 2 cancellations", steps)
	}

	rep := b.prune(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := b.rows(t, ids[i])
			switch {
			case tc.kept && got != before[i]:
				t.Errorf("kept action has rows %+v, had %+v", got, before[i])
			case !tc.kept && got != (rowCounts{}):
				t.Errorf("deleted action has rows %+v left", got)
			}
		})
	}
	if rep.Actions != int64(want.actions) || rep.OutboxMessages != int64(want.messages) || rep.DeliveryAttempts != int64(want.attempts) {
		t.Errorf("report: %d actions, %d messages, %d attempts; want %+v", rep.Actions, rep.OutboxMessages, rep.DeliveryAttempts, want)
	}
	// The audit trail stays whole, the steps about deleted actions too.
	if n := b.count(t, "operator_steps"); n != steps {
		t.Errorf("%d operator steps after, want %d", n, steps)
	}
	// A second run finds nothing more.
	if again := b.prune(t); again.Actions+again.OutboxMessages+again.DeliveryAttempts != 0 {
		t.Errorf("second run deleted %+v", again)
	}
}

// publish writes one lifecycle event per transaction (so each has its own
// transaction id) and returns their (transaction_id, offset), in order.
func publishEvents(t *testing.T, b bundle, n int) [][2]string {
	t.Helper()
	keys := make([][2]string, n)
	for i := range n {
		e := postgres.LifecycleEvent{ActionID: uuid.Must(uuid.NewV7()), Status: action.StatusCompleted, Kind: action.KindRegister,
			ClientID: "reg", At: time.Now()}
		if err := pgx.BeginFunc(b.ctx, b.store.Pool(), func(tx pgx.Tx) error {
			if err := postgres.PublishLifecycle(b.ctx, tx, []postgres.LifecycleEvent{e}); err != nil {
				return err
			}
			return tx.QueryRow(b.ctx, `SELECT transaction_id::text, "offset"::text FROM watermill_action_lifecycle
				WHERE payload->>'action_id' = $1`, e.ActionID.String()).Scan(&keys[i][0], &keys[i][1])
		}); err != nil {
			t.Fatalf("publish event %d: %v", i, err)
		}
	}
	return keys
}

func TestPruneHistoryKeepsUnconsumedLifecycleEvents(t *testing.T) {
	const events, old = 8, 5 // events 0..4 old, 5..7 young
	cases := []struct {
		name string
		// acked: per consumer group, the index of the last event it consumed.
		acked map[string]int
		// want: indexes of the events left.
		want []int
	}{
		{name: "no consumer group yet", acked: nil, want: []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{name: "all consumed", acked: map[string]int{"reghub.metrics": 7}, want: []int{5, 6, 7}},
		{name: "consumer behind", acked: map[string]int{"reghub.metrics": 2}, want: []int{3, 4, 5, 6, 7}},
		{name: "slowest of two groups", acked: map[string]int{"reghub.metrics": 7, "reghub.slow": 1}, want: []int{2, 3, 4, 5, 6, 7}},
		{name: "group at its zero row", acked: map[string]int{"reghub.metrics": 7, "reghub.new": -1}, want: []int{0, 1, 2, 3, 4, 5, 6, 7}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			keys := publishEvents(t, b, events)
			if _, err := b.store.Pool().Exec(b.ctx, `UPDATE watermill_action_lifecycle SET created_at = created_at - $1::interval
				WHERE (transaction_id, "offset") <= ($2::text::xid8, $3::text::bigint)`, oldAge, keys[old-1][0], keys[old-1][1]); err != nil {
				t.Fatal(err)
			}
			for group, i := range tc.acked {
				xid, off := "0", "0" // the row a subscriber inserts when it subscribes
				if i >= 0 {
					xid, off = keys[i][0], keys[i][1]
				}
				if _, err := b.store.Pool().Exec(b.ctx, `INSERT INTO watermill_offsets_action_lifecycle
					(consumer_group, offset_acked, last_processed_transaction_id) VALUES ($1, $2::text::bigint, $3::text::xid8)`, group, off, xid); err != nil {
					t.Fatal(err)
				}
			}
			rep := b.prune(t)
			rows, err := b.store.Pool().Query(b.ctx, `SELECT transaction_id::text, "offset"::text FROM watermill_action_lifecycle`)
			if err != nil {
				t.Fatal(err)
			}
			left, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
				var k [2]string
				return k, r.Scan(&k[0], &k[1])
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for i, k := range keys {
				if slices.Contains(left, k) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("events left %v, want %v", got, tc.want)
			}
			if rep.LifecycleEvents != int64(events-len(tc.want)) {
				t.Errorf("report: %d events deleted, want %d", rep.LifecycleEvents, events-len(tc.want))
			}
		})
	}
}

// fillHistory writes n completed actions, with two acknowledged messages and
// one attempt each, last changed age ago: history as the hub leaves it.
func fillHistory(t *testing.T, b bundle, n int, age time.Duration) {
	t.Helper()
	if _, err := b.store.Pool().Exec(b.ctx, `
		WITH a AS (
			INSERT INTO actions (id, reference, client_id, idempotency_key, body_hash, kind, status, person_key, body,
			                     created_at, updated_at, completed_at)
			SELECT gen_random_uuid(), 'RH-h' || i, 'reg', 'h' || i, '\x00', 'residence.register', 'completed', 'unzr:h' || i, '{}',
			       now() - $2::interval, now() - $2::interval, now() - $2::interval
			FROM generate_series(1, $1) i
			RETURNING id, person_key, created_at
		), m AS (
			INSERT INTO outbox_messages (id, action_id, destination, person_key, state, attempts, due_at, created_at, updated_at, ready)
			SELECT gen_random_uuid(), a.id, d, a.person_key, 'acknowledged', 1, a.created_at, a.created_at, a.created_at, false
			FROM a CROSS JOIN unnest(ARRAY['dms', 'eddr']) d
			RETURNING id, created_at
		)
		INSERT INTO delivery_attempts (message_id, attempt, stage, started_at, duration_us, outcome)
		SELECT id, 1, 'send', created_at, 1000, 'acknowledged' FROM m`, n, age); err != nil {
		t.Fatalf("fill history: %v", err)
	}
}

// Another session (a replica) holding the retention lock makes a run skip,
// deleting nothing; once it lets go, the next run prunes.
func TestPruneHistorySkipsWhileAnotherReplicaPrunes(t *testing.T) {
	b := setup(t)
	fillHistory(t, b, 10, oldAge)
	conn, err := b.store.Pool().Acquire(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The key retention.go uses.
	if _, err := conn.Exec(b.ctx, `SELECT pg_advisory_lock($1, $2)`, int32(0x72656768), int32(1)); err != nil {
		t.Fatal(err)
	}
	rep, err := b.store.PruneHistory(b.ctx, postgres.RetentionOptions{Retain: testRetain})
	if err != nil || !rep.Skipped || rep.Actions != 0 {
		t.Fatalf("with the lock held elsewhere: %+v, %v; want skipped, nothing deleted", rep, err)
	}
	if n := b.count(t, "actions"); n != 10 {
		t.Fatalf("%d actions left, want 10", n)
	}
	if _, err := conn.Exec(b.ctx, `SELECT pg_advisory_unlock($1, $2)`, int32(0x72656768), int32(1)); err != nil {
		t.Fatal(err)
	}
	if rep := b.prune(t); rep.Actions != 10 {
		t.Fatalf("after the lock was released: deleted %d actions, want 10", rep.Actions)
	}
}

// An action whose row a relay or an operator holds (they lock it before
// changing its deliveries) is left for a later run; retention does not wait.
func TestPruneHistorySkipsLockedActions(t *testing.T) {
	b := setup(t)
	fillHistory(t, b, 5, oldAge)
	tx, err := b.store.Pool().Begin(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(b.ctx)) }()
	var held uuid.UUID
	if err := tx.QueryRow(b.ctx, `SELECT id FROM actions ORDER BY seq LIMIT 1 FOR UPDATE`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	rep, err := b.store.PruneHistory(ctx, postgres.RetentionOptions{Retain: testRetain})
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if rep.Actions != 4 {
		t.Fatalf("deleted %d actions, want the 4 not locked", rep.Actions)
	}
	if got := b.rows(t, held); got != (rowCounts{1, 2, 2}) {
		t.Fatalf("locked action has rows %+v, want all of them", got)
	}
	if err := tx.Rollback(b.ctx); err != nil {
		t.Fatal(err)
	}
	if rep := b.prune(t); rep.Actions != 1 {
		t.Fatalf("once unlocked: deleted %d actions, want 1", rep.Actions)
	}
}

// Replicas run retention at once while the hub accepts and completes
// actions: every old action is deleted exactly once, nothing else is, and
// nothing deadlocks or fails.
func TestPruneHistoryConcurrentRunsUnderTraffic(t *testing.T) {
	b := setup(t)
	const history, live, runs = 2500, 60, 4
	fillHistory(t, b, history, oldAge)

	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	var (
		mu      sync.Mutex
		reports []postgres.RetentionReport
	)
	var g errgroup.Group
	for range runs {
		g.Go(func() error {
			for { // until one run has done the work: a skipped one tries again
				rep, err := b.store.PruneHistory(ctx, postgres.RetentionOptions{Retain: testRetain, BatchSize: 100})
				if err != nil {
					return err
				}
				mu.Lock()
				reports = append(reports, rep)
				mu.Unlock()
				if !rep.Skipped {
					return nil
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	g.Go(func() error { // the hot path meanwhile
		for i := range live {
			a := newAction(fmt.Sprintf("unzr:live%d", i), fmt.Sprintf("live%d", i))
			if _, _, _, err := b.store.Insert(ctx, a); err != nil {
				return err
			}
			msgs, err := b.store.Claim(ctx, 10, time.Minute, uuid.New())
			if err != nil {
				return err
			}
			var results []outbox.Result
			for _, m := range msgs {
				results = append(results, ack(m))
			}
			if _, err := b.store.Complete(ctx, results); err != nil {
				return err
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		t.Fatalf("concurrent runs: %v", err)
	}
	var deleted, messages, attempts, ran int64
	for _, r := range reports {
		deleted, messages, attempts = deleted+r.Actions, messages+r.OutboxMessages, attempts+r.DeliveryAttempts
		if !r.Skipped {
			ran++
		}
	}
	if ran != runs || deleted != history || messages != 2*history || attempts != 2*history {
		t.Fatalf("%d runs ran (want %d), deleted %d actions, %d messages, %d attempts; want %d, %d, %d",
			ran, runs, deleted, messages, attempts, history, 2*history, 2*history)
	}
	if n := b.count(t, "actions"); n != live {
		t.Fatalf("%d actions left, want the %d live ones", n, live)
	}
	for _, d := range both {
		var n int
		if err := b.store.Pool().QueryRow(b.ctx, `SELECT count(*) FROM outbox_messages WHERE destination = $1`, string(d)).Scan(&n); err != nil || n != live {
			t.Fatalf("%d messages to %s left (%v), want %d", n, d, err, live)
		}
	}
}

func TestPruneHistoryRefusesShortRetention(t *testing.T) {
	b := setup(t)
	fillHistory(t, b, 3, oldAge)
	for _, d := range []time.Duration{0, time.Hour, postgres.MinRetention - time.Second} {
		if _, err := b.store.PruneHistory(b.ctx, postgres.RetentionOptions{Retain: d}); err == nil {
			t.Errorf("retention %s accepted", d)
		}
	}
	if n := b.count(t, "actions"); n != 3 {
		t.Fatalf("%d actions left, want 3", n)
	}
}
