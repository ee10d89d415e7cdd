package faults

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// expect says what a scenario must end with, beyond the invariants every
// scenario shares.
type expect struct {
	// settledClean: every action completed, or rejected by an upstream's
	// business rules (as an in-order replay also rejects it); none dead or
	// still pending.
	settledClean bool
	// classes must each appear in delivery_attempts.error_class.
	classes []string
	// maxAttempts is the hub's --max-attempts (default 12).
	maxAttempts int
}

var (
	terminal  = []string{"completed", "rejected", "dead", "cancelled"}
	transient = []string{"transport", "timeout", "http_5xx", "soap_server_fault", "malformed_reply", "ack_timeout"}
	permanent = []string{"soap_client_fault", "http_4xx", "mapping", "no_sender", "no_route"}
)

type msgRow struct {
	id, actionID, dest, state, upstreamRef, errorClass string
	attempts                                           int
}

type attemptRow struct {
	msg, outcome, class string
	attempt             int
}

// checkInvariants checks, from the database and both simulators' inspection
// endpoints, once the relay has settled:
//
//   - the hub process is alive and never panicked;
//   - every accepted action is stored, once, with one message per
//     destination, and nothing else is stored (resends made no duplicates);
//   - every accepted action is terminal, or pending with a delivery the
//     relay still holds (due, or queued behind a dead one) — none lost;
//   - each action's status agrees with its deliveries;
//   - no upstream applied a message twice; each applied each person's
//     messages in submission order, and only messages the hub sent it;
//   - replaying, in submission order, the messages an upstream decided on
//     through a fresh engine gives the same decisions (so no message was
//     rejected because it overtook an earlier one of the same person);
//   - every acknowledged message was applied upstream under the reference
//     the hub recorded; every rejected one was rejected there;
//   - every failed attempt is classified; a permanent class made the
//     message dead, a transient one never did before --max-attempts;
//   - what the scenario expects.
func checkInvariants(t *testing.T, e *hubtest.Env, acc []accepted, x expect) {
	t.Helper()
	if x.maxAttempts == 0 {
		x.maxAttempts = 12
	}
	checkHubAlive(t, e)
	if logs := e.Logs(); strings.Contains(logs, "panic:") || strings.Contains(logs, "fatal error:") {
		t.Errorf("the hub log shows a panic")
	}
	if len(acc) == 0 {
		t.Fatalf("no action accepted: the load did not run")
	}
	subs := make([]hubtest.Submitted, len(acc))
	for i, a := range acc {
		subs[i] = a.Submitted
	}

	status, total, msgs, attempts := readOutcome(t, e, hubtest.IDs(subs))

	// Stored once, none lost, nothing extra.
	if len(status) != len(subs) {
		t.Errorf("%d of %d accepted actions are in the database: accepted actions were lost", len(status), len(subs))
	}
	if total > len(subs) {
		t.Errorf("%d actions stored for %d accepted: a resent submission was stored twice", total, len(subs))
	}
	byAction := map[string]map[string]msgRow{} // action id → destination → message
	byID := map[string]msgRow{}
	for _, m := range msgs {
		if byAction[m.actionID] == nil {
			byAction[m.actionID] = map[string]msgRow{}
		}
		if _, dup := byAction[m.actionID][m.dest]; dup {
			t.Errorf("action %s has two messages to %s", m.actionID, m.dest)
		}
		byAction[m.actionID][m.dest] = m
		byID[m.id] = m
	}
	counts := map[string]int{}
	for _, s := range subs {
		st := status[s.ID]
		counts[st]++
		ms := byAction[s.ID]
		states := map[string]int{}
		for _, m := range ms {
			states[m.state]++
		}
		if ms["dms"].id == "" || ms["eddr"].id == "" {
			t.Errorf("action %s has %d messages, want one to dms and one to eddr among them", s.ID, len(ms))
		}
		for d := range ms {
			if !slices.Contains([]string{"dms", "eddr", "previous_body", "military"}, d) {
				t.Errorf("action %s has a message to %s, which no routing rule names", s.ID, d)
			}
		}
		switch {
		case st == "pending":
			if states["pending"]+states["awaiting_ack"] == 0 {
				t.Errorf("action %s is pending with no delivery left to make (deliveries %v): stuck", s.ID, states)
			}
		case !slices.Contains(terminal, st):
			t.Errorf("action %s is %q: neither terminal nor pending", s.ID, st)
		}
		want := "pending"
		switch {
		case states["rejected"] > 0:
			want = "rejected"
		case states["dead"] > 0:
			want = "dead"
		case states["acknowledged"] == len(ms):
			want = "completed"
		}
		if st != want && st != "cancelled" {
			t.Errorf("action %s is %s but its deliveries %v make it %s", s.ID, st, states, want)
		}
	}
	t.Logf("actions: %v", counts)
	if x.settledClean && counts["completed"]+counts["rejected"] != len(subs) {
		t.Errorf("statuses %v, want all %d completed or rejected by an upstream", counts, len(subs))
	}

	// Upstreams: exactly once, in order, agreeing with the database.
	for _, u := range []struct {
		name string
		in   upstream.Inspection
	}{{"dms", e.Inspect(e.DMS)}, {"eddr", e.Inspect(e.EDDR)}} {
		e.CheckExactlyOnceInOrder(u.name, u.in, subs)
		applied := map[string]string{} // message id → record id
		for _, a := range u.in.Applied {
			applied[a.ID] = a.RecordID
			if m, ok := byID[a.ID]; !ok || m.dest != u.name {
				t.Errorf("%s applied message %s, which the hub never sent there", u.name, a.ID)
			}
		}
		rejected := map[string]string{} // message id → reason code
		reasons := map[string]int{}
		for _, r := range u.in.Rejected {
			rejected[r.ID] = r.ReasonCode
			reasons[r.ReasonCode]++
		}
		for _, m := range msgs {
			if m.dest != u.name {
				continue
			}
			switch m.state {
			case "acknowledged":
				rec, ok := applied[m.id]
				if !ok {
					t.Errorf("%s message %s is acknowledged but %s never applied it", u.name, m.id, u.name)
				} else if m.upstreamRef != rec {
					t.Errorf("%s message %s: hub recorded reference %q, %s applied it as %q", u.name, m.id, m.upstreamRef, u.name, rec)
				}
			case "rejected":
				if _, ok := rejected[m.id]; !ok {
					t.Errorf("%s message %s is rejected but %s never rejected it", u.name, m.id, u.name)
				}
			}
		}
		replayInOrder(t, u.name, u.in, acc, byAction, applied, rejected)
		extraFinals := 0
		for _, r := range u.in.Receipts {
			extraFinals += max(0, r.FinalAnswers-1)
		}
		t.Logf("%s: %d requests, applied %d, rejected %d %v, duplicates %d, receipts acknowledged more than once %d, faults %v",
			u.name, u.in.Requests, u.in.AppliedCount, u.in.RejectedCount, reasons, u.in.Duplicates, extraFinals, u.in.Faults)
	}

	// Every failure is classified; permanent ones are final, transient ones
	// are retried.
	classes := map[string]int{}
	for _, a := range attempts {
		if a.class == "" {
			if a.outcome == "error" {
				t.Errorf("message %s attempt %d failed without an error class", a.msg, a.attempt)
			}
			continue
		}
		classes[a.class]++
		switch m := byID[a.msg]; {
		case slices.Contains(permanent, a.class):
			if m.state != "dead" || m.attempts != a.attempt {
				t.Errorf("message %s: permanent %s at attempt %d, but the message is %s after %d attempts; want dead at once",
					a.msg, a.class, a.attempt, m.state, m.attempts)
			}
		case slices.Contains(transient, a.class):
		default:
			t.Errorf("message %s attempt %d: unknown error class %q", a.msg, a.attempt, a.class)
		}
	}
	for _, m := range msgs {
		switch {
		case m.state != "dead":
		case m.errorClass == "":
			t.Errorf("message %s is dead without an error class", m.id)
		case slices.Contains(transient, m.errorClass) && m.attempts < x.maxAttempts:
			t.Errorf("message %s: dead after %d of %d attempts, last failure transient %s: not retried", m.id, m.attempts, x.maxAttempts, m.errorClass)
		}
	}
	t.Logf("error classes of %d recorded attempts: %v", len(attempts), classes)
	for _, c := range x.classes {
		if classes[c] == 0 {
			t.Errorf("no attempt failed with class %s: the fault was not exercised (classes seen: %v)", c, classes)
		}
	}
}

