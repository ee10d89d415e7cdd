package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/routing"
	"github.com/reghub/reghub/simulators/militarysim"
	"github.com/reghub/reghub/simulators/regbodysim"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// Synthetic KATOTTG codes of the shape UA + 17 digits: one in the hub's own
// community (local_community UA12060170 of routing/rules.yaml), one under
// each prefix of the built-in directory, and one under a prefix the
// directory does not know (UA63: no entry starts so).
const (
	fanLocal      = "UA12060170010076413"
	fanLocal2     = "UA12060170020011248"
	fanIn1202     = "UA12020010010000456"
	fanIn1204     = "UA12040150010012345"
	fanIn1208     = "UA12080130010093157"
	fanIn1210     = "UA12100250010034602"
	fanIn1214     = "UA12140190010067390"
	fanNoBodyCode = "UA63120010010045678"
)

// The recipients, short.
const (
	toDMS  = action.DestMigrationService
	toEDDR = action.DestNationalRegistry
	toPrev = routing.DestPreviousBody
	toMil  = routing.DestMilitary
)

var fanRecipients = []action.Destination{toDMS, toEDDR, toPrev, toMil}

var fanOfficial = action.Official{ID: "SYN-OFF-0311", Name: "Синтетична Працівниця Реєстру", Position: "адміністратор"}

// fanPerson is synthetic person number i: a man with the given military
// status, or a woman when status is empty. The УНЗР carries the birth date,
// the РНОКПП the days since 31.12.1899 and a valid check digit.
func fanPerson(i int, status string) action.Person {
	birth := time.Date(1972, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 131*i)
	male := status != ""
	unzr := fmt.Sprintf("%s-%04d", birth.Format("20060102"), 300+i)
	unzr += fmt.Sprint(action.UNZRCheckDigit(unzr))
	days := int(birth.Sub(time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)).Hours()/24 + 0.5)
	d9 := 2 * (i % 5)
	if male {
		d9++
	}
	rnokpp := fmt.Sprintf("%05d%03d%d", days, (7*i)%1000, d9)
	rnokpp += fmt.Sprint(action.RNOKPPCheckDigit(rnokpp))
	surnames := []string{"Вигаданенко", "Тестовенко", "Зразківський", "Уявненко", "Синтетичук", "Макетенко"}
	p := action.Person{
		UNZR: unzr, RNOKPP: rnokpp,
		Surname:    surnames[i%len(surnames)],
		GivenNames: "Олена", Patronymic: "Тарасівна",
		BirthDate: birth.Format(time.DateOnly), BirthPlace: "м. Вигаданськ",
		Sex: action.SexFemale, Citizenship: "UKR",
		Document: &action.Document{Type: action.DocumentIDCard, Number: fmt.Sprintf("%09d", 700000000+i),
			IssuedOn: "2020-06-15", Issuer: "8012", Expires: "2030-06-15"},
	}
	if male {
		p.Sex, p.GivenNames, p.Patronymic, p.MilitaryStatus = action.SexMale, "Остап", "Тарасович", status
		if p.OnMilitaryRegister() {
			p.MilitaryRegNumber = fmt.Sprintf("SYN-MIL-%07d", 4000+i)
		}
	}
	return p
}

// fanAt is an invented address in the community katottg.
func fanAt(katottg string) *action.Address {
	return &action.Address{KATOTTG: katottg, Street: "вул. Вигадана", Building: "12", Apartment: "7"}
}

func fanDay(daysAgo int) string { return time.Now().AddDate(0, 0, -daysAgo).Format(time.DateOnly) }

func fanBase(kind action.Kind, p action.Person, daysAgo int) action.Submission {
	return action.Submission{Kind: kind, Person: p, EffectiveDate: fanDay(daysAgo), Official: fanOfficial}
}

func fanDeclare(p action.Person, at, from *action.Address, daysAgo int) action.Submission {
	s := fanBase(action.KindDeclare, p, daysAgo)
	s.Address, s.PreviousAddress = at, from
	return s
}

func fanRegister(p action.Person, at, from *action.Address, daysAgo int) action.Submission {
	s := fanDeclare(p, at, from, daysAgo)
	s.Kind = action.KindRegister
	return s
}

func fanDeregister(p action.Person, at *action.Address, daysAgo int) action.Submission {
	s := fanBase(action.KindDeregister, p, daysAgo)
	s.Address, s.Deregistration = at, &action.Deregistration{Reason: action.DeregistrationMoved}
	s.BasisDocument = &action.BasisDocument{Type: "заява", Number: "311/2026", Date: fanDay(daysAgo)}
	return s
}

func fanExclude(p action.Person, at *action.Address, daysAgo int) action.Submission {
	s := fanBase(action.KindExclude, p, daysAgo)
	s.Address = at
	s.BasisDocument = &action.BasisDocument{Type: "заява власника житла", Number: "312/2026", Date: fanDay(daysAgo)}
	return s
}

func fanStay(p action.Person, at *action.Address, daysAgo int) action.Submission {
	s := fanBase(action.KindStayRegister, p, daysAgo)
	s.Address = at
	return s
}

func fanChange(p action.Person, to, from *action.Address, daysAgo int) action.Submission {
	s := fanBase(action.KindChange, p, daysAgo)
	s.Address, s.PreviousAddress = to, from
	return s
}

// fanCancel cancels p's latest action, of kind of; at is that action's
// address (nil: none given).
func fanCancel(p action.Person, of action.Kind, at *action.Address, daysAgo int) action.Submission {
	s := fanBase(action.KindCancel, p, daysAgo)
	s.Address = at
	s.Cancellation = &action.Cancellation{Of: of, Reason: action.CancelErroneousEntry}
	return s
}

