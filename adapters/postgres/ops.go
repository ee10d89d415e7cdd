package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/audit"
	"github.com/reghub/reghub/ops"
)

var _ ops.Store = (*Store)(nil)

const deliveryColumns = `m.seq, m.id, m.action_id, a.reference, a.kind, m.destination, m.state, a.status, m.attempts,
	m.last_error, m.error_class, m.upstream_ref, m.receipt, m.created_at, m.updated_at,
	CASE WHEN m.state IN ('pending', 'awaiting_ack') THEN m.due_at END`

func scanDelivery(row pgx.Row, extra ...any) (int64, ops.Delivery, error) {
	var d ops.Delivery
	var seq int64
	var kind, dest, state, astatus string
	targets := []any{&seq, &d.MessageID, &d.ActionID, &d.ActionRef, &kind, &dest, &state, &astatus, &d.Attempts,
		&d.LastError, &d.ErrorClass, &d.UpstreamRef, &d.Receipt, &d.CreatedAt, &d.UpdatedAt, &d.NextAttemptAt}
	if err := row.Scan(append(targets, extra...)...); err != nil {
		return 0, d, err
	}
	d.Kind, d.Destination, d.Status, d.ActionStatus = action.Kind(kind), action.Destination(dest), action.DeliveryStatus(state), action.Status(astatus)
	return seq, d, nil
}

// filterSQL is the WHERE clause shared by listing and bulk retry; its
// arguments start at $1.
const filterSQL = `(cardinality($1::text[]) = 0 OR m.state = ANY($1))
	AND ($2 = '' OR m.destination = $2)
	AND ($3 = '' OR m.error_class = $3)
	AND ($4 = '' OR a.kind = $4)
	AND ($5::bigint = 0 OR m.created_at <= now() - make_interval(secs => $5::bigint))`

func filterArgs(f ops.Filter) []any {
	states := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		states[i] = string(s)
	}
	return []any{states, string(f.Destination), f.ErrorClass, string(f.Kind), int64(f.OlderThan / time.Second)}
}

// ListDeliveries pages through deliveries, newest first.
func (s *Store) ListDeliveries(ctx context.Context, f ops.Filter) ([]ops.Delivery, string, error) {
	before := int64(1<<63 - 1)
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		before = c
	}
	args := append(filterArgs(f), before, f.Limit+1)
	rows, err := s.pool.Query(ctx, `
		SELECT `+deliveryColumns+`
		FROM outbox_messages m JOIN actions a ON a.id = m.action_id
		WHERE `+filterSQL+` AND m.seq < $6
		ORDER BY m.seq DESC LIMIT $7`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []ops.Delivery
	var seqs []int64
	for rows.Next() {
		seq, d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", fmt.Errorf("scan delivery: %w", err)
		}
		out = append(out, d)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = encodeCursor(seqs[f.Limit-1])
	}
	return out, next, nil
}

