package faults

import (
	"context"
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// inFlightSQL counts messages held by a claim: on the way to an upstream or
// back when the hub was killed.
const inFlightSQL = `SELECT count(*) FROM outbox_messages WHERE claim_token IS NOT NULL AND state IN ('pending', 'awaiting_ack')`

// TestHubSIGKILLAtRandomMomentsDuringLoad kills the hub with SIGKILL at
// random moments while a load is submitted and delivered, restarts it on the
// same address, and leaves it down a random while each time, so that the
// registry's submissions meet a dead hub and are resent with their
// Idempotency-Key.
func TestHubSIGKILLAtRandomMomentsDuringLoad(t *testing.T) {
	rng, seed := testRand(t)
	e := hubtest.NewEnv(t, hubtest.Opts{
		DMS: upstream.Config{Latency: 20 * time.Millisecond, LatencyJitter: 40 * time.Millisecond, Seed: int64(seed)},
		EDDR: upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 100 * time.Millisecond,
			Latency: 10 * time.Millisecond, LatencyJitter: 20 * time.Millisecond, Seed: int64(seed) + 1},
		// A short lease, so that what a killed hub held is taken up soon.
		HubArgs: []string{"--send-timeout", "1s", "--claim-lease", "2s", "--relay-batch", "16"},
	})
	kills := pick(10, 80)
	l := startLoad(t, e, loadOpts{seed: int64(seed), workers: 4, pace: 15 * time.Millisecond})

	inFlightKills := 0
	for k := 1; k <= kills; k++ {
		time.Sleep(time.Duration(100+rng.IntN(700)) * time.Millisecond)
		e.Hub.Kill()
		var claimed int
		query(t, e.Pool, func(ctx context.Context) error { return e.Pool.QueryRow(ctx, inFlightSQL).Scan(&claimed) })
		if claimed > 0 {
			inFlightKills++
		}
		down := time.Duration(rng.IntN(400)) * time.Millisecond
		t.Logf("kill %d: %d actions accepted so far, %d messages claimed in flight; down for %s", k, l.count(), claimed, down)
		time.Sleep(down)
		e.Hub = e.StartHub()
	}
	time.Sleep(300 * time.Millisecond) // some load on the last hub too
	subs := l.finish()
	waitSettled(t, e, 90*time.Second)
	checkInvariants(t, e, subs, expect{settledClean: true})

	if inFlightKills == 0 {
		t.Errorf("none of %d kills hit a message in flight: the crashes tested nothing", kills)
	}
	if l.retries.Load() == 0 {
		t.Errorf("no submission met the hub down: the load did not run through the crashes")
	}
	t.Logf("%d of %d kills hit messages in flight", inFlightKills, kills)
}
