package monthly

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/reghub/reghub/action"
)

// Citizenship is the citizenship of voters (ISO 3166-1 alpha-3).
const Citizenship = "UKR"

// Completed is a registration action completed in a period, as the Source
// gives it.
type Completed struct {
	ActionID    string
	CompletedAt time.Time
	Submission  action.Submission
}

// BuildVoterSet builds the voter register's set of period p (the month
// before the one it is sent in): completed lists the actions completed in
// p in completion order, turning the registered persons born in the month
// whose 18th anniversary is p.Next().Next(). Non-citizens are left out,
// and of the completed actions those whose person is under 18 on the
// action's effective date.
func BuildVoterSet(p Period, completed []Completed, turning []action.Registration, builtAt time.Time) VoterSet {
	adultMonth := p.Next().Next()
	set := VoterSet{
		Period: p.String(), TurningAdultMonth: adultMonth.String(), BuiltAt: builtAt.UTC(),
		TurningAdult: []Voter{}, Registered: []Voter{}, Deregistered: []Voter{},
	}
	for _, r := range turning {
		if !r.Registered || r.Person.Citizenship != Citizenship {
			continue
		}
		born, err := time.Parse(time.DateOnly, r.Person.BirthDate)
		if err != nil || born.Month() != adultMonth.Month || born.Year()+18 != adultMonth.Year {
			continue
		}
		v := voterOf(r.Person, r.Address)
		v.Date = anniversary(born, 18).Format(time.DateOnly)
		set.TurningAdult = append(set.TurningAdult, v)
	}
	slices.SortFunc(set.TurningAdult, func(a, b Voter) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.Surname, b.Surname), cmp.Compare(a.UNZR+a.RNOKPP, b.UNZR+b.RNOKPP))
	})
	for _, c := range completed {
		s := c.Submission
		if s.Person.Citizenship != Citizenship || !adultOn(s.Person.BirthDate, s.EffectiveDate) {
			continue
		}
		v := voterOf(s.Person, s.Address)
		v.Date, v.ActionID = s.EffectiveDate, c.ActionID
		switch s.Kind {
		case action.KindDeclare, action.KindRegister, action.KindChange:
			set.Registered = append(set.Registered, v)
		case action.KindDeregister:
			if s.Deregistration != nil {
				v.Reason = s.Deregistration.Reason
			}
			set.Deregistered = append(set.Deregistered, v)
		case action.KindDeregisterDeath:
			v.Reason = "death"
			set.Deregistered = append(set.Deregistered, v)
		case action.KindExclude:
			v.Reason = "exclusion"
			set.Deregistered = append(set.Deregistered, v)
		case action.KindCancel:
			if s.Cancellation == nil {
				continue
			}
			v.Reason = "cancellation:" + s.Cancellation.Reason
			switch s.Cancellation.Of {
			case action.KindDeclare, action.KindRegister:
				set.Deregistered = append(set.Deregistered, v)
			case action.KindChange:
				// Back at the address the change left, registered there as
				// before (as the read model has it): a registration at the
				// previous address, when the cancellation names it.
				if s.PreviousAddress != nil {
					v.Address = s.PreviousAddress
				}
				set.Registered = append(set.Registered, v)
			case action.KindDeregister, action.KindDeregisterDeath:
				// The record is restored: the voter is back.
				set.Registered = append(set.Registered, v)
			}
		}
	}
	return set
}

func voterOf(p action.Person, a *action.Address) Voter {
	return Voter{
		UNZR: p.UNZR, RNOKPP: p.RNOKPP, Surname: p.Surname, GivenNames: p.GivenNames, Patronymic: p.Patronymic,
		BirthDate: p.BirthDate, Sex: p.Sex, Address: a,
	}
}

