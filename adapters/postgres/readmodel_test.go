package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
)

// complete stores an action with the given submission and acknowledges both
// its deliveries, so that it completes.
func (b bundle) complete(t *testing.T, s action.Submission) {
	t.Helper()
	body, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	a := newAction(s.PersonKey(), uuid.NewString())
	a.Kind, a.Body = s.Kind, body
	b.insert(t, a)
	b.completeAll(t)
	got, err := b.store.Get(b.ctx, a.ID)
	if err != nil || got.Status != action.StatusCompleted {
		t.Fatalf("action not completed: %+v %v", got, err)
	}
}

// completeAll acknowledges every claimable message until none is left.
func (b bundle) completeAll(t *testing.T) {
	t.Helper()
	for range 20 {
		msgs := b.claim(t, 10)
		if len(msgs) == 0 {
			return
		}
		var res []outbox.Result
		for _, m := range msgs {
			res = append(res, ack(m))
		}
		if _, err := b.store.Complete(b.ctx, res); err != nil {
			t.Fatalf("complete: %v", err)
		}
	}
}

func TestReadModelFollowsCompletedActions(t *testing.T) {
	b := setup(t)
	person := action.Person{UNZR: "19900101-00011", RNOKPP: "3300612300", Surname: "Синтетенко", GivenNames: "Олена",
		BirthDate: "1990-01-01", Sex: "F"}
	home := &action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7", Apartment: "12"}
	flat := &action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Уявна", Building: "3"}
	byAddress := func(a *action.Address) access.Search {
		return access.Search{Address: &access.Address{KATOTTG: a.KATOTTG, Street: a.Street, Building: a.Building, Apartment: a.Apartment}}
	}
	find := func(s access.Search, p access.ParamSet) []access.Found {
		t.Helper()
		got, err := b.store.Find(b.ctx, access.FindRequest{Search: s, Param: p})
		if err != nil {
			t.Fatalf("find by %s: %v", p, err)
		}
		return got
	}

	// Accepted but not completed: not in the read model.
	pending := newAction("unzr:"+person.UNZR, "pending-one")
	pending.Body, _ = json.Marshal(action.Submission{Kind: action.KindRegister, Person: person, Address: home, EffectiveDate: "2026-01-10"})
	b.insert(t, pending)
	if got := find(access.Search{UNZR: person.UNZR}, access.ParamUNZR); len(got) != 0 {
		t.Fatalf("an action not yet confirmed upstream is visible to queries: %v", got)
	}
	b.completeAll(t)

	if got := find(access.Search{UNZR: person.UNZR}, access.ParamUNZR); len(got) != 1 ||
		got[0].Person != "unzr:"+person.UNZR || got[0].Record["registration_date"] != "2026-01-10" ||
		got[0].Record["registration_kind"] != "registered_residence" {
		t.Fatalf("after the registration completed: %v", got)
	}
	for _, tc := range []struct {
		name   string
		search access.Search
		param  access.ParamSet
	}{
		{"rnokpp", access.Search{RNOKPP: person.RNOKPP}, access.ParamRNOKPP},
		{"name and birth date, any case", access.Search{NameBirthDate: &access.NameBirthDate{Surname: "синтетенко", GivenNames: "ОЛЕНА", BirthDate: "1990-01-01"}}, access.ParamNameBirthDate},
		{"address", byAddress(home), access.ParamAddress},
	} {
		if got := find(tc.search, tc.param); len(got) != 1 || got[0].Person != "unzr:"+person.UNZR {
			t.Errorf("find by %s: %v", tc.name, got)
		}
	}

	// Moving: the new address finds them, the old one no longer does.
	b.complete(t, action.Submission{Kind: action.KindDeclare, Person: person, Address: flat, EffectiveDate: "2026-03-01"})
	if got := find(byAddress(home), access.ParamAddress); len(got) != 0 {
		t.Errorf("still found at the address they left: %v", got)
	}
	got := find(byAddress(flat), access.ParamAddress)
	if len(got) != 1 || got[0].Record["previous_address"] == nil {
		t.Fatalf("at the new address: %v", got)
	}

	// The street of the flat is renamed in the address directory: the
	// person is found under the new name, not the old one.
	b.complete(t, action.Submission{Kind: action.KindAddressChange, EffectiveDate: "2026-04-01",
		AddressChange: &action.AddressChange{Type: action.AddressStreetRenamed, KATOTTG: flat.KATOTTG,
			Previous: &action.AddressNames{Street: flat.Street}, New: &action.AddressNames{Street: "вул. Перейменована"}}})
	renamed := &action.Address{KATOTTG: flat.KATOTTG, Street: "вул. Перейменована", Building: flat.Building}
	if got := find(byAddress(flat), access.ParamAddress); len(got) != 0 {
		t.Errorf("found under the street's old name: %v", got)
	}
	if got := find(byAddress(renamed), access.ParamAddress); len(got) != 1 || got[0].Person != "unzr:"+person.UNZR {
		t.Errorf("not found under the street's new name: %v", got)
	}
	flat = renamed

	// Deregistered: not at any address, but the person is still known.
	b.complete(t, action.Submission{Kind: action.KindDeregister, Person: person, Address: flat, EffectiveDate: "2026-05-01",
		Deregistration: &action.Deregistration{Reason: "moved abroad"}})
	if got := find(byAddress(flat), access.ParamAddress); len(got) != 0 {
		t.Errorf("found at an address after deregistration: %v", got)
	}
	if got := find(access.Search{UNZR: person.UNZR}, access.ParamUNZR); len(got) != 1 || got[0].Record["deregistration_date"] != "2026-05-01" {
		t.Errorf("after deregistration: %v", got)
	}
	// The deregistration is cancelled: registered at the flat again.
	b.complete(t, action.Submission{Kind: action.KindCancel, Person: person, EffectiveDate: "2026-05-02",
		Cancellation: &action.Cancellation{Of: action.KindDeregister, Reason: "entered in error"}})
	if got := find(byAddress(flat), access.ParamAddress); len(got) != 1 || got[0].Record["deregistration_date"] != nil {
		t.Errorf("after cancelling the deregistration: %v", got)
	}
}

