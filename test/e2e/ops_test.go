package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

func operatorToken(t *testing.T, e *hubtest.Env, id string, role auth.Role) string {
	t.Helper()
	tok, err := auth.Register(context.Background(), postgres.New(e.Pool), id, id, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func dmsAttempts(t *testing.T, e *hubtest.Env) int {
	t.Helper()
	var n int
	if err := e.Pool.QueryRow(context.Background(),
		`SELECT COALESCE(sum(attempts), 0) FROM outbox_messages WHERE destination = 'dms'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A paused destination's deliveries wait, spending no attempts, while the
// other destination flows; resumed, they complete. An auditor may look but
// not pause.
func TestPausedDestinationWaitsThenResumes(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{})
	op := operatorToken(t, e, "op-1", auth.RoleOperator)
	aud := operatorToken(t, e, "aud-1", auth.RoleAuditor)

	body := []byte(`{"reason":"planned maintenance of the migration service"}`)
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/destinations/dms/pause", aud, nil, body, nil); code != http.StatusForbidden {
		t.Fatalf("auditor pause: %d %s; want 403", code, raw)
	}
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/destinations/dms/pause", op, nil, body, nil); code != http.StatusOK {
		t.Fatalf("pause: %d %s", code, raw)
	}
	time.Sleep(1200 * time.Millisecond) // the relay reads the switches every second

	subs := e.SubmitMany(10, 41)
	time.Sleep(800 * time.Millisecond)
	for _, s := range subs {
		for _, d := range e.Get(s.ID).Deliveries {
			switch d.Destination {
			case "dms":
				if d.Status != "pending" || d.Attempts != 0 {
					t.Fatalf("paused dms delivery is %s after %d attempts; want pending, untried", d.Status, d.Attempts)
				}
			case "eddr":
				if d.Status != "acknowledged" {
					t.Fatalf("eddr delivery %s while dms is paused; want acknowledged", d.Status)
				}
			}
		}
	}
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/destinations/dms/resume", op, nil, []byte(`{"reason":"maintenance over"}`), nil); code != http.StatusOK {
		t.Fatalf("resume: %d %s", code, raw)
	}
	all := e.WaitResolved(hubtest.IDs(subs), 30*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v after resume; want all completed", c)
	}
	var steps struct {
		Items []struct {
			Actor, Operation, Reason string
		} `json:"items"`
	}
	if code, _, raw := e.Call(http.MethodGet, "/v1/ops/steps?target=destination:dms", aud, nil, nil, &steps); code != http.StatusOK {
		t.Fatalf("steps: %d %s", code, raw)
	}
	if len(steps.Items) != 2 || steps.Items[0].Operation != "resume" || steps.Items[1].Operation != "pause" ||
		steps.Items[1].Actor != "op-1" || steps.Items[1].Reason == "" {
		t.Fatalf("recorded steps %+v; want pause then resume by op-1 with reasons", steps.Items)
	}
}

// After an outage makes deliveries dead, an operator bulk-retries the dead
// ones for that destination and they complete, nothing applied twice.
func TestBulkRetryOfDeadAfterOutage(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{
		DMS:     upstream.Config{Outage: true},
		HubArgs: []string{"--max-attempts", "2", "--circuit-threshold", "0"},
	})
	op := operatorToken(t, e, "op-2", auth.RoleOperator)
	subs := e.SubmitMany(8, 42)
	// Wait until every person's first dms message is dead; later ones for
	// the same person wait behind it (per-person order), still pending.
	ctx := context.Background()
	var dead int
	deadline := time.Now().Add(30 * time.Second)
	for {
		var movable int
		if err := e.Pool.QueryRow(ctx, `
			SELECT count(*) FILTER (WHERE state = 'dead'),
			       count(*) FILTER (WHERE state = 'pending' AND NOT EXISTS (
			           SELECT 1 FROM outbox_messages e WHERE e.destination = m.destination AND e.person_key = m.person_key
			             AND e.seq < m.seq AND e.state IN ('pending', 'awaiting_ack', 'dead')))
			FROM outbox_messages m WHERE destination = 'dms'`).Scan(&dead, &movable); err != nil {
			t.Fatal(err)
		}
		if dead > 0 && movable == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dms deliveries not dead after 30s of outage: %d dead, %d still trying", dead, movable)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.SetConfig(e.DMS, upstream.Config{})

	filter := []byte(`{"filter":{"status":["dead"],"destination":"dms"},"reason":"migration service back after outage","dry_run":true}`)
	var dry struct {
		Matching int `json:"matching"`
	}
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/deliveries/retry", op, nil, filter, &dry); code != http.StatusOK || dry.Matching != dead {
		t.Fatalf("dry run: %d %s; want %d matching", code, raw, dead)
	}
	var res struct {
		Retried int `json:"retried"`
	}
	var m map[string]any
	_ = json.Unmarshal(filter, &m)
	delete(m, "dry_run")
	real, _ := json.Marshal(m)
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/deliveries/retry", op, nil, real, &res); code != http.StatusOK || res.Retried != dead {
		t.Fatalf("bulk retry: %d %s; want %d retried", code, raw, dead)
	}
	all := e.WaitResolved(hubtest.IDs(subs), 30*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v after the bulk retry; want all completed", c)
	}
	in := e.Inspect(e.DMS)
	if in.AppliedCount != len(subs) {
		t.Fatalf("dms applied %d, want %d", in.AppliedCount, len(subs))
	}
	e.CheckExactlyOnceInOrder("dms", in, subs)
}

// Repeated failures open the destination's circuit: deliveries wait instead
// of spending attempts; once the upstream is back a probe closes it.
func TestCircuitBreakerOpensAndProbes(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{
		DMS:     upstream.Config{Outage: true},
		HubArgs: []string{"--circuit-threshold", "5", "--circuit-cooldown", "700ms", "--max-attempts", "50"},
	})
	subs := e.SubmitMany(20, 43)
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var state string
		if err := e.Pool.QueryRow(ctx, `SELECT circuit_state FROM destinations WHERE name = 'dms'`).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state != "closed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("circuit of dms never opened during the outage")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// While open (with probes failing), attempts grow by probes only.
	before := dmsAttempts(t, e)
	time.Sleep(1500 * time.Millisecond)
	if grown := dmsAttempts(t, e) - before; grown > 3 {
		t.Fatalf("%d attempts while the circuit was open; want only a probe or two", grown)
	}
	e.SetConfig(e.DMS, upstream.Config{})
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v after recovery; want all completed", c)
	}
	var opened, closed int
	if err := e.Pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE operation = 'circuit_open'), count(*) FILTER (WHERE operation = 'circuit_close')
		FROM operator_steps WHERE target = 'destination:dms' AND actor = 'reghub'`).Scan(&opened, &closed); err != nil {
		t.Fatal(err)
	}
	if opened == 0 || closed == 0 {
		t.Fatalf("circuit steps recorded: %d opened, %d closed; want both", opened, closed)
	}
	e.CheckExactlyOnceInOrder("dms", e.Inspect(e.DMS), subs)
}
