package faults

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// TestReplicasShareWorkAndSurviveSIGKILL runs three `reghub serve` replicas
// on one database and the same upstreams. The load goes to all of them —
// each person's actions one at a time, but through a different replica each
// time, so the accept lock and the claim order are exercised across
// processes. Once every replica has delivered and every one holds claims,
// one is SIGKILLed; the others go on accepting, take over its claims when
// the lease runs out, and deliver everything: nothing lost, nothing applied
// twice, each person's messages in submission order.
func TestReplicasShareWorkAndSurviveSIGKILL(t *testing.T) {
	rng, seed := testRand(t)
	const lease = 2 * time.Second
	e := hubtest.NewEnv(t, hubtest.Opts{
		// Latency keeps messages in flight long enough for the kill to hit some.
		DMS: upstream.Config{Latency: 40 * time.Millisecond, LatencyJitter: 80 * time.Millisecond, Seed: int64(seed)},
		EDDR: upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 100 * time.Millisecond,
			Latency: 20 * time.Millisecond, LatencyJitter: 40 * time.Millisecond, Seed: int64(seed) + 1},
		// A short lease, so that what the killed replica held is taken up
		// soon; the send timeout stays well under it, so a live replica
		// never loses a lease it holds.
		HubArgs: []string{"--send-timeout", "1s", "--claim-lease", lease.String(), "--relay-batch", "16"},
	})
	hubs := []*hubtest.Hub{e.Hub, e.StartReplica(), e.StartReplica()}
	bases := make([]string, len(hubs))
	for i, h := range hubs {
		bases[i] = h.Base
	}
	t.Logf("replicas: %v", bases)

	l := startLoad(t, e, loadOpts{seed: int64(seed), workers: 4, pace: 10 * time.Millisecond, bases: bases})

	// The work is shared: every replica's relay has delivered.
	waitFor(t, "every replica delivered", 20*time.Second, func() error {
		for i, h := range hubs {
			if n := scrapeAttempts(t, h); n == 0 {
				return fmt.Errorf("replica %d made no delivery attempt yet: %w", i, errNotYet)
			}
		}
		return nil
	})
	// Kill while every replica holds claims: its relay token (one per
	// process) is on messages in flight.
	time.Sleep(time.Duration(200+rng.IntN(500)) * time.Millisecond)
	waitFor(t, "every replica holding claims", 20*time.Second, func() error {
		if n := len(claimsByToken(t, e)); n < len(hubs) {
			return fmt.Errorf("%d relay tokens on messages in flight: %w", n, errNotYet)
		}
		return nil
	})
	victim := rng.IntN(len(hubs))
	before := make([]float64, len(hubs))
	for i, h := range hubs {
		before[i] = scrapeAttempts(t, h)
	}
	hubs[victim].Kill()
	killedAt := time.Now()
	snapshot := inFlightClaims(t, e)
	// The registry does not know at once: for a while its submissions to
	// the dead replica fail and are resent to another with the same key.
	time.AfterFunc(300*time.Millisecond, func() { l.drop(bases[victim]) })
	t.Logf("killed replica %d (%s) with %d actions accepted; attempts per replica before the kill %v; %d messages claimed in flight",
		victim, bases[victim], l.count(), before, len(snapshot))

	survivors := slices.Delete(slices.Clone(hubs), victim, victim+1)
	if e.Hub == hubs[victim] {
		e.Hub = survivors[0] // the one checkHubAlive and e.Call use
	}

	// The survivors' relay tokens show up on claims made after the kill;
	// the token left is the victim's, and its claims must be taken over
	// once the lease runs out.
	survivorTokens := map[string]bool{}
	waitFor(t, "the survivors claiming again", 10*time.Second, func() error {
		for id, tok := range inFlightClaims(t, e) {
			if snapshot[id] != tok {
				survivorTokens[tok] = true
			}
		}
		if len(survivorTokens) < len(survivors) {
			return fmt.Errorf("%d of %d survivors seen claiming: %w", len(survivorTokens), len(survivors), errNotYet)
		}
		return nil
	})
	if len(survivorTokens) > len(survivors) {
		t.Fatalf("%d relay tokens claimed after the kill, from %d live replicas", len(survivorTokens), len(survivors))
	}
	orphans := map[string]string{} // message id → the victim's token
	for id, tok := range snapshot {
		if !survivorTokens[tok] {
			orphans[id] = tok
		}
	}
	if len(orphans) == 0 {
		t.Fatalf("the killed replica held no message in flight: the kill tested nothing")
	}
	waitFor(t, "the killed replica's claims taken over", lease+5*time.Second, func() error {
		var held int
		ids := make([]string, 0, len(orphans))
		toks := make([]string, 0, len(orphans))
		for id, tok := range orphans {
			ids, toks = append(ids, id), append(toks, tok)
		}
		query(t, e.Pool, func(ctx context.Context) error {
			return e.Pool.QueryRow(ctx, `
				SELECT count(*) FROM outbox_messages m
				JOIN unnest($1::uuid[], $2::uuid[]) AS o(id, tok) ON o.id = m.id AND o.tok = m.claim_token`,
				ids, toks).Scan(&held)
		})
		if held > 0 {
			return fmt.Errorf("%d still under the dead replica's claim: %w", held, errNotYet)
		}
		return nil
	})
	t.Logf("the killed replica held %d messages; all released %s after the kill (lease %s)",
		len(orphans), time.Since(killedAt).Round(10*time.Millisecond), lease)

	time.Sleep(300 * time.Millisecond) // some load on the survivors alone
	subs := l.finish()
	waitSettled(t, e, 60*time.Second)
	for i, h := range hubs {
		if i == victim {
			continue
		}
		if exited, err := h.Exited(); exited {
			t.Fatalf("replica %d ended by itself (%v)", i, err)
		}
		if after := scrapeAttempts(t, h); after <= before[i] {
			t.Errorf("replica %d made no delivery attempt after the kill (%v before, %v after)", i, before[i], after)
		}
	}
	checkInvariants(t, e, subs, expect{settledClean: true})
	perReplica := l.perHub()
	for i, b := range bases {
		if perReplica[b] == 0 {
			t.Errorf("replica %d accepted no action", i)
		}
	}
	if l.retries.Load() == 0 {
		t.Errorf("no submission met the killed replica: the load did not run through the kill")
	}
	t.Logf("actions accepted per replica %v; %d resends after a connection error or 5xx", perReplica, l.retries.Load())
}

