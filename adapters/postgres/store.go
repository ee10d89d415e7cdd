// Package postgres is the PostgreSQL adapter of the hub: it stores actions
// and their outbox messages in one transaction, lets relays claim due
// messages with FOR UPDATE SKIP LOCKED, writes delivery results in batches,
// and keeps the clients the API authenticates. Its schema is embedded and
// applied on start (migrate.go).
package postgres

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
)

// Store implements action.Store and outbox.Store on one pool.
type Store struct {
	pool *pgxpool.Pool
	// accepts, if set, groups concurrent accepts into shared transactions.
	accepts *acceptGroup
}

// New wraps a pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the underlying pool (health checks, tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

var (
	_ action.Store = (*Store)(nil)
	_ outbox.Store = (*Store)(nil)
)

// Insert stores the action and one outbox message per destination in one
// transaction: the action is accepted exactly when its messages are. With
// GroupAccepts on, concurrent accepts share transactions (accept_batch.go).
func (s *Store) Insert(ctx context.Context, a action.NewAction) (*action.Action, []byte, bool, error) {
	var created bool
	var err error
	if s.accepts != nil {
		created, err = s.accepts.insert(ctx, a)
	} else {
		created, err = s.insertOne(ctx, a)
	}
	var blocked *action.InjunctionError
	if errors.As(err, &blocked) {
		return s.existingOr(ctx, a, blocked)
	}
	if err != nil {
		return nil, nil, false, err
	}
	if created {
		return nil, nil, true, nil
	}
	return s.existing(ctx, a)
}

// insertOne stores one action in a single round trip.
func (s *Store) insertOne(ctx context.Context, a action.NewAction) (bool, error) {
	// One batch: one round trip, and one implicit transaction (a batch ends
	// with a single Sync).
	batch := &pgx.Batch{}
	queueLock(batch, []string{a.PersonKey})
	queueInsert(batch, a)
	br := s.pool.SendBatch(ctx, batch)
	_, lockErr := br.Exec()
	created, blocked, err := scanInsert(br.QueryRow())
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if lockErr != nil {
		err = lockErr
	}
	if err != nil {
		return false, fmt.Errorf("insert action and outbox messages: %w", err)
	}
	if blocked != nil {
		return false, blocked
	}
	return created, nil
}

// queueLock queues the statement taking the persons' accept locks, in one
// global order (that of lockPersons) so that transactions taking several
// never deadlock.
//
// Accepts for one person are serialised by the advisory lock (held to the
// end of the transaction), so that submission order — the messages' seq —
// is also commit order. A message is ready (the head of its person's queue
// to that destination) when nothing unresolved is queued before it; whoever
// resolves a message takes the same lock before marking the next head, so
// the two never miss each other. The lock is its own statement so that the
// inserts' snapshots are taken after it is granted: they then see whatever
// the previous holder — an accept, or a relay resolving this person's
// message — committed, and decide readiness on the current queue.
func queueLock(b *pgx.Batch, personKeys []string) {
	b.Queue(`
		SELECT pg_advisory_xact_lock(k) FROM (
			SELECT DISTINCT hashtextextended(p, 0) AS k FROM unnest($1::text[]) AS p ORDER BY k
		) s`, personKeys)
}

// queueInsert queues the insert of one action and its messages. A later
// statement of the same transaction sees the rows of an earlier one, so two
// actions of one person in one transaction queue up in order.
//
// The insert is conditional: when an injunction in force covers one of the
// action's guarded addresses (blockedSQL, guards.go), the statement stores
// nothing and names the injunction; the other statements of the
// transaction go on. Read it with scanInsert.
func queueInsert(b *pgx.Batch, a action.NewAction) {
	msgIDs := make([]uuid.UUID, len(a.Messages))
	dests := make([]string, len(a.Messages))
	for i, m := range a.Messages {
		msgIDs[i], dests[i] = m.ID, string(m.Destination)
	}
	g := guardArgs(a.Guarded)
	b.Queue(`
		WITH blocked AS (`+blockedSQL+`
		), new_action AS (
			INSERT INTO actions (id, reference, client_id, idempotency_key, body_hash, kind, status, person_key, body, created_at, updated_at, warnings, routing_version)
			SELECT $1::uuid, $2::text, $3::text, $4::text, $5::bytea, $6::text, 'pending', $7::text, $8::json, $9::timestamptz, $9::timestamptz, $18::jsonb, $19::text
			WHERE NOT EXISTS (SELECT 1 FROM blocked)
			ON CONFLICT (client_id, idempotency_key) DO NOTHING
			RETURNING id
		), messages AS (
			INSERT INTO outbox_messages (id, action_id, destination, person_key, state, due_at, created_at, updated_at, ready)
			SELECT m.id, new_action.id, m.destination, $7, 'pending', $9, $9, $9,
			       NOT EXISTS (SELECT 1 FROM outbox_messages e
			                   WHERE e.destination = m.destination AND e.person_key = $7
			                     AND e.state IN ('pending', 'awaiting_ack', 'dead'))
			FROM new_action, unnest($10::uuid[], $11::text[]) WITH ORDINALITY AS m(id, destination, n)
			ORDER BY m.n
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM new_action), b.id::text, b.reference, b.court, b.decided_on::text
		FROM (VALUES (1)) AS one LEFT JOIN blocked b ON true`,
		a.ID, a.Reference, a.ClientID, a.IdempotencyKey, a.BodyHash, string(a.Kind), a.PersonKey, string(a.Body), a.CreatedAt,
		msgIDs, dests, g.katottg, g.street, g.building, g.block, g.apartment, g.on, g.warnings, a.RoutingVersion)
}