// fanCorrect corrects p's surname.
func fanCorrect(p action.Person, daysAgo int) action.Submission {
	old := p.Surname
	p.Surname = "Виправленко"
	s := fanBase(action.KindCorrect, p, daysAgo)
	s.Correction = &action.Correction{Fields: []string{"surname"}, Previous: &action.PreviousPerson{Surname: old}}
	s.BasisDocument = &action.BasisDocument{Type: "свідоцтво про шлюб", Number: "313/2026", Date: fanDay(daysAgo)}
	return s
}

func fanDeath(p action.Person, at *action.Address, daysAgo int) action.Submission {
	s := fanBase(action.KindDeregisterDeath, p, daysAgo)
	s.Address = at
	s.Death = &action.Death{Date: fanDay(daysAgo + 2), Certificate: &action.DeathCertificate{
		Type: action.DeathCertificateDomestic, Number: "ІКР314159", IssuedOn: fanDay(daysAgo + 1),
		Issuer: "відділ державної реєстрації актів цивільного стану (синтетичний)"}}
	return s
}

func fanAddressChange(typ, katottg string, prev, next action.AddressNames, daysAgo int) action.Submission {
	return action.Submission{
		Kind: action.KindAddressChange, EffectiveDate: fanDay(daysAgo), Official: fanOfficial,
		BasisDocument: &action.BasisDocument{Type: "рішення міської ради (синтетичне)", Number: "315/2026", Date: fanDay(daysAgo)},
		AddressChange: &action.AddressChange{Type: typ, KATOTTG: katottg, Previous: &prev, New: &next},
	}
}

// fanSent is one accepted action: a case's own, or one of the setup
// actions that put its person where the national systems accept the case.
type fanSent struct {
	label string
	sub   action.Submission
	view  hubtest.ActionView // as accepted
	// want, body and notice are a case's hand-written expectations; nil,
	// "" and "" for a setup action, checked against the rules only.
	want   []action.Destination
	body   string
	notice string
}

// fanKey is how every upstream keys the submission: УНЗР, else РНОКПП;
// the community for an address change.
func fanKey(s *action.Submission) string {
	if s.Kind == action.KindAddressChange {
		return "address:" + s.AddressChange.KATOTTG
	}
	return hubtest.PersonKey(s.Person)
}

// fanSubmit submits s and checks that the accepted action's deliveries, all
// pending, go exactly where the built-in rules route s.
func fanSubmit(t *testing.T, e *hubtest.Env, rules *routing.Rules, label string, s action.Submission) hubtest.ActionView {
	t.Helper()
	body, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	a := e.Submit(body)
	var got []action.Destination
	for _, d := range a.Deliveries {
		got = append(got, action.Destination(d.Destination))
		if d.Status != "pending" {
			t.Errorf("%s: new delivery to %s is %s, want pending", label, d.Destination, d.Status)
		}
	}
	if want := rules.Route(&s); !slices.Equal(got, want) {
		t.Errorf("%s: accepted with deliveries to %v; routing.Default().Route gives %v", label, got, want)
	}
	return a
}

func fanDelivery(a hubtest.ActionView, d action.Destination) (hubtest.Delivery, bool) {
	for _, x := range a.Deliveries {
		if x.Destination == string(d) {
			return x, true
		}
	}
	return hubtest.Delivery{}, false
}

// fanUpstreamKind is the simulators' name of a hub kind: without the
// "residence." prefix (upstream.Kind).
func fanUpstreamKind(k action.Kind) upstream.Kind {
	return upstream.Kind(strings.TrimPrefix(string(k), "residence."))
}