// anniversary is the years-th anniversary of born; one born on 29 February
// comes of age on 28 February of a common year, so that the date stays in
// the month the set announces.
func anniversary(born time.Time, years int) time.Time {
	y := born.Year() + years
	d := born.Day()
	if last := time.Date(y, born.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day(); d > last {
		d = last
	}
	return time.Date(y, born.Month(), d, 0, 0, 0, 0, time.UTC)
}

// ageOn is the age in whole years on a date; ok is false when either date
// does not parse.
func ageOn(birthDate, on string) (age int, ok bool) {
	born, err1 := time.Parse(time.DateOnly, birthDate)
	day, err2 := time.Parse(time.DateOnly, on)
	if err1 != nil || err2 != nil || day.Before(born) {
		return 0, false
	}
	age = day.Year() - born.Year()
	if anniversary(born, age).After(day) {
		age--
	}
	return age, true
}

func adultOn(birthDate, on string) bool {
	age, ok := ageOn(birthDate, on)
	return ok && age >= 18
}

// AgeGroups are the age groups of the statistics, by age on the effective
// date, each with its lowest age.
var AgeGroups = []struct {
	Name string
	From int
}{{"0-14", 0}, {"15-17", 15}, {"18-34", 18}, {"35-59", 35}, {"60+", 60}}

func ageGroup(age int) string {
	g := AgeGroups[0].Name
	for _, a := range AgeGroups {
		if age >= a.From {
			g = a.Name
		}
	}
	return g
}

// BuildStatistics counts the arrivals and departures among the actions
// completed in period p. An arrival is a declaration, registration or
// change of residence, counted by the district it came from; a departure
// is a deregistration (not on death: a death is no migration) or an
// exclusion, whose destination the register does not know. A cell under
// threshold (below 1: DefaultThreshold) keeps its place but loses its
// count; no totals are given. Only the cell keys and counts leave: no
// name, number, date or address.
func BuildStatistics(p Period, completed []Completed, threshold int, builtAt time.Time) StatisticsSet {
	if threshold < 1 {
		threshold = DefaultThreshold
	}
	type key struct{ flow, sex, group, area string }
	counts := map[key]int{}
	for _, c := range completed {
		s := c.Submission
		var k key
		switch s.Kind {
		case action.KindDeclare, action.KindRegister, action.KindChange:
			k.flow, k.area = FlowArrival, AreaNotStated
			if s.PreviousAddress != nil {
				k.area = district(s.PreviousAddress.KATOTTG)
			}
		case action.KindDeregister, action.KindExclude:
			if s.Deregistration != nil && s.Deregistration.Reason == action.DeregistrationDeath {
				continue // a death is no migration, whichever kind recorded it
			}
			k.flow, k.area = FlowDeparture, AreaNotStated
		default:
			continue
		}
		age, ok := ageOn(s.Person.BirthDate, s.EffectiveDate)
		if !ok || (s.Person.Sex != action.SexMale && s.Person.Sex != action.SexFemale) {
			continue // validated on accept; a body that is not cannot be placed
		}
		k.sex, k.group = s.Person.Sex, ageGroup(age)
		counts[k]++
	}
	set := StatisticsSet{Period: p.String(), BuiltAt: builtAt.UTC(), Threshold: threshold, Cells: []Cell{}}
	for k, n := range counts {
		c := Cell{Flow: k.flow, Sex: k.sex, AgeGroup: k.group, Area: k.area}
		if n < threshold {
			c.Suppressed = true
		} else {
			c.Count = n
		}
		set.Cells = append(set.Cells, c)
	}
	slices.SortFunc(set.Cells, func(a, b Cell) int {
		return cmp.Or(cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.Area, b.Area), cmp.Compare(a.Sex, b.Sex), cmp.Compare(a.AgeGroup, b.AgeGroup))
	})
	return set
}

// district is the KATOTTG district prefix of a code: UA, two digits of
// the region, two of the district. A district is large enough that the
// area alone names nobody.
func district(katottg string) string {
	if len(katottg) < 6 || !strings.HasPrefix(katottg, "UA") {
		return AreaNotStated
	}
	return katottg[:6]
}
