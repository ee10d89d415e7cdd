package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/notice"
)

var _ notice.Store = (*Store)(nil)

// noticeEventType marks a notice among the lifecycle topic's messages; the
// feed (feed.go) reads it as an action.EventNotice.
const noticeEventType = "notice"

// noticeEvent is the payload of a notice's message on LifecycleTopic: like
// LifecycleEvent it carries no personal data, only ids; the feed joins the
// notice from the notices table. ClientID is the registry it is for, as in
// LifecycleEvent, so the feed's filter serves both.
type noticeEvent struct {
	Type     string    `json:"type"`
	NoticeID uuid.UUID `json:"notice_id"`
	ActionID uuid.UUID `json:"action_id,omitzero"`
	ClientID string    `json:"client_id"`
	At       time.Time `json:"at"`
}

// ReceiveNotice stores a notice and, only when it is new, relays it to the
// local registry, in one transaction (notice.Store). The unique X-Road id
// and notice id make a repeat a duplicate (ON CONFLICT), answered with the
// notice first stored.
//
// Relay: the notice goes to the registry client that submitted the action
// it concerns — found by the hub's action id, else by the migration
// service's record id of the action (upstream_ref of its dms delivery) —
// if that client is still active; otherwise, the action being unknown to
// the hub (or its client revoked), to every active registry client. Each
// recipient gets one message on the lifecycle topic with its client_id, so
// that each registry reads it once in its own feed, in transaction order
// with its status changes. With no registry client at all, one message
// without a client is written: operators and auditors still see it.
//
// Looking an action up by its record id scans the dms deliveries (there is
// no index on upstream_ref, to keep the relay's writes as they are); notices
// are rare, and one naming the hub's action id is found by its key.
func (s *Store) ReceiveNotice(ctx context.Context, m notice.Message) (notice.Received, bool, error) {
	payload, err := json.Marshal(m.Notice)
	if err != nil {
		return notice.Received{}, false, fmt.Errorf("encode notice: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return notice.Received{}, false, fmt.Errorf("notice id: %w", err)
	}
	var (
		out notice.Received
		dup bool
	)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out, dup = notice.Received{}, false
		// A repeat is answered without looking the action up again.
		if r, found, err := existingNotice(ctx, tx, m, payload); found || err != nil {
			out, dup = r, err == nil
			return err
		}
		actionID, recipients, err := noticeRecipients(ctx, tx, m.Notice)
		if err != nil {
			return err
		}
		var receivedAt time.Time
		var actionCol *uuid.UUID // NULL when unknown
		if actionID != uuid.Nil {
			actionCol = &actionID
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO notices (id, message_id, notice_id, kind, sender, user_id, issue, action_id, recipients, payload, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
			ON CONFLICT DO NOTHING
			RETURNING received_at`,
			id, m.MessageID, m.Notice.NoticeID, string(m.Notice.Kind), m.Sender, m.UserID, m.Issue, actionCol, recipients, string(payload),
		).Scan(&receivedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			// Stored meanwhile by another session, which committed first.
			r, found, err := existingNotice(ctx, tx, m, payload)
			if err == nil && !found {
				// Gone again (only by hand): the sender may try again.
				err = errors.New("a notice met a conflict, then no notice: try again")
			}
			out, dup = r, err == nil
			return err
		}
		if err != nil {
			return fmt.Errorf("insert notice: %w", err)
		}
		out = notice.Received{ID: id, Message: m, ActionID: actionID, Recipients: recipients, ReceivedAt: receivedAt}
		return publishNotice(ctx, tx, out)
	})
	if err != nil {
		return notice.Received{}, false, err
	}
	return out, dup, nil
}

// noticeRecipients finds the action a notice concerns (uuid.Nil when the
// hub does not know it) and the registry clients to relay it to.
func noticeRecipients(ctx context.Context, tx pgx.Tx, n notice.Notice) (uuid.UUID, []string, error) {
	var (
		actionID uuid.UUID
		owner    string
		found    bool
	)
	if id, ok := n.ActionUUID(); ok {
		err := tx.QueryRow(ctx, `SELECT id, client_id FROM actions WHERE id = $1`, id).Scan(&actionID, &owner)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, pgx.ErrNoRows):
			return uuid.Nil, nil, fmt.Errorf("find the notice's action: %w", err)
		}
	}
	if !found && n.Action.UpstreamReference != "" {
		err := tx.QueryRow(ctx, `
			SELECT a.id, a.client_id
			FROM outbox_messages m JOIN actions a ON a.id = m.action_id
			WHERE m.destination = $1 AND m.upstream_ref = $2
			ORDER BY m.seq DESC
			LIMIT 1`, string(action.DestMigrationService), n.Action.UpstreamReference).Scan(&actionID, &owner)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, pgx.ErrNoRows):
			return uuid.Nil, nil, fmt.Errorf("find the notice's action by its record id: %w", err)
		}
	}
	if found {
		var active bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients WHERE id = $1 AND revoked_at IS NULL)`, owner).Scan(&active); err != nil {
			return uuid.Nil, nil, fmt.Errorf("find the action's client: %w", err)
		}
		if active {
			return actionID, []string{owner}, nil
		}
	}
	rows, err := tx.Query(ctx, `SELECT id FROM clients WHERE role = 'registry' AND revoked_at IS NULL ORDER BY id`)
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("list registry clients: %w", err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("list registry clients: %w", err)
	}
	if all == nil {
		all = []string{}
	}
	return actionID, all, nil
}

// existingNotice reads the notice stored under m's X-Road id or notice id,
// if any (found). The message is a duplicate when it carries the very
// notice stored; otherwise one of the ids was reused for another notice,
// and the error wraps notice.ErrConflict.
func existingNotice(ctx context.Context, tx pgx.Tx, m notice.Message, payload []byte) (r notice.Received, found bool, err error) {
	rows, err := tx.Query(ctx, `
		SELECT id, message_id, sender, user_id, issue, action_id, recipients, payload::text, received_at,
		       payload = $3::jsonb
		FROM notices WHERE message_id = $1 OR notice_id = $2`, m.MessageID, m.Notice.NoticeID, string(payload))
	if err != nil {
		return notice.Received{}, false, fmt.Errorf("read the notice received before: %w", err)
	}
	type stored struct {
		r    notice.Received
		same bool // the same notice as m's
	}
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (stored, error) {
		var out stored
		var payload string
		var actionID *uuid.UUID
		r := &out.r
		if err := row.Scan(&r.ID, &r.MessageID, &r.Sender, &r.UserID, &r.Issue, &actionID, &r.Recipients, &payload, &r.ReceivedAt, &out.same); err != nil {
			return out, err
		}
		if err := json.Unmarshal([]byte(payload), &r.Notice); err != nil {
			return out, fmt.Errorf("decode stored notice %s: %w", r.ID, err)
		}
		if actionID != nil {
			r.ActionID = *actionID
		}
		return out, nil
	})
	if err != nil {
		return notice.Received{}, false, fmt.Errorf("read the notice received before: %w", err)
	}
	switch {
	case len(rs) == 0:
		return notice.Received{}, false, nil
	case len(rs) > 1:
		return notice.Received{}, true, fmt.Errorf("%w: its X-Road id and its notice id were each received before, with two other notices", notice.ErrConflict)
	}
	f := rs[0]
	switch {
	case f.r.Notice.NoticeID != m.Notice.NoticeID:
		return notice.Received{}, true, fmt.Errorf("%w: its X-Road id was received before with another notice id", notice.ErrConflict)
	case !f.same && f.r.MessageID == m.MessageID:
		return notice.Received{}, true, fmt.Errorf("%w: its X-Road id was received before with this notice id and different content", notice.ErrConflict)
	case !f.same:
		return notice.Received{}, true, fmt.Errorf("%w: its notice id was received before with different content", notice.ErrConflict)
	}
	return f.r, true, nil
}

