package faults

import (
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// TestUpstreamFaults runs a load against upstreams that misbehave: slow past
// the hub's send timeout, answering after it, acknowledging twice, answering
// a malformed SOAP body (with and without having applied the message), SOAP
// Server and Client faults, HTTP 503. Each answer must be classified —
// transient ones retried until delivered, permanent ones making the delivery
// dead at once — and the relay must go on delivering everything else.
func TestUpstreamFaults(t *testing.T) {
	async := func(c upstream.Config) upstream.Config {
		c.Mode, c.AsyncDelay = upstream.ModeAsync, 150*time.Millisecond
		return c
	}
	cases := []struct {
		name      string
		dms, eddr upstream.Config
		hubArgs   []string
		// classes must show in delivery_attempts; clean: every action ends
		// completed (or rejected by business rules).
		classes []string
		clean   bool
		check   func(t *testing.T, e *hubtest.Env, acc []accepted)
	}{
		{
			// Latency is spent before applying: a request the hub gives up
			// on leaves nothing applied.
			name:    "slow past the send timeout",
			dms:     upstream.Config{Latency: 200 * time.Millisecond, LatencyJitter: 500 * time.Millisecond},
			eddr:    async(upstream.Config{LatencyJitter: 800 * time.Millisecond}),
			hubArgs: []string{"--send-timeout", "500ms"},
			classes: []string{"timeout"},
			clean:   true,
		},
		{
			// Applied, then answered after the hub gave up: the resend is
			// answered from the upstream's memory.
			name:    "answer after the send timeout",
			dms:     upstream.Config{SlowRate: 0.4, SlowDelay: time.Second},
			eddr:    async(upstream.Config{SlowRate: 0.4, SlowDelay: time.Second}),
			hubArgs: []string{"--send-timeout", "400ms"},
			classes: []string{"timeout"},
			clean:   true,
			check:   wantDuplicates,
		},
		{
			// A resend after the acknowledgement timeout finds the outcome
			// ready and is acknowledged a second time, by the duplicate;
			// late status answers acknowledge again after a timeout.
			name: "acknowledged twice",
			eddr: upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 300 * time.Millisecond, AckTwice: true,
				SlowRate: 0.2, SlowDelay: 800 * time.Millisecond},
			hubArgs: []string{"--ack-timeout", "150ms", "--send-timeout", "400ms"},
			classes: []string{"ack_timeout", "timeout"},
			clean:   true,
			check:   wantAckedTwice,
		},
		{
			name:    "malformed SOAP body",
			dms:     upstream.Config{MalformedRate: 0.3},
			eddr:    async(upstream.Config{MalformedRate: 0.3}),
			classes: []string{"malformed_reply"},
			clean:   true,
		},
		{
			// The change is made, its acknowledgement unreadable: resent,
			// answered from memory, applied once.
			name:    "malformed SOAP body after applying",
			dms:     upstream.Config{MalformedRate: 0.3, MalformedApplies: true},
			eddr:    async(upstream.Config{MalformedRate: 0.3, MalformedApplies: true}),
			classes: []string{"malformed_reply"},
			clean:   true,
			check:   wantDuplicates,
		},
		{
			name:    "SOAP server faults",
			dms:     upstream.Config{ServerFaultRate: 0.4},
			eddr:    async(upstream.Config{ServerFaultRate: 0.4}),
			classes: []string{"soap_server_fault"},
			clean:   true,
		},
		{
			name:    "HTTP 503",
			dms:     upstream.Config{ErrorRate: 0.4},
			eddr:    async(upstream.Config{ErrorRate: 0.4}),
			classes: []string{"http_5xx"},
			clean:   true,
		},
		{
			// Permanent: dead at the first attempt, and a person's later
			// actions wait behind it for an operator.
			name:    "SOAP client faults",
			dms:     upstream.Config{ClientFaultRate: 0.1},
			eddr:    async(upstream.Config{ClientFaultRate: 0.1}),
			classes: []string{"soap_client_fault"},
			check:   wantDeadAtOnce,
		},
		{
			name: "all at once",
			dms: upstream.Config{LatencyJitter: 100 * time.Millisecond, SlowRate: 0.1, SlowDelay: 800 * time.Millisecond,
				MalformedRate: 0.1, MalformedApplies: true, ServerFaultRate: 0.1, ErrorRate: 0.05, ClientFaultRate: 0.02},
			eddr: upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 200 * time.Millisecond, AckTwice: true,
				LatencyJitter: 100 * time.Millisecond, SlowRate: 0.1, SlowDelay: 800 * time.Millisecond,
				MalformedRate: 0.1, ServerFaultRate: 0.1, ErrorRate: 0.05, ClientFaultRate: 0.02},
			hubArgs: []string{"--send-timeout", "400ms", "--ack-timeout", "300ms"},
			classes: []string{"timeout", "malformed_reply", "soap_server_fault", "http_5xx"},
		},
	}
	actions := pick(60, 600)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, seed := testRand(t)
			tc.dms.Seed, tc.eddr.Seed = int64(seed), int64(seed)+1
			// Transient faults at these rates must not run a delivery out of
			// attempts by chance.
			args := append([]string{"--max-attempts", "40"}, tc.hubArgs...)
			e := hubtest.NewEnv(t, hubtest.Opts{DMS: tc.dms, EDDR: tc.eddr, HubArgs: args})
			l := startLoad(t, e, loadOpts{seed: int64(seed), workers: 2, max: actions})
			acc := l.wait()
			waitSettled(t, e, 90*time.Second)
			checkInvariants(t, e, acc, expect{settledClean: tc.clean, classes: tc.classes, maxAttempts: 40})
			if tc.check != nil {
				tc.check(t, e, acc)
			}
		})
	}
}

// wantDuplicates: some message was applied, then resent and answered from
// the upstream's memory.
func wantDuplicates(t *testing.T, e *hubtest.Env, _ []accepted) {
	t.Helper()
	if d := e.Inspect(e.DMS).Duplicates + e.Inspect(e.EDDR).Duplicates; d == 0 {
		t.Errorf("no message was resent after being applied: the fault did not hit an applied message")
	}
}

// wantAckedTwice: some eddr receipt got its final answer more than once.
func wantAckedTwice(t *testing.T, e *hubtest.Env, _ []accepted) {
	t.Helper()
	twice := 0
	for _, r := range e.Inspect(e.EDDR).Receipts {
		if r.FinalAnswers > 1 {
			twice++
		}
	}
	if twice == 0 {
		t.Errorf("no eddr receipt was acknowledged twice")
	}
}

// wantDeadAtOnce: client faults killed deliveries at the first attempt they
// hit, and nothing else did.
func wantDeadAtOnce(t *testing.T, e *hubtest.Env, acc []accepted) {
	t.Helper()
	ids := make([]string, len(acc))
	for i, a := range acc {
		ids[i] = a.ID
	}
	_, _, msgs, _ := readOutcome(t, e, ids)
	dead := 0
	for _, m := range msgs {
		if m.state != "dead" {
			continue
		}
		dead++
		if m.errorClass != "soap_client_fault" {
			t.Errorf("message %s dead with %s, want soap_client_fault", m.id, m.errorClass)
		}
	}
	if dead == 0 {
		t.Errorf("no delivery dead under client faults")
	}
}
