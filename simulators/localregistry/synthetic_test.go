package localregistry

import (
	"bytes"
	"encoding/json"
	"fmt"
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
// moves and checks that every action makes sense for its person.
func TestGeneratorSequences(t *testing.T) {
	today := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	g := NewGenerator(7, today)
	type state struct {
		birth, sex, name string
		addr, prev       *action.Address
		lastKind         action.Kind
		last             string
		actions          int
		dead             bool
	}
	people := map[string]*state{}
	kinds := map[action.Kind]int{}
	cancelled := map[action.Kind]int{}
	docTypes := map[string]int{}
	withoutRNOKPP, withoutUNZR, reused := 0, 0, 0
	const total = 10_000
	for n := range total {
		s := g.Next()
		kinds[s.Kind]++
		key := s.PersonKey()
		p := people[key]
		if p == nil {
			p = &state{birth: s.Person.BirthDate, sex: s.Person.Sex, name: s.Person.Surname + " " + s.Person.GivenNames}
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
			if p.birth != s.Person.BirthDate || p.sex != s.Person.Sex || p.name != s.Person.Surname+" "+s.Person.GivenNames {
				t.Fatalf("%d: person %s changed identity", n, key)
			}
			if p.dead {
				t.Fatalf("%d: action for %s after a deregistration for death", n, key)
			}
			if s.EffectiveDate < p.last {
				t.Fatalf("%d: %s effective %s before the previous action's %s", n, key, s.EffectiveDate, p.last)
			}
		}
		switch s.Kind {
		case action.KindRegister, action.KindDeclare:
			if !sameAddr(p.addr, s.PreviousAddress) {
				t.Fatalf("%d: previous_address %v, person was at %v", n, s.PreviousAddress, p.addr)
			}
			p.prev, p.addr = p.addr, s.Address
		case action.KindDeregister:
			if p.addr == nil || !sameAddr(p.addr, s.Address) {
				t.Fatalf("%d: deregistration of %s from %v, person was at %v", n, key, s.Address, p.addr)
			}
			p.prev, p.addr = p.addr, nil
			p.dead = s.Deregistration.Reason == action.DeregistrationDeath
		case action.KindCancel:
			if s.Cancellation.Of != p.lastKind || p.lastKind == action.KindCancel || p.lastKind == "" {
				t.Fatalf("%d: cancellation of %s, last action of %s was %q", n, s.Cancellation.Of, key, p.lastKind)
			}
			cancelled[s.Cancellation.Of]++
			p.addr, p.prev = p.prev, nil
		}
		p.lastKind, p.last = s.Kind, s.EffectiveDate
		p.actions++
	}
	t.Logf("kinds %v, cancelled %v, documents %v, people %d (re-used %d times), without РНОКПП %d, without УНЗР %d",
		kinds, cancelled, docTypes, len(people), reused, withoutRNOKPP, withoutUNZR)
	settles := kinds[action.KindRegister] + kinds[action.KindDeclare]
	if settles < total/2 || kinds[action.KindDeregister] < total/20 || kinds[action.KindCancel] < total/100 || kinds[action.KindCancel] > total/10 {
		t.Errorf("unrealistic mix: %v", kinds)
	}
	if reused < total/5 {
		t.Errorf("people re-used only %d times", reused)
	}
	for _, k := range []action.Kind{action.KindRegister, action.KindDeclare, action.KindDeregister} {
		if cancelled[k] == 0 {
			t.Errorf("no cancellation of a %s", k)
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
