package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/action"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
)

// The peers (River, watermill-sql) keep the action in this table: one row per
// action, acknowledged once every destination answered. The HTTP API below
// is the subset of reghub's that localregistry.RunLoad uses, so that every
// contender is driven and measured by the same client.
const peerSchema = `
CREATE TABLE IF NOT EXISTS bench_actions (
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    person_key   text NOT NULL,
    body         json NOT NULL,
    status       text NOT NULL,
    destinations int  NOT NULL,
    acked        int  NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    completed_at timestamptz
);
CREATE INDEX IF NOT EXISTS bench_actions_status_seq ON bench_actions (status, seq);`

// delivery is one message to one destination: the job's or the event's payload.
type delivery struct {
	MessageID   uuid.UUID          `json:"message_id"`
	ActionID    uuid.UUID          `json:"action_id"`
	Destination action.Destination `json:"destination"`
	Kind        action.Kind        `json:"kind"`
	Body        json.RawMessage    `json:"body"`
	CreatedAt   time.Time          `json:"created_at"`
}

// acceptor stores one validated action and its deliveries in one transaction.
type acceptor interface {
	accept(ctx context.Context, sub *action.Submission, id uuid.UUID, body []byte, ds []delivery, now time.Time) error
}

func newSenders(dmsURL, eddrURL string) map[action.Destination]outbox.Sender {
	return soapclient.NewSenders(soapclient.Config{
		DMSURL: dmsURL, EDDRURL: eddrURL, Timeout: 10 * time.Second,
		RegistrationBody: mapping.RegistrationBody{Code: "UA1204-RB001", Name: "Демонстраційний орган реєстрації"},
	}, nil)
}

// deliver sends d with the hub's SOAP sender and records the answer.
func deliver(ctx context.Context, pool *pgxpool.Pool, senders map[action.Destination]outbox.Sender, d delivery, attempt int) error {
	s, ok := senders[d.Destination]
	if !ok {
		return fmt.Errorf("no sender for %s", d.Destination)
	}
	reply, err := s.Send(ctx, outbox.Message{
		ID: d.MessageID, ActionID: d.ActionID, ActionRef: "RH-" + d.ActionID.String(),
		Destination: d.Destination, Kind: d.Kind, Body: d.Body, Stage: outbox.StageSend,
		Attempt: attempt, CreatedAt: d.CreatedAt,
	})
	if err != nil {
		return err
	}
	final := "completed"
	if reply.Kind == outbox.ReplyRejected {
		final = "rejected"
	}
	_, err = pool.Exec(ctx, `
		UPDATE bench_actions SET acked = acked + 1,
		       status = CASE WHEN acked + 1 >= destinations THEN $2 ELSE status END,
		       completed_at = CASE WHEN acked + 1 >= destinations THEN $3::timestamptz END
		WHERE id = $1`, d.ActionID, final, time.Now())
	return err
}

// peerAPI serves POST /v1/actions and GET /v1/actions over bench_actions.
func peerAPI(pool *pgxpool.Pool, acc acceptor) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /v1/actions", func(w http.ResponseWriter, r *http.Request) {
		var body json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now()
		sub, err := action.Parse(body, now)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		spec, _ := action.Spec(sub.Kind)
		id, _ := uuid.NewV7()
		ds := make([]delivery, 0, len(spec.Destinations))
		for _, dest := range spec.Destinations {
			mid, _ := uuid.NewV7()
			ds = append(ds, delivery{MessageID: mid, ActionID: id, Destination: dest, Kind: sub.Kind, Body: body, CreatedAt: now})
		}
		if err := acc.accept(r.Context(), sub, id, body, ds, now); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "status": "pending", "created_at": now})
	})
	mux.HandleFunc("GET /v1/actions", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit <= 0 || limit > 1000 {
			limit = 100
		}
		cursor, _ := strconv.ParseInt(r.URL.Query().Get("cursor"), 10, 64)
		status := r.URL.Query().Get("status")
		rows, err := pool.Query(r.Context(), `
			SELECT seq, id, status, created_at, completed_at FROM bench_actions
			WHERE seq > $1 AND ($2 = '' OR status = $2) ORDER BY seq LIMIT $3`, cursor, status, limit)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		type item struct {
			ID          uuid.UUID  `json:"id"`
			Status      string     `json:"status"`
			CreatedAt   time.Time  `json:"created_at"`
			CompletedAt *time.Time `json:"completed_at"`
		}
		items := []item{}
		var last int64
		for rows.Next() {
			var it item
			if err := rows.Scan(&last, &it.ID, &it.Status, &it.CreatedAt, &it.CompletedAt); err != nil {
				rows.Close()
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			items = append(items, it)
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		next := ""
		if len(items) == limit {
			next = strconv.FormatInt(last, 10)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "next_cursor": next})
	})
	return mux
}

// insertAction writes the action row inside the caller's transaction.
func insertAction(ctx context.Context, tx pgx.Tx, sub *action.Submission, id uuid.UUID, body []byte, n int, now time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO bench_actions (id, kind, person_key, body, status, destinations, created_at)
		VALUES ($1, $2, $3, $4, 'pending', $5, $6)`, id, string(sub.Kind), sub.PersonKey(), string(body), n, now)
	return err
}

var errUsage = errors.New("usage")