// publishNotice writes one message per recipient on LifecycleTopic, in tx,
// as PublishLifecycle writes status changes (watermill-sql's own insert).
func publishNotice(ctx context.Context, tx pgx.Tx, r notice.Received) error {
	clients := r.Recipients
	if len(clients) == 0 {
		clients = []string{""} // operators and auditors read it still
	}
	msgs := make(message.Messages, 0, len(clients))
	for _, c := range clients {
		mid, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("notice event id: %w", err)
		}
		payload, err := json.Marshal(noticeEvent{Type: noticeEventType, NoticeID: r.ID, ActionID: r.ActionID, ClientID: c, At: r.ReceivedAt.UTC()})
		if err != nil {
			return fmt.Errorf("encode notice event: %w", err)
		}
		msg := message.NewMessage(mid.String(), payload)
		msg.Metadata.Set(MetadataCorrelationID, r.ID.String())
		msgs = append(msgs, msg)
	}
	q, err := lifecycleSchema.InsertQuery(LifecycleTopic, msgs)
	if err != nil {
		return fmt.Errorf("relay notice: %w", err)
	}
	if _, err := tx.Exec(ctx, q.Query, q.Args...); err != nil {
		return fmt.Errorf("relay notice: %w", err)
	}
	return nil
}

// noticeViews reads the notices of the feed's notice events, as the
// registry reads them (notice.View as JSON), by the hub's notice id.
func (s *Store) noticeViews(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]json.RawMessage, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, payload::text, received_at FROM notices WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read notices: %w", err)
	}
	defer rows.Close()
	out := make(map[uuid.UUID]json.RawMessage, len(ids))
	for rows.Next() {
		var v notice.View
		var payload string
		if err := rows.Scan(&v.ID, &payload, &v.ReceivedAt); err != nil {
			return nil, fmt.Errorf("scan notice: %w", err)
		}
		if err := json.Unmarshal([]byte(payload), &v.Notice); err != nil {
			return nil, fmt.Errorf("decode notice %s: %w", v.ID, err)
		}
		v.ReceivedAt = v.ReceivedAt.UTC()
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode notice %s: %w", v.ID, err)
		}
		out[v.ID] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read notices: %w", err)
	}
	return out, nil
}