// fanWait polls action id until done holds, and returns it.
func fanWait(t *testing.T, e *hubtest.Env, id string, within time.Duration, what string, done func(hubtest.ActionView) bool) hubtest.ActionView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		a := e.Get(id)
		if done(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %s: action %s is %s (%s) with deliveries %+v", within, what, id, a.Status, a.StatusReason, a.Deliveries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFanOutOfEveryKind routes one action of every kind — leaving an
// address here or in another community, by persons on and off the
// military register — through the real hub and simulators, and checks
// that each recipient the rules name, and no other, received that action
// exactly once.
func TestFanOutOfEveryKind(t *testing.T) {
	const (
		conscript = action.MilitaryConscript
		liable    = action.MilitaryLiable
		reservist = action.MilitaryReservist
		notLiable = action.MilitaryNotLiable
		none      = "" // a woman with no military status
	)
	national := []action.Destination{toDMS, toEDDR}
	plus := func(extra ...action.Destination) []action.Destination {
		return append(slices.Clone(national), extra...)
	}
	type build func(p action.Person) (setup []action.Submission, sub action.Submission)
	only := func(f func(p action.Person) action.Submission) build {
		return func(p action.Person) ([]action.Submission, action.Submission) { return nil, f(p) }
	}
	cases := []struct {
		name     string
		military string
		build    build
		want     []action.Destination // by hand, in rule order
		body     string               // the body previous_body notifies
		notice   string               // its notice: kind/cause or kind/cancelled kind
	}{
		// Declarations and registrations: previous_body only when the
		// person leaves an address in another community.
		{name: "declare here", military: notLiable, want: national,
			build: only(func(p action.Person) action.Submission { return fanDeclare(p, fanAt(fanLocal), nil, 10) })},
		{name: "declare leaving UA1208, conscript", military: conscript, want: plus(toPrev, toMil),
			body: "SYN-RB-1208", notice: "deregistration/declaration",
			build: only(func(p action.Person) action.Submission { return fanDeclare(p, fanAt(fanLocal), fanAt(fanIn1208), 10) })},
		{name: "declare leaving an address here, reservist", military: reservist, want: plus(toMil),
			build: only(func(p action.Person) action.Submission { return fanDeclare(p, fanAt(fanLocal2), fanAt(fanLocal), 10) })},
		{name: "register here, no military status", military: none, want: national,
			build: only(func(p action.Person) action.Submission { return fanRegister(p, fanAt(fanLocal), nil, 10) })},
		{name: "register leaving UA1210, not liable", military: notLiable, want: plus(toPrev),
			body: "SYN-RB-1210", notice: "deregistration/registration",
			build: only(func(p action.Person) action.Submission { return fanRegister(p, fanAt(fanLocal), fanAt(fanIn1210), 10) })},
		{name: "register here, liable", military: liable, want: plus(toMil),
			build: only(func(p action.Person) action.Submission { return fanRegister(p, fanAt(fanLocal), nil, 10) })},

		// Deregistrations.
		{name: "deregister here", military: notLiable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40)}, fanDeregister(p, fanAt(fanLocal), 10)
			}},
		{name: "deregister from UA1208, reservist", military: reservist, want: plus(toPrev, toMil),
			body: "SYN-RB-1208", notice: "deregistration/deregistration",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1208), nil, 40)}, fanDeregister(p, fanAt(fanIn1208), 10)
			}},
		{name: "deregister from UA1210, not liable", military: notLiable, want: plus(toPrev),
			body: "SYN-RB-1210", notice: "deregistration/deregistration",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1210), nil, 40)}, fanDeregister(p, fanAt(fanIn1210), 10)
			}},
		{name: "deregister here, conscript", military: conscript, want: plus(toMil),
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40)}, fanDeregister(p, fanAt(fanLocal), 10)
			}},

		// Exclusions and places of stay never go beyond the national systems.
		{name: "exclude here", military: notLiable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanDeclare(p, fanAt(fanLocal), nil, 40)}, fanExclude(p, fanAt(fanLocal), 10)
			}},
		{name: "exclude in UA1208, reservist", military: reservist, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanDeclare(p, fanAt(fanIn1208), nil, 40)}, fanExclude(p, fanAt(fanIn1208), 10)
			}},
		{name: "stay.register here", military: notLiable, want: national,
			build: only(func(p action.Person) action.Submission { return fanStay(p, fanAt(fanLocal), 10) })},
		{name: "stay.register in UA1214, conscript", military: conscript, want: national,
			build: only(func(p action.Person) action.Submission { return fanStay(p, fanAt(fanIn1214), 10) })},

		// Changes of residence.
		{name: "change within the community", military: notLiable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40)}, fanChange(p, fanAt(fanLocal2), fanAt(fanLocal), 10)
			}},
		{name: "change leaving UA1210, liable", military: liable, want: plus(toPrev, toMil),
			body: "SYN-RB-1210", notice: "deregistration/change_of_residence",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1210), nil, 40)}, fanChange(p, fanAt(fanLocal), fanAt(fanIn1210), 10)
			}},
		{name: "change leaving UA1208, not liable", military: notLiable, want: plus(toPrev),
			body: "SYN-RB-1208", notice: "deregistration/change_of_residence",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1208), nil, 40)}, fanChange(p, fanAt(fanLocal), fanAt(fanIn1208), 10)
			}},
		{name: "change into UA1214 from here, reservist", military: reservist, want: plus(toMil),
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40)}, fanChange(p, fanAt(fanIn1214), fanAt(fanLocal), 10)
			}},

		// Cancellations of every cancellable kind: previous_body when the
		// cancelled action's address lies in another community; never the
		// military centre.
		{name: "cancel declare here", military: notLiable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanDeclare(p, fanAt(fanLocal), nil, 40)}, fanCancel(p, action.KindDeclare, fanAt(fanLocal), 10)
			}},
		{name: "cancel declare in UA1208, reservist", military: reservist, want: plus(toPrev),
			body: "SYN-RB-1208", notice: "cancellation/declaration",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanDeclare(p, fanAt(fanIn1208), nil, 40)}, fanCancel(p, action.KindDeclare, fanAt(fanIn1208), 10)
			}},
		{name: "cancel register in UA1210", military: none, want: plus(toPrev),
			body: "SYN-RB-1210", notice: "cancellation/registration",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1210), nil, 40)}, fanCancel(p, action.KindRegister, fanAt(fanIn1210), 10)
			}},
		{name: "cancel register, no address given, liable", military: liable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40)}, fanCancel(p, action.KindRegister, nil, 10)
			}},
		{name: "cancel deregister here", military: notLiable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40), fanDeregister(p, fanAt(fanLocal), 30)},
					fanCancel(p, action.KindDeregister, fanAt(fanLocal), 10)
			}},
		{name: "cancel deregister in UA1214", military: notLiable, want: plus(toPrev),
			body: "SYN-RB-1214", notice: "cancellation/deregistration",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1214), nil, 40), fanDeregister(p, fanAt(fanIn1214), 30)},
					fanCancel(p, action.KindDeregister, fanAt(fanIn1214), 10)
			}},
		{name: "cancel stay.register here", military: notLiable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanStay(p, fanAt(fanLocal), 40)}, fanCancel(p, action.KindStayRegister, fanAt(fanLocal), 10)
			}},
		{name: "cancel stay.register in UA1202", military: none, want: plus(toPrev),
			body: "SYN-RB-1202", notice: "cancellation/stay_registration",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanStay(p, fanAt(fanIn1202), 40)}, fanCancel(p, action.KindStayRegister, fanAt(fanIn1202), 10)
			}},
		{name: "cancel change here", military: notLiable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40), fanChange(p, fanAt(fanLocal2), fanAt(fanLocal), 30)},
					fanCancel(p, action.KindChange, fanAt(fanLocal2), 10)
			}},
		{name: "cancel change into UA1208, conscript", military: conscript, want: plus(toPrev),
			body: "SYN-RB-1208", notice: "cancellation/change_of_residence",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40), fanChange(p, fanAt(fanIn1208), fanAt(fanLocal), 30)},
					fanCancel(p, action.KindChange, fanAt(fanIn1208), 10)
			}},
		{name: "cancel deregister_death here", military: notLiable, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40), fanDeath(p, fanAt(fanLocal), 30)},
					fanCancel(p, action.KindDeregisterDeath, fanAt(fanLocal), 10)
			}},
		{name: "cancel deregister_death in UA1204", military: none, want: plus(toPrev),
			body: "SYN-RB-1204", notice: "cancellation/deregistration_on_death",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1204), nil, 40), fanDeath(p, fanAt(fanIn1204), 30)},
					fanCancel(p, action.KindDeregisterDeath, fanAt(fanIn1204), 10)
			}},

		// Corrections never go beyond the national systems.
		{name: "person.correct, conscript", military: conscript, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40)}, fanCorrect(p, 10)
			}},
		{name: "person.correct, no military status", military: none, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1210), nil, 40)}, fanCorrect(p, 10)
			}},

		// Deregistrations on death.
		{name: "deregister_death here, liable", military: liable, want: plus(toMil),
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40)}, fanDeath(p, fanAt(fanLocal), 10)
			}},
		{name: "deregister_death in UA1210, reservist", military: reservist, want: plus(toPrev, toMil),
			body: "SYN-RB-1210", notice: "deregistration/deregistration_on_death",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1210), nil, 40)}, fanDeath(p, fanAt(fanIn1210), 10)
			}},
		{name: "deregister_death in UA1208, not liable", military: notLiable, want: plus(toPrev),
			body: "SYN-RB-1208", notice: "deregistration/deregistration_on_death",
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanIn1208), nil, 40)}, fanDeath(p, fanAt(fanIn1208), 10)
			}},
		{name: "deregister_death here, no military status", military: none, want: national,
			build: func(p action.Person) ([]action.Submission, action.Submission) {
				return []action.Submission{fanRegister(p, fanAt(fanLocal), nil, 40)}, fanDeath(p, fanAt(fanLocal), 10)
			}},

		// Address-directory changes of each type: no person, the national
		// systems only, wherever the community lies.
		{name: "address.change renumbering", want: national,
			build: only(func(action.Person) action.Submission {
				return fanAddressChange(action.AddressRenumbering, "UA12060170030054821",
					action.AddressNames{Street: "вул. Перенумерована", Building: "4"}, action.AddressNames{Building: "204"}, 10)
			})},
		{name: "address.change street_renamed", want: national,
			build: only(func(action.Person) action.Submission {
				return fanAddressChange(action.AddressStreetRenamed, "UA12060170040000017",
					action.AddressNames{Street: "вул. Стара Синтетична"}, action.AddressNames{Street: "вул. Нова Синтетична"}, 10)
			})},
		{name: "address.change settlement_renamed", want: national,
			build: only(func(action.Person) action.Submission {
				return fanAddressChange(action.AddressSettlementRenamed, "UA12060170050000029",
					action.AddressNames{Settlement: "с. Тестове"}, action.AddressNames{Settlement: "с. Зразкове"}, 10)
			})},
		{name: "address.change unit_renamed, in UA1208", want: national,
			build: only(func(action.Person) action.Submission {
				return fanAddressChange(action.AddressUnitRenamed, "UA12080130020000031",
					action.AddressNames{Unit: "Вигаданський район"}, action.AddressNames{Unit: "Тестовий район"}, 10)
			})},
	}

	// Every kind is covered, every cancellable kind cancelled, every type
	// of address change made.
	covered := map[string]bool{}
	e := hubtest.NewEnv(t, hubtest.Opts{})
	rules, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	var sent []fanSent
	for i, c := range cases {
		p := fanPerson(i+1, c.military)
		setup, sub := c.build(p)
		covered[string(sub.Kind)] = true
		if sub.Cancellation != nil {
			covered["cancel of "+string(sub.Cancellation.Of)] = true
		}
		if sub.AddressChange != nil {
			covered["address change "+sub.AddressChange.Type] = true
		}
		for j, s := range setup {
			label := fmt.Sprintf("%s: setup #%d (%s)", c.name, j+1, s.Kind)
			sent = append(sent, fanSent{label: label, sub: s, view: fanSubmit(t, e, rules, label, s)})
		}
		a := fanSubmit(t, e, rules, c.name, sub)
		var got []action.Destination
		for _, d := range a.Deliveries {
			got = append(got, action.Destination(d.Destination))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: accepted with deliveries to %v, want %v", c.name, got, c.want)
		}
		if route := rules.Route(&sub); !slices.Equal(route, c.want) {
			t.Errorf("%s: routing.Default().Route gives %v, the hand-written expectation is %v", c.name, route, c.want)
		}
		sent = append(sent, fanSent{label: c.name, sub: sub, view: a, want: c.want, body: c.body, notice: c.notice})
	}
	for _, k := range action.Kinds() {
		if !covered[string(k)] {
			t.Errorf("no case of kind %s", k)
		}
	}
	for _, k := range action.CancellableKinds() {
		if !covered["cancel of "+string(k)] {
			t.Errorf("no case cancels %s", k)
		}
	}
	for _, typ := range []string{action.AddressRenumbering, action.AddressStreetRenamed, action.AddressSettlementRenamed, action.AddressUnitRenamed} {
		if !covered["address change "+typ] {
			t.Errorf("no address change of type %s", typ)
		}
	}

	ids := make([]string, len(sent))
	for i, s := range sent {
		ids[i] = s.view.ID
	}
	all := e.WaitResolved(ids, 45*time.Second)

	ctx := context.Background()
	dmsIn, eddrIn := e.Inspect(e.DMS), e.Inspect(e.EDDR)
	rbIn, err := regbodysim.Inspect(ctx, e.RegBody.URL)
	if err != nil {
		t.Fatal(err)
	}
	milIn, err := militarysim.Inspect(ctx, e.Military.URL)
	if err != nil {
		t.Fatal(err)
	}
	byRef := func(in upstream.Inspection) map[string][]upstream.AppliedEntry {
		m := map[string][]upstream.AppliedEntry{}
		for _, x := range in.Applied {
			m[x.Reference] = append(m[x.Reference], x)
		}
		return m
	}
	national2 := map[action.Destination]map[string][]upstream.AppliedEntry{toDMS: byRef(dmsIn), toEDDR: byRef(eddrIn)}
	notices := map[string][]regbodysim.Entry{}
	for _, x := range rbIn.Notices {
		notices[x.ActionReference] = append(notices[x.ActionReference], x)
	}
	military := map[string][]militarysim.Entry{}
	for _, x := range milIn.Applied {
		military[x.ActionReference] = append(military[x.ActionReference], x)
	}

	count := map[action.Destination]int{}
	bodies := map[string]int{}
	for _, s := range sent {
		a := all[s.view.ID]
		if a.Status != "completed" {
			t.Errorf("%s: action %s is %s (%s), want completed", s.label, a.ID, a.Status, a.StatusReason)
		}
		var dests []action.Destination
		for _, d := range a.Deliveries {
			dests = append(dests, action.Destination(d.Destination))
			count[action.Destination(d.Destination)]++
			if d.Status != "acknowledged" || d.UpstreamRef == "" {
				t.Errorf("%s: delivery to %s is %s with reference %q after %d attempt(s) (%s); want acknowledged with a reference",
					s.label, d.Destination, d.Status, d.UpstreamRef, d.Attempts, d.LastError)
			}
		}
		if accepted := fanDests(s.view); !slices.Equal(dests, accepted) {
			t.Errorf("%s: deliveries to %v now, %v when accepted", s.label, dests, accepted)
		}
		key := fanKey(&s.sub)
		for _, dest := range fanRecipients {
			d, routed := fanDelivery(a, dest)
			switch dest {
			case toDMS, toEDDR:
				got := national2[dest][a.Reference]
				if len(got) != 1 {
					t.Errorf("%s: %s applied the action %d times, want once", s.label, dest, len(got))
					continue
				}
				x := got[0]
				if x.ID != d.MessageID || x.RecordID != d.UpstreamRef || x.PersonKey != key || x.Kind != fanUpstreamKind(s.sub.Kind) {
					t.Errorf("%s: %s applied message %s (record %s) for %s of kind %s; want message %s (record %s) for %s of kind %s",
						s.label, dest, x.ID, x.RecordID, x.PersonKey, x.Kind, d.MessageID, d.UpstreamRef, key, fanUpstreamKind(s.sub.Kind))
				}
				if c := s.sub.Cancellation; c != nil && x.CancelOf != fanUpstreamKind(c.Of) {
					t.Errorf("%s: %s cancelled %s, want %s", s.label, dest, x.CancelOf, fanUpstreamKind(c.Of))
				}
			case toPrev:
				got := notices[a.Reference]
				if !routed {
					if len(got) != 0 {
						t.Errorf("%s: not routed to previous_body, yet the registration bodies received %d notices of it: %+v", s.label, len(got), got)
					}
					continue
				}
				if len(got) != 1 {
					t.Errorf("%s: the registration bodies received %d notices of the action, want 1", s.label, len(got))
					continue
				}
				x := got[0]
				left := routing.AddressLeft(&s.sub)
				body := s.body
				if s.want == nil { // a setup action: the directory decides
					b, _ := rules.BodyFor(left.KATOTTG)
					body = b.Code
				}
				bodies[x.Body]++
				if x.Body != body || x.MessageID != d.MessageID || x.RecordReference != d.UpstreamRef ||
					x.Person != key || x.Katottg != left.KATOTTG {
					t.Errorf("%s: notice %s (record %s) to body %s for %s leaving %s; want message %s (record %s) to %s for %s leaving %s",
						s.label, x.MessageID, x.RecordReference, x.Body, x.Person, x.Katottg, d.MessageID, d.UpstreamRef, body, key, left.KATOTTG)
				}
				kind := x.Kind + "/" + x.Cause + x.CancelledKind
				if s.want != nil && kind != s.notice {
					t.Errorf("%s: the body received a notice %s, want %s", s.label, kind, s.notice)
				}
			case toMil:
				got := military[a.Reference]
				if !routed {
					if len(got) != 0 {
						t.Errorf("%s: not routed to military, yet the centre applied %d notifications of it: %+v", s.label, len(got), got)
					}
					continue
				}
				if len(got) != 1 {
					t.Errorf("%s: the military centre applied %d notifications of the action, want 1", s.label, len(got))
					continue
				}
				x := got[0]
				if x.MessageID != d.MessageID || x.Reference != d.UpstreamRef || x.Person != key || x.Kind != string(s.sub.Kind) || x.RegistrationBody == "" {
					t.Errorf("%s: the centre applied %+v; want message %s (reference %s) for %s of kind %s from a registration body",
						s.label, x, d.MessageID, d.UpstreamRef, key, s.sub.Kind)
				}
			}
		}
	}

	// Nothing more than that anywhere: no rejection, no duplicate, no
	// notice or notification for an action not routed there.
	for name, in := range map[string]upstream.Inspection{"dms": dmsIn, "eddr": eddrIn} {
		if in.AppliedCount != len(sent) || in.RejectedCount != 0 || in.Duplicates != 0 {
			t.Errorf("%s: applied %d, rejected %d (%+v), duplicates %d; want %d, 0, 0", name, in.AppliedCount, in.RejectedCount, in.Rejected, in.Duplicates, len(sent))
		}
	}
	if rbIn.NoticeCount != count[toPrev] || rbIn.RejectedCount != 0 || rbIn.Duplicates != 0 {
		t.Errorf("regbody: %d notices, %d rejected (%+v), %d duplicates; want %d, 0, 0", rbIn.NoticeCount, rbIn.RejectedCount, rbIn.Rejected, rbIn.Duplicates, count[toPrev])
	}
	for body, n := range rbIn.ByBody {
		if bodies[body] != n {
			t.Errorf("regbody: body %s received %d notices, %d expected", body, n, bodies[body])
		}
	}
	if milIn.AppliedCount != count[toMil] || milIn.RejectedCount != 0 || milIn.Duplicates != 0 || milIn.Conflicts != 0 || milIn.ProtocolErrors != 0 {
		t.Errorf("military: %d applied, %d rejected (%+v), %d duplicates, %d conflicts, %d refused forms; want %d, 0, 0, 0, 0",
			milIn.AppliedCount, milIn.RejectedCount, milIn.Rejected, milIn.Duplicates, milIn.Conflicts, milIn.ProtocolErrors, count[toMil])
	}
	if count[toPrev] == 0 || count[toMil] == 0 {
		t.Errorf("deliveries per recipient %v: the cases must reach every recipient", count)
	}
	// Every SOAP message of every kind, to every SOAP recipient, against
	// its XSD with xmllint.
	if n := e.LintSent(t); n < count[action.DestMigrationService]+count[action.DestNationalRegistry]+count[toPrev] {
		t.Errorf("validated %d SOAP messages, want at least the %d sent to dms, eddr and previous_body", n, count[action.DestMigrationService]+count[action.DestNationalRegistry]+count[toPrev])
	}
}

