package monthly

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Kyiv must resolve in minimal containers too

	"github.com/reghub/reghub/action"
)

// All persons, numbers and addresses below are synthetic: invented names,
// УНЗР and РНОКПП in valid format (the УНЗР's date is the birth date, the
// РНОКПП's first five digits the days since 1899-12-31 and its check digit
// correct), KATOTTG codes of the right shape.

func mustKyiv(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Kyiv")
	if err != nil {
		t.Fatalf("load Europe/Kyiv: %v", err)
	}
	return loc
}

var (
	october2026 = Period{2026, time.October}

	flatKR = &action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Соборності", Building: "12", Apartment: "5"}
	flatMt = &action.Address{KATOTTG: "UA12060170010076413", Street: "просп. Металургів", Building: "31", Apartment: "88"}
	// prevLviv is a previous address in another district (UA4606).
	prevLviv = &action.Address{KATOTTG: "UA46060250010015970", Street: "вул. Городоцька", Building: "7"}
)

// prykhodko is an adult citizen (born 1985-03-22).
func prykhodko() action.Person {
	return action.Person{
		UNZR: "19850322-05072", RNOKPP: "3112722110", Surname: "Приходько", GivenNames: "Степан", Patronymic: "Миколайович",
		BirthDate: "1985-03-22", BirthPlace: "м. Кривий Ріг", Sex: action.SexMale, Citizenship: "UKR",
		Document: &action.Document{Type: action.DocumentIDCard, Number: "004512378", IssuedOn: "2019-04-02", Issuer: "1211"},
	}
}

// levchenko is an adult citizen (born 1972-07-09).
func levchenko() action.Person {
	return action.Person{
		UNZR: "19720709-05440", RNOKPP: "2648823226", Surname: "Левченко", GivenNames: "Галина", Patronymic: "Петрівна",
		BirthDate: "1972-07-09", Sex: action.SexFemale, Citizenship: "UKR",
	}
}

// voterPrykhodko is prykhodko as a Voter, written out by hand.
func voterPrykhodko(addr *action.Address, date, reason, actionID string) Voter {
	return Voter{
		UNZR: "19850322-05072", RNOKPP: "3112722110", Surname: "Приходько", GivenNames: "Степан", Patronymic: "Миколайович",
		BirthDate: "1985-03-22", Sex: "M", Address: addr, Date: date, Reason: reason, ActionID: actionID,
	}
}

func submission(kind action.Kind, p action.Person, eff string, mods ...func(*action.Submission)) action.Submission {
	s := action.Submission{
		Kind: kind, Person: p, Address: flatKR, EffectiveDate: eff,
		Official: action.Official{ID: "KR-0042", Name: "Іваненко І. І."},
	}
	for _, m := range mods {
		m(&s)
	}
	return s
}

func withPrevious(a *action.Address) func(*action.Submission) {
	return func(s *action.Submission) { s.PreviousAddress = a }
}

func withDeregistration(reason string) func(*action.Submission) {
	return func(s *action.Submission) { s.Deregistration = &action.Deregistration{Reason: reason} }
}

func withCancellation(of action.Kind, reason string) func(*action.Submission) {
	return func(s *action.Submission) { s.Cancellation = &action.Cancellation{Of: of, Reason: reason} }
}

func completedOne(id string, s action.Submission) []Completed {
	return []Completed{{ActionID: id, CompletedAt: time.Date(2026, 10, 20, 9, 30, 0, 0, time.UTC), Submission: s}}
}

const actionID1 = "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c01"

func builtAt(t testing.TB) time.Time { return time.Date(2026, 11, 3, 10, 0, 0, 0, mustKyiv(t)) }

func assertEmptyLists(t *testing.T, set VoterSet) {
	t.Helper()
	for name, l := range map[string][]Voter{"turning_adult": set.TurningAdult, "registered": set.Registered, "deregistered": set.Deregistered} {
		if l == nil || len(l) != 0 {
			t.Errorf("%s = %#v, want an empty non-nil slice", name, l)
		}
	}
}

