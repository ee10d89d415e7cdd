package localregistry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
)

func TestGeneratedSubmissionsPassParse(t *testing.T) {
	todays := []time.Time{
		time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC),                     // already the 21st in Kyiv
		time.Date(2026, 7, 1, 2, 0, 0, 0, time.FixedZone("UTC+9", 9*60*60)), // still 30 June in Kyiv
	}
	for i, today := range todays {
		g := NewGenerator(int64(i+1), today)
		for n := range 10_000 {
			body := g.NextJSON()
			if _, err := action.Parse(body, today); err != nil {
				t.Fatalf("today %v, submission %d rejected: %v\n%s", today, n, err, body)
			}
		}
	}
}

func TestGeneratorIsDeterministic(t *testing.T) {
	today := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	a, b, c := NewGenerator(42, today), NewGenerator(42, today), NewGenerator(43, today)
	differs := false
	for n := range 1000 {
		x, y, z := a.NextJSON(), b.NextJSON(), c.NextJSON()
		if !bytes.Equal(x, y) {
			t.Fatalf("submission %d differs for the same seed:\n%s\n%s", n, x, y)
		}
		differs = differs || !bytes.Equal(x, z)
	}
	if !differs {
		t.Fatal("seeds 42 and 43 give the same stream")
	}
}