// existing answers a resubmission: the key was used before and nothing was
// written; return what was.
func (s *Store) existing(ctx context.Context, a action.NewAction) (*action.Action, []byte, bool, error) {
	var id uuid.UUID
	var prevHash []byte
	if err := s.pool.QueryRow(ctx, `SELECT id, body_hash FROM actions WHERE client_id = $1 AND idempotency_key = $2`,
		a.ClientID, a.IdempotencyKey).Scan(&id, &prevHash); err != nil {
		return nil, nil, false, fmt.Errorf("find action by idempotency key: %w", err)
	}
	existing, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, false, err
	}
	return existing, prevHash, false, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Get returns one action with its deliveries.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*action.Action, error) {
	return getAction(ctx, s.pool, id)
}

const actionColumns = `id, reference, client_id, idempotency_key, kind, status, status_reason, body::text, created_at, updated_at, completed_at, warnings::text, routing_version`

func scanAction(row pgx.Row) (*action.Action, error) {
	var a action.Action
	var kind, status, body string
	var warnings *string
	if err := row.Scan(&a.ID, &a.Reference, &a.ClientID, &a.IdempotencyKey, &kind, &status, &a.StatusReason, &body,
		&a.CreatedAt, &a.UpdatedAt, &a.CompletedAt, &warnings, &a.RoutingVersion); err != nil {
		return nil, err
	}
	a.Kind, a.Status, a.Body = action.Kind(kind), action.Status(status), []byte(body)
	var err error
	a.Warnings, err = decodeWarnings(warnings)
	return &a, err
}

