package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/httpapi"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/guard"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/test/pgtest"
)

// syntheticPeople draws distinct persons from the synthetic registry:
// adults, and children born at least 200 days before today (so that every
// effective date of the tests may follow their birth).
func syntheticPeople(t *testing.T, seed int64, adults, children int) (ad, ch []action.Person) {
	t.Helper()
	gen := localregistry.NewGenerator(seed, time.Now())
	today := guard.Day(time.Now())
	oldEnough := time.Now().AddDate(0, 0, -200).Format(time.DateOnly)
	seen := map[string]bool{}
	for i := 0; i < 20000 && (len(ad) < adults || len(ch) < children); i++ {
		s := gen.Next()
		if (s.Kind != action.KindRegister && s.Kind != action.KindDeclare) || s.Person.Document == nil || seen[s.PersonKey()] {
			continue
		}
		seen[s.PersonKey()] = true
		switch minor := guard.IsMinor(s.Person.BirthDate, today); {
		case !minor && len(ad) < adults:
			ad = append(ad, s.Person)
		case minor && s.Person.BirthDate <= oldEnough && len(ch) < children:
			ch = append(ch, s.Person)
		}
	}
	if len(ad) < adults || len(ch) < children {
		t.Fatalf("the generator gave %d adults and %d children, want %d and %d", len(ad), len(ch), adults, children)
	}
	return ad, ch
}