func TestPendingQueries(t *testing.T) {
	b := setup(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	late := access.Pending{ID: uuid.New(), Org: "SYN-TCC-0001", Official: "SYN-OFF-1", CreatedAt: now.Add(-96 * time.Hour), DueAt: now.Add(-time.Hour),
		Query: access.Query{Case: "C-1", Fields: []string{"surname"}}, Decision: access.Decision{Granted: true, Basis: "military.registration"}}
	fresh := late
	fresh.ID, fresh.DueAt, fresh.CreatedAt = uuid.New(), now.Add(72*time.Hour), now
	for _, p := range []access.Pending{late, fresh} {
		if err := b.store.SavePending(b.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	due, err := b.store.DuePending(b.ctx, 10)
	if err != nil || len(due) != 2 || due[0].Query.Case != "C-1" || due[0].Decision.Basis != "military.registration" {
		t.Fatalf("due: %+v %v", due, err)
	}
	if again, _ := b.store.DuePending(b.ctx, 10); len(again) != 0 {
		t.Errorf("claimed twice within the minute: %d", len(again))
	}
	over, err := b.store.OverdueQueries(b.ctx, 10)
	if err != nil || len(over) != 1 || over[0].ID != late.ID {
		t.Errorf("overdue: %+v %v", over, err)
	}
	a, err := b.store.Answer(b.ctx, late.Org, late.ID)
	if err != nil || a.Status != access.StatusPending || a.DueAt == nil {
		t.Errorf("pending answer: %+v %v", a, err)
	}
	if _, err := b.store.Answer(b.ctx, "SYN-OTHER", late.ID); err != access.ErrNoQuery {
		t.Errorf("another organisation reads the query: %v", err)
	}
	ans := access.Answer{ID: late.ID, Status: access.StatusAnswered, Records: []map[string]any{{"surname": "X"}}}
	if err := b.store.Resolve(b.ctx, late.ID, ans); err != nil {
		t.Fatal(err)
	}
	if err := b.store.Resolve(b.ctx, late.ID, ans); err == nil {
		t.Errorf("a query answered twice")
	}
	a, err = b.store.Answer(b.ctx, late.Org, late.ID)
	if err != nil || a.Status != access.StatusAnswered || len(a.Records) != 1 {
		t.Errorf("answer: %+v %v", a, err)
	}
	if over, _ := b.store.OverdueQueries(context.Background(), 10); len(over) != 0 {
		t.Errorf("an answered query is still overdue: %v", over)
	}
}