func getAction(ctx context.Context, q querier, id uuid.UUID) (*action.Action, error) {
	a, err := scanAction(q.QueryRow(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, action.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get action %s: %w", id, err)
	}
	byAction, err := deliveries(ctx, q, []uuid.UUID{id})
	if err != nil {
		return nil, err
	}
	a.Deliveries = byAction[id]
	return a, nil
}

func deliveries(ctx context.Context, q querier, ids []uuid.UUID) (map[uuid.UUID][]action.Delivery, error) {
	rows, err := q.Query(ctx, `
		SELECT action_id, id, destination, state, attempts, last_error, error_class, upstream_ref, receipt,
		       created_at, updated_at,
		       CASE WHEN state IN ('pending', 'awaiting_ack') THEN due_at END,
		       sent_at, acked_at
		FROM outbox_messages WHERE action_id = ANY($1) AND counts_for_status ORDER BY action_id, seq`, ids)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out := make(map[uuid.UUID][]action.Delivery, len(ids))
	for rows.Next() {
		var aid uuid.UUID
		var d action.Delivery
		var dest, state, class string
		if err := rows.Scan(&aid, &d.MessageID, &dest, &state, &d.Attempts, &d.LastError, &class, &d.UpstreamRef, &d.Receipt,
			&d.CreatedAt, &d.UpdatedAt, &d.NextAttemptAt, &d.SentAt, &d.AckedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan delivery: %w", err)
		}
		d.Destination, d.Status, d.ErrorClass = action.Destination(dest), action.DeliveryStatus(state), class
		out[aid] = append(out[aid], d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// List pages through actions, newest first, with an opaque keyset cursor.
func (s *Store) List(ctx context.Context, f action.ListFilter) (action.Page, error) {
	before := int64(1<<63 - 1)
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return action.Page{}, err
		}
		before = c
	}
	rows, err := s.pool.Query(ctx, `
		SELECT seq, `+actionColumns+` FROM actions
		WHERE seq < $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR client_id = $3)
		ORDER BY seq DESC LIMIT $4`, before, string(f.Status), f.ClientID, f.Limit+1)
	if err != nil {
		return action.Page{}, fmt.Errorf("list actions: %w", err)
	}
	var page action.Page
	var seqs []int64
	for rows.Next() {
		var seq int64
		var a action.Action
		var kind, status, body string
		var warnings *string
		if err := rows.Scan(&seq, &a.ID, &a.Reference, &a.ClientID, &a.IdempotencyKey, &kind, &status, &a.StatusReason, &body,
			&a.CreatedAt, &a.UpdatedAt, &a.CompletedAt, &warnings, &a.RoutingVersion); err != nil {
			rows.Close()
			return action.Page{}, fmt.Errorf("scan action: %w", err)
		}
		a.Kind, a.Status, a.Body = action.Kind(kind), action.Status(status), []byte(body)
		var err error
		if a.Warnings, err = decodeWarnings(warnings); err != nil {
			rows.Close()
			return action.Page{}, err
		}
		page.Actions = append(page.Actions, a)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return action.Page{}, fmt.Errorf("list actions: %w", err)
	}
	if len(page.Actions) > f.Limit {
		page.Actions = page.Actions[:f.Limit]
		page.NextCursor = encodeCursor(seqs[f.Limit-1])
	}
	ids := make([]uuid.UUID, len(page.Actions))
	for i, a := range page.Actions {
		ids[i] = a.ID
	}
	byAction, err := deliveries(ctx, s.pool, ids)
	if err != nil {
		return action.Page{}, err
	}
	for i := range page.Actions {
		page.Actions[i].Deliveries = byAction[page.Actions[i].ID]
	}
	return page, nil
}

func encodeCursor(seq int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8 {
		return 0, fmt.Errorf("%w: %.64q", action.ErrBadCursor, c)
	}
	seq := int64(binary.BigEndian.Uint64(b))
	// base64 ignores spare bits and line breaks: only the exact text this
	// store issued is a cursor.
	if encodeCursor(seq) != c {
		return 0, fmt.Errorf("%w: %.64q", action.ErrBadCursor, c)
	}
	return seq, nil
}

// Claim leases due messages. Only heads (ready) are claimed, which keeps
// each person's messages to one destination in submission order; SKIP
// LOCKED lets several relays claim side by side without waiting on each
// other or taking the same row. Paused destinations and those whose circuit
// is not closed are skipped.
func (s *Store) Claim(ctx context.Context, limit int, lease time.Duration, token uuid.UUID) ([]outbox.Message, error) {
	return s.claim(ctx, s.pool, limit, lease, token, "")
}

// claim is Claim, or with dest set, a claim of that destination only (the
// circuit breaker's probe), whatever its switches say.
func (s *Store) claim(ctx context.Context, q querier, limit int, lease time.Duration, token uuid.UUID, dest string) ([]outbox.Message, error) {
	rows, err := q.Query(ctx, `
		WITH due AS (
			SELECT m.id FROM outbox_messages m
			WHERE m.ready AND m.state IN ('pending', 'awaiting_ack') AND m.due_at <= now()
			  AND CASE WHEN $4 = '' THEN m.destination NOT IN (
			               SELECT name FROM destinations WHERE paused OR circuit_state <> 'closed')
			           ELSE m.destination = $4 END
			ORDER BY m.due_at
			LIMIT $1
			FOR UPDATE OF m SKIP LOCKED
		)
		UPDATE outbox_messages m
		SET due_at = now() + $2::interval,
		    claim_token = $3,
		    attempts = m.attempts + CASE WHEN m.state = 'pending' THEN 1 ELSE 0 END,
		    updated_at = now()
		FROM due, actions a
		WHERE m.id = due.id AND a.id = m.action_id
		RETURNING m.id, m.action_id, a.reference, m.destination, a.kind, COALESCE(m.payload::text, a.body::text), m.state, m.attempts,
		          m.receipt, m.ack_deadline, m.created_at, m.person_key`, limit, lease, token, dest)
	if err != nil {
		return nil, fmt.Errorf("claim outbox messages: %w", err)
	}
	var out []outbox.Message
	for rows.Next() {
		var m outbox.Message
		var dest, kind, body, state string
		if err := rows.Scan(&m.ID, &m.ActionID, &m.ActionRef, &dest, &kind, &body, &state, &m.Attempt,
			&m.Receipt, &m.AckDeadline, &m.CreatedAt, &m.PersonKey); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan claimed message: %w", err)
		}
		m.Destination, m.Kind, m.Body, m.ClaimToken = action.Destination(dest), action.Kind(kind), []byte(body), token
		m.Stage = outbox.StageSend
		if state == string(action.DeliveryAwaitingAck) {
			m.Stage = outbox.StagePoll
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim outbox messages: %w", err)
	}
	return out, nil
}

// Complete writes a batch of results and derives the status of each action
// concerned, in one transaction.
func (s *Store) Complete(ctx context.Context, results []outbox.Result) ([]outbox.StatusChange, error) {
	actionIDs := make([]uuid.UUID, 0, len(results))
	for _, r := range results {
		actionIDs = append(actionIDs, r.ActionID)
	}

	var changes []outbox.StatusChange
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Locking the actions first serialises relays that complete two
		// messages of one action at once: each then sees the other's result
		// when it derives the status.
		if err := lockActions(ctx, tx, actionIDs); err != nil {
			return err
		}
		if err := writeResults(ctx, tx, results); err != nil {
			return err
		}
		var notes []uuid.UUID
		var err error
		changes, notes, err = deriveStatus(ctx, tx, actionIDs)
		if err != nil {
			return err
		}
		ids := make([]uuid.UUID, 0, len(results)+len(notes))
		for _, r := range results {
			ids = append(ids, r.MessageID)
		}
		return settle(ctx, tx, append(ids, notes...))
	})
	if err != nil {
		return nil, err
	}
	return changes, nil
}

