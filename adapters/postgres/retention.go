package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Retention keeps the hot tables bounded however long the hub runs: it
// deletes the history that nothing needs any more, in small transactions.
//
// What is deleted, once its last change is older than the retention period:
//
//   - actions in a final status — completed, rejected or cancelled — none of
//     whose outbox messages is unresolved (pending, awaiting_ack or dead:
//     a rejected action may still have a delivery to the other destination
//     under way, and a completed one a webhook notification) or changed
//     within the period; dead and pending actions are never deleted, they
//     await an operator or the upstreams;
//   - with each, its outbox messages — deliveries and webhook notifications,
//     which live in the same table — and their delivery attempts:
//     outbox_messages is the only table with a foreign key to actions, and
//     delivery_attempts the only one with a foreign key to outbox_messages
//     (migrations 001 to 006);
//   - lifecycle events (watermill_action_lifecycle) older than the period
//     that every consumer group has consumed (watermill_offsets_action_lifecycle).
//
// operator_steps is never touched: the audit trail is kept forever (a trigger
// refuses DELETE on it anyway). It has no foreign key to actions or messages
// — its target is text — so an operator's step outlives the action it was
// about, and still names it by id.
//
// The Idempotency-Key is honoured for the retention period only: it is
// checked against the actions table, so a submission that reuses the key of
// an action already deleted is accepted as a new action. Hence the long
// default (400 days) and the floor of MinRetention. Likewise a pull-feed
// reader whose cursor is older than the period misses the events deleted
// meanwhile.
//
// Why retention and not partitioning by time: the (client_id,
// idempotency_key) uniqueness would hold per partition only, and the feed's
// and the claims' indexes would be split too; deleting old rows keeps every
// table and index small with the schema as it is.

// MinRetention is the shortest retention PruneHistory accepts: a shorter one
// would forget idempotency keys a registry may still be retrying with.
const MinRetention = 24 * time.Hour

// DefaultRetentionBatch is how many actions (or lifecycle events) one
// transaction deletes: small enough that no lock is held long and no WAL
// burst is large.
const DefaultRetentionBatch = 1000

// The session advisory lock that makes one replica at a time prune. It uses
// the two-int4 key space (pg_try_advisory_lock(int4, int4)), which never
// meets the single bigint keys taken elsewhere: the per-person and
// per-action locks of the store (hashtextextended), and tern's migration
// lock.
const (
	retentionLockClass int32 = 0x72656768 // "regh"
	retentionLockID    int32 = 1          // retention
)

// terminalStatuses are the action statuses retention may delete, each
// walked through the (status, seq) index.
var terminalStatuses = []string{"completed", "rejected", "cancelled"}

var retentionDeleted = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "reghub_retention_deleted_rows_total",
	Help: "Rows deleted by the retention job, by table.",
}, []string{"table"})

// Tables the retention job deletes from, as the counter's table label.
const (
	tableActions          = "actions"
	tableOutboxMessages   = "outbox_messages"
	tableDeliveryAttempts = "delivery_attempts"
	tableLifecycleEvents  = "watermill_action_lifecycle"
)

// RetentionOptions tell PruneHistory what to delete and how fast.
type RetentionOptions struct {
	// Retain is how long history is kept after its last change; at least
	// MinRetention.
	Retain time.Duration
	// BatchSize is how many actions, or lifecycle events, one transaction
	// looks at (and deletes at most); DefaultRetentionBatch when 0.
	BatchSize int
	// Pause is a wait between transactions, to leave room to other work
	// while a long backlog is deleted; none when 0.
	Pause time.Duration
}

// RetentionReport says what one PruneHistory run did.
type RetentionReport struct {
	// Skipped is true when another session (another replica) was pruning:
	// this run did nothing.
	Skipped bool
	// Cutoff is the database time before which history was deleted.
	Cutoff time.Time
	// Rows deleted per table.
	Actions, OutboxMessages, DeliveryAttempts, LifecycleEvents int64
	// Batches is the number of transactions that ran.
	Batches int
	// SlowestConsumer is the consumer group whose offset bounds the
	// lifecycle events that may be deleted ("" when no group has
	// subscribed yet, in which case no event was deleted).
	SlowestConsumer string
}

