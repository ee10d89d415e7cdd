package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
)

// watermill-sql's subscriber hands out one message at a time per topic and
// waits for its ack, so each destination is split into partitions (topics),
// chosen by person key, each with its own subscriber.
func wmTopic(dest action.Destination, part int) string {
	return fmt.Sprintf("deliver_%s_%d", dest, part)
}

type watermillAcceptor struct {
	db    *sql.DB
	pool  *pgxpool.Pool
	parts int
}

// accept writes the action row and publishes one message per destination in
// one database/sql transaction (watermill-sql's publisher on the *sql.Tx).
func (a *watermillAcceptor) accept(ctx context.Context, sub *action.Submission, id uuid.UUID, body []byte, ds []delivery, now time.Time) error {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO bench_actions (id, kind, person_key, body, status, destinations, created_at)
		VALUES ($1, $2, $3, $4, 'pending', $5, $6)`, id, string(sub.Kind), sub.PersonKey(), string(body), len(ds), now); err != nil {
		return err
	}
	pub, err := wsql.NewPublisher(tx, wsql.PublisherConfig{SchemaAdapter: wsql.DefaultPostgreSQLSchema{}}, watermill.NopLogger{})
	if err != nil {
		return err
	}
	h := fnv.New32a()
	h.Write([]byte(sub.PersonKey()))
	part := int(h.Sum32() % uint32(a.parts))
	for _, d := range ds {
		payload, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := pub.Publish(wmTopic(d.Destination, part), message.NewMessage(d.MessageID.String(), payload)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// setupWatermill creates the bench table and a subscriber per topic (which
// creates the topic's tables), and starts delivering.
func setupWatermill(ctx context.Context, pool *pgxpool.Pool, senders map[action.Destination]outbox.Sender, parts int) (*watermillAcceptor, error) {
	if _, err := pool.Exec(ctx, peerSchema); err != nil {
		return nil, err
	}
	db := stdlib.OpenDBFromPool(pool)
	for _, dest := range []action.Destination{action.DestMigrationService, action.DestNationalRegistry} {
		for p := range parts {
			topic := wmTopic(dest, p)
			sub, err := wsql.NewSubscriber(db, wsql.SubscriberConfig{
				SchemaAdapter:    wsql.DefaultPostgreSQLSchema{},
				OffsetsAdapter:   wsql.DefaultPostgreSQLOffsetsAdapter{},
				InitializeSchema: true,
				PollInterval:     20 * time.Millisecond,
			}, watermill.NopLogger{})
			if err != nil {
				return nil, err
			}
			if err := sub.SubscribeInitialize(topic); err != nil {
				return nil, fmt.Errorf("initialise %s: %w", topic, err)
			}
			msgs, err := sub.Subscribe(ctx, topic)
			if err != nil {
				return nil, err
			}
			go func() {
				attempts := map[string]int{}
				for msg := range msgs {
					var d delivery
					if err := json.Unmarshal(msg.Payload, &d); err != nil {
						msg.Ack() // poison: drop
						continue
					}
					attempts[msg.UUID]++
					if err := deliver(ctx, pool, senders, d, attempts[msg.UUID]); err != nil {
						msg.Nack()
						continue
					}
					delete(attempts, msg.UUID)
					msg.Ack()
				}
			}()
		}
	}
	return &watermillAcceptor{db: db, pool: pool, parts: parts}, nil
}
