package metrics

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newAction(person string, age time.Duration) action.NewAction {
	id := uuid.Must(uuid.NewV7())
	return action.NewAction{
		ID: id, Reference: "RH-" + id.String(), ClientID: "reg", IdempotencyKey: id.String(),
		BodyHash: []byte("h"), Kind: action.KindRegister, PersonKey: person,
		Body:      []byte(`{"kind":"residence.register"}`),
		CreatedAt: time.Now().Add(-age),
		Messages: []action.NewMessage{
			{ID: uuid.Must(uuid.NewV7()), Destination: action.DestMigrationService},
			{ID: uuid.Must(uuid.NewV7()), Destination: action.DestNationalRegistry},
		},
	}
}

func TestBacklogGauges(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.Pool(t)
	store := postgres.New(pool)
	if err := store.AddClient(ctx, auth.Client{ID: "reg", Name: "registry", Role: auth.RoleRegistry}, auth.HashToken("tok")); err != nil {
		t.Fatal(err)
	}
	a1, a2, a3 := newAction("unzr:1", 10*time.Minute), newAction("unzr:2", 5*time.Minute), newAction("unzr:3", time.Minute)
	for _, a := range []action.NewAction{a1, a2, a3} {
		if _, _, created, err := store.Insert(ctx, a); err != nil || !created {
			t.Fatalf("insert: created=%v err=%v", created, err)
		}
	}
	setState := func(id uuid.UUID, state action.DeliveryStatus) {
		t.Helper()
		if _, err := pool.Exec(ctx, `UPDATE outbox_messages SET state = $2 WHERE id = $1`, id, string(state)); err != nil {
			t.Fatal(err)
		}
	}
	// dms:  a1 pending (10 min), a2 awaiting_ack (5 min), a3 pending (1 min)
	// eddr: a1 acknowledged (not counted), a2 pending (5 min), a3 dead
	setState(a2.Messages[0].ID, action.DeliveryAwaitingAck)
	setState(a1.Messages[1].ID, action.DeliveryAcknowledged)
	setState(a3.Messages[1].ID, action.DeliveryDead)

	if err := refresh(ctx, store); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	want := map[[2]string]float64{
		{"dms", "pending"}: 2, {"dms", "awaiting_ack"}: 1, {"dms", "dead"}: 0,
		{"eddr", "pending"}: 1, {"eddr", "awaiting_ack"}: 0, {"eddr", "dead"}: 1,
	}
	checkCounts(t, want)
	checkAge(t, "dms", 10*time.Minute)
	checkAge(t, "eddr", 5*time.Minute)

	// dms drains: its series read 0 rather than their last values.
	for _, a := range []action.NewAction{a1, a2, a3} {
		setState(a.Messages[0].ID, action.DeliveryAcknowledged)
	}
	if err := refresh(ctx, store); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	want[[2]string{"dms", "pending"}], want[[2]string{"dms", "awaiting_ack"}] = 0, 0
	checkCounts(t, want)
	if got := value(t, oldestPendingAge.WithLabelValues("dms")); got != 0 {
		t.Errorf("dms oldest pending age after draining = %v; want 0", got)
	}
	checkAge(t, "eddr", 5*time.Minute)
}

func checkCounts(t *testing.T, want map[[2]string]float64) {
	t.Helper()
	if n := seriesCount(outboxMessages); n != len(want) {
		t.Errorf("reghub_outbox_messages has %d series; want %d", n, len(want))
	}
	for k, w := range want {
		if got := value(t, outboxMessages.WithLabelValues(k[0], k[1])); got != w {
			t.Errorf("reghub_outbox_messages{destination=%q,state=%q} = %v; want %v", k[0], k[1], got, w)
		}
	}
}

func checkAge(t *testing.T, dest string, want time.Duration) {
	t.Helper()
	got := value(t, oldestPendingAge.WithLabelValues(dest))
	if got < want.Seconds()-1 || got > want.Seconds()+60 {
		t.Errorf("reghub_outbox_oldest_pending_age_seconds{destination=%q} = %v; want about %v", dest, got, want.Seconds())
	}
}

// value reads a gauge. (prometheus/testutil would do, but it needs a module
// that go.mod does not list.)
func value(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatalf("read gauge: %v", err)
	}
	return m.GetGauge().GetValue()
}

// seriesCount is the number of series c exports.
func seriesCount(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for range ch {
		n++
	}
	return n
}

type failingSource struct{ calls atomic.Int32 }

func (f *failingSource) Backlog(context.Context) ([]postgres.BacklogRow, error) {
	f.calls.Add(1)
	return nil, errors.New("database down")
}

func TestRunBacklogGaugesRefreshesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	src := &failingSource{}
	done := make(chan struct{})
	go func() {
		RunBacklogGauges(ctx, src, 10*time.Millisecond, slog.New(slog.DiscardHandler))
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for src.calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunBacklogGauges did not return after its context was cancelled")
	}
	if n := src.calls.Load(); n < 3 {
		t.Fatalf("Backlog called %d times in 5s at a 10ms interval", n)
	}
}
