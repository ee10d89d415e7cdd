package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/guard"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/test/hubtest"
)

// adultsFrom draws n distinct synthetic adults from the local registry's
// generator.
func adultsFrom(t *testing.T, seed int64, n int) []action.Person {
	t.Helper()
	gen := localregistry.NewGenerator(seed, time.Now())
	today := guard.Day(time.Now())
	seen := map[string]bool{}
	var out []action.Person
	for i := 0; i < 10000 && len(out) < n; i++ {
		s := gen.Next()
		if (s.Kind != action.KindRegister && s.Kind != action.KindDeclare) || s.Person.Document == nil ||
			seen[s.PersonKey()] || guard.IsMinor(s.Person.BirthDate, today) {
			continue
		}
		seen[s.PersonKey()] = true
		out = append(out, s.Person)
	}
	if len(out) < n {
		t.Fatalf("the generator gave %d adults, want %d", len(out), n)
	}
	return out
}

// residenceAt is a submission of kind for p at a, effective daysAgo days ago.
func residenceAt(t *testing.T, kind action.Kind, p action.Person, a action.Address, daysAgo int) []byte {
	t.Helper()
	s := action.Submission{Kind: kind, Person: p, Address: &a, EffectiveDate: time.Now().AddDate(0, 0, -daysAgo).Format(time.DateOnly),
		Official: action.Official{ID: "SYN-OFF-0007", Name: "Синтетичний працівник"}}
	if kind == action.KindDeregister {
		s.Deregistration = &action.Deregistration{Reason: action.DeregistrationMoved}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// actionWithWarnings is what the test reads of an action.
type actionWithWarnings struct {
	hubtest.ActionView
	Warnings []action.Warning `json:"warnings"`
}

// Court injunctions through the real binary: an operator records one, a
// registration in its building is refused with 409 naming it and nothing is
// stored; lifted, the same submission is accepted and completes upstream.
// A registration later than the legal deadline after a deregistration
// carries its warning.
func TestInjunctionAndLateRegistration(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{})
	op := operatorToken(t, e, "op-guard", auth.RoleOperator)
	aud := operatorToken(t, e, "aud-guard", auth.RoleAuditor)
	people := adultsFrom(t, 71, 2)
	building := action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7"}
	flat := building
	flat.Apartment = "4"

	// The operator records the injunction on the whole building.
	decided := time.Now().AddDate(0, 0, -5).Format(time.DateOnly)
	add := fmt.Appendf(nil, `{"court": "Синтетичний районний суд", "reference": "SYN-2/44/25", "decided_on": %q,
		"address": {"katottg": %q, "street": %q, "building": %q}, "reason": "ухвала надійшла"}`,
		decided, building.KATOTTG, building.Street, building.Building)
	var in struct {
		ID     string `json:"id"`
		Active bool   `json:"active"`
	}
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/injunctions", aud, nil, add, nil); code != http.StatusForbidden {
		t.Fatalf("an auditor recorded an injunction: %d %s", code, raw)
	}
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/injunctions", op, nil, add, &in); code != http.StatusCreated || !in.Active {
		t.Fatalf("add injunction: %d %s", code, raw)
	}

	// A registration in the building: 409 naming the injunction, nothing stored.
	key := map[string]string{"Idempotency-Key": uuid.NewString()}
	body := residenceAt(t, action.KindRegister, people[0], flat, 1)
	var problem struct {
		Type       string `json:"type"`
		Injunction struct {
			ID        string `json:"id"`
			Reference string `json:"reference"`
		} `json:"injunction"`
	}
	code, hdr, raw := e.Call(http.MethodPost, "/v1/actions", e.Token, key, body, &problem)
	if code != http.StatusConflict || hdr.Get("Content-Type") != "application/problem+json" ||
		problem.Type != "urn:reghub:problem:address-under-injunction" || problem.Injunction.Reference != "SYN-2/44/25" || problem.Injunction.ID != in.ID {
		t.Fatalf("registration under the injunction: %d %s", code, raw)
	}
	var stored int
	if err := e.Pool.QueryRow(context.Background(), `SELECT count(*) FROM actions`).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("%d actions stored after the refusal (%v)", stored, err)
	}

	// Lifted: the same submission, under the same key, is accepted and completes.
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/injunctions/"+in.ID+"/lift", op, nil,
		[]byte(`{"reason": "ухвалу скасовано апеляційним судом"}`), nil); code != http.StatusOK {
		t.Fatalf("lift: %d %s", code, raw)
	}
	var accepted actionWithWarnings
	if code, _, raw := e.Call(http.MethodPost, "/v1/actions", e.Token, key, body, &accepted); code != http.StatusAccepted || len(accepted.Warnings) != 0 {
		t.Fatalf("registration after the lift: %d %s", code, raw)
	}
	if got := e.WaitResolved([]string{accepted.ID}, 30*time.Second)[accepted.ID]; got.Status != "completed" {
		t.Fatalf("the registration after the lift is %s", got.Status)
	}

	// Both steps are recorded, in the steps and in the audit log.
	var steps struct {
		Items []struct{ Actor, Operation string } `json:"items"`
	}
	if code, _, raw := e.Call(http.MethodGet, "/v1/ops/steps?target=injunction:"+in.ID, aud, nil, nil, &steps); code != http.StatusOK ||
		len(steps.Items) != 2 || steps.Items[0].Operation != "injunction_lift" || steps.Items[1].Operation != "injunction_add" {
		t.Fatalf("steps: %d %s", code, raw)
	}
	var audited int
	if err := e.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE org = 'op-guard' AND decision LIKE 'injunction_%'`).
		Scan(&audited); err != nil || audited != 2 {
		t.Fatalf("%d injunction steps in the audit log (%v), want 2", audited, err)
	}

	// A late registration: registered, deregistered 60 days ago (both
	// confirmed upstream, so the read model has them), registered again now.
	mover, away := people[1], action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Уявна", Building: "3", Apartment: "9"}
	first := e.Submit(residenceAt(t, action.KindRegister, mover, away, 90))
	e.WaitResolved([]string{first.ID}, 30*time.Second)
	left := e.Submit(residenceAt(t, action.KindDeregister, mover, away, 60))
	if got := e.WaitResolved([]string{left.ID}, 30*time.Second)[left.ID]; got.Status != "completed" {
		t.Fatalf("the deregistration is %s", got.Status)
	}
	var late actionWithWarnings
	if code, _, raw := e.Call(http.MethodPost, "/v1/actions", e.Token, map[string]string{"Idempotency-Key": uuid.NewString()},
		residenceAt(t, action.KindRegister, mover, flat, 0), &late); code != http.StatusAccepted ||
		len(late.Warnings) != 1 || late.Warnings[0].Code != guard.WarningDeadlineMissed {
		t.Fatalf("late registration: %d %s", code, raw)
	}
	var shown actionWithWarnings
	if code, _, raw := e.Call(http.MethodGet, "/v1/actions/"+late.ID, e.Token, nil, nil, &shown); code != http.StatusOK ||
		len(shown.Warnings) != 1 || shown.Warnings[0] != late.Warnings[0] {
		t.Fatalf("GET of the late registration: %d %s", code, raw)
	}
	if got := e.WaitResolved([]string{late.ID}, 30*time.Second)[late.ID]; got.Status != "completed" {
		t.Fatalf("a warning blocked nothing, yet the late registration is %s", got.Status)
	}
}