// Delivery returns one delivery with its stored submission and attempts.
func (s *Store) Delivery(ctx context.Context, id uuid.UUID) (*ops.Delivery, []ops.Attempt, error) {
	var body string
	_, d, err := scanDelivery(s.pool.QueryRow(ctx, `
		SELECT `+deliveryColumns+`, COALESCE(m.payload::text, a.body::text)
		FROM outbox_messages m JOIN actions a ON a.id = m.action_id WHERE m.id = $1`, id), &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("%w: delivery %s", ops.ErrNotFound, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get delivery %s: %w", id, err)
	}
	d.Body = []byte(body)
	rows, err := s.pool.Query(ctx, `
		SELECT attempt, stage, started_at, duration_us, outcome, error_class, detail
		FROM delivery_attempts WHERE message_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("list attempts of %s: %w", id, err)
	}
	defer rows.Close()
	var attempts []ops.Attempt
	for rows.Next() {
		var a ops.Attempt
		var us int64
		if err := rows.Scan(&a.Number, &a.Stage, &a.StartedAt, &us, &a.Outcome, &a.ErrorClass, &a.Detail); err != nil {
			return nil, nil, fmt.Errorf("scan attempt: %w", err)
		}
		a.Duration = time.Duration(us) * time.Microsecond
		attempts = append(attempts, a)
	}
	return &d, attempts, rows.Err()
}

// Destinations returns each destination's switches and unresolved backlog.
// Acknowledged messages are the bulk of the table and are not counted.
func (s *Store) Destinations(ctx context.Context) ([]ops.DestinationState, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.name, d.paused, d.paused_reason, d.circuit_state,
		       CASE WHEN d.circuit_state <> 'closed' THEN d.circuit_open_until END,
		       COALESCE(c.counts, '{}'), c.oldest
		FROM destinations d
		LEFT JOIN LATERAL (
			SELECT jsonb_object_agg(state, n) AS counts, min(oldest) AS oldest
			FROM (
				SELECT state, count(*) AS n,
				       min(created_at) FILTER (WHERE state IN ('pending', 'awaiting_ack')) AS oldest
				FROM outbox_messages
				WHERE destination = d.name AND state IN ('pending', 'awaiting_ack', 'dead', 'rejected', 'cancelled')
				GROUP BY state
			) per_state
		) c ON true
		ORDER BY d.name`)
	if err != nil {
		return nil, fmt.Errorf("read destinations: %w", err)
	}
	defer rows.Close()
	var out []ops.DestinationState
	for rows.Next() {
		var d ops.DestinationState
		var name string
		var counts []byte
		if err := rows.Scan(&name, &d.Paused, &d.PausedReason, &d.Circuit, &d.CircuitOpenUntil, &counts, &d.OldestPending); err != nil {
			return nil, fmt.Errorf("scan destination: %w", err)
		}
		d.Name = action.Destination(name)
		if err := json.Unmarshal(counts, &d.Counts); err != nil {
			return nil, fmt.Errorf("decode counts: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// insertStep appends an operator step inside tx, and its record to the
// audit log (audit.go) in the same transaction.
func insertStep(ctx context.Context, tx pgx.Tx, st ops.Step) error {
	details := st.Details
	if len(details) == 0 {
		details = json.RawMessage(`{}`)
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO operator_steps (at, actor, role, operation, target, reason, details) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		st.At, st.Actor, st.Role, st.Operation, st.Target, st.Reason, details).Scan(&id); err != nil {
		return fmt.Errorf("record operator step: %w", err)
	}
	if err := appendInTx(ctx, tx, audit.ForStep(st, id)); err != nil {
		return fmt.Errorf("record operator step: %w", err)
	}
	return nil
}

// lockActions locks actions in id order: every transaction that changes
// deliveries and derives an action's status takes its locks this way, so
// they serialise per action and never deadlock.
//
// The advisory locks come first because they give the transaction no id:
// lifecycle events are read in transaction-id order, and a transaction that
// waited for another on the same action must get the later id, or the
// action's events would be read out of order.
func lockActions(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	if _, err := tx.Exec(ctx, `
		SELECT pg_advisory_xact_lock(k) FROM (
			SELECT DISTINCT hashtextextended('action:' || id::text, 0) AS k FROM unnest($1::uuid[]) AS id ORDER BY k
		) s`, ids); err != nil {
		return fmt.Errorf("lock actions: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM actions WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids); err != nil {
		return fmt.Errorf("lock actions: %w", err)
	}
	return nil
}

// lockPersons takes the queue locks of the actions' persons, as an accept
// takes them: marking the next head must not interleave with an accept
// deciding whether its message is a head. Taken after lockActions.
func lockPersons(ctx context.Context, tx pgx.Tx, actionIDs []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `
		SELECT pg_advisory_xact_lock(k) FROM (
			SELECT DISTINCT hashtextextended(person_key, 0) AS k FROM actions WHERE id = ANY($1) ORDER BY k
		) s`, actionIDs); err != nil {
		return fmt.Errorf("lock persons: %w", err)
	}
	return nil
}

// Retry makes the selected dead or pending (not in flight) deliveries due
// now with a fresh attempt budget. Rejections are not retried: the upstream
// deduplicates by message id and would repeat its decision.
func (s *Store) Retry(ctx context.Context, st ops.Step, ids []uuid.UUID, f *ops.Filter) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var sel pgx.Rows
		var err error
		if f != nil {
			sel, err = tx.Query(ctx, `SELECT m.id, m.action_id FROM outbox_messages m JOIN actions a ON a.id = m.action_id
				WHERE `+filterSQL+` AND `+retryableSQL, filterArgs(*f)...)
		} else {
			sel, err = tx.Query(ctx, `SELECT m.id, m.action_id FROM outbox_messages m WHERE m.id = ANY($1) AND `+retryableSQL, ids)
		}
		if err != nil {
			return fmt.Errorf("select deliveries to retry: %w", err)
		}
		var msgIDs, actionIDs []uuid.UUID
		for sel.Next() {
			var m, a uuid.UUID
			if err := sel.Scan(&m, &a); err != nil {
				sel.Close()
				return fmt.Errorf("scan delivery to retry: %w", err)
			}
			msgIDs, actionIDs = append(msgIDs, m), append(actionIDs, a)
		}
		if err := sel.Err(); err != nil {
			return fmt.Errorf("select deliveries to retry: %w", err)
		}
		if len(msgIDs) > 0 {
			if err := lockActions(ctx, tx, actionIDs); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `
				UPDATE outbox_messages m SET state = 'pending', attempts = 0, due_at = now(), claim_token = NULL,
				       receipt = '', ack_deadline = NULL, updated_at = now()
				WHERE m.id = ANY($1) AND `+retryableSQL, msgIDs)
			if err != nil {
				return fmt.Errorf("retry deliveries: %w", err)
			}
			n = int(tag.RowsAffected())
			_, notes, err := deriveStatus(ctx, tx, actionIDs)
			if err != nil {
				return err
			}
			if err := settle(ctx, tx, notes); err != nil {
				return err
			}
		}
		var details map[string]any
		if len(st.Details) > 0 {
			if err := json.Unmarshal(st.Details, &details); err != nil {
				return fmt.Errorf("step details: %w", err)
			}
		} else {
			details = map[string]any{}
		}
		details["retried"] = n
		st.Details, err = json.Marshal(details)
		if err != nil {
			return fmt.Errorf("step details: %w", err)
		}
		return insertStep(ctx, tx, st)
	})
	return n, err
}

// CancelAction cancels a pending or dead action and every unresolved
// delivery of it; a delivery in flight has its lease revoked, so its result
// is ignored.
func (s *Store) CancelAction(ctx context.Context, st ops.Step, actionID uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockActions(ctx, tx, []uuid.UUID{actionID}); err != nil {
			return err
		}
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM actions WHERE id = $1`, actionID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: action %s", ops.ErrNotFound, actionID)
		}
		if err != nil {
			return fmt.Errorf("lock action: %w", err)
		}
		if status != string(action.StatusPending) && status != string(action.StatusDead) {
			return fmt.Errorf("%w: action %s is %s; only pending or dead actions can be cancelled", ops.ErrConflict, actionID, status)
		}
		// Before the action's row changes, as deriveStatus does.
		if err := lockPersons(ctx, tx, []uuid.UUID{actionID}); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			UPDATE outbox_messages SET state = 'cancelled', claim_token = NULL, updated_at = now()
			WHERE action_id = $1 AND counts_for_status AND state IN ('pending', 'awaiting_ack', 'dead')
			RETURNING id`, actionID)
		if err != nil {
			return fmt.Errorf("cancel deliveries: %w", err)
		}
		cancelled, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("cancel deliveries: %w", err)
		}

		var kind, clientID string
		var at time.Time
		if err := tx.QueryRow(ctx, `
			UPDATE actions SET status = 'cancelled', status_reason = $2, updated_at = now(), completed_at = now()
			WHERE id = $1 RETURNING kind, client_id, updated_at`, actionID, "cancelled by "+st.Actor+": "+st.Reason).
			Scan(&kind, &clientID, &at); err != nil {
			return fmt.Errorf("cancel action: %w", err)
		}
		// The local registry hears of the cancellation through the event.
		notes, err := recordStatusChanges(ctx, tx, []LifecycleEvent{{ActionID: actionID, Status: action.StatusCancelled,
			Kind: action.Kind(kind), ClientID: clientID, Reason: st.Reason, At: at}})
		if err != nil {
			return err
		}
		if err := settle(ctx, tx, append(cancelled, notes...)); err != nil {
			return err
		}
		return insertStep(ctx, tx, st)
	})
}