func TestBuildVoterSetKinds(t *testing.T) {
	death := func(s *action.Submission) {
		s.Death = &action.Death{Date: "2026-10-05", Certificate: &action.DeathCertificate{
			Type: action.DeathCertificateDomestic, Number: "ІКР123456", IssuedOn: "2026-10-06", Issuer: "Відділ ДРАЦС (вигаданий)",
		}}
	}
	exclusion := func(s *action.Submission) {
		s.BasisDocument = &action.BasisDocument{Type: "заява власника житла", Number: "17/2026", Date: "2026-10-09"}
	}
	correction := func(s *action.Submission) {
		s.Address = nil
		s.Correction = &action.Correction{Fields: []string{"surname"}, Previous: &action.PreviousPerson{Surname: "Приходкін"}}
	}
	addrChange := func(s *action.Submission) {
		s.Person, s.Address = action.Person{}, nil
		s.AddressChange = &action.AddressChange{
			Type: action.AddressStreetRenamed, KATOTTG: "UA12060170010076413",
			Previous: &action.AddressNames{Street: "вул. Соборності"}, New: &action.AddressNames{Street: "вул. Каштанова"},
		}
	}
	const eff = "2026-10-12"
	for _, tc := range []struct {
		name string
		s    action.Submission
		// list is "registered", "deregistered" or "" (left out).
		list   string
		reason string
	}{
		{"declaration", submission(action.KindDeclare, prykhodko(), eff), "registered", ""},
		{"registration", submission(action.KindRegister, prykhodko(), eff, withPrevious(prevLviv)), "registered", ""},
		{"change of residence", submission(action.KindChange, prykhodko(), eff, withPrevious(prevLviv)), "registered", ""},
		{"deregistration, moved", submission(action.KindDeregister, prykhodko(), eff, withDeregistration(action.DeregistrationMoved)), "deregistered", "moved"},
		{"deregistration, court decision", submission(action.KindDeregister, prykhodko(), eff, withDeregistration(action.DeregistrationCourtDecision)), "deregistered", "court_decision"},
		{"deregistration without its block", submission(action.KindDeregister, prykhodko(), eff), "deregistered", ""},
		{"deregistration on death", submission(action.KindDeregisterDeath, prykhodko(), eff, death), "deregistered", "death"},
		{"exclusion", submission(action.KindExclude, prykhodko(), eff, exclusion), "deregistered", "exclusion"},
		{"cancellation of a declaration", submission(action.KindCancel, prykhodko(), eff, withCancellation(action.KindDeclare, action.CancelErroneousEntry)), "deregistered", "cancellation:erroneous_entry"},
		{"cancellation of a registration", submission(action.KindCancel, prykhodko(), eff, withCancellation(action.KindRegister, action.CancelViolationOfLaw)), "deregistered", "cancellation:violation_of_law"},
		{"cancellation of a deregistration", submission(action.KindCancel, prykhodko(), eff, withCancellation(action.KindDeregister, action.CancelDMSNoticeConfirmed)), "registered", "cancellation:dms_notice_confirmed"},
		{"cancellation of a change of residence", submission(action.KindCancel, prykhodko(), eff, withCancellation(action.KindChange, action.CancelErroneousEntry)), "registered", "cancellation:erroneous_entry"},
		{"cancellation of a place of stay", submission(action.KindCancel, prykhodko(), eff, withCancellation(action.KindStayRegister, action.CancelDocumentInvalid)), "", ""},
		{"cancellation without its block", submission(action.KindCancel, prykhodko(), eff), "", ""},
		{"correction of personal data", submission(action.KindCorrect, prykhodko(), eff, correction), "", ""},
		{"registration of a place of stay", submission(action.KindStayRegister, prykhodko(), eff), "", ""},
		{"address-directory change", submission(action.KindAddressChange, prykhodko(), eff, addrChange), "", ""},
		{"unknown kind", submission("residence.teleport", prykhodko(), eff), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := BuildVoterSet(october2026, completedOne(actionID1, tc.s), nil, builtAt(t))
			if set.TurningAdult == nil || len(set.TurningAdult) != 0 {
				t.Errorf("turning_adult = %#v, want empty", set.TurningAdult)
			}
			want := voterPrykhodko(flatKR, "2026-10-12", tc.reason, actionID1)
			wantReg, wantDereg := []Voter{}, []Voter{}
			switch tc.list {
			case "registered":
				wantReg = []Voter{want}
			case "deregistered":
				wantDereg = []Voter{want}
			}
			if !reflect.DeepEqual(set.Registered, wantReg) {
				t.Errorf("registered = %#v\nwant %#v", set.Registered, wantReg)
			}
			if !reflect.DeepEqual(set.Deregistered, wantDereg) {
				t.Errorf("deregistered = %#v\nwant %#v", set.Deregistered, wantDereg)
			}
			if set.Registered == nil || set.Deregistered == nil {
				t.Error("a list is nil, want an empty slice")
			}
		})
	}
}

// A deregistration on death can be cancelled (its kind has cancel reasons:
// the death record annulled, an erroneous entry...), and the read model then
// has the person registered at the address again (Registration.Apply). The
// voter register was told "death" the month the deregistration completed;
// it must be told the voter is back, as for a cancelled deregistration.
func TestBuildVoterSetCancelledDeathDeregistrationRestoresVoter(t *testing.T) {
	s := submission(action.KindCancel, prykhodko(), "2026-10-12", withCancellation(action.KindDeregisterDeath, action.CancelCivilRecordAnnulled))
	set := BuildVoterSet(october2026, completedOne(actionID1, s), nil, builtAt(t))
	want := []Voter{voterPrykhodko(flatKR, "2026-10-12", "cancellation:civil_record_annulled", actionID1)}
	if !reflect.DeepEqual(set.Registered, want) {
		t.Errorf("registered = %#v\nwant %#v", set.Registered, want)
	}
	if len(set.Deregistered) != 0 {
		t.Errorf("deregistered = %#v, want empty", set.Deregistered)
	}
}

func TestBuildVoterSetCitizensOnly(t *testing.T) {
	foreign := prykhodko()
	foreign.Citizenship = "POL"
	stateless := prykhodko()
	stateless.Citizenship = ""
	completed := []Completed{
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c11", Submission: submission(action.KindRegister, foreign, "2026-10-02")},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c12", Submission: submission(action.KindRegister, stateless, "2026-10-03")},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c13", Submission: submission(action.KindRegister, prykhodko(), "2026-10-04")},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c14", Submission: submission(action.KindDeregister, foreign, "2026-10-05", withDeregistration(action.DeregistrationMoved))},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c15", Submission: submission(action.KindDeregisterDeath, stateless, "2026-10-06")},
	}
	set := BuildVoterSet(october2026, completed, nil, builtAt(t))
	want := []Voter{voterPrykhodko(flatKR, "2026-10-04", "", "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c13")}
	if !reflect.DeepEqual(set.Registered, want) {
		t.Errorf("registered = %#v\nwant %#v", set.Registered, want)
	}
	if set.Deregistered == nil || len(set.Deregistered) != 0 {
		t.Errorf("deregistered = %#v, want empty", set.Deregistered)
	}
}

