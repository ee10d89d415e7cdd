package faults

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// TestUpstreamOutageWindow takes one upstream down for a window during the
// load — answering 503, or dropping every connection — and brings it back.
// Deliveries to it are retried (and not declared dead) through the window,
// the other upstream goes on acknowledging meanwhile, the hub goes on
// accepting, and afterwards everything is delivered once, in order.
func TestUpstreamOutageWindow(t *testing.T) {
	cases := []struct {
		name  string
		down  string // destination taken down
		close bool   // drop connections instead of answering 503
		class string // error class of the refused attempts
	}{
		{name: "dms answers 503", down: "dms", class: "http_5xx"},
		{name: "eddr drops connections", down: "eddr", close: true, class: "transport"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng, seed := testRand(t)
			dmsCfg := upstream.Config{Latency: 5 * time.Millisecond, Seed: int64(seed)}
			eddrCfg := upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 50 * time.Millisecond, Seed: int64(seed) + 1}
			e := hubtest.NewEnv(t, hubtest.Opts{DMS: dmsCfg, EDDR: eddrCfg,
				// Enough attempts to outlive the window at --retry-max 500ms.
				HubArgs: []string{"--max-attempts", "200"}})
			srv, cfg, other := e.DMS, dmsCfg, "eddr"
			if tc.down == "eddr" {
				srv, cfg, other = e.EDDR, eddrCfg, "dms"
			}
			l := startLoad(t, e, loadOpts{seed: int64(seed), workers: 2, pace: 20 * time.Millisecond})
			waitFor(t, "load under way", 30*time.Second, func() error {
				if l.count() < 20 {
					return errNotYet
				}
				return nil
			})
			from := time.Now().Add(time.Duration(rng.IntN(300)) * time.Millisecond)
			until := from.Add(pick(2500*time.Millisecond, 20*time.Second))
			cfg.OutageFrom, cfg.OutageUntil, cfg.OutageClose = from, until, tc.close
			e.SetConfig(srv, cfg)
			time.Sleep(time.Until(until) + time.Second)
			subs := l.finish()
			waitSettled(t, e, 60*time.Second)
			checkInvariants(t, e, subs, expect{settledClean: true, classes: []string{tc.class}, maxAttempts: 200})
			checkWindow(t, e, srv, tc.down, other, from, until, subs, l)
		})
	}
}

// checkWindow checks what happened inside the outage window: the upstream
// refused requests and applied nothing, the other destination was still
// acknowledged (no head-of-line blocking), the hub still accepted actions,
// and the refused attempts were classified transient and retried.
func checkWindow(t *testing.T, e *hubtest.Env, srv *httptest.Server, down, other string, from, until time.Time, subs []accepted, l *load) {
	t.Helper()
	in := e.Inspect(srv)
	if in.Faults["outage"] == 0 {
		t.Errorf("%s refused no request: the window missed the load", down)
	}
	// A request admitted just before the window is applied after its
	// latency, which may fall inside it.
	for _, a := range in.Applied {
		if !a.AppliedAt.Before(from.Add(250*time.Millisecond)) && a.AppliedAt.Before(until) {
			t.Errorf("%s applied %s at %s, inside its outage", down, a.ID, a.AppliedAt)
		}
	}
	var otherAcked, refused int
	query(t, e.Pool, func(ctx context.Context) error {
		return e.Pool.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM outbox_messages WHERE destination = $1 AND acked_at >= $3 AND acked_at < $4),
			       (SELECT count(*) FROM delivery_attempts d JOIN outbox_messages m ON m.id = d.message_id
			        WHERE m.destination = $2 AND d.outcome = 'error' AND d.started_at >= $3 AND d.started_at < $4)`,
			other, down, from, until).Scan(&otherAcked, &refused)
	})
	if otherAcked == 0 {
		t.Errorf("no %s delivery acknowledged during the %s outage: one upstream's outage blocked the other", other, down)
	}
	if refused == 0 {
		t.Errorf("no failed attempt to %s recorded during its outage", down)
	}
	l.mu.Lock()
	acceptedInWindow := 0
	for _, at := range l.acceptedAt {
		if !at.Before(from) && at.Before(until) {
			acceptedInWindow++
		}
	}
	l.mu.Unlock()
	if acceptedInWindow == 0 {
		t.Errorf("no action accepted during the outage: the load did not run through it")
	}
	t.Logf("outage %s of %s: %d requests refused, %d failed attempts recorded, %d %s deliveries acknowledged and %d actions accepted meanwhile",
		until.Sub(from), down, in.Faults["outage"], refused, otherAcked, other, acceptedInWindow)
}