// PruneHistory deletes the history older than opt.Retain (see the comment
// at the top of this file for what and why), in transactions of at most
// opt.BatchSize actions or events. Only one session per database prunes at
// a time: when another holds the retention lock it returns at once with
// Skipped set. The report counts what was deleted even when an error (or
// ctx) stops the run half-way; every batch that committed stays deleted.
func (s *Store) PruneHistory(ctx context.Context, opt RetentionOptions) (RetentionReport, error) {
	var rep RetentionReport
	if opt.Retain < MinRetention {
		return rep, fmt.Errorf("retention: %s is shorter than the minimum %s (idempotency keys are forgotten after it)", opt.Retain, MinRetention)
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultRetentionBatch
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return rep, fmt.Errorf("retention: acquire connection: %w", err)
	}
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, retentionLockClass, retentionLockID).Scan(&locked); err != nil {
		conn.Release()
		return rep, fmt.Errorf("retention: take lock: %w", err)
	}
	if !locked {
		conn.Release()
		rep.Skipped = true
		return rep, nil
	}
	defer unlockRetention(ctx, conn)

	// The database's clock, the one every updated_at is written with.
	if err := conn.QueryRow(ctx, `SELECT now() - $1::interval`, opt.Retain).Scan(&rep.Cutoff); err != nil {
		return rep, fmt.Errorf("retention: cutoff: %w", err)
	}
	p := pruner{conn: conn.Conn(), opt: opt, cutoff: rep.Cutoff, rep: &rep}
	for _, status := range terminalStatuses {
		if err := p.actions(ctx, status); err != nil {
			return rep, err
		}
	}
	if err := p.lifecycleEvents(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// unlockRetention releases the retention lock and the connection. A
// connection whose unlock failed may still hold the lock, so it is closed
// instead of going back to the pool (closing the session releases it).
func unlockRetention(ctx context.Context, conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var unlocked bool
	err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1, $2)`, retentionLockClass, retentionLockID).Scan(&unlocked)
	if err != nil || !unlocked {
		c := conn.Hijack()
		_ = c.Close(ctx)
		return
	}
	conn.Release()
}

type pruner struct {
	conn   *pgx.Conn
	opt    RetentionOptions
	cutoff time.Time
	rep    *RetentionReport
}

// pause waits opt.Pause between batches, or until ctx is done.
func (p *pruner) pause(ctx context.Context) error {
	if p.opt.Pause <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(p.opt.Pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// actions walks the actions of one final status in seq order through the
// index actions_status_seq (status, seq) of migration 001 — or actions_seq
// with a filter, when the planner finds nearly every row has that status —
// and deletes the deletable ones, one batch per transaction. No new index:
// nothing is added to the accept path's writes. Deleting a batch then uses
// the existing indexes on outbox_messages (action_id) and delivery_attempts
// (message_id, id).
//
// The walk stops at the first action created after the cutoff: seq follows
// acceptance order, so every later action is younger still (an action's
// updated_at is never before its created_at). A kept action older than that
// — one with an unresolved message — is looked at again by every run, which
// costs one index entry each. Accepts that committed out of seq order by a
// few milliseconds may wait for the next run.
func (p *pruner) actions(ctx context.Context, status string) error {
	var after int64
	for {
		last, scanned, done, err := p.actionBatch(ctx, status, after)
		if err != nil {
			return err
		}
		if done || scanned < p.opt.BatchSize {
			return nil
		}
		after = last
		if err := p.pause(ctx); err != nil {
			return err
		}
	}
}

// deletableSQL is true for an action a that may be deleted: final status,
// last changed before the cutoff ($cutoff), and no outbox message (delivery
// or notification) that is unresolved or changed since the cutoff.
const deletableSQL = `a.status IN ('completed', 'rejected', 'cancelled') AND a.updated_at < $%[1]d
	AND NOT EXISTS (
		SELECT 1 FROM outbox_messages m
		WHERE m.action_id = a.id
		  AND (m.state NOT IN ('acknowledged', 'rejected', 'cancelled') OR m.updated_at >= $%[1]d))`

// actionBatch looks at the next BatchSize actions of status after seq
// after, and deletes those that are deletable, with their messages and
// attempts, in one transaction. It returns the last seq looked at, how many
// were looked at, and whether the walk reached actions younger than the
// cutoff.
func (p *pruner) actionBatch(ctx context.Context, status string, after int64) (last int64, scanned int, done bool, err error) {
	var deleted [3]int64 // attempts, messages, actions
	err = pgx.BeginFunc(ctx, p.conn, func(tx pgx.Tx) error {
		// Reading needs no lock: a candidate is only a candidate.
		rows, err := tx.Query(ctx, `
			SELECT a.id, a.seq, a.created_at >= $4, `+fmt.Sprintf(deletableSQL, 4)+`
			FROM actions a
			WHERE a.status = $1 AND a.seq > $2
			ORDER BY a.seq
			LIMIT $3`, status, after, p.opt.BatchSize, p.cutoff)
		if err != nil {
			return fmt.Errorf("retention: scan %s actions: %w", status, err)
		}
		var candidates []uuid.UUID
		for rows.Next() {
			var id uuid.UUID
			var young, deletable bool
			if err := rows.Scan(&id, &last, &young, &deletable); err != nil {
				rows.Close()
				return fmt.Errorf("retention: scan %s actions: %w", status, err)
			}
			scanned++
			done = done || young
			if deletable {
				candidates = append(candidates, id)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("retention: scan %s actions: %w", status, err)
		}
		if len(candidates) == 0 {
			return nil
		}
		// Every transaction that changes an action's deliveries or status
		// first locks the action's row (lockActions). SKIP LOCKED leaves
		// such an action alone, for a later run, instead of waiting on it:
		// retention never waits for the hot path, and never deadlocks with
		// it. One that commits after our lock waits for us and then finds
		// nothing.
		rows, err = tx.Query(ctx, `SELECT id FROM actions WHERE id = ANY($1) ORDER BY id FOR UPDATE SKIP LOCKED`, candidates)
		if err != nil {
			return fmt.Errorf("retention: lock actions: %w", err)
		}
		locked, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("retention: lock actions: %w", err)
		}
		if len(locked) == 0 {
			return nil
		}
		// Check again on a snapshot taken now that the rows are locked:
		// one that changed between the scan and the lock is seen here.
		rows, err = tx.Query(ctx, `SELECT a.id FROM actions a WHERE a.id = ANY($1) AND `+fmt.Sprintf(deletableSQL, 2),
			locked, p.cutoff)
		if err != nil {
			return fmt.Errorf("retention: check actions: %w", err)
		}
		victims, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("retention: check actions: %w", err)
		}
		if len(victims) == 0 {
			return nil
		}
		// Children first, so that the foreign keys hold at every step.
		batch := &pgx.Batch{}
		batch.Queue(`DELETE FROM delivery_attempts d USING outbox_messages m
			WHERE d.message_id = m.id AND m.action_id = ANY($1)`, victims)
		batch.Queue(`DELETE FROM outbox_messages WHERE action_id = ANY($1)`, victims)
		batch.Queue(`DELETE FROM actions WHERE id = ANY($1)`, victims)
		br := tx.SendBatch(ctx, batch)
		for i, table := range []string{tableDeliveryAttempts, tableOutboxMessages, tableActions} {
			tag, err := br.Exec()
			if err != nil {
				_ = br.Close()
				return fmt.Errorf("retention: delete %s of %d actions: %w", table, len(victims), err)
			}
			deleted[i] = tag.RowsAffected()
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("retention: delete actions: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, 0, false, err
	}
	p.rep.Batches++
	p.count(tableDeliveryAttempts, deleted[0], &p.rep.DeliveryAttempts)
	p.count(tableOutboxMessages, deleted[1], &p.rep.OutboxMessages)
	p.count(tableActions, deleted[2], &p.rep.Actions)
	return last, scanned, done, nil
}

func (p *pruner) count(table string, n int64, total *int64) {
	*total += n
	if n > 0 {
		retentionDeleted.WithLabelValues(table).Add(float64(n))
	}
}

// lifecycleEvents deletes the lifecycle events older than the cutoff that
// every consumer group has consumed, walking the primary key
// (transaction_id, "offset") — the order watermill reads them in — up to
// the slowest group's offset. No group at all (the router has not
// subscribed yet) deletes nothing: a group that subscribes later starts
// from the first event.
//
// The walk stops at the first event newer than the cutoff: transaction ids
// follow time, so the rest are newer too (give or take a transaction's
// duration; such stragglers go in a later run). created_at is a timestamp
// without time zone written by CURRENT_TIMESTAMP, so the cutoff is
// converted in the session's time zone, as it was.
func (p *pruner) lifecycleEvents(ctx context.Context) error {
	var group, boundXID string
	var boundOffset int64
	err := p.conn.QueryRow(ctx, `
		SELECT consumer_group, last_processed_transaction_id::text, COALESCE(offset_acked, 0)
		FROM watermill_offsets_action_lifecycle
		ORDER BY last_processed_transaction_id, COALESCE(offset_acked, 0)
		LIMIT 1`).Scan(&group, &boundXID, &boundOffset)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("retention: read lifecycle consumers' offsets: %w", err)
	}
	p.rep.SlowestConsumer = group

	afterXID, afterOffset := "0", int64(0)
	for {
		var scanned, deleted int64
		var allOld bool
		var lastXID *string
		var lastOffset *int64
		if err := p.conn.QueryRow(ctx, `
			WITH s AS (
				SELECT transaction_id, "offset", created_at < $5::timestamptz::timestamp AS old
				FROM watermill_action_lifecycle
				WHERE (transaction_id, "offset") > ($1::text::xid8, $2::bigint)
				  AND (transaction_id, "offset") <= ($3::text::xid8, $4::bigint)
				ORDER BY transaction_id, "offset"
				LIMIT $6
			), d AS (
				DELETE FROM watermill_action_lifecycle w USING s
				WHERE w.transaction_id = s.transaction_id AND w."offset" = s."offset" AND s.old
				RETURNING 1
			), l AS (
				SELECT transaction_id, "offset" FROM s ORDER BY transaction_id DESC, "offset" DESC LIMIT 1
			)
			SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM d), COALESCE((SELECT bool_and(old) FROM s), true),
			       (SELECT transaction_id::text FROM l), (SELECT "offset" FROM l)`,
			afterXID, afterOffset, boundXID, boundOffset, p.cutoff, p.opt.BatchSize).
			Scan(&scanned, &deleted, &allOld, &lastXID, &lastOffset); err != nil {
			return fmt.Errorf("retention: delete lifecycle events: %w", err)
		}
		p.rep.Batches++
		p.count(tableLifecycleEvents, deleted, &p.rep.LifecycleEvents)
		if !allOld || scanned < int64(p.opt.BatchSize) || lastXID == nil {
			return nil
		}
		afterXID, afterOffset = *lastXID, *lastOffset
		if err := p.pause(ctx); err != nil {
			return err
		}
	}
}