func fanDests(a hubtest.ActionView) []action.Destination {
	var out []action.Destination
	for _, d := range a.Deliveries {
		out = append(out, action.Destination(d.Destination))
	}
	return out
}

// fanOpsDelivery is a delivery as the operations API lists it.
type fanOpsDelivery struct {
	MessageID    string `json:"message_id"`
	ActionID     string `json:"action_id"`
	ActionRef    string `json:"action_reference"`
	Kind         string `json:"kind"`
	Destination  string `json:"destination"`
	Status       string `json:"status"`
	ActionStatus string `json:"action_status"`
	Attempts     int    `json:"attempts"`
	LastError    string `json:"last_error"`
	ErrorClass   string `json:"error_class"`
	UpstreamRef  string `json:"upstream_reference"`
}

// fanOpsList lists deliveries through GET /v1/ops/deliveries?query.
func fanOpsList(t *testing.T, e *hubtest.Env, token string, query url.Values) (int, []fanOpsDelivery, []byte) {
	t.Helper()
	var page struct {
		Items []fanOpsDelivery `json:"items"`
	}
	code, _, raw := e.Call(http.MethodGet, "/v1/ops/deliveries?"+query.Encode(), token, nil, nil, nil)
	if code == http.StatusOK {
		if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatalf("ops deliveries: %v: %s", err, raw)
		}
	}
	return code, page.Items, raw
}

