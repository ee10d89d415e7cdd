// Package metrics exports gauges the hub computes from its database: the
// outbox backlog per destination and state. Labels never carry a person's
// data: destination and delivery state only.
package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
)

var (
	outboxMessages = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "reghub_outbox_messages",
		Help: "Outbox messages pending, awaiting an acknowledgement or dead, by destination and state " +
			"(acknowledged, rejected and cancelled messages are not counted). Refreshed periodically from the database.",
	}, []string{"destination", "state"})
	oldestPendingAge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "reghub_outbox_oldest_pending_age_seconds",
		Help: "Age of the oldest outbox message pending or awaiting an acknowledgement, by destination (0 when none). " +
			"Refreshed periodically from the database.",
	}, []string{"destination"})
)

// BacklogSource reports the outbox backlog; *postgres.Store is one.
type BacklogSource interface {
	Backlog(ctx context.Context) ([]postgres.BacklogRow, error)
}

// RunBacklogGauges refreshes the backlog gauges from src now and then every
// interval until ctx is done. A failed refresh is logged and leaves the
// gauges as they were. Run it in its own goroutine; it returns when ctx is
// done.
func RunBacklogGauges(ctx context.Context, src BacklogSource, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = 15 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, every)
		err := refresh(rctx, src)
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Warn("refresh outbox backlog gauges", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var (
	mu   sync.Mutex
	seen = map[action.Destination]bool{} // destinations with series
)

// refresh sets the gauges from one Backlog call. Every destination seen
// since the process started keeps a series per counted state and an age
// series, set to 0 when it has no such messages now, so that a drained
// backlog reads 0 rather than its last value.
func refresh(ctx context.Context, src BacklogSource) error {
	rows, err := src.Backlog(ctx)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	counts := map[action.Destination]map[action.DeliveryStatus]int64{}
	ages := map[action.Destination]time.Duration{}
	for _, r := range rows {
		seen[r.Destination] = true
		if counts[r.Destination] == nil {
			counts[r.Destination] = map[action.DeliveryStatus]int64{}
		}
		counts[r.Destination][r.State] += r.Count
		if r.State != action.DeliveryDead && r.OldestAge > ages[r.Destination] {
			ages[r.Destination] = r.OldestAge
		}
	}
	for dest := range seen {
		for _, st := range postgres.BacklogStates {
			outboxMessages.WithLabelValues(string(dest), string(st)).Set(float64(counts[dest][st]))
		}
		oldestPendingAge.WithLabelValues(string(dest)).Set(ages[dest].Seconds())
	}
	return nil
}