func TestBuildVoterSetAdultsOnEffectiveDate(t *testing.T) {
	fedoruk := action.Person{ // 18 on 2026-10-15
		UNZR: "20081015-05815", RNOKPP: "3973524336", Surname: "Федорук", GivenNames: "Максим",
		BirthDate: "2008-10-15", Sex: action.SexMale, Citizenship: "UKR",
	}
	zarichna := action.Person{ // 18 on 2026-10-16
		UNZR: "20081016-06181", RNOKPP: "3973625440", Surname: "Зарічна", GivenNames: "Вікторія",
		BirthDate: "2008-10-16", Sex: action.SexFemale, Citizenship: "UKR",
	}
	doroshenko := action.Person{ // born on 29 February: 18 on 2026-02-28
		UNZR: "20080229-04333", RNOKPP: "3950619998", Surname: "Дорошенко", GivenNames: "Богдан",
		BirthDate: "2008-02-29", Sex: action.SexMale, Citizenship: "UKR",
	}
	for _, tc := range []struct {
		name   string
		s      action.Submission
		listed bool
	}{
		{"18th birthday on the effective date", submission(action.KindDeclare, fedoruk, "2026-10-15"), true},
		{"day after the 18th birthday", submission(action.KindDeclare, fedoruk, "2026-10-16"), true},
		{"day before the 18th birthday", submission(action.KindDeclare, zarichna, "2026-10-15"), false},
		{"minor deregistered", submission(action.KindDeregister, zarichna, "2026-10-15", withDeregistration(action.DeregistrationMoved)), false},
		{"minor's declaration cancelled", submission(action.KindCancel, zarichna, "2026-10-15", withCancellation(action.KindDeclare, action.CancelErroneousEntry)), false},
		{"adult on 18th birthday deregistered", submission(action.KindDeregister, zarichna, "2026-10-16", withDeregistration(action.DeregistrationMoved)), true},
		{"29 February, 28 February of a common year", submission(action.KindRegister, doroshenko, "2026-02-28"), true},
		{"29 February, 27 February of a common year", submission(action.KindRegister, doroshenko, "2026-02-27"), false},
		{"born after the effective date", submission(action.KindRegister, fedoruk, "2008-10-14"), false},
		{"effective date not a date", submission(action.KindRegister, fedoruk, "15.10.2026"), false},
		{"birth date not a date", submission(action.KindRegister, action.Person{Surname: "Федорук", GivenNames: "Максим", BirthDate: "15.10.2008", Sex: "M", Citizenship: "UKR"}, "2026-10-15"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := BuildVoterSet(october2026, completedOne(actionID1, tc.s), nil, builtAt(t))
			got := len(set.Registered) + len(set.Deregistered)
			if tc.listed && got != 1 {
				t.Errorf("listed %d times, want once: %+v", got, set)
			}
			if !tc.listed && got != 0 {
				t.Errorf("listed %d times, want left out: %+v", got, set)
			}
			if got == 1 {
				v := append(set.Registered, set.Deregistered...)[0]
				if v.Date != tc.s.EffectiveDate || v.BirthDate != tc.s.Person.BirthDate {
					t.Errorf("voter date %q birth %q, want %q %q", v.Date, v.BirthDate, tc.s.EffectiveDate, tc.s.Person.BirthDate)
				}
			}
		})
	}
}

func TestBuildVoterSetKeepsCompletionOrder(t *testing.T) {
	completed := []Completed{
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c21", CompletedAt: time.Date(2026, 10, 3, 8, 0, 0, 0, time.UTC),
			Submission: submission(action.KindRegister, prykhodko(), "2026-10-02")},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c22", CompletedAt: time.Date(2026, 10, 4, 8, 0, 0, 0, time.UTC),
			Submission: submission(action.KindDeclare, levchenko(), "2026-09-30", withPrevious(prevLviv))},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c23", CompletedAt: time.Date(2026, 10, 28, 8, 0, 0, 0, time.UTC),
			Submission: submission(action.KindDeregister, prykhodko(), "2026-10-27", withDeregistration(action.DeregistrationMoved))},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c24", CompletedAt: time.Date(2026, 10, 30, 8, 0, 0, 0, time.UTC),
			Submission: submission(action.KindChange, prykhodko(), "2026-10-29", withPrevious(flatKR), func(s *action.Submission) { s.Address = flatMt })},
	}
	set := BuildVoterSet(october2026, completed, nil, builtAt(t))
	wantReg := []Voter{
		voterPrykhodko(flatKR, "2026-10-02", "", "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c21"),
		{UNZR: "19720709-05440", RNOKPP: "2648823226", Surname: "Левченко", GivenNames: "Галина", Patronymic: "Петрівна",
			BirthDate: "1972-07-09", Sex: "F", Address: flatKR, Date: "2026-09-30", ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c22"},
		voterPrykhodko(flatMt, "2026-10-29", "", "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c24"),
	}
	wantDereg := []Voter{voterPrykhodko(flatKR, "2026-10-27", "moved", "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c23")}
	if !reflect.DeepEqual(set.Registered, wantReg) {
		t.Errorf("registered = %#v\nwant %#v", set.Registered, wantReg)
	}
	if !reflect.DeepEqual(set.Deregistered, wantDereg) {
		t.Errorf("deregistered = %#v\nwant %#v", set.Deregistered, wantDereg)
	}
	if set.Period != "2026-10" || set.TurningAdultMonth != "2026-12" {
		t.Errorf("period %q turning_adult_month %q, want 2026-10 and 2026-12", set.Period, set.TurningAdultMonth)
	}
	if want := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC); !set.BuiltAt.Equal(want) || set.BuiltAt.Location() != time.UTC {
		t.Errorf("built_at = %v, want %v in UTC", set.BuiltAt, want)
	}
}

func registration(p action.Person, addr *action.Address, registered bool) action.Registration {
	r := action.Registration{
		PersonKey: "unzr:" + p.UNZR, Person: p, Address: addr, Kind: action.KindRegister,
		RegistrationDate: "2015-06-01", Registered: registered,
	}
	if p.UNZR == "" {
		r.PersonKey = "rnokpp:" + p.RNOKPP
	}
	if !registered {
		r.DeregistrationDate = "2026-09-01"
	}
	return r
}

