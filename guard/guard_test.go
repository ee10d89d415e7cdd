package guard_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/guard"
)

// Synthetic addresses: KATOTTG codes of the right shape, invented streets.
var (
	house = action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7"}
	flat5 = action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7", Apartment: "5"}
	flat6 = action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7", Apartment: "6"}
	other = action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Уявна", Building: "3", Apartment: "1"}
)

func addr(a action.Address) *action.Address { return &a }

// Every kind the hub knows has a role for the guards: a kind added without
// one would be neither blocked by injunctions nor warned about.
func TestEveryKindHasARole(t *testing.T) {
	for _, k := range action.Kinds() {
		if _, ok := guard.Roles[k]; !ok {
			t.Errorf("kind %s has no role in guard.Roles", k)
		}
	}
	for k := range guard.Roles {
		if _, ok := action.Spec(k); !ok {
			t.Errorf("guard.Roles names %s, which is no kind", k)
		}
	}
}

func TestKeyNormalisesAsWritten(t *testing.T) {
	cases := []struct {
		name string
		a, b action.Address
		same bool
	}{
		{"identical", flat5, flat5, true},
		{"case and spaces", flat5, action.Address{KATOTTG: " UA12060170010076413 ", Street: "ВУЛ.  вигадана ", Building: " 7", Apartment: "5 "}, true},
		{"apostrophes", action.Address{KATOTTG: house.KATOTTG, Street: "вул. Мʼяка", Building: "1"},
			action.Address{KATOTTG: house.KATOTTG, Street: "вул. М'яка", Building: "1"}, true},
		{"other apartment", flat5, flat6, false},
		{"other street", flat5, other, false},
		{"block matters", action.Address{KATOTTG: house.KATOTTG, Street: house.Street, Building: "7", Block: "2"}, house, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := guard.Key(c.a) == guard.Key(c.b); got != c.same {
				t.Fatalf("Key(%+v) == Key(%+v) is %v, want %v", c.a, c.b, got, c.same)
			}
		})
	}
}

// injunction is an injunction on a in force from 2025-01-10 until lifted.
func injunction(a action.Address) guard.Injunction {
	return guard.Injunction{ID: uuid.New(), Court: "Синтетичний районний суд", Reference: "SYN-2/123/25",
		DecidedOn: "2025-01-10", Address: a, ValidFrom: "2025-01-10"}
}

func TestInjunctionCoversAndActiveOn(t *testing.T) {
	lifted := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	building, apartment := injunction(house), injunction(flat5)
	until := injunction(flat5)
	until.ValidUntil = "2025-02-28"
	gone := injunction(house)
	gone.LiftedAt = &lifted
	cases := []struct {
		name   string
		in     guard.Injunction
		at     action.Address
		day    string
		blocks bool
	}{
		{"whole building covers an apartment", building, flat5, "2025-02-01", true},
		{"whole building covers the building", building, house, "2025-02-01", true},
		{"apartment covers itself", apartment, flat5, "2025-02-01", true},
		{"apartment does not cover its neighbour", apartment, flat6, "2025-02-01", false},
		{"apartment does not cover the building", apartment, house, "2025-02-01", false},
		{"another street", building, other, "2025-02-01", false},
		{"first day in force", building, flat5, "2025-01-10", true},
		{"before in force", building, flat5, "2025-01-09", false},
		{"last day in force", until, flat5, "2025-02-28", true},
		{"after valid_until", until, flat5, "2025-03-01", false},
		{"lifted", gone, flat5, "2025-02-01", false},
		{"written differently", building, action.Address{KATOTTG: house.KATOTTG, Street: " ВУЛ. ВИГАДАНА", Building: "7 ", Apartment: "9"}, "2025-02-01", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.in.Covers(guard.Key(c.at)) && c.in.ActiveOn(c.day)
			if got != c.blocks {
				t.Fatalf("covers and active = %v, want %v", got, c.blocks)
			}
			b := guard.Blocking([]guard.Injunction{c.in}, []action.AddressKey{guard.Key(c.at)}, c.day)
			if (b != nil) != c.blocks {
				t.Fatalf("Blocking = %v, want blocking %v", b, c.blocks)
			}
		})
	}
}

