package postgres_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/guard"
	"github.com/reghub/reghub/ops"
)

// Synthetic addresses in one community.
const community = "UA12060170010076413"

func at(street, building, block, apartment string) action.Address {
	return action.Address{KATOTTG: community, Street: street, Building: building, Block: block, Apartment: apartment}
}

// addInjunction records in through the store, as the ops use case does.
func (b bundle) addInjunction(t *testing.T, in guard.Injunction) guard.Injunction {
	t.Helper()
	in.ID, in.CreatedAt, in.CreatedBy = uuid.Must(uuid.NewV7()), time.Now(), "op-1"
	if in.Court == "" {
		in.Court = "Синтетичний районний суд"
	}
	if in.DecidedOn == "" {
		in.DecidedOn = in.ValidFrom
	}
	st := ops.Step{At: in.CreatedAt, Actor: "op-1", Role: "operator", Operation: ops.OpInjunctionAdd, Target: "injunction:" + in.ID.String()}
	if err := b.store.AddInjunction(b.ctx, st, in); err != nil {
		t.Fatalf("add injunction %s: %v", in.Reference, err)
	}
	return in
}

func (b bundle) liftInjunction(t *testing.T, id uuid.UUID) *guard.Injunction {
	t.Helper()
	st := ops.Step{At: time.Now(), Actor: "op-2", Role: "admin", Operation: ops.OpInjunctionLift, Target: "injunction:" + id.String(), Reason: "скасовано апеляційним судом"}
	in, err := b.store.LiftInjunction(b.ctx, st, id)
	if err != nil {
		t.Fatalf("lift injunction: %v", err)
	}
	return in
}

// guarded is a new action of person whose guarded addresses are addrs, on day.
func guarded(person, key, day string, addrs ...action.Address) action.NewAction {
	a := newAction(person, key)
	a.Guarded.On = day
	for _, ad := range addrs {
		a.Guarded.Addresses = append(a.Guarded.Addresses, guard.Key(ad))
	}
	return a
}