func TestBuildVoterSetTurningAdult(t *testing.T) {
	// Built in November 2026 for October: those turning 18 in December 2026,
	// born in December 2008.
	bondar := action.Person{UNZR: "20081203-01746", RNOKPP: "3978412229", Surname: "Бондар", GivenNames: "Дарина", Patronymic: "Олегівна",
		BirthDate: "2008-12-03", Sex: action.SexFemale, Citizenship: "UKR"}
	andriiets := action.Person{UNZR: "20081203-02341", RNOKPP: "3978445672", Surname: "Андрієць", GivenNames: "Олесь",
		BirthDate: "2008-12-03", Sex: action.SexMale, Citizenship: "UKR"}
	melnychuk := action.Person{UNZR: "20081220-02117", Surname: "Мельничук", GivenNames: "Тарас", Patronymic: "Іванович",
		BirthDate: "2008-12-20", Sex: action.SexMale, Citizenship: "UKR"}
	hnatiuk := action.Person{UNZR: "20081210-02486", RNOKPP: "3979114446", Surname: "Гнатюк", GivenNames: "Соломія",
		BirthDate: "2008-12-10", Sex: action.SexFemale, Citizenship: "UKR"}
	vyshnevskyi := action.Person{RNOKPP: "3979615554", Surname: "Вишневський", GivenNames: "Адам",
		BirthDate: "2008-12-15", Sex: action.SexMale, Citizenship: "POL"}
	lishchuk := action.Person{UNZR: "20081225-03223", Surname: "Ліщук", GivenNames: "Марта",
		BirthDate: "2008-12-25", Sex: action.SexFemale}
	ostapchuk := action.Person{UNZR: "20081130-03590", Surname: "Остапчук", GivenNames: "Назар",
		BirthDate: "2008-11-30", Sex: action.SexMale, Citizenship: "UKR"}
	savchuk := action.Person{UNZR: "20091201-03969", Surname: "Савчук", GivenNames: "Ірина",
		BirthDate: "2009-12-01", Sex: action.SexFemale, Citizenship: "UKR"}
	broken := action.Person{RNOKPP: "3978826558", Surname: "Тимошенко", GivenNames: "Юрій",
		BirthDate: "07.12.2008", Sex: action.SexMale, Citizenship: "UKR"}
	turning := []action.Registration{
		registration(melnychuk, flatMt, true),
		registration(hnatiuk, flatKR, false),    // not registered
		registration(vyshnevskyi, flatKR, true), // not a citizen
		registration(lishchuk, flatKR, true),    // citizenship unknown
		registration(bondar, flatKR, true),
		registration(ostapchuk, flatKR, true), // born in November
		registration(savchuk, flatKR, true),   // 18 a year later
		registration(broken, flatKR, true),    // birth date not a date
		registration(andriiets, flatMt, true),
	}
	// Completed actions of persons turning 18 do not count as turning adult.
	set := BuildVoterSet(october2026, nil, turning, builtAt(t))
	want := []Voter{
		{UNZR: "20081203-02341", RNOKPP: "3978445672", Surname: "Андрієць", GivenNames: "Олесь", BirthDate: "2008-12-03",
			Sex: "M", Address: flatMt, Date: "2026-12-03"},
		{UNZR: "20081203-01746", RNOKPP: "3978412229", Surname: "Бондар", GivenNames: "Дарина", Patronymic: "Олегівна",
			BirthDate: "2008-12-03", Sex: "F", Address: flatKR, Date: "2026-12-03"},
		{UNZR: "20081220-02117", Surname: "Мельничук", GivenNames: "Тарас", Patronymic: "Іванович", BirthDate: "2008-12-20",
			Sex: "M", Address: flatMt, Date: "2026-12-20"},
	}
	if !reflect.DeepEqual(set.TurningAdult, want) {
		t.Errorf("turning_adult = %#v\nwant %#v", set.TurningAdult, want)
	}
	if set.TurningAdultMonth != "2026-12" {
		t.Errorf("turning_adult_month = %q, want 2026-12", set.TurningAdultMonth)
	}
	if set.Registered == nil || set.Deregistered == nil || len(set.Registered)+len(set.Deregistered) != 0 {
		t.Errorf("registered %#v deregistered %#v, want empty", set.Registered, set.Deregistered)
	}
}

func TestBuildVoterSetTurningAdultBornOn29February(t *testing.T) {
	// Built in January 2026 for December 2025: those turning 18 in
	// February 2026, a common year.
	doroshenko := action.Person{UNZR: "20080229-04333", RNOKPP: "3950619998", Surname: "Дорошенко", GivenNames: "Богдан",
		BirthDate: "2008-02-29", Sex: action.SexMale, Citizenship: "UKR"}
	kravets := action.Person{UNZR: "20080228-04709", RNOKPP: "3950521009", Surname: "Кравець", GivenNames: "Уляна",
		BirthDate: "2008-02-28", Sex: action.SexFemale, Citizenship: "UKR"}
	later := action.Person{UNZR: "20090228-09882", Surname: "Ярема", GivenNames: "Остап",
		BirthDate: "2009-02-28", Sex: action.SexMale, Citizenship: "UKR"}
	turning := []action.Registration{registration(kravets, flatKR, true), registration(later, flatKR, true), registration(doroshenko, flatMt, true)}
	set := BuildVoterSet(Period{2025, time.December}, nil, turning, time.Date(2026, 1, 2, 0, 10, 0, 0, mustKyiv(t)))
	want := []Voter{
		{UNZR: "20080229-04333", RNOKPP: "3950619998", Surname: "Дорошенко", GivenNames: "Богдан", BirthDate: "2008-02-29",
			Sex: "M", Address: flatMt, Date: "2026-02-28"},
		{UNZR: "20080228-04709", RNOKPP: "3950521009", Surname: "Кравець", GivenNames: "Уляна", BirthDate: "2008-02-28",
			Sex: "F", Address: flatKR, Date: "2026-02-28"},
	}
	if !reflect.DeepEqual(set.TurningAdult, want) {
		t.Errorf("turning_adult = %#v\nwant %#v", set.TurningAdult, want)
	}
	if set.Period != "2025-12" || set.TurningAdultMonth != "2026-02" {
		t.Errorf("period %q turning_adult_month %q, want 2025-12 and 2026-02", set.Period, set.TurningAdultMonth)
	}
	if want := time.Date(2026, 1, 1, 22, 10, 0, 0, time.UTC); !set.BuiltAt.Equal(want) {
		t.Errorf("built_at = %v, want %v", set.BuiltAt, want)
	}
}