func TestInjunctionCheck(t *testing.T) {
	const today = "2025-02-01"
	valid := injunction(flat5)
	valid.ValidFrom = ""
	cases := []struct {
		name string
		edit func(in *guard.Injunction)
		want []string // substrings of the error; none: valid
	}{
		{"valid", func(*guard.Injunction) {}, nil},
		{"everything missing", func(in *guard.Injunction) { *in = guard.Injunction{} },
			[]string{"court is required", "reference is required", "address.katottg", "address.building is required", "decided_on is required"}},
		{"ruling in the future", func(in *guard.Injunction) { in.DecidedOn = "2025-02-02" }, []string{"decided_on is after today"}},
		{"not a date", func(in *guard.Injunction) { in.DecidedOn = "10.01.2025" }, []string{"decided_on must be a date"}},
		{"until before from", func(in *guard.Injunction) { in.ValidFrom, in.ValidUntil = "2025-01-20", "2025-01-19" }, []string{"valid_until is before valid_from"}},
		{"building too long", func(in *guard.Injunction) { in.Address.Building = strings.Repeat("1", 21) }, []string{"address.building is longer"}},
		{"control characters", func(in *guard.Injunction) { in.Court = "суд\n" }, []string{"court has control characters"}},
		{"bad katottg", func(in *guard.Injunction) { in.Address.KATOTTG = "UA1206" }, []string{"address.katottg"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := valid
			c.edit(&in)
			err := in.Check(today)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if in.ValidFrom != in.DecidedOn {
					t.Fatalf("valid_from %q, want it filled with decided_on %q", in.ValidFrom, in.DecidedOn)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check passed, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// sub is a submission of kind at a, effective on eff, by a fixed person.
func sub(kind action.Kind, a *action.Address, eff string) *action.Submission {
	return &action.Submission{Kind: kind, Address: a, EffectiveDate: eff,
		Person: action.Person{UNZR: "19900101-00011", BirthDate: "1990-01-01"}}
}

func registeredAt(a action.Address) *action.Registration {
	return &action.Registration{Address: &a, Registered: true, RegistrationDate: "2020-05-01"}
}

func deregisteredFrom(a action.Address, on string) *action.Registration {
	return &action.Registration{Address: &a, DeregistrationDate: on}
}

func TestConcernedAndVacated(t *testing.T) {
	withPrev := sub(action.KindDeclare, addr(other), "2025-02-01")
	withPrev.PreviousAddress = addr(flat5)
	change := sub(action.KindChange, addr(other), "2025-02-01")
	change.PreviousAddress = addr(flat5)
	cancelNoAddr := sub(action.KindCancel, nil, "2025-02-01")
	cancelNoAddr.Cancellation = &action.Cancellation{Of: action.KindRegister, ActionID: uuid.NewString(), Reason: "помилка"}
	cases := []struct {
		name      string
		s         *action.Submission
		reg       *action.Registration
		cancelled *action.Address
		concerned []action.Address
		vacated   *action.Address
	}{
		{"registration of someone unknown", sub(action.KindRegister, addr(flat5), "2025-02-01"), nil, nil, []action.Address{flat5}, nil},
		{"change of residence", sub(action.KindRegister, addr(other), "2025-02-01"), registeredAt(flat5), nil, []action.Address{other, flat5}, addr(flat5)},
		{"registered again at the same address", sub(action.KindRegister, addr(flat5), "2025-02-01"), registeredAt(flat5), nil, []action.Address{flat5}, nil},
		{"after a deregistration, nothing is vacated", sub(action.KindDeclare, addr(other), "2025-02-01"), deregisteredFrom(flat5, "2025-01-01"), nil, []action.Address{other}, nil},
		{"previous address of someone unknown", withPrev, nil, nil, []action.Address{other, flat5}, addr(flat5)},
		{"previous address ignored when the read model knows better", withPrev, deregisteredFrom(flat6, "2025-01-01"), nil, []action.Address{other}, nil},
		{"deregistration", sub(action.KindDeregister, addr(flat5), "2025-02-01"), registeredAt(flat5), nil, []action.Address{flat5}, addr(flat5)},
		{"cancellation with its address", sub(action.KindCancel, addr(flat6), "2025-02-01"), registeredAt(flat5), nil, []action.Address{flat6}, nil},
		{"cancellation of a known action", cancelNoAddr, registeredAt(flat5), addr(other), []action.Address{other}, nil},
		{"cancellation of an unknown action", cancelNoAddr, registeredAt(flat5), nil, []action.Address{flat5}, nil},
		{"cancellation knowing nothing", cancelNoAddr, nil, nil, nil, nil},
		{"change of residence names what it leaves", change, deregisteredFrom(flat6, "2025-01-01"), nil, []action.Address{other, flat5}, addr(flat5)},
		{"place of stay", sub(action.KindStayRegister, addr(other), "2025-02-01"), registeredAt(flat5), nil, []action.Address{other}, nil},
		{"deregistration on death", sub(action.KindDeregisterDeath, addr(flat5), "2025-02-01"), registeredAt(flat5), nil, []action.Address{flat5}, addr(flat5)},
		{"exclusion of a declared residence", sub(action.KindExclude, addr(flat5), "2025-02-01"), registeredAt(flat5), nil, []action.Address{flat5}, addr(flat5)},
		{"correction of personal data", sub(action.KindCorrect, nil, "2025-02-01"), registeredAt(flat5), nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []action.AddressKey
			for _, a := range c.concerned {
				want = append(want, guard.Key(a))
			}
			if got := guard.Concerned(c.s, c.reg, c.cancelled); !slices.Equal(got, want) {
				t.Errorf("Concerned = %+v, want %+v", got, want)
			}
			got := guard.Vacated(c.s, c.reg)
			if (got == nil) != (c.vacated == nil) || (got != nil && guard.Key(*got) != guard.Key(*c.vacated)) {
				t.Errorf("Vacated = %+v, want %+v", got, c.vacated)
			}
		})
	}
}

func TestDeadlineMissed(t *testing.T) {
	cases := []struct {
		name string
		s    *action.Submission
		reg  *action.Registration
		days int
		late bool
	}{
		{"on the 30th day", sub(action.KindRegister, addr(other), "2025-01-31"), deregisteredFrom(flat5, "2025-01-01"), 30, false},
		{"on the 31st day", sub(action.KindRegister, addr(other), "2025-02-01"), deregisteredFrom(flat5, "2025-01-01"), 31, true},
		{"a declaration too", sub(action.KindDeclare, addr(other), "2025-06-01"), deregisteredFrom(flat5, "2025-01-01"), 151, true},
		{"across a leap day", sub(action.KindRegister, addr(other), "2024-03-01"), deregisteredFrom(flat5, "2024-01-31"), 30, false},
		{"same day", sub(action.KindRegister, addr(other), "2025-01-01"), deregisteredFrom(flat5, "2025-01-01"), 0, false},
		{"still registered (change of residence)", sub(action.KindRegister, addr(other), "2025-06-01"), registeredAt(flat5), 0, false},
		{"unknown to the read model", sub(action.KindRegister, addr(other), "2025-06-01"), nil, 0, false},
		{"a deregistration is not late", sub(action.KindDeregister, addr(flat5), "2025-06-01"), deregisteredFrom(flat5, "2025-01-01"), 0, false},
		{"a change of residence after a deregistration", sub(action.KindChange, addr(other), "2025-03-01"), deregisteredFrom(flat5, "2025-01-01"), 59, true},
		{"a place of stay is no residence", sub(action.KindStayRegister, addr(other), "2025-06-01"), deregisteredFrom(flat5, "2025-01-01"), 0, false},
		{"no deregistration date", sub(action.KindRegister, addr(other), "2025-06-01"), &action.Registration{}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			days, late := guard.DeadlineMissed(c.s, c.reg)
			if days != c.days || late != c.late {
				t.Fatalf("DeadlineMissed = %d, %v; want %d, %v", days, late, c.days, c.late)
			}
		})
	}
}

func TestIsMinor(t *testing.T) {
	cases := []struct {
		birth, day string
		minor      bool
	}{
		{"2010-06-15", "2025-02-01", true},
		{"2007-02-01", "2025-01-31", true},  // the day before the 18th birthday
		{"2007-02-01", "2025-02-01", false}, // the 18th birthday
		{"1990-01-01", "2025-02-01", false},
		{"2008-02-29", "2026-02-28", true},  // born on a leap day: of age on 1 March
		{"2008-02-29", "2026-03-01", false}, //
		{"not a date", "2025-02-01", false},
	}
	for _, c := range cases {
		if got := guard.IsMinor(c.birth, c.day); got != c.minor {
			t.Errorf("IsMinor(%s, %s) = %v, want %v", c.birth, c.day, got, c.minor)
		}
	}
}

func TestWarnings(t *testing.T) {
	child := guard.Resident{PersonKey: "unzr:20150301-00027", BirthDate: "2015-03-01"}
	teen := guard.Resident{PersonKey: "unzr:20080101-00016", BirthDate: "2008-01-01"}
	adult := guard.Resident{PersonKey: "unzr:19700101-00012", BirthDate: "1970-01-01"}
	self := guard.Resident{PersonKey: "unzr:19900101-00011", BirthDate: "2015-01-01"} // never counted
	cases := []struct {
		name      string
		s         *action.Submission
		reg       *action.Registration
		residents []guard.Resident
		want      []string // codes
		detail    string   // a substring of the last warning's detail
	}{
		{"nothing to say", sub(action.KindRegister, addr(flat5), "2025-02-01"), nil, nil, nil, ""},
		{"late registration", sub(action.KindRegister, addr(other), "2025-03-15"), deregisteredFrom(flat5, "2025-01-01"), nil,
			[]string{guard.WarningDeadlineMissed}, "73 days"},
		{"a child stays behind a deregistration", sub(action.KindDeregister, addr(flat5), "2025-02-01"), registeredAt(flat5),
			[]guard.Resident{child, adult, self}, []string{guard.WarningMinorRemains}, "1 person under 18 remains"},
		{"two minors", sub(action.KindDeregister, addr(flat5), "2025-02-01"), registeredAt(flat5),
			[]guard.Resident{child, teen}, []string{guard.WarningMinorRemains}, "2 persons under 18 remain"},
		{"only adults stay", sub(action.KindDeregister, addr(flat5), "2025-02-01"), registeredAt(flat5),
			[]guard.Resident{adult}, nil, ""},
		{"a teen who came of age by the effective date", sub(action.KindDeregister, addr(flat5), "2026-01-01"), registeredAt(flat5),
			[]guard.Resident{teen}, nil, ""},
		{"change of residence leaving a child", sub(action.KindRegister, addr(other), "2025-02-01"), registeredAt(flat5),
			[]guard.Resident{child}, []string{guard.WarningMinorRemains}, "001 §2.5.18"},
		{"a registration vacates nothing: residents are not counted", sub(action.KindRegister, addr(flat5), "2025-02-01"), nil,
			[]guard.Resident{child}, nil, ""},
		{"a parent dies, a child stays", sub(action.KindDeregisterDeath, addr(flat5), "2025-02-01"), registeredAt(flat5),
			[]guard.Resident{child}, []string{guard.WarningMinorRemains}, "1 person under 18"},
		{"a late change of residence leaving a child", func() *action.Submission {
			s := sub(action.KindChange, addr(other), "2025-03-15")
			s.PreviousAddress = addr(flat5)
			return s
		}(), deregisteredFrom(flat6, "2025-01-01"), []guard.Resident{child},
			[]string{guard.WarningDeadlineMissed, guard.WarningMinorRemains}, "001 §2.5.18"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := guard.Warnings(c.s, c.reg, c.residents)
			var codes []string
			for _, w := range ws {
				codes = append(codes, w.Code)
				if w.Detail == "" {
					t.Errorf("warning %s has no detail", w.Code)
				}
			}
			if !slices.Equal(codes, c.want) {
				t.Fatalf("warnings %+v, want codes %v", ws, c.want)
			}
			if c.detail != "" && !strings.Contains(ws[len(ws)-1].Detail, c.detail) {
				t.Errorf("detail %q does not say %q", ws[len(ws)-1].Detail, c.detail)
			}
		})
	}
}

// fakeStore is a read model in memory, for Checker alone.
type fakeStore struct {
	regs      map[string]*action.Registration
	residents map[action.AddressKey][]guard.Resident
	actions   map[uuid.UUID]*action.Address
	fail      error
	calls     []string
}

func (f *fakeStore) PersonRegistration(_ context.Context, key string) (*action.Registration, error) {
	f.calls = append(f.calls, "registration")
	return f.regs[key], f.fail
}

func (f *fakeStore) Residents(_ context.Context, a action.Address, except string) ([]guard.Resident, error) {
	f.calls = append(f.calls, "residents")
	var out []guard.Resident
	for _, r := range f.residents[guard.Key(a)] {
		if r.PersonKey != except {
			out = append(out, r)
		}
	}
	return out, f.fail
}

func (f *fakeStore) ActionAddress(_ context.Context, id uuid.UUID) (*action.Address, error) {
	f.calls = append(f.calls, "action")
	return f.actions[id], f.fail
}

func TestCheckerInspect(t *testing.T) {
	cancelled := uuid.New()
	st := &fakeStore{
		regs:      map[string]*action.Registration{"unzr:19900101-00011": registeredAt(flat5)},
		residents: map[action.AddressKey][]guard.Resident{guard.Key(flat5): {{PersonKey: "unzr:20150301-00027", BirthDate: "2015-03-01"}}},
		actions:   map[uuid.UUID]*action.Address{cancelled: addr(flat6)},
	}
	c := guard.New(st)
	// 23:30 UTC on 31 January is 1 February in Kyiv.
	now := time.Date(2025, 1, 31, 23, 30, 0, 0, time.UTC)

	g, err := c.Inspect(t.Context(), sub(action.KindDeregister, addr(flat5), "2025-01-31"), now)
	if err != nil {
		t.Fatal(err)
	}
	if g.On != "2025-02-01" {
		t.Errorf("On = %s, want the day in Kyiv, 2025-02-01", g.On)
	}
	if !slices.Equal(g.Addresses, []action.AddressKey{guard.Key(flat5)}) {
		t.Errorf("Addresses = %+v", g.Addresses)
	}
	if len(g.Warnings) != 1 || g.Warnings[0].Code != guard.WarningMinorRemains {
		t.Errorf("Warnings = %+v, want the child remaining", g.Warnings)
	}

	st.calls = nil
	cancel := sub(action.KindCancel, nil, "2025-01-31")
	cancel.Cancellation = &action.Cancellation{Of: action.KindRegister, ActionID: cancelled.String(), Reason: "помилка"}
	if g, err = c.Inspect(t.Context(), cancel, now); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Addresses, []action.AddressKey{guard.Key(flat6)}) || len(g.Warnings) != 0 {
		t.Errorf("a cancellation: %+v, want the cancelled action's address and no warning", g)
	}
	if !slices.Equal(st.calls, []string{"registration", "action"}) {
		t.Errorf("a cancellation read %v", st.calls)
	}

	// Nothing to guard: nothing read.
	st.calls = nil
	if g, err = c.Inspect(t.Context(), sub(action.KindCorrect, nil, "2025-01-31"), now); err != nil || len(g.Addresses) != 0 || len(st.calls) != 0 || g.On != "2025-02-01" {
		t.Errorf("a correction: %+v %v, read %v", g, err, st.calls)
	}

	st.fail = errors.New("database away")
	if _, err := c.Inspect(t.Context(), sub(action.KindRegister, addr(other), "2025-01-31"), now); !errors.Is(err, st.fail) {
		t.Errorf("Inspect with the store failing: %v", err)
	}
}
