package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/reghub/reghub/adapters/postgres"
)

// defaultRetain is how long completed history is kept: 400 days. The
// Idempotency-Key is honoured for that long only (see
// postgres.PruneHistory), so it is long on purpose.
const defaultRetain = 400 * 24 * time.Hour

// defaultRetentionEvery is the interval between retention runs.
const defaultRetentionEvery = time.Hour

// retentionFirstRun is how long after start the first run waits, so that a
// starting hub first serves and delivers.
const retentionFirstRun = time.Minute

// retainFlag is the --retain flag: a duration, 0 to disable retention, and
// otherwise at least postgres.MinRetention, refused at start.
type retainFlag time.Duration

func (f *retainFlag) String() string { return time.Duration(*f).String() }

func (f *retainFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if err := checkRetain(d); err != nil {
		return err
	}
	*f = retainFlag(d)
	return nil
}

// checkRetain refuses a retention that would forget idempotency keys too
// soon: 0 (off) or at least postgres.MinRetention.
func checkRetain(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("retention %s is negative (0 disables retention)", d)
	case d != 0 && d < postgres.MinRetention:
		return fmt.Errorf("retention %s is shorter than %s: a registry retrying after that would create a second action for the same Idempotency-Key (0 disables retention)", d, postgres.MinRetention)
	}
	return nil
}

// startRetention deletes old completed history (postgres.PruneHistory)
// a minute after start and then every interval (an hour when every <= 0),
// until ctx is done. retain 0 disables it. Replicas may all run it: one
// prunes at a time, the others skip their turn. Run it in its own goroutine.
func startRetention(ctx context.Context, store *postgres.Store, retain, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "retention")
	if retain == 0 {
		log.Info("retention disabled: completed actions are kept forever")
		return
	}
	if err := checkRetain(retain); err != nil {
		log.Error("retention not started", "err", err)
		return
	}
	if every <= 0 {
		every = defaultRetentionEvery
	}
	first := min(retentionFirstRun, every)
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		runRetention(ctx, store, retain, log)
		t.Reset(every)
	}
}

// runRetention runs PruneHistory once and logs what it did.
func runRetention(ctx context.Context, store *postgres.Store, retain time.Duration, log *slog.Logger) {
	start := time.Now()
	rep, err := store.PruneHistory(ctx, postgres.RetentionOptions{Retain: retain})
	took := time.Since(start)
	if rep.Skipped {
		log.Debug("retention skipped: another replica is pruning")
		return
	}
	attrs := []any{
		"retain", retain, "cutoff", rep.Cutoff, "duration", took, "batches", rep.Batches,
		"actions", rep.Actions, "outbox_messages", rep.OutboxMessages, "delivery_attempts", rep.DeliveryAttempts,
		"lifecycle_events", rep.LifecycleEvents, "slowest_consumer", rep.SlowestConsumer,
	}
	switch {
	case err != nil && ctx.Err() != nil:
		log.Info("retention interrupted by shutdown", attrs...)
	case err != nil:
		log.Error("retention run failed", append(attrs, "err", err)...)
	default:
		log.Info("retention run", attrs...)
	}
}