func (b bundle) stored(t *testing.T, id uuid.UUID) (actions, messages int) {
	t.Helper()
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM actions WHERE id = $1),
		(SELECT count(*) FROM outbox_messages WHERE action_id = $1)`, id).Scan(&actions, &messages); err != nil {
		t.Fatal(err)
	}
	return actions, messages
}

// The accept transaction refuses exactly what guard.Blocking refuses: the
// SQL of the conditional insert against the core's reference, over every
// combination of address and day.
func TestInsertRefusesWhatTheGuardBlocks(t *testing.T) {
	b := setup(t)
	b.addInjunction(t, guard.Injunction{Reference: "SYN-1/25", Address: at("вул. Вигадана", "7", "", ""), ValidFrom: "2025-01-10"})
	b.addInjunction(t, guard.Injunction{Reference: "SYN-2/25", Address: at("вул. Уявна", "3", "", "5"),
		ValidFrom: "2025-01-10", ValidUntil: "2025-02-28"})
	b.addInjunction(t, guard.Injunction{Reference: "SYN-3/25", Address: at("вул. Тестова", "1", "2", ""), ValidFrom: "2025-01-10"})
	lifted := b.addInjunction(t, guard.Injunction{Reference: "SYN-4/25", Address: at("вул. Зразкова", "4", "", ""), ValidFrom: "2025-01-10"})
	b.liftInjunction(t, lifted.ID)
	b.addInjunction(t, guard.Injunction{Reference: "SYN-5/25", Address: at("вул. Майбутня", "9", "", ""), ValidFrom: "2025-03-01"})

	all, err := b.store.Injunctions(b.ctx, ops.InjunctionFilter{Lifted: true, Limit: 100})
	if err != nil || len(all) != 5 {
		t.Fatalf("list injunctions: %d, %v", len(all), err)
	}
	probes := []action.Address{
		at("вул. Вигадана", "7", "", "1"), at("вул. Вигадана", "7", "", ""), at(" ВУЛ.  ВИГАДАНА ", "7", "", "12"),
		at("вул. Вигадана", "8", "", ""), {KATOTTG: "UA12060170010076414", Street: "вул. Вигадана", Building: "7"},
		at("вул. Уявна", "3", "", "5"), at("вул. Уявна", "3", "", "6"), at("вул. Уявна", "3", "", ""),
		at("вул. Тестова", "1", "2", "7"), at("вул. Тестова", "1", "", "7"),
		at("вул. Зразкова", "4", "", "1"), at("вул. Майбутня", "9", "", "1"),
	}
	days := []string{"2025-01-09", "2025-01-10", "2025-02-28", "2025-03-01", "2026-06-01"}
	n := 0
	for _, day := range days {
		for _, p := range probes {
			n++
			name := fmt.Sprintf("%s %s %s/%s/%s", day, p.Street, p.Building, p.Block, p.Apartment)
			t.Run(name, func(t *testing.T) {
				a := guarded(fmt.Sprint("unzr:probe-", n), fmt.Sprint("probe-", n), day, at("вул. Інша", "1", "", ""), p)
				want := guard.Blocking(all, a.Guarded.Addresses, day)
				existing, _, created, err := b.store.Insert(b.ctx, a)
				var refused *action.InjunctionError
				switch {
				case want == nil && (err != nil || !created):
					t.Fatalf("not blocked by the guard, but the store answered created=%v err=%v", created, err)
				case want != nil && !errors.As(err, &refused):
					t.Fatalf("blocked by %s, but the store answered created=%v err=%v", want.Reference, created, err)
				case want != nil:
					if refused.Reference != want.Reference || refused.ID != want.ID.String() || refused.Court != want.Court || refused.DecidedOn != want.DecidedOn {
						t.Fatalf("refused by %+v, want %s", refused, want.Reference)
					}
					if existing != nil || created {
						t.Fatalf("a refusal with an action: %v %v", existing, created)
					}
					if acts, msgs := b.stored(t, a.ID); acts != 0 || msgs != 0 {
						t.Fatalf("a refused action left %d actions and %d messages", acts, msgs)
					}
				}
			})
		}
	}
}

// An action refused in a group commit fails alone: the others of its
// transaction are stored.
func TestGroupAcceptRefusesOnlyTheBlockedAction(t *testing.T) {
	b := setup(t)
	b.store.GroupAccepts(64, 1)
	enjoined := at("вул. Вигадана", "7", "", "")
	in := b.addInjunction(t, guard.Injunction{Reference: "SYN-9/25", Address: enjoined, ValidFrom: "2025-01-10"})
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	created := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := at("вул. Вигадана", "8", "", fmt.Sprint(i))
			if i%5 == 0 {
				addr = at("вул. Вигадана", "7", "", fmt.Sprint(i))
			}
			a := guarded(fmt.Sprintf("unzr:%d", i%4), fmt.Sprintf("k%d", i), "2025-06-01", addr)
			_, _, created[i], errs[i] = b.store.Insert(b.ctx, a)
		}()
	}
	wg.Wait()
	for i := range n {
		var refused *action.InjunctionError
		if i%5 == 0 {
			if !errors.As(errs[i], &refused) || refused.Reference != in.Reference || created[i] {
				t.Errorf("action %d at the enjoined building: created=%v err=%v", i, created[i], errs[i])
			}
			continue
		}
		if errs[i] != nil || !created[i] {
			t.Errorf("action %d: created=%v err=%v", i, created[i], errs[i])
		}
	}
	var stored, messages int
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM actions), (SELECT count(*) FROM outbox_messages)`).Scan(&stored, &messages); err != nil {
		t.Fatal(err)
	}
	if stored != n-n/5 || messages != 2*stored {
		t.Errorf("%d actions and %d messages stored, want %d and %d", stored, messages, n-n/5, 2*(n-n/5))
	}
}

// A resubmission is answered with the action stored the first time, even
// when an injunction covers its address since; a new key is refused.
func TestResubmissionUnderInjunction(t *testing.T) {
	b := setup(t)
	home := at("вул. Вигадана", "7", "", "3")
	first := guarded("unzr:1", "key-1", "2025-06-01", home)
	b.insert(t, first)
	b.addInjunction(t, guard.Injunction{Reference: "SYN-7/25", Address: home, ValidFrom: "2025-06-01"})

	again := guarded("unzr:1", "key-1", "2025-06-01", home)
	existing, hash, created, err := b.store.Insert(b.ctx, again)
	if err != nil || created || existing == nil || existing.ID != first.ID || string(hash) != string(first.BodyHash) {
		t.Fatalf("resubmission: existing=%v created=%v err=%v; want the first action", existing, created, err)
	}
	var refused *action.InjunctionError
	if _, _, _, err := b.store.Insert(b.ctx, guarded("unzr:1", "key-2", "2025-06-01", home)); !errors.As(err, &refused) {
		t.Fatalf("a new action at the address: %v, want refused", err)
	}
}

