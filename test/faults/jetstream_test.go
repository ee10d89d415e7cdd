package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// TestJetStreamWorkersSurviveKillAndBrokerRestart runs the hub with its SOAP
// exchanges forwarded through NATS JetStream to two `reghub worker`
// processes. Under load one worker is SIGKILLed while it holds exchanges,
// then nats-server itself is restarted, and a fresh worker joins. The same
// invariants as every fault scenario must hold: nothing lost, nothing
// applied twice, each person's messages in submission order.
func TestJetStreamWorkersSurviveKillAndBrokerRestart(t *testing.T) {
	rng, seed := testRand(t)
	broker := hubtest.StartNATS(t)
	e := hubtest.NewEnv(t, hubtest.Opts{
		DMS: upstream.Config{Latency: 30 * time.Millisecond, LatencyJitter: 60 * time.Millisecond, Seed: int64(seed)},
		EDDR: upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 100 * time.Millisecond,
			Latency: 10 * time.Millisecond, LatencyJitter: 20 * time.Millisecond, Seed: int64(seed) + 1},
		HubArgs: []string{"--nats-url", broker.URL, "--send-timeout", "1s", "--claim-lease", "3s"},
	})
	workers := []*hubtest.Hub{e.StartWorker(broker.URL, "w1"), e.StartWorker(broker.URL, "w2")}
	l := startLoad(t, e, loadOpts{seed: int64(seed), workers: 4, pace: 10 * time.Millisecond})

	exchanges := func(h *hubtest.Hub) float64 { return scrapeMetric(t, h, "reghub_worker_exchanges_total", "") }
	waitFor(t, "both workers delivering", 20*time.Second, func() error {
		for i, w := range workers {
			if exchanges(w) == 0 {
				return fmt.Errorf("worker %d performed no exchange yet: %w", i+1, errNotYet)
			}
		}
		return nil
	})
	time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
	victim := rng.IntN(len(workers))
	workers[victim].Kill()
	survivor := workers[1-victim]
	t.Logf("killed worker w%d with %d actions accepted", victim+1, l.count())

	time.Sleep(time.Duration(500+rng.IntN(1000)) * time.Millisecond)
	beforeRestart := exchanges(survivor)
	broker.Restart()
	t.Logf("restarted nats-server with %d actions accepted", l.count())
	fresh := e.StartWorker(broker.URL, "w3")

	time.Sleep(time.Second) // load through the restarted broker
	subs := l.finish()
	waitSettled(t, e, 60*time.Second)
	// The kill and the restart cut exchanges short: the hub saw them as
	// timeouts and resent under the same message id.
	checkInvariants(t, e, subs, expect{settledClean: true, classes: []string{"timeout"}})

	if exchanges(survivor) <= beforeRestart {
		t.Errorf("the surviving worker performed no exchange after the broker restart")
	}
	if exchanges(fresh) == 0 {
		t.Errorf("the worker started after the restart performed no exchange")
	}
	answered := scrapeMetric(t, e.Hub, "reghub_jetstream_forwarded_total", `outcome="answered"`)
	noAnswer := scrapeMetric(t, e.Hub, "reghub_jetstream_forwarded_total", `outcome="no_answer"`)
	failed := scrapeMetric(t, e.Hub, "reghub_jetstream_forwarded_total", `outcome="publish_failed"`)
	if answered == 0 {
		t.Fatalf("the hub forwarded no exchange that a worker answered: it did not go through JetStream")
	}
	t.Logf("%d actions; forwarded exchanges answered %v, unanswered in time %v, publish failed %v; worker exchanges: survivor %v, fresh %v",
		len(subs), answered, noAnswer, failed, exchanges(survivor), exchanges(fresh))
}