func TestBuildVoterSetEmptyListsEncodeAsArrays(t *testing.T) {
	set := BuildVoterSet(october2026, nil, nil, builtAt(t))
	assertEmptyLists(t, set)
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"period":"2026-10","turning_adult_month":"2026-12","built_at":"2026-11-03T08:00:00Z","turning_adult":[],"registered":[],"deregistered":[]}`
	if string(b) != want {
		t.Errorf("json = %s\nwant %s", b, want)
	}
	// Everything left out still gives empty lists.
	foreign := prykhodko()
	foreign.Citizenship = "MDA"
	set = BuildVoterSet(october2026, completedOne(actionID1, submission(action.KindRegister, foreign, "2026-10-01")),
		[]action.Registration{registration(action.Person{UNZR: "20081210-02486", Surname: "Гнатюк", GivenNames: "Соломія",
			BirthDate: "2008-12-10", Sex: "F", Citizenship: "UKR"}, flatKR, false)}, builtAt(t))
	assertEmptyLists(t, set)
}

func TestVoterSetJSON(t *testing.T) {
	set := VoterSet{
		Period: "2026-10", TurningAdultMonth: "2026-12", BuiltAt: time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC),
		TurningAdult: []Voter{{UNZR: "20081203-01746", RNOKPP: "3978412229", Surname: "Бондар", GivenNames: "Дарина",
			Patronymic: "Олегівна", BirthDate: "2008-12-03", Sex: "F", Address: flatKR, Date: "2026-12-03"}},
		Registered: []Voter{{RNOKPP: "3112722110", Surname: "Приходько", GivenNames: "Степан", BirthDate: "1985-03-22",
			Date: "2026-10-02", ActionID: actionID1}},
		Deregistered: []Voter{{UNZR: "19720709-05440", Surname: "Левченко", GivenNames: "Галина", BirthDate: "1972-07-09",
			Sex: "F", Address: &action.Address{KATOTTG: "UA46060250010015970"}, Date: "2026-10-27", Reason: "cancellation:erroneous_entry",
			ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c23"}},
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"period":"2026-10","turning_adult_month":"2026-12","built_at":"2026-11-03T08:00:00Z",` +
		`"turning_adult":[{"unzr":"20081203-01746","rnokpp":"3978412229","surname":"Бондар","given_names":"Дарина",` +
		`"patronymic":"Олегівна","birth_date":"2008-12-03","sex":"F","address":{"katottg":"UA12060170010076413",` +
		`"street":"вул. Соборності","building":"12","apartment":"5"},"date":"2026-12-03"}],` +
		`"registered":[{"rnokpp":"3112722110","surname":"Приходько","given_names":"Степан","birth_date":"1985-03-22",` +
		`"date":"2026-10-02","action_id":"0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c01"}],` +
		`"deregistered":[{"unzr":"19720709-05440","surname":"Левченко","given_names":"Галина","birth_date":"1972-07-09",` +
		`"sex":"F","address":{"katottg":"UA46060250010015970"},"date":"2026-10-27","reason":"cancellation:erroneous_entry",` +
		`"action_id":"0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c23"}]}`
	if string(b) != want {
		t.Errorf("json = %s\nwant %s", b, want)
	}
	var back VoterSet
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, set) {
		t.Errorf("round trip = %#v\nwant %#v", back, set)
	}
}

// --- statistics ---

// mover is a completed action of an unnamed synthetic person for the
// statistics, which read only the kind, sex, birth date, effective date and
// previous address.
func mover(kind action.Kind, sex, birth, eff string, mods ...func(*action.Submission)) Completed {
	p := action.Person{Surname: "Мирошниченко", GivenNames: "Лука", BirthDate: birth, Sex: sex, Citizenship: "UKR"}
	return Completed{ActionID: actionID1, CompletedAt: time.Date(2026, 10, 20, 9, 30, 0, 0, time.UTC), Submission: submission(kind, p, eff, mods...)}
}

func repeat(n int, c Completed) []Completed {
	out := make([]Completed, n)
	for i := range out {
		out[i] = c
	}
	return out
}