func fanFind(items []fanOpsDelivery, messageID string) (fanOpsDelivery, bool) {
	for _, d := range items {
		if d.MessageID == messageID {
			return d, true
		}
	}
	return fanOpsDelivery{}, false
}

// TestUnknownCommunityIsAnOperatorVisibleFailure: a deregistration from a
// community the directory has no body for still reaches the national
// systems; its previous_body delivery ends dead (no_route) without a call,
// the hub keeps serving, and operators see it and resolve it by hand —
// one acknowledged with the body's reference obtained out of band, the
// other cancelled.
func TestUnknownCommunityIsAnOperatorVisibleFailure(t *testing.T) {
	rules, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := rules.BodyFor(fanNoBodyCode); ok {
		t.Fatalf("the directory has body %s for %s; the test needs a community it lacks", b.Code, fanNoBodyCode)
	}
	e := hubtest.NewEnv(t, hubtest.Opts{})
	op := operatorToken(t, e, "op-fanout", auth.RoleOperator)
	aud := operatorToken(t, e, "aud-fanout", auth.RoleAuditor)

	want := []action.Destination{toDMS, toEDDR, toPrev}
	var deregs []hubtest.ActionView
	for i, status := range []string{action.MilitaryNotLiable, ""} {
		p := fanPerson(60+i, status)
		home := fanAt(fanNoBodyCode)
		reg := fanSubmit(t, e, rules, "registration in "+fanNoBodyCode, fanRegister(p, home, nil, 40))
		if got := fanDests(reg); !slices.Equal(got, []action.Destination{toDMS, toEDDR}) {
			t.Fatalf("registration routed to %v, want [dms eddr]", got)
		}
		a := fanSubmit(t, e, rules, "deregistration from "+fanNoBodyCode, fanDeregister(p, home, 10))
		if got := fanDests(a); !slices.Equal(got, want) {
			t.Fatalf("deregistration from %s routed to %v, want %v", fanNoBodyCode, got, want)
		}
		if r := e.WaitResolved([]string{reg.ID}, 30*time.Second)[reg.ID]; r.Status != "completed" {
			t.Fatalf("registration in %s: %s (%s)", fanNoBodyCode, r.Status, r.StatusReason)
		}
		deregs = append(deregs, a)
	}

	// Both national systems acknowledge; previous_body is dead, no_route.
	settled := func(a hubtest.ActionView) bool {
		for _, d := range a.Deliveries {
			if d.Status == "pending" || d.Status == "awaiting_ack" {
				return false
			}
		}
		return a.Status != "pending"
	}
	prevIDs := make([]string, len(deregs))
	for i, a := range deregs {
		a = fanWait(t, e, a.ID, 30*time.Second, "waiting for every delivery to settle", settled)
		if a.Status != "dead" || !strings.Contains(a.StatusReason, "previous_body") {
			t.Errorf("action %s is %s (%q); want dead with a reason naming previous_body", a.ID, a.Status, a.StatusReason)
		}
		for _, d := range a.Deliveries {
			switch action.Destination(d.Destination) {
			case toDMS, toEDDR:
				if d.Status != "acknowledged" || d.UpstreamRef == "" {
					t.Errorf("%s delivery is %s with reference %q; want acknowledged (a missing body blocks no other recipient)", d.Destination, d.Status, d.UpstreamRef)
				}
			case toPrev:
				prevIDs[i] = d.MessageID
				if d.Status != "dead" || d.ErrorClass != "no_route" || d.Attempts != 1 || !strings.Contains(d.LastError, fanNoBodyCode) {
					t.Errorf("previous_body delivery: %s after %d attempt(s), class %q, error %q; want dead after 1 no_route attempt naming %s",
						d.Status, d.Attempts, d.ErrorClass, d.LastError, fanNoBodyCode)
				}
			}
		}
	}
	if in, err := regbodysim.Inspect(context.Background(), e.RegBody.URL); err != nil || in.Requests != 0 || in.NoticeCount != 0 {
		t.Errorf("the registration bodies got %d requests, %d notices (%v); want none: no body serves %s", in.Requests, in.NoticeCount, err, fanNoBodyCode)
	}
	for name, in := range map[string]upstream.Inspection{"dms": e.Inspect(e.DMS), "eddr": e.Inspect(e.EDDR)} {
		if in.AppliedCount != 4 || in.RejectedCount != 0 {
			t.Errorf("%s applied %d, rejected %d; want the 2 registrations and 2 deregistrations applied", name, in.AppliedCount, in.RejectedCount)
		}
	}

	// The hub is alive and serving.
	if exited, err := e.Hub.Exited(); exited {
		t.Fatalf("the hub exited (%v)", err)
	}
	resp, err := http.Get(e.Hub.Base + "/readyz")
	if err != nil {
		t.Fatalf("readyz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %d, want 200", resp.StatusCode)
	}

	// Operators (and auditors) see them among the dead deliveries.
	for _, tok := range []string{op, aud} {
		code, items, raw := fanOpsList(t, e, tok, url.Values{"status": {"dead"}})
		if code != http.StatusOK {
			t.Fatalf("list dead deliveries: %d %s", code, raw)
		}
		if len(items) != len(prevIDs) {
			t.Errorf("%d dead deliveries listed, want %d: %s", len(items), len(prevIDs), raw)
		}
		for i, id := range prevIDs {
			d, ok := fanFind(items, id)
			if !ok || d.Destination != string(toPrev) || d.ErrorClass != "no_route" || d.ActionStatus != "dead" ||
				d.ActionID != deregs[i].ID || d.Kind != string(action.KindDeregister) || d.LastError == "" {
				t.Errorf("dead delivery %s listed as %+v (found %v); want previous_body, no_route, of dead deregistration %s", id, d, ok, deregs[i].ID)
			}
		}
	}
	if code, items, raw := fanOpsList(t, e, op, url.Values{"status": {"dead"}, "error_class": {"no_route"}}); code != http.StatusOK || len(items) != len(prevIDs) {
		t.Errorf("dead no_route deliveries: %d, %d listed: %s", code, len(items), raw)
	}
	// An operator narrows the list to the recipient that failed.
	if code, items, raw := fanOpsList(t, e, op, url.Values{"status": {"dead"}, "destination": {string(toPrev)}}); code != http.StatusOK || len(items) != len(prevIDs) {
		t.Errorf("GET /v1/ops/deliveries?status=dead&destination=previous_body: %d, %d listed: %s; "+
			"want 200 listing the %d dead previous_body deliveries (the routed recipients are outbox destinations too)", code, len(items), raw, len(prevIDs))
	}
	var detail struct {
		fanOpsDelivery
		Log []struct {
			Outcome    string `json:"outcome"`
			ErrorClass string `json:"error_class"`
			Detail     string `json:"detail"`
		} `json:"attempts_log"`
	}
	if code, _, raw := e.Call(http.MethodGet, "/v1/ops/deliveries/"+prevIDs[0], aud, nil, nil, &detail); code != http.StatusOK ||
		detail.Status != "dead" || len(detail.Log) == 0 || detail.Log[len(detail.Log)-1].ErrorClass != "no_route" {
		t.Errorf("delivery detail: %d %s; want the dead delivery with its no_route attempt", code, raw)
	}

	// An auditor may not resolve it; an operator acknowledges the first by
	// hand, with the reference the body gave out of band...
	const manualRef = "SYN-RB-6312-0000042"
	ack := fmt.Appendf(nil, `{"reference": %q, "justification": "повідомлено орган реєстрації громади UA6312 поштою; додати орган до довідника"}`, manualRef)
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/deliveries/"+prevIDs[0]+"/acknowledge", aud, nil, ack, nil); code != http.StatusForbidden {
		t.Errorf("an auditor acknowledged: %d %s; want 403", code, raw)
	}
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/deliveries/"+prevIDs[0]+"/acknowledge", op, nil, ack, nil); code != http.StatusOK {
		t.Fatalf("acknowledge by hand: %d %s", code, raw)
	}
	a := e.Get(deregs[0].ID)
	if a.Status != "completed" {
		t.Errorf("after the manual acknowledgement the action is %s (%q), want completed", a.Status, a.StatusReason)
	}
	if d, _ := fanDelivery(a, toPrev); d.Status != "acknowledged" || d.UpstreamRef != manualRef {
		t.Errorf("previous_body delivery after the manual acknowledgement: %s with reference %q, want acknowledged with %q", d.Status, d.UpstreamRef, manualRef)
	}
	var steps struct {
		Items []struct{ Actor, Operation string } `json:"items"`
	}
	if code, _, raw := e.Call(http.MethodGet, "/v1/ops/steps?target=delivery:"+prevIDs[0], aud, nil, nil, &steps); code != http.StatusOK ||
		len(steps.Items) != 1 || steps.Items[0].Actor != "op-fanout" || steps.Items[0].Operation != "acknowledge" {
		t.Errorf("steps on the acknowledged delivery: %d %s; want one acknowledge by op-fanout", code, raw)
	}

	// ...and cancels the other action.
	if code, _, raw := e.Call(http.MethodPost, "/v1/ops/actions/"+deregs[1].ID+"/cancel", op, nil,
		[]byte(`{"reason": "орган реєстрації громади невідомий; реєстр повідомить його сам"}`), nil); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, raw)
	}
	a = e.Get(deregs[1].ID)
	if a.Status != "cancelled" {
		t.Errorf("after the cancellation the action is %s, want cancelled", a.Status)
	}
	for _, d := range a.Deliveries {
		want := "acknowledged"
		if d.Destination == string(toPrev) {
			want = "cancelled"
		}
		if d.Status != want {
			t.Errorf("after the cancellation the %s delivery is %s, want %s", d.Destination, d.Status, want)
		}
	}
	if code, items, raw := fanOpsList(t, e, op, url.Values{"status": {"dead"}}); code != http.StatusOK || len(items) != 0 {
		t.Errorf("dead deliveries after both were resolved: %d, %d listed: %s; want none", code, len(items), raw)
	}
	if in, err := regbodysim.Inspect(context.Background(), e.RegBody.URL); err != nil || in.Requests != 0 {
		t.Errorf("the registration bodies got %d requests (%v); want none", in.Requests, err)
	}
}

