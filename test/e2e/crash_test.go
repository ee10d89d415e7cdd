package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
)

// TestCrashMidBatchLosesAndDuplicatesNothing kills the hub with SIGKILL while
// it has a batch of messages in flight, restarts it, and checks that every
// accepted action still completes and that no upstream applied anything twice
// or out of order.
func TestCrashMidBatchLosesAndDuplicatesNothing(t *testing.T) {
	e := newEnv(t, envOpts{
		dms:     upstream.Config{Latency: 40 * time.Millisecond, LatencyJitter: 40 * time.Millisecond},
		eddr:    upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 100 * time.Millisecond, Latency: 20 * time.Millisecond},
		hubArgs: []string{"--send-timeout", "1s", "--claim-lease", "2s", "--relay-batch", "16"},
	})
	subs := e.submitMany(240, 21)
	ctx := context.Background()

	for round := 1; round <= 3; round++ {
		// Kill once deliveries are under way and some are in flight.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var inFlight, acked int
			if err := e.pool.QueryRow(ctx, `
				SELECT count(*) FILTER (WHERE claim_token IS NOT NULL AND state IN ('pending', 'awaiting_ack')),
				       count(*) FILTER (WHERE state = 'acknowledged')
				FROM outbox_messages`).Scan(&inFlight, &acked); err != nil {
				t.Fatal(err)
			}
			if inFlight > 0 && acked > 0 {
				break
			}
			if acked == 2*len(subs) {
				t.Fatalf("round %d: everything was delivered before the hub could be killed mid-batch; slow the simulators", round)
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no delivery in flight after 30s", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
		e.hub.kill()
		var claimed int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM outbox_messages WHERE claim_token IS NOT NULL AND state IN ('pending', 'awaiting_ack')`).Scan(&claimed); err != nil {
			t.Fatal(err)
		}
		if claimed == 0 {
			t.Fatalf("round %d: killed with no claimed message left behind; the crash did not hit a batch in flight", round)
		}
		t.Logf("round %d: killed the hub with %d messages claimed in flight", round, claimed)
		e.hub = e.startHub()
	}

	all := e.waitResolved(ids(subs), 90*time.Second)
	if c := countStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v after crashes, want all %d completed", c, len(subs))
	}
	dms, eddr := e.inspect(e.dms), e.inspect(e.eddr)
	if dms.AppliedCount != len(subs) || eddr.AppliedCount != len(subs) {
		t.Fatalf("applied dms %d, eddr %d; want %d each", dms.AppliedCount, eddr.AppliedCount, len(subs))
	}
	e.checkExactlyOnceInOrder("dms", dms, subs)
	e.checkExactlyOnceInOrder("eddr", eddr, subs)
	t.Logf("duplicates answered from the upstreams' memory: dms %d, eddr %d", dms.Duplicates, eddr.Duplicates)
}