func TestBuildStatisticsClassification(t *testing.T) {
	const (
		born = "1985-03-22" // 41 on the effective date
		eff  = "2026-10-12"
	)
	foreigner := func(s *action.Submission) { s.Person.Citizenship = "MDA" }
	arrival := func(area string) []Cell {
		return []Cell{{Flow: "arrival", Sex: "M", AgeGroup: "35-59", Area: area, Count: 1}}
	}
	departure := []Cell{{Flow: "departure", Sex: "M", AgeGroup: "35-59", Area: "not_stated", Count: 1}}
	for _, tc := range []struct {
		name string
		c    Completed
		want []Cell
	}{
		{"declaration from another district", mover(action.KindDeclare, "M", born, eff, withPrevious(prevLviv)), arrival("UA4606")},
		{"registration from the same district", mover(action.KindRegister, "M", born, eff, withPrevious(flatMt)), arrival("UA1206")},
		{"change of residence", mover(action.KindChange, "M", born, eff, withPrevious(prevLviv)), arrival("UA4606")},
		{"declaration without previous address", mover(action.KindDeclare, "M", born, eff), arrival("not_stated")},
		{"previous address without code", mover(action.KindRegister, "M", born, eff, withPrevious(&action.Address{Street: "вул. Липова"})), arrival("not_stated")},
		{"previous address code too short", mover(action.KindRegister, "M", born, eff, withPrevious(&action.Address{KATOTTG: "UA12"})), arrival("not_stated")},
		{"previous address code not UA", mover(action.KindRegister, "M", born, eff, withPrevious(&action.Address{KATOTTG: "PL1206017001007"})), arrival("not_stated")},
		{"foreigner's arrival counted", mover(action.KindDeclare, "M", born, eff, withPrevious(prevLviv), foreigner), arrival("UA4606")},
		{"deregistration", mover(action.KindDeregister, "M", born, eff, withDeregistration(action.DeregistrationMoved)), departure},
		{"deregistration with a previous address", mover(action.KindDeregister, "M", born, eff, withDeregistration(action.DeregistrationOwnerRequest), withPrevious(prevLviv)), departure},
		{"exclusion", mover(action.KindExclude, "M", born, eff), departure},
		{"deregistration on death", mover(action.KindDeregisterDeath, "M", born, eff), nil},
		{"correction", mover(action.KindCorrect, "M", born, eff), nil},
		{"cancellation of a declaration", mover(action.KindCancel, "M", born, eff, withCancellation(action.KindDeclare, action.CancelErroneousEntry)), nil},
		{"cancellation of a deregistration", mover(action.KindCancel, "M", born, eff, withCancellation(action.KindDeregister, action.CancelErroneousEntry)), nil},
		{"registration of a place of stay", mover(action.KindStayRegister, "M", born, eff, withPrevious(prevLviv)), nil},
		{"address-directory change", mover(action.KindAddressChange, "", "", eff), nil},
		{"sex missing", mover(action.KindDeclare, "", born, eff), nil},
		{"sex unknown", mover(action.KindDeclare, "X", born, eff), nil},
		{"born after the effective date", mover(action.KindDeclare, "M", "2026-10-13", eff), nil},
		{"effective date not a date", mover(action.KindDeclare, "M", born, "12.10.2026"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := BuildStatistics(october2026, []Completed{tc.c}, 1, builtAt(t))
			want := tc.want
			if want == nil {
				want = []Cell{}
			}
			if !reflect.DeepEqual(set.Cells, want) {
				t.Errorf("cells = %+v\nwant %+v", set.Cells, want)
			}
		})
	}
}

// A deregistration whose reason is death (deregistration.reason "death" is
// one the validation accepts for residence.deregister) is a death, not a
// departure: BuildStatistics documents "a departure is a deregistration (not
// on death: a death is no migration)".
func TestBuildStatisticsDeregistrationForDeathIsNoDeparture(t *testing.T) {
	c := mover(action.KindDeregister, "M", "1954-01-30", "2026-10-12", withDeregistration(action.DeregistrationDeath))
	set := BuildStatistics(october2026, []Completed{c}, 1, builtAt(t))
	if len(set.Cells) != 0 {
		t.Errorf("cells = %+v, want none: a death is no departure", set.Cells)
	}
}

func TestBuildStatisticsAgeGroups(t *testing.T) {
	const eff = "2026-10-15"
	for _, tc := range []struct {
		birth, eff, want string
	}{
		{"2026-10-15", eff, "0-14"}, // born on the effective date: 0
		{"2011-10-16", eff, "0-14"}, // 14, 15 tomorrow
		{"2011-10-15", eff, "15-17"},
		{"2008-10-16", eff, "15-17"}, // 17, 18 tomorrow
		{"2008-10-15", eff, "18-34"},
		{"1991-10-16", eff, "18-34"}, // 34
		{"1991-10-15", eff, "35-59"},
		{"1966-10-16", eff, "35-59"}, // 59
		{"1966-10-15", eff, "60+"},
		{"1930-01-01", eff, "60+"},
		{"2008-02-29", "2026-02-27", "15-17"},
		{"2008-02-29", "2026-02-28", "18-34"}, // 29 February: a year older on 28 February of a common year
		{"2008-02-29", "2026-03-01", "18-34"},
		{"2011-12-31", "2026-12-30", "0-14"},
		{"2011-12-31", "2026-12-31", "15-17"},
	} {
		t.Run(tc.birth+" on "+tc.eff, func(t *testing.T) {
			set := BuildStatistics(october2026, []Completed{mover(action.KindRegister, "F", tc.birth, tc.eff)}, 1, builtAt(t))
			want := []Cell{{Flow: "arrival", Sex: "F", AgeGroup: tc.want, Area: "not_stated", Count: 1}}
			if !reflect.DeepEqual(set.Cells, want) {
				t.Errorf("cells = %+v\nwant %+v", set.Cells, want)
			}
		})
	}
}

func TestBuildStatisticsSuppression(t *testing.T) {
	one := mover(action.KindDeclare, "F", "1972-07-09", "2026-10-12", withPrevious(prevLviv))
	published := func(n int) []Cell {
		return []Cell{{Flow: "arrival", Sex: "F", AgeGroup: "35-59", Area: "UA4606", Count: n}}
	}
	suppressed := []Cell{{Flow: "arrival", Sex: "F", AgeGroup: "35-59", Area: "UA4606", Suppressed: true}}
	for _, tc := range []struct {
		name          string
		threshold, n  int
		wantThreshold int
		want          []Cell
	}{
		{"below the threshold", 3, 2, 3, suppressed},
		{"at the threshold", 3, 3, 3, published(3)},
		{"above the threshold", 3, 4, 3, published(4)},
		{"threshold 1 publishes a single person", 1, 1, 1, published(1)},
		{"threshold 0: default, below", 0, 4, 5, suppressed},
		{"threshold 0: default, at", 0, 5, 5, published(5)},
		{"negative threshold: default, below", -2, 4, 5, suppressed},
		{"negative threshold: default, above", -2, 6, 5, published(6)},
		{"one below a large threshold", 10, 9, 10, suppressed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := BuildStatistics(october2026, repeat(tc.n, one), tc.threshold, builtAt(t))
			if set.Threshold != tc.wantThreshold {
				t.Errorf("threshold = %d, want %d", set.Threshold, tc.wantThreshold)
			}
			if !reflect.DeepEqual(set.Cells, tc.want) {
				t.Errorf("cells = %+v\nwant %+v", set.Cells, tc.want)
			}
		})
	}
	if DefaultThreshold != 5 {
		t.Errorf("DefaultThreshold = %d, want 5", DefaultThreshold)
	}
}

