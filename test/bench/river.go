package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
)

// deliverArgs is River's job: one delivery.
type deliverArgs struct{ delivery }

func (deliverArgs) Kind() string { return "deliver" }

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	pool    *pgxpool.Pool
	senders map[action.Destination]outbox.Sender
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	return deliver(ctx, w.pool, w.senders, job.Args.delivery, job.Attempt)
}

type riverAcceptor struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
}

// accept inserts the action row and one job per destination in one transaction.
func (a *riverAcceptor) accept(ctx context.Context, sub *action.Submission, id uuid.UUID, body []byte, ds []delivery, now time.Time) error {
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := insertAction(ctx, tx, sub, id, body, len(ds), now); err != nil {
		return err
	}
	params := make([]river.InsertManyParams, len(ds))
	for i, d := range ds {
		params[i] = river.InsertManyParams{Args: deliverArgs{d}}
	}
	if _, err := a.client.InsertManyTx(ctx, tx, params); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// setupRiver migrates River's and the bench's tables and returns a started client.
func setupRiver(ctx context.Context, pool *pgxpool.Pool, senders map[action.Destination]outbox.Sender, workers int) (*river.Client[pgx.Tx], error) {
	drv := riverpgxv5.New(pool)
	m, err := rivermigrate.New(drv, nil)
	if err != nil {
		return nil, err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	if _, err := pool.Exec(ctx, peerSchema); err != nil {
		return nil, err
	}
	ws := river.NewWorkers()
	river.AddWorker(ws, &deliverWorker{pool: pool, senders: senders})
	client, err := river.NewClient(drv, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		Workers:           ws,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
		Logger:            quietLogger(),
	})
	if err != nil {
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	return client, nil
}
