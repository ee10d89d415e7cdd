package lifecycle_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/lifecycle"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type bundle struct {
	pool *pgxpool.Pool
	db   *sql.DB
}

func setup(t *testing.T) bundle {
	t.Helper()
	pool := pgtest.Pool(t)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = db.Close() }) // runs before the pool closes
	return bundle{pool: pool, db: db}
}

// recorder is a test handler that keeps the action ids of the events it
// receives, in order.
type recorder struct {
	mu  sync.Mutex
	got []uuid.UUID
}

func (r *recorder) handler(name string) lifecycle.Handler {
	return lifecycle.Handler{Name: name, Fn: func(msg *message.Message) error {
		e, err := postgres.DecodeLifecycleEvent(msg)
		if err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, e.ActionID)
		return nil
	}}
}

func (r *recorder) snapshot() []uuid.UUID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uuid.UUID(nil), r.got...)
}

// waitFor polls until r holds n events (for at most timeout), then waits a
// little longer so that duplicates, if any, arrive too.
func (r *recorder) waitFor(t *testing.T, n int, timeout time.Duration) []uuid.UUID {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(r.snapshot()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // several poll intervals
	return r.snapshot()
}

// run starts the router and returns a function that stops it and reports
// what Run returned.
func run(t *testing.T, b bundle, handlers ...lifecycle.Handler) (stop func()) {
	t.Helper()
	router, err := lifecycle.NewRouter(b.db, slog.New(slog.DiscardHandler), handlers...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- router.Run(ctx) }()
	select {
	case <-router.Running():
	case err := <-done:
		cancel()
		t.Fatalf("router stopped at once: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("router not running after 10s")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("router.Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("router.Run did not return 20s after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func events(n int, status action.Status) []postgres.LifecycleEvent {
	out := make([]postgres.LifecycleEvent, n)
	for i := range out {
		out[i] = postgres.LifecycleEvent{
			ActionID: uuid.Must(uuid.NewV7()), Status: status, Kind: action.KindDeclare,
			ClientID: "reg", At: time.Now(),
		}
	}
	return out
}

func publish(t *testing.T, b bundle, evs []postgres.LifecycleEvent) {
	t.Helper()
	if err := pgx.BeginFunc(t.Context(), b.pool, func(tx pgx.Tx) error {
		return postgres.PublishLifecycle(t.Context(), tx, evs)
	}); err != nil {
		t.Fatal(err)
	}
}

func ids(evs []postgres.LifecycleEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ActionID
	}
	return out
}

func assertSeq(t *testing.T, got, want []uuid.UUID) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("received %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d is action %s, want %s (out of order or duplicated)", i, got[i], want[i])
		}
	}
}

// waitAcked waits until the consumer group has acknowledged every message.
func waitAcked(t *testing.T, b bundle, group string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pending bool
		err := b.pool.QueryRow(t.Context(), `
			SELECT EXISTS (SELECT 1 FROM watermill_action_lifecycle m, watermill_offsets_action_lifecycle o
			               WHERE o.consumer_group = $1
			                 AND (m.transaction_id, m."offset") > (o.last_processed_transaction_id, o.offset_acked))`,
			group).Scan(&pending)
		if err == nil && !pending {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: not everything acknowledged after 20s (err %v)", group, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counterValue(t *testing.T, status action.Status) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "reghub_lifecycle_events_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && l.GetValue() == string(status) {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestRouterDeliversEachEventOnceInOrder(t *testing.T) {
	b := setup(t)
	before := counterValue(t, action.StatusCompleted)

	var want []postgres.LifecycleEvent
	for range 10 { // 10 transactions of 5 events
		evs := events(5, action.StatusCompleted)
		publish(t, b, evs)
		want = append(want, evs...)
	}
	rec := &recorder{}
	stop := run(t, b, rec.handler("test"))
	assertSeq(t, rec.waitFor(t, 50, 20*time.Second), ids(want))

	// The built-in handler is a consumer group of its own: it saw them all.
	waitAcked(t, b, lifecycle.ConsumerGroupPrefix+lifecycle.MetricsHandlerName)
	if got := counterValue(t, action.StatusCompleted) - before; got != 50 {
		t.Errorf("reghub_lifecycle_events_total{status=completed} grew by %v, want 50", got)
	}

	// A new router on the same group resumes after what was acknowledged.
	waitAcked(t, b, lifecycle.ConsumerGroupPrefix+"test")
	stop()
	more := events(5, action.StatusRejected)
	publish(t, b, more)
	rec2 := &recorder{}
	run(t, b, rec2.handler("test"))
	assertSeq(t, rec2.waitFor(t, 5, 20*time.Second), ids(more))
}

// TestLateCommitIsNotSkipped: an event whose transaction began (took its
// transaction id) earlier but commits later is neither lost nor overtaken:
// the subscriber reads nothing past a transaction still in progress. The
// order is that of transaction ids, not of commits.
func TestLateCommitIsNotSkipped(t *testing.T) {
	b := setup(t)
	rec := &recorder{}
	run(t, b, rec.handler("test"))

	early, late := events(1, action.StatusDead), events(1, action.StatusCompleted)
	tx, err := b.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if err := postgres.PublishLifecycle(t.Context(), tx, early); err != nil {
		t.Fatal(err)
	}
	publish(t, b, late) // commits first

	if got := rec.waitFor(t, 1, time.Second); len(got) != 0 {
		t.Fatalf("received %d events while an earlier transaction was open, want 0", len(got))
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertSeq(t, rec.waitFor(t, 2, 20*time.Second), append(ids(early), ids(late)...))
}

func TestNewRouterRejectsBadHandlers(t *testing.T) {
	db := &sql.DB{} // not used: NewRouter fails before subscribing
	fn := func(*message.Message) error { return nil }
	for _, tc := range []struct {
		name     string
		handlers []lifecycle.Handler
	}{
		{"no name", []lifecycle.Handler{{Fn: fn}}},
		{"no function", []lifecycle.Handler{{Name: "x"}}},
		{"built-in name", []lifecycle.Handler{{Name: lifecycle.MetricsHandlerName, Fn: fn}}},
		{"same name twice", []lifecycle.Handler{{Name: "x", Fn: fn}, {Name: "x", Fn: fn}}},
		{"too long", []lifecycle.Handler{{Name: fmt.Sprintf("%0300d", 0), Fn: fn}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := lifecycle.NewRouter(db, nil, tc.handlers...); err == nil {
				t.Fatal("NewRouter accepted them")
			}
		})
	}
}