func TestBuildStatisticsCellOrderIsDeterministic(t *testing.T) {
	const eff = "2026-10-15"
	in := []Completed{
		mover(action.KindDeregister, "F", "1991-10-16", eff, withDeregistration(action.DeregistrationMoved)), // departure not_stated F 18-34
		mover(action.KindRegister, "M", "1954-01-30", eff),                                                   // arrival not_stated M 60+
		mover(action.KindDeclare, "F", "2026-10-15", eff, withPrevious(prevLviv)),                            // arrival UA4606 F 0-14
		mover(action.KindDeclare, "M", "1985-03-22", eff, withPrevious(flatKR)),                              // arrival UA1206 M 35-59
		mover(action.KindChange, "F", "1972-07-09", eff, withPrevious(flatMt)),                               // arrival UA1206 F 35-59
		mover(action.KindExclude, "M", "2008-10-16", eff),                                                    // departure not_stated M 15-17
		mover(action.KindRegister, "M", "1985-03-22", eff, withPrevious(flatMt)),                             // arrival UA1206 M 35-59
		mover(action.KindDeclare, "F", "2000-01-01", eff, withPrevious(flatKR)),                              // arrival UA1206 F 18-34
		mover(action.KindDeregister, "M", "1966-10-15", eff, withDeregistration(action.DeregistrationMoved)), // departure not_stated M 60+
	}
	want := []Cell{
		{Flow: "arrival", Sex: "F", AgeGroup: "18-34", Area: "UA1206", Count: 1},
		{Flow: "arrival", Sex: "F", AgeGroup: "35-59", Area: "UA1206", Count: 1},
		{Flow: "arrival", Sex: "M", AgeGroup: "35-59", Area: "UA1206", Count: 2},
		{Flow: "arrival", Sex: "F", AgeGroup: "0-14", Area: "UA4606", Count: 1},
		{Flow: "arrival", Sex: "M", AgeGroup: "60+", Area: "not_stated", Count: 1},
		{Flow: "departure", Sex: "F", AgeGroup: "18-34", Area: "not_stated", Count: 1},
		{Flow: "departure", Sex: "M", AgeGroup: "15-17", Area: "not_stated", Count: 1},
		{Flow: "departure", Sex: "M", AgeGroup: "60+", Area: "not_stated", Count: 1},
	}
	for i := range 2 * len(in) {
		order := slices.Clone(in)
		if i >= len(in) {
			slices.Reverse(order)
		}
		k := i % len(in)
		order = slices.Concat(order[k:], order[:k])
		set := BuildStatistics(october2026, order, 1, builtAt(t))
		if !reflect.DeepEqual(set.Cells, want) {
			t.Fatalf("input order %d: cells = %+v\nwant %+v", i, set.Cells, want)
		}
	}
}

