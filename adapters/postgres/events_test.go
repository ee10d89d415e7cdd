package postgres_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/test/pgtest"
)

func TestPublishLifecycle(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	ctx := t.Context()
	count := func(t *testing.T) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM watermill_action_lifecycle`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	event := func(status action.Status) postgres.LifecycleEvent {
		return postgres.LifecycleEvent{
			ActionID: uuid.Must(uuid.NewV7()), Status: status, Kind: action.KindRegister,
			ClientID: "reg", Reason: "eddr: REFUSED", At: time.Now(),
		}
	}

	t.Run("rolled back: nothing", func(t *testing.T) {
		errRollback := errors.New("roll back")
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := postgres.PublishLifecycle(ctx, tx, []postgres.LifecycleEvent{event(action.StatusRejected)}); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("BeginFunc: %v", err)
		}
		if n := count(t); n != 0 {
			t.Fatalf("%d rows after rollback, want 0", n)
		}
	})

	t.Run("no events: no-op", func(t *testing.T) {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return postgres.PublishLifecycle(ctx, tx, nil)
		}); err != nil {
			t.Fatal(err)
		}
		if n := count(t); n != 0 {
			t.Fatalf("%d rows, want 0", n)
		}
	})

	t.Run("committed: visible, with the writer's transaction id", func(t *testing.T) {
		want := []postgres.LifecycleEvent{event(action.StatusRejected), event(action.StatusCompleted)}
		want[1].Reason = ""
		var xid uint64
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := postgres.PublishLifecycle(ctx, tx, want); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT pg_current_xact_id()`).Scan(&xid)
		}); err != nil {
			t.Fatal(err)
		}
		rows, err := pool.Query(ctx, `SELECT uuid, payload::text, metadata::text, transaction_id FROM watermill_action_lifecycle ORDER BY "offset"`)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			UUID, Payload, Metadata string
			Xid                     uint64
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d rows, want %d", len(got), len(want))
		}
		for i, r := range got {
			if _, err := uuid.Parse(r.UUID); err != nil {
				t.Errorf("row %d: uuid %q: %v", i, r.UUID, err)
			}
			if r.Xid != xid {
				t.Errorf("row %d: transaction_id %d, want the writer's %d", i, r.Xid, xid)
			}
			var fields map[string]any
			if err := json.Unmarshal([]byte(r.Payload), &fields); err != nil {
				t.Fatalf("row %d: payload %s: %v", i, r.Payload, err)
			}
			for _, k := range []string{"action_id", "status", "kind", "client_id", "at"} {
				if _, ok := fields[k]; !ok {
					t.Errorf("row %d: payload %s lacks %q", i, r.Payload, k)
				}
			}
			var e postgres.LifecycleEvent
			if err := json.Unmarshal([]byte(r.Payload), &e); err != nil {
				t.Fatal(err)
			}
			w := want[i]
			if e.ActionID != w.ActionID || e.Status != w.Status || e.Kind != w.Kind || e.ClientID != w.ClientID ||
				e.Reason != w.Reason || !e.At.Equal(w.At) {
				t.Errorf("row %d: event %+v, want %+v", i, e, w)
			}
			var md map[string]string
			if err := json.Unmarshal([]byte(r.Metadata), &md); err != nil {
				t.Fatalf("row %d: metadata %s: %v", i, r.Metadata, err)
			}
			if md[postgres.MetadataCorrelationID] != w.ActionID.String() || md[postgres.MetadataStatus] != string(w.Status) {
				t.Errorf("row %d: metadata %v", i, md)
			}
		}
	})
}