// writeResults writes a batch of results, and their attempts, in one
// set-based statement. A result whose claim token no longer matches (its
// lease was lost to another relay) changes nothing and records nothing.
func writeResults(ctx context.Context, tx pgx.Tx, results []outbox.Result) error {
	n := len(results)
	var (
		ids, tokens                      = make([]uuid.UUID, n), make([]uuid.UUID, n)
		states, receipts, refs, lastErrs = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		classes, stages, outcomes        = make([]string, n), make([]string, n), make([]string, n)
		attemptClasses, details          = make([]string, n), make([]string, n)
		dueAts, ackDeadlines             = make([]*time.Time, n), make([]*time.Time, n)
		startedAts                       = make([]time.Time, n)
		sent                             = make([]bool, n)
		attempts                         = make([]int32, n)
		durations                        = make([]int64, n)
	)
	for i, r := range results {
		ids[i], tokens[i], states[i] = r.MessageID, r.ClaimToken, string(r.State)
		if !r.DueAt.IsZero() {
			d := r.DueAt
			dueAts[i] = &d
		}
		receipts[i], ackDeadlines[i], refs[i] = r.Receipt, r.AckDeadline, r.UpstreamRef
		lastErrs[i], classes[i], sent[i] = r.LastError, string(r.ErrorClass), r.Sent
		attempts[i], stages[i], startedAts[i] = int32(r.Attempt.Number), string(r.Attempt.Stage), r.Attempt.StartedAt
		durations[i], outcomes[i] = r.Attempt.Duration.Microseconds(), r.Attempt.Outcome
		attemptClasses[i], details[i] = string(r.Attempt.ErrorClass), r.Attempt.Detail
	}
	if _, err := tx.Exec(ctx, `
		WITH r AS (
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::timestamptz[],
			                     $7::text[], $8::text[], $9::text[], $10::bool[], $11::int[], $12::text[],
			                     $13::timestamptz[], $14::bigint[], $15::text[], $16::text[], $17::text[])
			  AS r(id, token, state, due_at, receipt, ack_deadline, upstream_ref, last_error, error_class, sent,
			       attempt, stage, started_at, duration_us, outcome, attempt_class, detail)
		), upd AS (
			UPDATE outbox_messages m SET
				state = r.state,
				due_at = COALESCE(r.due_at, m.due_at),
				receipt = r.receipt,
				ack_deadline = r.ack_deadline,
				upstream_ref = CASE WHEN r.upstream_ref = '' THEN m.upstream_ref ELSE r.upstream_ref END,
				last_error = r.last_error,
				error_class = r.error_class,
				sent_at = CASE WHEN r.sent THEN COALESCE(m.sent_at, now()) ELSE m.sent_at END,
				acked_at = CASE WHEN r.state = 'acknowledged' THEN now() ELSE m.acked_at END,
				claim_token = NULL,
				updated_at = now()
			FROM r
			WHERE m.id = r.id AND m.claim_token = r.token
			RETURNING m.id
		)
		INSERT INTO delivery_attempts (message_id, attempt, stage, started_at, duration_us, outcome, error_class, detail)
		SELECT r.id, r.attempt, r.stage, r.started_at, r.duration_us, r.outcome, r.attempt_class, r.detail
		FROM r JOIN upd ON upd.id = r.id`,
		ids, tokens, states, dueAts, receipts, ackDeadlines, refs, lastErrs, classes, sent,
		attempts, stages, startedAts, durations, outcomes, attemptClasses, details); err != nil {
		return fmt.Errorf("write delivery results: %w", err)
	}
	return nil
}

