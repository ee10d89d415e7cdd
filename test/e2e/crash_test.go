package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// TestCrashMidBatchLosesAndDuplicatesNothing kills the hub with SIGKILL while
// it has a batch of messages in flight, restarts it, and checks that every
// accepted action still completes and that no upstream applied anything twice
// or out of order.
func TestCrashMidBatchLosesAndDuplicatesNothing(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{
		DMS:     upstream.Config{Latency: 40 * time.Millisecond, LatencyJitter: 40 * time.Millisecond},
		EDDR:    upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 100 * time.Millisecond, Latency: 20 * time.Millisecond},
		HubArgs: []string{"--send-timeout", "1s", "--claim-lease", "2s", "--relay-batch", "16"},
	})
	subs := e.SubmitMany(240, 21)
	ctx := context.Background()

	for round := 1; round <= 3; round++ {
		// Kill once deliveries are under way and some are in flight.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var inFlight, acked int
			if err := e.Pool.QueryRow(ctx, `
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
		e.Hub.Kill()
		var claimed int
		if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox_messages WHERE claim_token IS NOT NULL AND state IN ('pending', 'awaiting_ack')`).Scan(&claimed); err != nil {
			t.Fatal(err)
		}
		if claimed == 0 {
			t.Fatalf("round %d: killed with no claimed message left behind; the crash did not hit a batch in flight", round)
		}
		t.Logf("round %d: killed the hub with %d messages claimed in flight", round, claimed)
		e.Hub = e.StartHub()
	}

	all := e.WaitResolved(hubtest.IDs(subs), 90*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v after crashes, want all %d completed", c, len(subs))
	}
	dms, eddr := e.Inspect(e.DMS), e.Inspect(e.EDDR)
	if dms.AppliedCount != len(subs) || eddr.AppliedCount != len(subs) {
		t.Fatalf("applied dms %d, eddr %d; want %d each", dms.AppliedCount, eddr.AppliedCount, len(subs))
	}
	e.CheckExactlyOnceInOrder("dms", dms, subs)
	e.CheckExactlyOnceInOrder("eddr", eddr, subs)
	t.Logf("duplicates answered from the upstreams' memory: dms %d, eddr %d", dms.Duplicates, eddr.Duplicates)
}