// TestGeneratorSequences replays the stream the way the register's state
// moves and checks that every action makes sense for its person — and so
// that the upstream simulators, whose rules look at the same state, apply
// every one of them.
func TestGeneratorSequences(t *testing.T) {
	today := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	g := NewGenerator(7, today)
	type residence struct {
		addr *action.Address
		kind action.Kind
	}
	type state struct {
		birth, sex, name string
		person           action.Person
		res, before      residence
		stay, stayBefore *action.Address
		lastKind         action.Kind
		last             string
		actions          int
		dead             bool
	}
	people := map[string]*state{}
	kinds := map[action.Kind]int{}
	cancelled := map[action.Kind]int{}
	corrected := map[string]int{}
	addressChanges := map[string]int{}
	docTypes := map[string]int{}
	withoutRNOKPP, withoutUNZR, reused, moved := 0, 0, 0, 0
	const total = 10_000
	for n := range total {
		s := g.Next()
		kinds[s.Kind]++
		key := s.PersonKey()
		if s.Kind == action.KindAddressChange {
			if s.Person != (action.Person{}) || key != "address:"+s.AddressChange.KATOTTG {
				t.Fatalf("%d: address change with a person or keyed %q", n, key)
			}
			addressChanges[s.AddressChange.Type]++
			for _, p := range people {
				for _, a := range []**action.Address{&p.res.addr, &p.before.addr, &p.stay, &p.stayBefore} {
					if r, ok := s.AddressChange.Rewrite(*a); ok {
						*a = r
						moved++
					}
				}
			}
			continue
		}
		p := people[key]
		if p == nil {
			p = &state{birth: s.Person.BirthDate, sex: s.Person.Sex, name: s.Person.Surname + " " + s.Person.GivenNames, person: s.Person}
			people[key] = p
			checkIdentifiers(t, s.Person)
			docTypes[s.Person.Document.Type]++
			if s.Person.RNOKPP == "" {
				withoutRNOKPP++
			}
			if s.Person.UNZR == "" {
				withoutUNZR++
			}
		} else {
			reused++
			if s.Kind == action.KindCorrect {
				for _, f := range s.Correction.Fields {
					corrected[f]++
				}
				checkCorrection(t, n, p.person, s)
				p.name = s.Person.Surname + " " + s.Person.GivenNames
			} else if !reflect.DeepEqual(s.Person, p.person) {
				t.Fatalf("%d: person %s changed without a correction:\n%+v\n%+v", n, key, p.person, s.Person)
			}
			if p.birth != s.Person.BirthDate || p.sex != s.Person.Sex || p.name != s.Person.Surname+" "+s.Person.GivenNames {
				t.Fatalf("%d: person %s changed identity", n, key)
			}
			if p.dead && !(s.Kind == action.KindCancel && s.Cancellation.Of == action.KindDeregisterDeath) {
				t.Fatalf("%d: %s for %s after a deregistration on death", n, s.Kind, key)
			}
			if s.EffectiveDate < p.last {
				t.Fatalf("%d: %s effective %s before the previous action's %s", n, key, s.EffectiveDate, p.last)
			}
		}
		p.person = s.Person
		if s.Kind != action.KindCancel && s.Kind != action.KindCorrect {
			p.before, p.stayBefore = p.res, p.stay
		}
		switch s.Kind {
		case action.KindRegister, action.KindDeclare:
			if !sameAddr(p.res.addr, s.PreviousAddress) {
				t.Fatalf("%d: previous_address %v, person was at %v", n, s.PreviousAddress, p.res.addr)
			}
			p.res = residence{s.Address, s.Kind}
		case action.KindDeregister:
			if p.res.addr == nil || !sameAddr(p.res.addr, s.Address) {
				t.Fatalf("%d: deregistration of %s from %v, person was at %v", n, key, s.Address, p.res.addr)
			}
			if s.Deregistration.Reason == action.DeregistrationDeath {
				t.Fatalf("%d: a death deregistered without its certificate", n)
			}
			p.res = residence{}
		case action.KindDeregisterDeath:
			if p.res.addr == nil || !sameAddr(p.res.addr, s.Address) {
				t.Fatalf("%d: death of %s deregistered from %v, person was at %v", n, key, s.Address, p.res.addr)
			}
			p.res, p.stay, p.dead = residence{}, nil, true
		case action.KindChange:
			if p.res.addr == nil || !sameAddr(p.res.addr, s.PreviousAddress) || sameAddr(p.res.addr, s.Address) {
				t.Fatalf("%d: change of %s from %v to %v, person was at %v", n, key, s.PreviousAddress, s.Address, p.res.addr)
			}
			p.res.addr = s.Address
		case action.KindExclude:
			if p.res.addr == nil || p.res.kind != action.KindDeclare || !sameAddr(p.res.addr, s.Address) {
				t.Fatalf("%d: exclusion of %s at %v, person %s at %v", n, key, s.Address, p.res.kind, p.res.addr)
			}
			p.res = residence{}
		case action.KindStayRegister:
			p.stay = s.Address
		case action.KindCorrect:
		case action.KindCancel:
			if s.Cancellation.Of != p.lastKind || p.lastKind == "" {
				t.Fatalf("%d: cancellation of %s, last action of %s was %q", n, s.Cancellation.Of, key, p.lastKind)
			}
			if spec, _ := action.Spec(p.lastKind); !spec.Cancellable() {
				t.Fatalf("%d: cancellation of a %s", n, p.lastKind)
			}
			cancelled[s.Cancellation.Of]++
			switch s.Cancellation.Of {
			case action.KindStayRegister:
				p.stay = p.stayBefore
			case action.KindDeregisterDeath:
				p.res, p.stay = p.before, p.stayBefore
			default:
				p.res = p.before
			}
			p.dead = false
		default:
			t.Fatalf("%d: unexpected kind %s", n, s.Kind)
		}
		p.lastKind, p.last = s.Kind, s.EffectiveDate
		if s.Kind == action.KindCancel {
			p.lastKind = "" // a cancellation is not cancelled, nor cancels twice
		}
		p.actions++
	}
	t.Logf("kinds %v, cancelled %v, corrected %v, address changes %v (%d addresses moved), documents %v, people %d (re-used %d times), without РНОКПП %d, without УНЗР %d",
		kinds, cancelled, corrected, addressChanges, moved, docTypes, len(people), reused, withoutRNOKPP, withoutUNZR)
	settles := kinds[action.KindRegister] + kinds[action.KindDeclare]
	if settles < total/2 || kinds[action.KindDeregister] < total/20 || kinds[action.KindCancel] < total/100 || kinds[action.KindCancel] > total/10 {
		t.Errorf("unrealistic mix: %v", kinds)
	}
	for _, k := range action.Kinds() {
		if kinds[k] < total/200 || (k != action.KindRegister && k != action.KindDeclare && kinds[k] > total/5) {
			t.Errorf("%d of %s in %d: unrealistic", kinds[k], k, total)
		}
	}
	if reused < total/5 {
		t.Errorf("people re-used only %d times", reused)
	}
	for _, k := range action.CancellableKinds() {
		if cancelled[k] == 0 {
			t.Errorf("no cancellation of a %s", k)
		}
	}
	for _, typ := range []string{action.AddressStreetRenamed, action.AddressRenumbering, action.AddressSettlementRenamed, action.AddressUnitRenamed} {
		if addressChanges[typ] == 0 {
			t.Errorf("no address change of type %s", typ)
		}
	}
	if moved == 0 {
		t.Error("no address change covered anyone's address")
	}
	for _, f := range []string{"surname", "document", "patronymic", "birth_place"} {
		if corrected[f] == 0 {
			t.Errorf("no correction of %s", f)
		}
	}
	for _, d := range []string{action.DocumentIDCard, action.DocumentPassport, action.DocumentBirthCertificate, action.DocumentResidencePermit} {
		if docTypes[d] == 0 {
			t.Errorf("no %s generated", d)
		}
	}
	if withoutRNOKPP == 0 || withoutUNZR == 0 {
		t.Errorf("every person has both identifiers; the one-of rule is never exercised")
	}
}