// Acknowledge marks an unresolved delivery acknowledged by hand.
func (s *Store) Acknowledge(ctx context.Context, st ops.Step, messageID uuid.UUID, reference string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var actionID uuid.UUID
		var attempts int
		err := tx.QueryRow(ctx, `SELECT action_id, attempts FROM outbox_messages WHERE id = $1`, messageID).Scan(&actionID, &attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: delivery %s", ops.ErrNotFound, messageID)
		}
		if err != nil {
			return fmt.Errorf("find delivery: %w", err)
		}
		if err := lockActions(ctx, tx, []uuid.UUID{actionID}); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE outbox_messages SET state = 'acknowledged', upstream_ref = $2, acked_at = now(), claim_token = NULL,
			       last_error = '', error_class = '', updated_at = now()
			WHERE id = $1 AND state IN ('pending', 'awaiting_ack', 'dead')`, messageID, reference)
		if err != nil {
			return fmt.Errorf("acknowledge delivery: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: delivery %s is already resolved", ops.ErrConflict, messageID)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO delivery_attempts (message_id, attempt, stage, started_at, duration_us, outcome, detail)
			VALUES ($1, $2, 'manual', $3, 0, 'acknowledged_by_operator', $4)`,
			messageID, attempts, st.At, "ref="+reference+" by "+st.Actor+": "+st.Reason); err != nil {
			return fmt.Errorf("record manual acknowledgement: %w", err)
		}
		_, notes, err := deriveStatus(ctx, tx, []uuid.UUID{actionID})
		if err != nil {
			return err
		}
		if err := settle(ctx, tx, append([]uuid.UUID{messageID}, notes...)); err != nil {
			return err
		}
		return insertStep(ctx, tx, st)
	})
}