// Recording an injunction while actions are being accepted at its address:
// every accept that starts after the injunction is recorded is refused;
// those that overlapped it are either stored whole or refused whole.
func TestInjunctionRecordedDuringAccepts(t *testing.T) {
	b := setup(t)
	b.store.GroupAccepts(16, 2)
	addr := at("вул. Вигадана", "7", "", "1")
	type outcome struct {
		start   time.Time
		id      uuid.UUID
		created bool
		err     error
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a := guarded(fmt.Sprintf("unzr:w%d", w), fmt.Sprintf("w%d-%d", w, i), "2025-06-01", addr)
				start := time.Now()
				_, _, created, err := b.store.Insert(b.ctx, a)
				mu.Lock()
				outcomes = append(outcomes, outcome{start, a.ID, created, err})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	in := b.addInjunction(t, guard.Injunction{Reference: "SYN-8/25", Address: addr, ValidFrom: "2025-01-01"})
	recorded := time.Now()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()

	var before, after int
	for _, o := range outcomes {
		var refused *action.InjunctionError
		if o.err != nil && !errors.As(o.err, &refused) {
			t.Fatalf("accept failed: %v", o.err)
		}
		if o.start.After(recorded) {
			after++
			if refused == nil || refused.Reference != in.Reference {
				t.Fatalf("an accept that started after the injunction was recorded: created=%v err=%v", o.created, o.err)
			}
		} else {
			before++
		}
		acts, msgs := b.stored(t, o.id)
		if o.created != (acts == 1) || msgs != 2*acts {
			t.Fatalf("created=%v, but %d actions and %d messages stored", o.created, acts, msgs)
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d accepts before and %d after the injunction: the test raced nothing", before, after)
	}
}

// Injunctions are listed, recorded once per address, lifted once; each
// step is recorded with the audit.
func TestInjunctionsAddListLift(t *testing.T) {
	b := setup(t)
	in := b.addInjunction(t, guard.Injunction{Reference: "SYN-1/25", Address: at("вул. Вигадана", "7", "", "5"),
		ValidFrom: "2025-01-10", ValidUntil: "2025-12-31", Note: "синтетична примітка"})
	other := b.addInjunction(t, guard.Injunction{Reference: "SYN-2/25", Address: action.Address{KATOTTG: "UA12060170010076414", Street: "вул. Інша", Building: "1"}, ValidFrom: "2025-01-10"})

	dup := in
	dup.Address.Street = "  ВУЛ. вигадана" // the same address, written otherwise
	dup.ID = uuid.Must(uuid.NewV7())
	if err := b.store.AddInjunction(b.ctx, ops.Step{At: time.Now(), Actor: "op-1", Role: "operator", Operation: ops.OpInjunctionAdd, Target: "injunction:x"}, dup); !errors.Is(err, ops.ErrConflict) {
		t.Fatalf("the same ruling twice for one address: %v, want a conflict", err)
	}

	list := func(f ops.InjunctionFilter) []string {
		t.Helper()
		f.Limit = 100
		got, err := b.store.Injunctions(b.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, g := range got {
			refs = append(refs, g.Reference)
		}
		return refs
	}
	if got := list(ops.InjunctionFilter{}); !slices.Equal(got, []string{"SYN-2/25", "SYN-1/25"}) {
		t.Fatalf("listed %v, want both, newest first", got)
	}
	if got := list(ops.InjunctionFilter{KATOTTG: community}); !slices.Equal(got, []string{"SYN-1/25"}) {
		t.Fatalf("listed %v in %s", got, community)
	}
	got, err := b.store.Injunctions(b.ctx, ops.InjunctionFilter{KATOTTG: community, Limit: 1})
	if err != nil || len(got) != 1 || got[0].ValidUntil != "2025-12-31" || got[0].Note != "синтетична примітка" ||
		got[0].Address != in.Address || got[0].CreatedBy != "op-1" || got[0].LiftedAt != nil {
		t.Fatalf("read back %+v (%v), want %+v", got, err, in)
	}

	lifted := b.liftInjunction(t, other.ID)
	if lifted.LiftedAt == nil || lifted.LiftedBy != "op-2" || lifted.LiftReason != "скасовано апеляційним судом" {
		t.Fatalf("lifted %+v", lifted)
	}
	if got := list(ops.InjunctionFilter{}); !slices.Equal(got, []string{"SYN-1/25"}) {
		t.Fatalf("after lifting, listed %v", got)
	}
	if got := list(ops.InjunctionFilter{Lifted: true}); len(got) != 2 {
		t.Fatalf("with lifted ones, listed %v", got)
	}
	st := ops.Step{At: time.Now(), Actor: "op-1", Role: "operator", Operation: ops.OpInjunctionLift, Reason: "again"}
	if _, err := b.store.LiftInjunction(b.ctx, st, other.ID); !errors.Is(err, ops.ErrConflict) {
		t.Fatalf("lifting twice: %v, want a conflict", err)
	}
	if _, err := b.store.LiftInjunction(b.ctx, st, uuid.New()); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("lifting an unknown injunction: %v, want not found", err)
	}
	// Lifted, the same ruling may be recorded again.
	again := other
	again.ID = uuid.Must(uuid.NewV7())
	if err := b.store.AddInjunction(b.ctx, ops.Step{At: time.Now(), Actor: "op-1", Role: "operator", Operation: ops.OpInjunctionAdd, Target: "injunction:" + again.ID.String()}, again); err != nil {
		t.Fatalf("recording a lifted ruling again: %v", err)
	}

	steps, err := b.store.Steps(b.ctx, "injunction:"+other.ID.String(), 10)
	if err != nil || len(steps) != 2 || steps[0].Operation != ops.OpInjunctionLift || steps[1].Operation != ops.OpInjunctionAdd {
		t.Fatalf("steps on the lifted injunction: %+v (%v)", steps, err)
	}
	if !strings.Contains(string(steps[0].Details), "SYN-2/25") {
		t.Errorf("the lift step does not name the ruling: %s", steps[0].Details)
	}
	var audited int
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT count(*) FROM audit_log WHERE decision IN ($1, $2)`,
		ops.OpInjunctionAdd, ops.OpInjunctionLift).Scan(&audited); err != nil || audited != 4 {
		t.Fatalf("%d injunction steps in the audit log (%v), want 4: 3 added (the duplicate refused), 1 lifted (the second refused)", audited, err)
	}
}

// The guards' reads of the read model, and the warnings they lead to,
// stored with the action and read back with it.
func TestGuardOnTheReadModel(t *testing.T) {
	b := setup(t)
	flat := at("вул. Вигадана", "7", "", "5")
	elsewhere := at("вул. Уявна", "3", "", "1")
	adult := action.Person{UNZR: "19800101-00015", Surname: "Синтетенко", GivenNames: "Олена", BirthDate: "1980-01-01", Sex: "F"}
	child := action.Person{UNZR: "20150301-00027", Surname: "Синтетенко", GivenNames: "Марія", BirthDate: "2015-03-01", Sex: "F"}
	lodger := action.Person{UNZR: "19700505-00031", Surname: "Вигаданий", GivenNames: "Остап", BirthDate: "1970-05-05", Sex: "M"}
	mover := action.Person{UNZR: "19900101-00011", Surname: "Уявний", GivenNames: "Тарас", BirthDate: "1990-01-01", Sex: "M"}
	for _, p := range []action.Person{adult, child, lodger} {
		b.complete(t, action.Submission{Kind: action.KindRegister, Person: p, Address: &flat, EffectiveDate: "2024-01-10"})
	}
	b.complete(t, action.Submission{Kind: action.KindRegister, Person: mover, Address: &elsewhere, EffectiveDate: "2024-01-10"})
	b.complete(t, action.Submission{Kind: action.KindDeregister, Person: mover, Address: &elsewhere, EffectiveDate: "2025-01-01",
		Deregistration: &action.Deregistration{Reason: action.DeregistrationMoved}})

	reg, err := b.store.PersonRegistration(b.ctx, "unzr:"+adult.UNZR)
	if err != nil || reg == nil || !reg.Registered || guard.Key(*reg.Address) != guard.Key(flat) {
		t.Fatalf("the adult's registration: %+v %v", reg, err)
	}
	if reg, err := b.store.PersonRegistration(b.ctx, "unzr:00000000-00000"); err != nil || reg != nil {
		t.Fatalf("an unknown person: %+v %v", reg, err)
	}
	res, err := b.store.Residents(b.ctx, flat, "unzr:"+adult.UNZR)
	if err != nil || len(res) != 2 || res[0] != (guard.Resident{PersonKey: "unzr:" + lodger.UNZR, BirthDate: lodger.BirthDate}) ||
		res[1] != (guard.Resident{PersonKey: "unzr:" + child.UNZR, BirthDate: child.BirthDate}) {
		t.Fatalf("residents but the adult: %+v %v", res, err)
	}

	chk := guard.New(b.store)
	inspect := func(s action.Submission) action.Guarded {
		t.Helper()
		g, err := chk.Inspect(b.ctx, &s, time.Date(2025, 3, 20, 10, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	codes := func(ws []action.Warning) []string {
		var out []string
		for _, w := range ws {
			out = append(out, w.Code)
		}
		return out
	}
	// The adult leaves; the child stays.
	leave := action.Submission{Kind: action.KindDeregister, Person: adult, Address: &flat, EffectiveDate: "2025-03-01",
		Deregistration: &action.Deregistration{Reason: action.DeregistrationMoved}}
	if g := inspect(leave); !slices.Equal(codes(g.Warnings), []string{guard.WarningMinorRemains}) || g.On != "2025-03-20" {
		t.Fatalf("deregistering the adult: %+v", g)
	}
	// The mover registers 78 days after deregistering.
	late := action.Submission{Kind: action.KindRegister, Person: mover, Address: &flat, EffectiveDate: "2025-03-20"}
	g := inspect(late)
	if !slices.Equal(codes(g.Warnings), []string{guard.WarningDeadlineMissed}) {
		t.Fatalf("the late registration: %+v", g)
	}

	// Stored with the action, read back by Get and List.
	a := newAction("unzr:"+mover.UNZR, "late-1")
	a.Guarded = g
	b.insert(t, a)
	got, err := b.store.Get(b.ctx, a.ID)
	if err != nil || !slices.Equal(got.Warnings, g.Warnings) {
		t.Fatalf("Get: warnings %+v (%v), want %+v", got.Warnings, err, g.Warnings)
	}
	page, err := b.store.List(b.ctx, action.ListFilter{Limit: 100})
	if err != nil || page.Actions[0].ID != a.ID || !slices.Equal(page.Actions[0].Warnings, g.Warnings) {
		t.Fatalf("List: %+v (%v)", page.Actions[0], err)
	}
	if w := page.Actions[1].Warnings; w != nil {
		t.Fatalf("an action without warnings lists %+v", w)
	}

	// The child's own deregistration completes: nobody under 18 stays.
	b.complete(t, action.Submission{Kind: action.KindDeregister, Person: child, Address: &flat, EffectiveDate: "2025-03-02",
		Deregistration: &action.Deregistration{Reason: action.DeregistrationMoved}})
	if g := inspect(leave); len(g.Warnings) != 0 {
		t.Fatalf("deregistering the adult once the child left: %+v", g)
	}

	// A cancellation names the cancelled action's address.
	addrOf, err := b.store.ActionAddress(b.ctx, got.ID)
	if err != nil || addrOf != nil {
		t.Fatalf("the address of an action whose body names none: %+v %v", addrOf, err)
	}
	var withAddr uuid.UUID
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT id FROM actions WHERE body->'address' IS NOT NULL ORDER BY seq LIMIT 1`).Scan(&withAddr); err != nil {
		t.Fatal(err)
	}
	if addrOf, err := b.store.ActionAddress(b.ctx, withAddr); err != nil || addrOf == nil || guard.Key(*addrOf) != guard.Key(flat) {
		t.Fatalf("the address of a registration: %+v %v", addrOf, err)
	}
	if addrOf, err := b.store.ActionAddress(b.ctx, uuid.New()); err != nil || addrOf != nil {
		t.Fatalf("the address of an unknown action: %+v %v", addrOf, err)
	}
}

// An injunction follows its street through a renaming and its building
// through a renumbering: once the directory change completes, actions at
// the new address are refused, as guard.Blocking over the listed
// injunctions (their match keys) says too; the court's wording is kept.
func TestInjunctionFollowsDirectoryChanges(t *testing.T) {
	b := setup(t)
	in := b.addInjunction(t, guard.Injunction{Reference: "SYN-7/26", Address: at("вул. Садова", "5", "", ""), ValidFrom: "2026-01-10"})
	twin := b.addInjunction(t, guard.Injunction{Reference: "SYN-8/26", Address: at("вул. Садова", "9", "", ""), ValidFrom: "2026-01-10"})
	b.addInjunction(t, guard.Injunction{Reference: "SYN-8/26", Address: at("вул. Вишнева", "9", "", ""), ValidFrom: "2026-01-10"})
	change := func(typ string, prev, next action.AddressNames) {
		t.Helper()
		b.complete(t, action.Submission{Kind: action.KindAddressChange, EffectiveDate: "2026-02-01",
			AddressChange: &action.AddressChange{Type: typ, KATOTTG: community, Previous: &prev, New: &next}})
	}
	probe := func(n int, a action.Address) *action.InjunctionError {
		t.Helper()
		g := guarded(fmt.Sprint("unzr:rename-", n), fmt.Sprint("rename-", n), "2026-03-01", a)
		all, err := b.store.Injunctions(b.ctx, ops.InjunctionFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		want := guard.Blocking(all, g.Guarded.Addresses, "2026-03-01")
		_, _, _, err = b.store.Insert(b.ctx, g)
		var refused *action.InjunctionError
		errors.As(err, &refused)
		if (want == nil) != (refused == nil) || (want != nil && want.Reference != refused.Reference) {
			t.Fatalf("%+v: the store refused with %+v, the guard's reference says %+v", a, refused, want)
		}
		return refused
	}

	change(action.AddressStreetRenamed, action.AddressNames{Street: "вул. Садова"}, action.AddressNames{Street: "вул. Вишнева"})
	if r := probe(1, at("вул. Вишнева", "5", "", "3")); r == nil || r.Reference != in.Reference {
		t.Fatalf("after the renaming, an action at the renamed street was refused by %+v, want %s", r, in.Reference)
	}
	if r := probe(2, at("вул. Садова", "5", "", "3")); r != nil {
		t.Fatalf("the old street name, which the directory no longer has, is still refused: %+v", r)
	}
	change(action.AddressRenumbering, action.AddressNames{Street: "вул. Вишнева", Building: "5"}, action.AddressNames{Street: "вул. Вишнева", Building: "5А"})
	if r := probe(3, at("вул. Вишнева", "5А", "", "")); r == nil || r.Reference != in.Reference {
		t.Fatalf("after the renumbering, the new number was refused by %+v, want %s", r, in.Reference)
	}
	if r := probe(4, at("вул. Вишнева", "5", "", "")); r != nil {
		t.Fatalf("the old number is still refused: %+v", r)
	}
	all, err := b.store.Injunctions(b.ctx, ops.InjunctionFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range all {
		switch got.ID {
		case in.ID:
			if got.Address.Street != "вул. Садова" || got.Address.Building != "5" || got.Matched.Street != "вул. вишнева" || got.Matched.Building != "5а" {
				t.Errorf("renamed injunction: address %+v matched %+v; want the court's wording kept and the new keys", got.Address, got.Matched)
			}
		case twin.ID:
			// The same ruling was also recorded under the new name: that
			// record covers it, this one keeps the old key.
			if got.Matched.Street != "вул. садова" {
				t.Errorf("twin injunction moved onto its twin's key: %+v", got.Matched)
			}
		}
	}
	if r := probe(5, at("вул. Вишнева", "9", "", "")); r == nil || r.Reference != "SYN-8/26" {
		t.Fatalf("the ruling recorded under the new name no longer refuses: %+v", r)
	}
}