// scrapeAttempts sums reghub_delivery_attempts_total on a hub's /metrics.
func scrapeAttempts(t *testing.T, h *hubtest.Hub) float64 {
	t.Helper()
	return scrapeMetric(t, h, "reghub_delivery_attempts_total", "")
}

// scrapeMetric sums the series of a metric on a process's /metrics whose
// labels contain match (empty: every series).
func scrapeMetric(t *testing.T, h *hubtest.Hub, name, match string) float64 {
	t.Helper()
	resp, err := http.Get(h.Base + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s/metrics: %v", h.Base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s/metrics: HTTP %d", h.Base, resp.StatusCode)
	}
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if match != "" && !strings.Contains(line, match) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s/metrics: %v", h.Base, err)
	}
	return sum
}

// inFlightClaims returns the messages held by a claim, with its token.
func inFlightClaims(t *testing.T, e *hubtest.Env) map[string]string {
	t.Helper()
	out := map[string]string{}
	query(t, e.Pool, func(ctx context.Context) error {
		clear(out)
		rows, err := e.Pool.Query(ctx, `
			SELECT id::text, claim_token::text FROM outbox_messages
			WHERE claim_token IS NOT NULL AND state IN ('pending', 'awaiting_ack')`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, tok string
			if err := rows.Scan(&id, &tok); err != nil {
				return err
			}
			out[id] = tok
		}
		return rows.Err()
	})
	return out
}

// claimsByToken counts the messages in flight under each relay token.
func claimsByToken(t *testing.T, e *hubtest.Env) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tok := range inFlightClaims(t, e) {
		out[tok]++
	}
	return out
}