// checkCorrection: the previous values a correction names are the ones the
// person had, and nothing else about them changed.
func checkCorrection(t *testing.T, n int, had action.Person, s action.Submission) {
	t.Helper()
	prev := s.Correction.Previous
	want := s.Person
	for _, f := range s.Correction.Fields {
		switch f {
		case "surname":
			want.Surname = prev.Surname
		case "patronymic":
			want.Patronymic = prev.Patronymic
		case "birth_place":
			want.BirthPlace = prev.BirthPlace
		case "document":
			want.Document = prev.Document
		default:
			t.Fatalf("%d: correction of %s", n, f)
		}
	}
	if !reflect.DeepEqual(want, had) {
		t.Fatalf("%d: correction's previous values do not match the person:\nhad  %+v\nwant %+v", n, had, want)
	}
}

// checkIdentifiers checks what the generator promises beyond action.Parse:
// the РНОКПП encodes the birth date and sex, the УНЗР's check digit is right.
func checkIdentifiers(t *testing.T, p action.Person) {
	t.Helper()
	birth, err := time.Parse(time.DateOnly, p.BirthDate)
	if err != nil {
		t.Fatal(err)
	}
	if p.RNOKPP != "" {
		days := int(birth.Sub(time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)).Hours() / 24)
		if want := fmt.Sprintf("%05d", days); p.RNOKPP[:5] != want {
			t.Fatalf("РНОКПП %s for birth %s: want prefix %s", p.RNOKPP, p.BirthDate, want)
		}
		if odd := (p.RNOKPP[8]-'0')%2 == 1; odd != (p.Sex == action.SexMale) {
			t.Fatalf("РНОКПП %s: 9th digit parity does not match sex %s", p.RNOKPP, p.Sex)
		}
	}
	if p.UNZR != "" {
		if p.UNZR[:8] != birth.Format("20060102") {
			t.Fatalf("УНЗР %s for birth %s", p.UNZR, p.BirthDate)
		}
		if action.UNZRCheckDigit(p.UNZR) != int(p.UNZR[13]-'0') {
			t.Fatalf("УНЗР %s: wrong check digit", p.UNZR)
		}
	}
}

func sameAddr(a, b *action.Address) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func ExampleGenerator_NextJSON() {
	g := NewGenerator(1, time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	var s action.Submission
	if err := json.Unmarshal(g.NextJSON(), &s); err != nil {
		panic(err)
	}
	fmt.Println(s.Kind != "", s.PersonKey() != "")
	// Output: true true
}