// residence is the body of a submission of kind for p at a, effective
// daysAgo days ago.
func residence(t *testing.T, kind action.Kind, p action.Person, a action.Address, daysAgo int) []byte {
	t.Helper()
	s := action.Submission{Kind: kind, Person: p, Address: &a, EffectiveDate: time.Now().AddDate(0, 0, -daysAgo).Format(time.DateOnly),
		Official: action.Official{ID: "SYN-OFF-0001", Name: "Синтетичний працівник"}}
	if kind == action.KindDeregister {
		s.Deregistration = &action.Deregistration{Reason: action.DeregistrationMoved}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// guardFixture is the API with the guards on, over a real database.
type guardFixture struct {
	*opsFixture
}

func newGuardFixture(t *testing.T) *guardFixture {
	t.Helper()
	_, router := loadSpec(t)
	store := postgres.New(pgtest.Pool(t))
	f := &opsFixture{store: store, router: router, tok: map[auth.Role]string{}, gen: localregistry.NewGenerator(13, time.Now())}
	for id, role := range map[string]auth.Role{"reg": auth.RoleRegistry, "op-1": auth.RoleOperator, "aud-1": auth.RoleAuditor, "admin-1": auth.RoleAdmin} {
		tok, err := auth.Register(t.Context(), store, id, id, role)
		if err != nil {
			t.Fatal(err)
		}
		f.tok[role] = tok
	}
	actions := action.NewService(store, nil, nil)
	actions.SetGuard(guard.New(store))
	f.srv = httptest.NewServer(httpapi.Handler(httpapi.Deps{
		Actions: actions, Ops: ops.NewService(store, nil, nil), Injunctions: ops.NewInjunctions(store), Clients: store,
	}))
	t.Cleanup(f.srv.Close)
	return &guardFixture{f}
}

// submit posts body as the registry under a fresh key, checked against the
// contract.
func (f *guardFixture) submit(t *testing.T, body []byte, want int, problem string) []byte {
	t.Helper()
	req := httptest.NewRequest("POST", f.srv.URL+"/v1/actions", strings.NewReader(string(body)))
	req.RequestURI = ""
	req.Header.Set("Authorization", "Bearer "+f.tok[auth.RoleRegistry])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", uuid.NewString())
	status, raw := validateExchange(t, f.router, req, body, true)
	if status != want {
		t.Fatalf("submit: status %d, want %d: %s", status, want, raw)
	}
	if problem != "" {
		var p httpapi.Problem
		if err := json.Unmarshal(raw, &p); err != nil || !strings.HasSuffix(p.Type, ":"+problem) {
			t.Fatalf("submit: want problem %q, got %s", problem, raw)
		}
	}
	return raw
}

// completeAll acknowledges every delivery until none is left, as relays
// would: the actions complete and the read model follows them.
func (f *guardFixture) completeAll(t *testing.T) {
	t.Helper()
	for range 20 {
		msgs, err := f.store.Claim(t.Context(), 100, time.Minute, uuid.New())
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return
		}
		var res []outbox.Result
		for _, m := range msgs {
			res = append(res, result(m, action.DeliveryAcknowledged, "acknowledged"))
		}
		if _, err := f.store.Complete(t.Context(), res); err != nil {
			t.Fatal(err)
		}
	}
}

type tInjunction struct {
	ID         string         `json:"id"`
	Reference  string         `json:"reference"`
	Address    action.Address `json:"address"`
	ValidFrom  string         `json:"valid_from"`
	Active     bool           `json:"active"`
	Lifted     bool           `json:"lifted"`
	LiftedBy   string         `json:"lifted_by"`
	LiftReason string         `json:"lift_reason"`
	CreatedBy  string         `json:"created_by"`
}

type tAction struct {
	ID       string           `json:"id"`
	Warnings []action.Warning `json:"warnings"`
}

// An operator records an injunction; an action at its address is refused
// with 409 naming it, and nothing is stored; lifted, the action is
// accepted. Every exchange is checked against the contract.
func TestInjunctionBlocksActionsAtItsAddress(t *testing.T) {
	f := newGuardFixture(t)
	adults, _ := syntheticPeople(t, 21, 2, 0)
	enjoined := action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7"}
	flat := enjoined
	flat.Apartment = "12"
	decided := time.Now().AddDate(0, 0, -10).Format(time.DateOnly)
	const (
		op, aud, admin, reg = auth.RoleOperator, auth.RoleAuditor, auth.RoleAdmin, auth.RoleRegistry
	)
	addBody := fmt.Sprintf(`{"court":"Синтетичний районний суд","reference":"SYN-2/123/25","decided_on":%q,
		"address":{"katottg":"UA12060170010076413","street":"вул. Вигадана","building":"7"},
		"note":"заборона реєстраційних дій","reason":"ухвала надійшла поштою"}`, decided)
	var in tInjunction
	var refusedID string

	calls := []opsCall{
		{name: "registry may not list", method: "GET", path: "/v1/ops/injunctions", role: reg, want: 403, problem: "forbidden"},
		{name: "auditor may not add", method: "POST", path: "/v1/ops/injunctions", role: aud, body: addBody, want: 403, problem: "forbidden"},
		{name: "add without the essentials", method: "POST", path: "/v1/ops/injunctions", role: op, offContract: true,
			body: `{"court":"","address":{"katottg":"UA1"}}`, want: 422, problem: "invalid-request",
			check: func(t *testing.T, raw []byte) {
				for _, w := range []string{"court is required", "reference is required", "address.katottg", "address.building is required", "decided_on is required"} {
					if !strings.Contains(string(raw), w) {
						t.Errorf("the problem does not say %q: %s", w, raw)
					}
				}
			}},
		{name: "add with an unknown field", method: "POST", path: "/v1/ops/injunctions", role: op, offContract: true,
			body: `{"court":"c","reference":"r","decided_on":"2025-01-01","address":{"katottg":"UA12060170010076413","building":"1"},"scope":"all"}`,
			want: 400, problem: "invalid-body"},
		{name: "add", method: "POST", path: "/v1/ops/injunctions", role: op, body: addBody, want: 201, check: func(t *testing.T, raw []byte) {
			in = decodeAs[tInjunction](t, raw)
			if !in.Active || in.Lifted || in.ValidFrom != decided || in.CreatedBy != "op-1" || in.Address != enjoined {
				t.Fatalf("recorded %+v", in)
			}
		}},
		{name: "add again", method: "POST", path: "/v1/ops/injunctions", role: admin, body: addBody, want: 409, problem: "conflict"},
		{name: "list", method: "GET", path: "/v1/ops/injunctions?katottg=UA12060170010076413", role: aud, want: 200, check: func(t *testing.T, raw []byte) {
			items := decodeAs[struct {
				Items []tInjunction `json:"items"`
			}](t, raw).Items
			if len(items) != 1 || items[0].ID != in.ID {
				t.Fatalf("listed %s", raw)
			}
		}},
		{name: "list bad katottg", method: "GET", path: "/v1/ops/injunctions?katottg=UA1", role: op, want: 400, offContract: true, problem: "invalid-parameter"},
		{name: "list unknown parameter", method: "GET", path: "/v1/ops/injunctions?address=x", role: op, want: 400, problem: "invalid-parameter"},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { f.call(t, c) })
	}

	t.Run("refused", func(t *testing.T) {
		raw := f.submit(t, residence(t, action.KindRegister, adults[0], flat, 1), 409, "address-under-injunction")
		p := decodeAs[struct {
			Detail     string `json:"detail"`
			Injunction struct {
				ID, Reference, Court string
				DecidedOn            string `json:"decided_on"`
			} `json:"injunction"`
		}](t, raw)
		if p.Injunction.ID != in.ID || p.Injunction.Reference != "SYN-2/123/25" || p.Injunction.DecidedOn != decided ||
			!strings.Contains(p.Detail, "SYN-2/123/25") || !strings.Contains(p.Detail, "nothing was stored") {
			t.Fatalf("the refusal does not name the injunction: %s", raw)
		}
		refusedID = p.Injunction.ID
		var n int
		if err := f.store.Pool().QueryRow(t.Context(), `SELECT count(*) FROM actions`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d actions stored after the refusal (%v)", n, err)
		}
	})
	t.Run("another building is not covered", func(t *testing.T) {
		next := enjoined
		next.Building = "9"
		f.submit(t, residence(t, action.KindRegister, adults[1], next, 1), 202, "")
	})

	lift := fmt.Sprintf("/v1/ops/injunctions/%s/lift", in.ID)
	for _, c := range []opsCall{
		{name: "auditor may not lift", method: "POST", path: lift, role: aud, body: `{"reason":"x"}`, want: 403, problem: "forbidden"},
		{name: "lift without reason", method: "POST", path: lift, role: op, body: `{}`, want: 422, problem: "invalid-request"},
		{name: "lift unknown", method: "POST", path: fmt.Sprintf("/v1/ops/injunctions/%s/lift", uuid.New()), role: op, body: `{"reason":"x"}`, want: 404, problem: "not-found"},
		{name: "lift malformed id", method: "POST", path: "/v1/ops/injunctions/nope/lift", role: op, body: `{"reason":"x"}`, want: 404, problem: "not-found"},
		{name: "lift", method: "POST", path: lift, role: admin, body: `{"reason":"ухвалу скасовано апеляційним судом"}`, want: 200, check: func(t *testing.T, raw []byte) {
			if got := decodeAs[tInjunction](t, raw); !got.Lifted || got.Active || got.LiftedBy != "admin-1" || got.LiftReason == "" {
				t.Fatalf("lifted %s", raw)
			}
		}},
		{name: "lift again", method: "POST", path: lift, role: op, body: `{"reason":"again"}`, want: 409, problem: "conflict"},
		{name: "lifted ones are not listed", method: "GET", path: "/v1/ops/injunctions", role: op, want: 200, check: func(t *testing.T, raw []byte) {
			if strings.Contains(string(raw), in.ID) {
				t.Fatalf("a lifted injunction listed without lifted=true: %s", raw)
			}
		}},
		{name: "unless asked", method: "GET", path: "/v1/ops/injunctions?lifted=true&limit=10", role: op, want: 200, check: func(t *testing.T, raw []byte) {
			if !strings.Contains(string(raw), in.ID) {
				t.Fatalf("lifted=true does not list it: %s", raw)
			}
		}},
		{name: "steps", method: "GET", path: "/v1/ops/steps?target=injunction:" + in.ID, role: aud, want: 200, check: func(t *testing.T, raw []byte) {
			steps := decodeAs[struct {
				Items []tStep `json:"items"`
			}](t, raw).Items
			if len(steps) != 2 || steps[0].Operation != "injunction_lift" || steps[0].Actor != "admin-1" ||
				steps[1].Operation != "injunction_add" || steps[1].Actor != "op-1" || steps[1].Reason != "ухвала надійшла поштою" ||
				steps[1].Details["reference"] != "SYN-2/123/25" {
				t.Fatalf("steps %s", raw)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) { f.call(t, c) })
	}
	t.Run("accepted once lifted", func(t *testing.T) {
		if refusedID == "" {
			t.Skip("nothing was refused")
		}
		f.submit(t, residence(t, action.KindRegister, adults[0], flat, 1), 202, "")
	})
}

// Warnings are carried by the accepted action: in the 202, on GET and in
// the list; they never block.
func TestWarningsInTheActionView(t *testing.T) {
	f := newGuardFixture(t)
	adults, children := syntheticPeople(t, 22, 2, 1)
	parent, mover, child := adults[0], adults[1], children[0]
	home := action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7", Apartment: "3"}
	away := action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Уявна", Building: "1", Apartment: "8"}

	// The read model: parent and child at home; the mover deregistered 80 days ago.
	for _, body := range [][]byte{
		residence(t, action.KindRegister, parent, home, 100), residence(t, action.KindRegister, child, home, 100),
		residence(t, action.KindRegister, mover, away, 100),
	} {
		f.submit(t, body, 202, "")
	}
	f.completeAll(t)
	f.submit(t, residence(t, action.KindDeregister, mover, away, 80), 202, "")
	f.completeAll(t)

	warned := func(raw []byte, code string) tAction {
		t.Helper()
		a := decodeAs[tAction](t, raw)
		if len(a.Warnings) != 1 || a.Warnings[0].Code != code || a.Warnings[0].Detail == "" {
			t.Fatalf("warnings of %s: %+v, want %s", a.ID, a.Warnings, code)
		}
		return a
	}
	late := warned(f.submit(t, residence(t, action.KindRegister, mover, home, 1), 202, ""), guard.WarningDeadlineMissed)
	if d := late.Warnings[0].Detail; !strings.Contains(d, "79 days") || !strings.Contains(d, "001 §2.5.16") {
		t.Errorf("detail %q", d)
	}
	left := warned(f.submit(t, residence(t, action.KindDeregister, parent, home, 1), 202, ""), guard.WarningMinorRemains)

	f.call(t, opsCall{method: "GET", path: "/v1/actions/" + late.ID, role: auth.RoleRegistry, want: 200, check: func(t *testing.T, raw []byte) {
		warned(raw, guard.WarningDeadlineMissed)
	}})
	f.call(t, opsCall{method: "GET", path: "/v1/actions/" + left.ID, role: auth.RoleAuditor, want: 200, check: func(t *testing.T, raw []byte) {
		warned(raw, guard.WarningMinorRemains)
	}})
	f.call(t, opsCall{method: "GET", path: "/v1/actions?limit=10", role: auth.RoleRegistry, want: 200, check: func(t *testing.T, raw []byte) {
		items := decodeAs[struct {
			Items []tAction `json:"items"`
		}](t, raw).Items
		got := map[string]int{}
		for _, a := range items {
			if a.Warnings == nil {
				t.Fatalf("an action listed without a warnings array: %s", raw)
			}
			for _, w := range a.Warnings {
				got[w.Code]++
			}
		}
		if len(items) != 6 || got[guard.WarningDeadlineMissed] != 1 || got[guard.WarningMinorRemains] != 1 {
			t.Fatalf("listed %d actions with warnings %v: %s", len(items), got, raw)
		}
	}})
}