func TestBuildStatisticsNoPersonalData(t *testing.T) {
	in := []Completed{
		{ActionID: actionID1, Submission: submission(action.KindRegister, prykhodko(), "2026-10-02", withPrevious(prevLviv))},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c22", Submission: submission(action.KindDeregister, levchenko(), "2026-10-27", withDeregistration(action.DeregistrationMoved))},
	}
	b, err := json.Marshal(BuildStatistics(october2026, in, 1, builtAt(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{
		"Приходько", "Степан", "Миколайович", "19850322-05072", "3112722110", "1985-03-22", "2026-10-02", "Кривий",
		"Левченко", "Галина", "19720709-05440", "2648823226", "1972-07-09", "2026-10-27",
		"UA46060250010015970", "UA12060170010076413", "Городоцька", "Соборності", "004512378", "KR-0042", actionID1,
	} {
		if strings.Contains(string(b), secret) {
			t.Errorf("statistics JSON %s contains %q", b, secret)
		}
	}
}

func TestStatisticsSetJSON(t *testing.T) {
	set := StatisticsSet{
		Period: "2026-10", BuiltAt: time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC), Threshold: 5,
		Cells: []Cell{
			{Flow: FlowArrival, Sex: action.SexFemale, AgeGroup: "18-34", Area: "UA1206", Count: 7},
			{Flow: FlowDeparture, Sex: action.SexMale, AgeGroup: "60+", Area: AreaNotStated, Suppressed: true},
		},
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"period":"2026-10","built_at":"2026-11-03T08:00:00Z","suppression_threshold":5,"cells":[` +
		`{"flow":"arrival","sex":"F","age_group":"18-34","area":"UA1206","count":7},` +
		`{"flow":"departure","sex":"M","age_group":"60+","area":"not_stated","suppressed":true}]}`
	if string(b) != want {
		t.Errorf("json = %s\nwant %s", b, want)
	}

	empty := BuildStatistics(october2026, nil, 0, builtAt(t))
	if empty.Cells == nil {
		t.Error("cells is nil, want an empty slice")
	}
	b, err = json.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	const wantEmpty = `{"period":"2026-10","built_at":"2026-11-03T08:00:00Z","suppression_threshold":5,"cells":[]}`
	if string(b) != wantEmpty {
		t.Errorf("json = %s\nwant %s", b, wantEmpty)
	}
}

// --- periods ---

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Period
	}{
		{"2026-10", Period{2026, time.October}},
		{"2027-01", Period{2027, time.January}},
		{"1999-12", Period{1999, time.December}},
		{"0987-03", Period{987, time.March}},
	} {
		got, err := ParsePeriod(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePeriod(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "2026", "2026-", "2026-13", "2026-00", "2026-1", "26-10", "2026-10-01", "2026/10", "10-2026",
		" 2026-10", "2026-10 ", "2026-1O", "жовтень", "-2026-10", "+2026-10", "2026-10\n",
	} {
		got, err := ParsePeriod(in)
		if err == nil {
			t.Errorf("ParsePeriod(%q) = %v, want an error", in, got)
			continue
		}
		if got != (Period{}) {
			t.Errorf("ParsePeriod(%q) = %v with error, want the zero period", in, got)
		}
		if !strings.Contains(err.Error(), "is not YYYY-MM") {
			t.Errorf("ParsePeriod(%q) error %q does not say the expected form", in, err)
		}
	}
}

func TestPeriodString(t *testing.T) {
	for _, tc := range []struct {
		p    Period
		want string
	}{
		{Period{2026, time.October}, "2026-10"},
		{Period{2026, time.March}, "2026-03"},
		{Period{2027, time.January}, "2027-01"},
		{Period{987, time.December}, "0987-12"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestPeriodNextPrev(t *testing.T) {
	for _, tc := range []struct {
		p, next, prev Period
	}{
		{Period{2026, time.October}, Period{2026, time.November}, Period{2026, time.September}},
		{Period{2026, time.December}, Period{2027, time.January}, Period{2026, time.November}},
		{Period{2027, time.January}, Period{2027, time.February}, Period{2026, time.December}},
		{Period{2028, time.February}, Period{2028, time.March}, Period{2028, time.January}},
		{Period{2026, time.March}, Period{2026, time.April}, Period{2026, time.February}},
	} {
		if got := tc.p.Next(); got != tc.next {
			t.Errorf("%v.Next() = %v, want %v", tc.p, got, tc.next)
		}
		if got := tc.p.Prev(); got != tc.prev {
			t.Errorf("%v.Prev() = %v, want %v", tc.p, got, tc.prev)
		}
	}
	if got := (Period{2026, time.November}).Next().Next(); got != (Period{2027, time.January}) {
		t.Errorf("2026-11 two months on = %v, want 2027-01", got)
	}
	if got := (Period{2026, time.January}).Prev().Prev(); got != (Period{2025, time.November}) {
		t.Errorf("2026-01 two months back = %v, want 2025-11", got)
	}
}

func TestPeriodStart(t *testing.T) {
	kyiv := mustKyiv(t)
	for _, tc := range []struct {
		p    Period
		loc  *time.Location
		want time.Time
	}{
		{Period{2026, time.October}, kyiv, time.Date(2026, 9, 30, 21, 0, 0, 0, time.UTC)},   // summer time, +03:00
		{Period{2026, time.November}, kyiv, time.Date(2026, 10, 31, 22, 0, 0, 0, time.UTC)}, // winter time, +02:00
		{Period{2027, time.January}, kyiv, time.Date(2026, 12, 31, 22, 0, 0, 0, time.UTC)},
		{Period{2026, time.October}, time.UTC, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
	} {
		got := tc.p.Start(tc.loc)
		if !got.Equal(tc.want) {
			t.Errorf("%v.Start(%v) = %v, want %v", tc.p, tc.loc, got, tc.want)
		}
		if got.Location() != tc.loc {
			t.Errorf("%v.Start(%v) is in %v", tc.p, tc.loc, got.Location())
		}
	}
}

func TestPeriodOfUsesTheTimesLocation(t *testing.T) {
	newYear := time.Date(2027, 1, 1, 0, 5, 0, 0, mustKyiv(t))
	if got := PeriodOf(newYear); got != (Period{2027, time.January}) {
		t.Errorf("PeriodOf(%v) = %v, want 2027-01", newYear, got)
	}
	if got := PeriodOf(newYear.UTC()); got != (Period{2026, time.December}) {
		t.Errorf("PeriodOf(%v) = %v, want 2026-12", newYear.UTC(), got)
	}
}

func TestKey(t *testing.T) {
	if got := Key(DestVoterRegister, october2026); got != "voter_register:2026-10" {
		t.Errorf("Key = %q", got)
	}
	if got := Key(DestStatistics, Period{2027, time.January}); got != "statistics:2027-01" {
		t.Errorf("Key = %q", got)
	}
}

// A cancelled change of residence puts the voter back at the address the
// change left, registered there as before (the read model's view): the
// voter register hears of a registration at that address, not of a
// departure. A cancellation naming no address is still a voter, known by
// number.
func TestBuildVoterSetCancelledChange(t *testing.T) {
	back := &action.Address{KATOTTG: "UA12060170020011248", Street: "вул. Липова", Building: "3"}
	moved := submission(action.KindCancel, prykhodko(), "2026-10-12", withCancellation(action.KindChange, action.CancelErroneousEntry), withPrevious(back))
	bare := submission(action.KindCancel, prykhodko(), "2026-10-13", withCancellation(action.KindDeclare, action.CancelErroneousEntry),
		func(s *action.Submission) { s.Address = nil })
	set := BuildVoterSet(october2026, append(completedOne(actionID1, moved), completedOne(actionID1, bare)...), nil, builtAt(t))
	if len(set.Registered) != 1 || set.Registered[0].Address != back || set.Registered[0].Reason != "cancellation:erroneous_entry" {
		t.Errorf("registered = %+v, want the voter back at %+v", set.Registered, back)
	}
	if len(set.Deregistered) != 1 || set.Deregistered[0].Address != nil || set.Deregistered[0].Date != "2026-10-13" {
		t.Errorf("deregistered = %+v, want the cancelled declaration's voter without an address", set.Deregistered)
	}
}
