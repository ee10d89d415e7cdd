package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/action"
)

// recordStatusChanges makes the status changes known, in tx: a lifecycle
// event each, and a webhook notification through the outbox for each
// change whose client has a webhook. Everything commits with the change.
// The notifications are queued not ready; it returns their ids for the
// caller to mark the heads (settle) under the persons' locks.
func recordStatusChanges(ctx context.Context, tx pgx.Tx, events []LifecycleEvent) ([]uuid.UUID, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if err := PublishLifecycle(ctx, tx, events); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(events))
	actionIDs := make([]uuid.UUID, len(events))
	payloads := make([]string, len(events))
	for i, e := range events {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("notification id: %w", err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode notification: %w", err)
		}
		ids[i], actionIDs[i], payloads[i] = id, e.ActionID, string(b)
	}
	// person_key keeps one person's notifications in order, like deliveries:
	// they are queued not ready and the heads marked after (settle), since a
	// row cannot see the others this statement inserts.
	rows, err := tx.Query(ctx, `
		INSERT INTO outbox_messages (id, action_id, destination, person_key, state, due_at, created_at, updated_at, payload, counts_for_status, ready)
		SELECT n.id, a.id, $4, a.person_key, 'pending', now(), now(), now(), n.payload, false, false
		FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]) WITH ORDINALITY AS n(id, action_id, payload, ord)
		JOIN actions a ON a.id = n.action_id
		JOIN clients c ON c.id = a.client_id
		WHERE c.webhook_url <> '' AND c.revoked_at IS NULL
		ORDER BY n.ord
		RETURNING id`, ids, actionIDs, payloads, string(action.DestWebhook))
	if err != nil {
		return nil, fmt.Errorf("queue webhook notifications: %w", err)
	}
	queued, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("queue webhook notifications: %w", err)
	}
	return queued, nil
}