// readOutcome reads the accepted actions' statuses, the number of actions
// stored, every outbox message and every recorded attempt.
func readOutcome(t *testing.T, e *hubtest.Env, ids []string) (status map[string]string, total int, msgs []msgRow, attempts []attemptRow) {
	t.Helper()
	query(t, e.Pool, func(ctx context.Context) error {
		if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM actions`).Scan(&total); err != nil {
			return err
		}
		rows, err := e.Pool.Query(ctx, `SELECT id::text, status FROM actions WHERE id = ANY($1::uuid[])`, ids)
		if err != nil {
			return err
		}
		status = map[string]string{}
		var id, st string
		if _, err := pgx.ForEachRow(rows, []any{&id, &st}, func() error { status[id] = st; return nil }); err != nil {
			return err
		}
		rows, err = e.Pool.Query(ctx, `
			SELECT id::text, action_id::text, destination, state, upstream_ref, error_class, attempts
			FROM outbox_messages ORDER BY seq`)
		if err != nil {
			return err
		}
		msgs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (msgRow, error) {
			var m msgRow
			err := r.Scan(&m.id, &m.actionID, &m.dest, &m.state, &m.upstreamRef, &m.errorClass, &m.attempts)
			return m, err
		})
		if err != nil {
			return err
		}
		rows, err = e.Pool.Query(ctx, `SELECT message_id::text, outcome, error_class, attempt FROM delivery_attempts ORDER BY id`)
		if err != nil {
			return err
		}
		attempts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (attemptRow, error) {
			var a attemptRow
			err := r.Scan(&a.msg, &a.outcome, &a.class, &a.attempt)
			return a, err
		})
		return err
	})
	return status, total, msgs, attempts
}

// replayInOrder feeds the messages the upstream decided on (applied or
// rejected) to a fresh engine with the upstream's decision rules, in
// submission order, and compares the decisions. An upstream judges a
// deregistration or a cancellation by the person's state, so a message that
// overtook an earlier one of the same person is decided differently: the
// applied-order check alone does not see a message rejected that way.
func replayInOrder(t *testing.T, name string, in upstream.Inspection, acc []accepted,
	byAction map[string]map[string]msgRow, applied, rejected map[string]string) {
	t.Helper()
	eng := upstream.NewEngine("replay", upstream.Config{RejectionRate: in.Config.RejectionRate, Seed: in.Config.Seed}, nil)
	render := func(upstream.Ack) ([]byte, error) { return nil, nil }
	mismatches := 0
	for _, a := range acc {
		m := byAction[a.ID][name]
		_, wasApplied := applied[m.id]
		code, wasRejected := rejected[m.id]
		if !wasApplied && !wasRejected {
			continue // never decided upstream (dead, or queued behind a dead one)
		}
		msg := upstream.Message{
			ID: m.id, PersonKey: a.Person, Reference: a.Reference,
			Kind: upstreamKind(a.sub.Kind),
		}
		if a.sub.Cancellation != nil {
			msg.CancelOf = upstreamKind(a.sub.Cancellation.Of)
		}
		r, err := eng.Submit(msg, render)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		replayed := r.Ack.Status == upstream.AckApplied
		if replayed != wasApplied || (wasRejected && r.Ack.ReasonCode != code) {
			mismatches++
			if mismatches <= 5 {
				t.Errorf("%s decided action %s (%s of person %s) %s, but in submission order it is %s %s: delivered out of order?",
					name, a.Reference, a.sub.Kind, a.Person, decision(wasApplied, code), r.Ack.Status, r.Ack.ReasonCode)
			}
		}
	}
	if mismatches > 5 {
		t.Errorf("%s: %d decisions in all differ from an in-order replay", name, mismatches)
	}
}

func decision(applied bool, code string) string {
	if applied {
		return "APPLIED"
	}
	return "REJECTED " + code
}

// upstreamKind maps "residence.register" to upstream.KindRegister, etc.
func upstreamKind(k action.Kind) upstream.Kind {
	return upstream.Kind(strings.TrimPrefix(string(k), "residence."))
}