// SetPaused pauses or resumes a destination.
func (s *Store) SetPaused(ctx context.Context, st ops.Step, dest action.Destination, paused bool) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		reason := ""
		if paused {
			reason = st.Reason
		}
		tag, err := tx.Exec(ctx, `UPDATE destinations SET paused = $2, paused_reason = $3, updated_at = now() WHERE name = $1`,
			string(dest), paused, reason)
		if err != nil {
			return fmt.Errorf("pause destination: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: destination %q", ops.ErrNotFound, dest)
		}
		return insertStep(ctx, tx, st)
	})
}

// Steps lists operator steps, newest first, optionally for one target.
func (s *Store) Steps(ctx context.Context, target string, limit int) ([]ops.Step, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, actor, role, operation, target, reason, details
		FROM operator_steps WHERE ($1 = '' OR target = $1) ORDER BY id DESC LIMIT $2`, target, limit)
	if err != nil {
		return nil, fmt.Errorf("list operator steps: %w", err)
	}
	defer rows.Close()
	var out []ops.Step
	for rows.Next() {
		var st ops.Step
		if err := rows.Scan(&st.ID, &st.At, &st.Actor, &st.Role, &st.Operation, &st.Target, &st.Reason, &st.Details); err != nil {
			return nil, fmt.Errorf("scan operator step: %w", err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// retryableSQL selects what a retry may change: dead deliveries, and
// pending ones not in flight. Rejections are not retried: the upstream
// deduplicates by message id and would repeat its decision.
const retryableSQL = `m.state IN ('dead', 'pending') AND NOT (m.state = 'pending' AND m.claim_token IS NOT NULL AND m.due_at > now())`

// CountRetryable counts the deliveries Retry with filter f would retry now.
func (s *Store) CountRetryable(ctx context.Context, f ops.Filter) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox_messages m JOIN actions a ON a.id = m.action_id
		WHERE `+filterSQL+` AND `+retryableSQL, filterArgs(f)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count retryable deliveries: %w", err)
	}
	return n, nil
}
