package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
	"github.com/reghub/reghub/test/pgtest"
)

// TestPostgresImmediateRestartWhileDelivering restarts PostgreSQL with
// `pg_ctl restart -m immediate` (every connection cut, crash recovery) at
// random moments while the hub has deliveries in flight and the load goes
// on. The hub must reconnect, accept again and deliver everything.
//
// It needs the local cluster of pgtest, and must not run in parallel with
// other tests of the package: the restart cuts every database of it.
func TestPostgresImmediateRestartWhileDelivering(t *testing.T) {
	cluster := pgtest.Cluster(t)
	rng, seed := testRand(t)
	e := hubtest.NewEnv(t, hubtest.Opts{
		DMS: upstream.Config{Latency: 20 * time.Millisecond, LatencyJitter: 30 * time.Millisecond, Seed: int64(seed)},
		EDDR: upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 100 * time.Millisecond,
			Latency: 10 * time.Millisecond, Seed: int64(seed) + 1},
		// The crash must not take back commits PostgreSQL acknowledged.
		DurableCommits: true,
	})
	var syncCommit string
	query(t, e.Pool, func(ctx context.Context) error {
		return e.Pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&syncCommit)
	})
	if syncCommit != "on" {
		t.Fatalf("synchronous_commit is %q in the test database, want on", syncCommit)
	}
	l := startLoad(t, e, loadOpts{seed: int64(seed), workers: 3, pace: 15 * time.Millisecond})

	acked := func() (inFlight, acked int) {
		query(t, e.Pool, func(ctx context.Context) error {
			return e.Pool.QueryRow(ctx, `
				SELECT count(*) FILTER (WHERE claim_token IS NOT NULL AND state IN ('pending', 'awaiting_ack')),
				       count(*) FILTER (WHERE state = 'acknowledged')
				FROM outbox_messages`).Scan(&inFlight, &acked)
		})
		return inFlight, acked
	}
	restarts := pick(2, 10)
	for r := 1; r <= restarts; r++ {
		// Restart once the hub delivers again (it reconnected) and has
		// messages in flight.
		_, base := acked()
		waitFor(t, fmt.Sprintf("restart %d: deliveries in flight", r), 60*time.Second, func() error {
			if in, n := acked(); in == 0 || n <= base {
				return fmt.Errorf("%d in flight, %d acknowledged since the last restart: %w", in, n-base, errNotYet)
			}
			return nil
		})
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		in, n := acked()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := cluster.Restart(ctx, true)
		cancel()
		if err != nil {
			t.Fatalf("restart %d: pg_ctl restart -m immediate: %v", r, err)
		}
		t.Logf("restart %d: PostgreSQL restarted immediately in %s, with ~%d messages in flight, %d acknowledged, %d actions accepted",
			r, time.Since(start).Round(time.Millisecond), in, n, l.count())
		checkHubAlive(t, e)
	}
	// The hub reconnects and delivers after the last restart too.
	_, base := acked()
	waitFor(t, "deliveries after the last restart", 60*time.Second, func() error {
		if _, n := acked(); n <= base {
			return errNotYet
		}
		return nil
	})
	subs := l.finish()
	waitSettled(t, e, 90*time.Second)
	checkInvariants(t, e, subs, expect{settledClean: true})
}
