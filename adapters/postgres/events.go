package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/action"
)

// LifecycleTopic is the watermill topic of action lifecycle events. Its
// tables (watermill_action_lifecycle and watermill_offsets_action_lifecycle)
// come from migration 002; adapters/lifecycle consumes it.
const LifecycleTopic = "action_lifecycle"

// Metadata keys set on every lifecycle message, so that consumers can route
// on them without decoding the payload.
const (
	// MetadataCorrelationID is watermill's correlation id key
	// (middleware.CorrelationIDMetadataKey); its value is the action id.
	MetadataCorrelationID = "correlation_id"
	// MetadataStatus holds the action's new status.
	MetadataStatus = "status"
)

// LifecycleEvent says that an action moved to a status. It is the JSON
// payload of a message on LifecycleTopic and carries no personal data: no
// names, no document or tax numbers, no person key.
type LifecycleEvent struct {
	ActionID uuid.UUID     `json:"action_id"`
	Status   action.Status `json:"status"`
	Kind     action.Kind   `json:"kind"`
	ClientID string        `json:"client_id"`
	// Reason is the action's status reason (the upstreams' rejection or
	// last error, per destination); empty for completed actions.
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// lifecycleSchema renders the messages table's SQL: watermill-sql's default
// PostgreSQL schema, so that its subscriber reads what we write.
var lifecycleSchema = wmsql.DefaultPostgreSQLSchema{}

// PublishLifecycle inserts one message per event on LifecycleTopic in tx, as
// watermill-sql's publisher would (same table, same columns, transaction_id =
// pg_current_xact_id()), so the events commit with the status change that
// caused them, or not at all. No events is a no-op.
func PublishLifecycle(ctx context.Context, tx pgx.Tx, events []LifecycleEvent) error {
	if len(events) == 0 {
		return nil
	}
	msgs := make(message.Messages, 0, len(events))
	for _, e := range events {
		msg, err := lifecycleMessage(e)
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	q, err := lifecycleSchema.InsertQuery(LifecycleTopic, msgs)
	if err != nil {
		return fmt.Errorf("publish lifecycle events: %w", err)
	}
	if _, err := tx.Exec(ctx, q.Query, q.Args...); err != nil {
		return fmt.Errorf("publish lifecycle events: %w", err)
	}
	return nil
}

func lifecycleMessage(e LifecycleEvent) (*message.Message, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("lifecycle event id: %w", err)
	}
	e.At = e.At.UTC()
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode lifecycle event of action %s: %w", e.ActionID, err)
	}
	msg := message.NewMessage(id.String(), payload)
	msg.Metadata.Set(MetadataCorrelationID, e.ActionID.String())
	msg.Metadata.Set(MetadataStatus, string(e.Status))
	return msg, nil
}

// DecodeLifecycleEvent reads a lifecycle message's payload.
func DecodeLifecycleEvent(msg *message.Message) (LifecycleEvent, error) {
	var e LifecycleEvent
	if err := json.Unmarshal(msg.Payload, &e); err != nil {
		return LifecycleEvent{}, fmt.Errorf("decode lifecycle event %s: %w", msg.UUID, err)
	}
	return e, nil
}