// settle ends a transaction that resolved or queued messages: it marks the
// heads of the queues the given messages belong to. The caller holds the
// locks of the actions' persons (deriveStatus takes them).
func settle(ctx context.Context, tx pgx.Tx, messageIDs []uuid.UUID) error {
	if len(messageIDs) == 0 {
		return nil
	}
	return promoteHeads(ctx, tx, messageIDs)
}

// promoteHeads marks the head of each queue (destination, person) that one
// of the given messages belongs to: after a message is resolved the next
// one may be claimed. Heads that are ready already are left alone. The
// caller holds the persons' locks.
func promoteHeads(ctx context.Context, tx pgx.Tx, messageIDs []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `
		UPDATE outbox_messages m SET ready = true
		FROM (
			SELECT h.id
			FROM (SELECT DISTINCT destination, person_key FROM outbox_messages WHERE id = ANY($1)) q
			CROSS JOIN LATERAL (
				SELECT e.id FROM outbox_messages e
				WHERE e.destination = q.destination AND e.person_key = q.person_key
				  AND e.state IN ('pending', 'awaiting_ack', 'dead')
				ORDER BY e.seq LIMIT 1
			) h
		) heads
		WHERE m.id = heads.id AND NOT m.ready`, messageIDs); err != nil {
		return fmt.Errorf("promote queue heads: %w", err)
	}
	return nil
}

// deriveStatus sets each action's status from its messages: rejected if any
// upstream rejected it, dead if any message ran out of retries, completed
// when every destination acknowledged, pending otherwise. Cancelled stays.
// Each change is published as a lifecycle event in tx, so the event commits
// with the change or not at all, whichever caller derived it.
//
// It returns the notifications it queued, for settle.
func deriveStatus(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) ([]outbox.StatusChange, []uuid.UUID, error) {
	// The persons' locks come before the actions' rows change: an accept
	// holds its person's lock while its insert waits on a changed row of
	// the same idempotency key, so taking them the other way round would
	// deadlock a resubmission against its action's completion. Late
	// otherwise — after the results are written — so that accepts for
	// these persons wait only for the rest of the transaction.
	if err := lockPersons(ctx, tx, ids); err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, `
		UPDATE actions a SET
			status = s.status,
			status_reason = s.reason,
			updated_at = now(),
			completed_at = CASE WHEN s.status = 'pending' THEN NULL ELSE now() END
		FROM (
			SELECT action_id,
			       CASE WHEN bool_or(state = 'rejected') THEN 'rejected'
			            WHEN bool_or(state = 'dead') THEN 'dead'
			            WHEN bool_and(state = 'acknowledged') THEN 'completed'
			            ELSE 'pending' END AS status,
			       COALESCE(string_agg(destination || ': ' || last_error, '; ' ORDER BY destination)
			                FILTER (WHERE state IN ('rejected', 'dead')), '') AS reason
			FROM outbox_messages WHERE action_id = ANY($1) AND counts_for_status GROUP BY action_id
		) s
		WHERE a.id = s.action_id AND a.status <> 'cancelled' AND a.status <> s.status
		RETURNING a.id, a.status, a.kind, a.client_id, a.status_reason, a.updated_at`, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("derive action status: %w", err)
	}
	var (
		changes []outbox.StatusChange
		events  []LifecycleEvent
	)
	for rows.Next() {
		var e LifecycleEvent
		var st, kind string
		if err := rows.Scan(&e.ActionID, &st, &kind, &e.ClientID, &e.Reason, &e.At); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("scan status change: %w", err)
		}
		e.Status, e.Kind = action.Status(st), action.Kind(kind)
		changes = append(changes, outbox.StatusChange{ActionID: e.ActionID, Status: e.Status})
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("derive action status: %w", err)
	}
	notes, err := recordStatusChanges(ctx, tx, events)
	if err != nil {
		return nil, nil, err
	}
	var completed []uuid.UUID
	for _, c := range changes {
		if c.Status == action.StatusCompleted {
			completed = append(completed, c.ActionID)
		}
	}
	if err := applyRegistrations(ctx, tx, completed); err != nil {
		return nil, nil, err
	}
	return changes, notes, nil
}