// TestRecipientOutageHoldsOnlyItsDeliveries: while the military centre is
// down, a reservist's registration waits for it alone — the national
// systems acknowledge, another person's action completes — and once the
// centre is back the notification is applied exactly once.
func TestRecipientOutageHoldsOnlyItsDeliveries(t *testing.T) {
	rules, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	e := hubtest.NewEnv(t, hubtest.Opts{
		Military: upstream.Config{Outage: true},
		// A budget the outage does not exhaust while the test watches.
		HubArgs: []string{"--max-attempts", "200"},
	})
	reservist := fanSubmit(t, e, rules, "reservist's registration",
		fanRegister(fanPerson(70, action.MilitaryReservist), fanAt(fanLocal), nil, 5))
	if got := fanDests(reservist); !slices.Equal(got, []action.Destination{toDMS, toEDDR, toMil}) {
		t.Fatalf("the reservist's registration routed to %v, want [dms eddr military]", got)
	}
	other := fanSubmit(t, e, rules, "another person's registration",
		fanRegister(fanPerson(71, action.MilitaryNotLiable), fanAt(fanLocal), nil, 5))
	if got := fanDests(other); !slices.Equal(got, []action.Destination{toDMS, toEDDR}) {
		t.Fatalf("the other registration routed to %v, want [dms eddr]", got)
	}

	// The military delivery retries against the outage; the rest flows.
	held := fanWait(t, e, reservist.ID, 20*time.Second, "waiting for the military delivery to retry during the outage", func(a hubtest.ActionView) bool {
		m, _ := fanDelivery(a, toMil)
		d, _ := fanDelivery(a, toDMS)
		r, _ := fanDelivery(a, toEDDR)
		return m.Attempts >= 2 && d.Status == "acknowledged" && r.Status == "acknowledged"
	})
	if held.Status != "pending" {
		t.Errorf("the reservist's registration is %s during the outage, want pending", held.Status)
	}
	if m, _ := fanDelivery(held, toMil); m.Status != "pending" || m.ErrorClass == "" || m.UpstreamRef != "" {
		t.Errorf("military delivery during the outage: %s, class %q, reference %q; want pending, retrying with an error class", m.Status, m.ErrorClass, m.UpstreamRef)
	}
	if o := e.WaitResolved([]string{other.ID}, 20*time.Second)[other.ID]; o.Status != "completed" {
		t.Errorf("the other person's registration is %s during the outage, want completed (the outage holds only its own deliveries)", o.Status)
	}
	ctx := context.Background()
	mil, err := militarysim.Inspect(ctx, e.Military.URL)
	if err != nil {
		t.Fatal(err)
	}
	if mil.AppliedCount != 0 || mil.Faults[string(upstream.FaultOutage)] < 2 {
		t.Errorf("the centre during the outage: %d applied, %d refused for the outage; want 0 and at least 2", mil.AppliedCount, mil.Faults[string(upstream.FaultOutage)])
	}

	// The outage ends.
	e.SetConfig(e.Military, upstream.Config{})
	done := e.WaitResolved([]string{reservist.ID}, 30*time.Second)[reservist.ID]
	if done.Status != "completed" {
		t.Fatalf("after the outage the reservist's registration is %s (%s), want completed", done.Status, done.StatusReason)
	}
	m, _ := fanDelivery(done, toMil)
	if m.Status != "acknowledged" || m.UpstreamRef == "" {
		t.Errorf("military delivery after the outage: %s with reference %q, want acknowledged with one", m.Status, m.UpstreamRef)
	}
	mil, err = militarysim.Inspect(ctx, e.Military.URL)
	if err != nil {
		t.Fatal(err)
	}
	if mil.AppliedCount != 1 || mil.Duplicates != 0 || mil.RejectedCount != 0 || len(mil.Applied) != 1 {
		t.Fatalf("the centre applied %d notifications (%d duplicates, %d rejected), want exactly 1", mil.AppliedCount, mil.Duplicates, mil.RejectedCount)
	}
	if x := mil.Applied[0]; x.MessageID != m.MessageID || x.Reference != m.UpstreamRef || x.ActionReference != done.Reference ||
		x.Person != fanKey(&action.Submission{Person: fanPerson(70, action.MilitaryReservist)}) || x.Kind != string(action.KindRegister) {
		t.Errorf("the centre applied %+v; want message %s (reference %s) of action %s", x, m.MessageID, m.UpstreamRef, done.Reference)
	}
	for name, in := range map[string]upstream.Inspection{"dms": e.Inspect(e.DMS), "eddr": e.Inspect(e.EDDR)} {
		if in.AppliedCount != 2 || in.Duplicates != 0 {
			t.Errorf("%s applied %d (duplicates %d), want the 2 registrations once each", name, in.AppliedCount, in.Duplicates)
		}
	}
}
