package postgres_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/ops"
)

// TestMonthlySetsExactlyOnce runs the monthly scheduler of several
// replicas at once, and again as after a restart, over one database: each
// recipient's set of the month is stored once, it reads the actions
// completed in that month, and its completion leaves the read model alone.
func TestMonthlySetsExactlyOnce(t *testing.T) {
	b := setup(t)
	kyiv, err := time.LoadLocation("Europe/Kyiv")
	if err != nil {
		t.Fatal(err)
	}
	adult := action.Person{UNZR: "19800101-00014", Surname: "Вигаданенко", GivenNames: "Марта", BirthDate: "1980-01-01",
		Sex: action.SexFemale, Citizenship: "UKR"}
	teen := action.Person{UNZR: "20081215-00010", Surname: "Синтетичний", GivenNames: "Тарас", BirthDate: "2008-12-15",
		Sex: action.SexMale, Citizenship: "UKR"}
	home := &action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7"}
	b.complete(t, action.Submission{Kind: action.KindRegister, Person: adult, Address: home, EffectiveDate: "2026-10-20",
		PreviousAddress: &action.Address{KATOTTG: "UA12080130010093157"}})
	b.complete(t, action.Submission{Kind: action.KindRegister, Person: teen, Address: home, EffectiveDate: "2026-10-21"})
	// Completed "in October": the store stamps completed_at with now().
	if _, err := b.store.Pool().Exec(b.ctx, `UPDATE actions SET completed_at = '2026-10-25 12:00+03'`); err != nil {
		t.Fatal(err)
	}
	regsBefore := registrationsDump(t, b)

	now := time.Date(2026, 11, 3, 10, 0, 0, 0, kyiv)
	sched := func() *monthly.Scheduler {
		return &monthly.Scheduler{Source: b.store, Store: b.store, Location: kyiv, Now: func() time.Time { return now }}
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []*action.Action
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := sched().Tick(b.ctx)
			if err != nil {
				t.Errorf("tick: %v", err)
			}
			mu.Lock()
			created = append(created, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if again, err := sched().Tick(b.ctx); err != nil || len(again) != 0 {
		t.Fatalf("a tick after a restart stored %d sets (err %v), want none", len(again), err)
	}
	var n int
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT count(*) FROM actions WHERE client_id = 'reghub'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(created) != 2 {
		t.Fatalf("%d sets stored, %d reported created by 5 schedulers; want 2 (one per recipient)", n, len(created))
	}

	var voters monthly.VoterSet
	var stats monthly.StatisticsSet
	for _, a := range created {
		switch a.IdempotencyKey {
		case "voter_register:2026-10":
			if err := json.Unmarshal(a.Body, &voters); err != nil {
				t.Fatal(err)
			}
		case "statistics:2026-10":
			if err := json.Unmarshal(a.Body, &stats); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("unexpected set %q", a.IdempotencyKey)
		}
	}
	// The adult registered in October; the teenager, born December 2008,
	// turns 18 in December 2026: the month after the one the set goes in.
	if len(voters.Registered) != 1 || voters.Registered[0].UNZR != adult.UNZR {
		t.Errorf("registered voters %+v, want only %s", voters.Registered, adult.UNZR)
	}
	if len(voters.TurningAdult) != 1 || voters.TurningAdult[0].UNZR != teen.UNZR || voters.TurningAdult[0].Date != "2026-12-15" {
		t.Errorf("turning adult %+v, want %s on 2026-12-15", voters.TurningAdult, teen.UNZR)
	}
	if stats.Period != "2026-10" || len(stats.Cells) != 2 {
		t.Errorf("statistics %+v, want two (suppressed) arrival cells of 2026-10", stats)
	}

	// The sets complete like any action, and change no registration.
	b.completeAll(t)
	for _, a := range created {
		got, err := b.store.Get(b.ctx, a.ID)
		if err != nil || got.Status != action.StatusCompleted || len(got.Deliveries) != 1 {
			t.Fatalf("set %s: %+v %v, want completed with one delivery", a.IdempotencyKey, got, err)
		}
	}
	if after := registrationsDump(t, b); after != regsBefore {
		t.Errorf("completing the monthly sets changed the read model:\nbefore %s\nafter  %s", regsBefore, after)
	}
	// A set is no registration action: the next month does not count it.
	next, err := b.store.CompletedBetween(b.ctx, time.Date(2026, 1, 1, 0, 0, 0, 0, kyiv), time.Date(2027, 1, 1, 0, 0, 0, 0, kyiv))
	if err != nil {
		t.Fatal(err)
	}
	if len(next) != 2 {
		t.Errorf("CompletedBetween over 2026 returned %d actions, want the 2 registrations", len(next))
	}
	for _, c := range next {
		if c.Submission.Kind == "" || strings.HasPrefix(string(c.Submission.Kind), monthly.KindPrefix) {
			t.Errorf("CompletedBetween returned a monthly set: %+v", c)
		}
	}
}

func registrationsDump(t *testing.T, b bundle) string {
	t.Helper()
	var s string
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT coalesce(string_agg(person_key || '=' || record::text, ';' ORDER BY person_key), '') FROM registrations`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A set an operator cancelled (undeliverable, say) is built again under
// the next revision of its key, once, however many schedulers tick; a
// revision that stands stops further ones.
func TestMonthlySetRebuiltAfterCancel(t *testing.T) {
	b := setup(t)
	kyiv, err := time.LoadLocation("Europe/Kyiv")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, kyiv)
	sched := &monthly.Scheduler{Source: b.store, Store: b.store, Location: kyiv, Now: func() time.Time { return now }}
	first, err := sched.Build(b.ctx, monthly.DestVoterRegister, monthly.Period{Year: 2026, Month: time.October})
	if err != nil || first == nil {
		t.Fatalf("first build: %v %v", first, err)
	}
	if err := b.store.CancelAction(b.ctx, ops.Step{At: time.Now(), Actor: "op", Role: "operator", Operation: ops.OpCancel,
		Target: "action:" + first.ID.String(), Reason: "the register refused the set's form"}, first.ID); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := sched.Tick(b.ctx); err != nil {
				t.Errorf("tick: %v", err)
			}
		}()
	}
	wg.Wait()
	rows, err := b.store.Pool().Query(b.ctx, `SELECT idempotency_key, status, person_key FROM actions WHERE client_id = 'reghub' AND kind = $1 ORDER BY seq`,
		string(monthly.KindVoterRegister))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var key, status, person string
		if err := rows.Scan(&key, &status, &person); err != nil {
			t.Fatal(err)
		}
		got = append(got, key+" "+status+" "+person)
	}
	want := []string{
		"voter_register:2026-10 cancelled monthly:voter_register:2026-10",
		"voter_register:2026-10#2 pending monthly:voter_register:2026-10#2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("voter sets %q, want %q", got, want)
	}
}
