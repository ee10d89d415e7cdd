package action

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// Valid examples of the kinds beyond the four core ones, built on the
// synthetic person of exampleBody (today is testNow, 2026-11-20).

func exclude(s *Submission) {
	s.Kind = KindExclude
	s.BasisDocument = &BasisDocument{Type: "заява власника житла", Number: "17/2026", Date: "2026-11-19"}
}

func stay(s *Submission) { s.Kind = KindStayRegister }

func change(s *Submission) {
	s.Kind = KindChange
	s.PreviousAddress = &Address{KATOTTG: "UA12060170020011248", Street: "вул. Липова", Building: "3"}
}

func correct(s *Submission) {
	s.Kind = KindCorrect
	s.Address = nil
	s.Correction = &Correction{
		Fields: []string{"surname", "document"},
		Previous: &PreviousPerson{
			Surname:  "Ковальова",
			Document: &Document{Type: DocumentIDCard, Number: "001234560", IssuedOn: "2018-03-01", Issuer: "1234"},
		},
	}
	s.BasisDocument = &BasisDocument{Type: "свідоцтво про шлюб", Number: "ІКР654321", Date: "2026-11-02"}
}

func death(s *Submission) {
	s.Kind = KindDeregisterDeath
	s.Death = &Death{Date: "2026-11-10", Certificate: &DeathCertificate{
		Type: DeathCertificateDomestic, Number: "ІКР123456", IssuedOn: "2026-11-12", Issuer: "Відділ ДРАЦС (вигаданий)",
	}}
}

func addressChange(s *Submission) {
	s.Kind = KindAddressChange
	s.Person = Person{}
	s.Address = nil
	s.AddressChange = &AddressChange{
		Type: AddressStreetRenamed, KATOTTG: "UA12060170010076413",
		Previous: &AddressNames{Street: "вул. Соборності"}, New: &AddressNames{Street: "вул. Каштанова"},
	}
	s.BasisDocument = &BasisDocument{Type: "рішення міської ради", Number: "1234", Date: "2026-11-01"}
}

func cancelOf(of Kind, reason string) func(*Submission) {
	return func(s *Submission) {
		s.Kind = KindCancel
		s.Cancellation = &Cancellation{Of: of, Reason: reason}
	}
}

// blockAdders put a valid instance of each optional block in a submission.
var blockAdders = map[string]func(*Submission){
	"person": func(s *Submission) {
		s.Person = Person{UNZR: "19900514-01233", Surname: "Коваль", GivenNames: "Олена", BirthDate: "1990-05-14", Sex: SexFemale}
	},
	"address":          func(s *Submission) { s.Address = &Address{KATOTTG: "UA12060170010076413", Building: "1"} },
	"previous_address": func(s *Submission) { s.PreviousAddress = &Address{KATOTTG: "UA12060170030054821"} },
	"cancellation":     func(s *Submission) { s.Cancellation = &Cancellation{Of: KindDeclare, Reason: CancelErroneousEntry} },
	"deregistration":   func(s *Submission) { s.Deregistration = &Deregistration{Reason: DeregistrationMoved} },
	"correction": func(s *Submission) {
		s.Correction = &Correction{Fields: []string{"given_names"}, Previous: &PreviousPerson{GivenNames: "Олеся"}}
	},
	"death": func(s *Submission) {
		s.Death = &Death{Date: "2026-11-10", Certificate: &DeathCertificate{
			Type: DeathCertificateForeign, Number: "A123456", IssuedOn: "2026-11-11", Issuer: "civil registry (synthetic)"}}
	},
	"address_change": func(s *Submission) {
		s.AddressChange = &AddressChange{Type: AddressUnitRenamed, KATOTTG: "UA12060170010076413",
			Previous: &AddressNames{Unit: "Старий район"}, New: &AddressNames{Unit: "Новий район"}}
	},
}

// blockRemovers take each block out.
var blockRemovers = map[string]func(*Submission){
	"address":          func(s *Submission) { s.Address = nil },
	"previous_address": func(s *Submission) { s.PreviousAddress = nil },
	"person.document":  func(s *Submission) { s.Person.Document = nil },
	"basis_document":   func(s *Submission) { s.BasisDocument = nil },
	"cancellation":     func(s *Submission) { s.Cancellation = nil },
	"deregistration":   func(s *Submission) { s.Deregistration = nil },
	"correction":       func(s *Submission) { s.Correction = nil },
	"death":            func(s *Submission) { s.Death = nil },
	"address_change":   func(s *Submission) { s.AddressChange = nil },
}

// kindCases spell out, per kind, a valid example and the blocks the
// regulation requires and does not allow for it.
var kindCases = []struct {
	kind      Kind
	example   func(*Submission)
	required  []string
	forbidden []string
}{
	{KindDeclare, func(s *Submission) { s.Kind = KindDeclare },
		[]string{"address", "person.document"},
		[]string{"cancellation", "deregistration", "correction", "death", "address_change"}},
	{KindRegister, func(s *Submission) {},
		[]string{"address", "person.document"},
		[]string{"cancellation", "deregistration", "correction", "death", "address_change"}},
	{KindDeregister, func(s *Submission) {
		s.Kind, s.Deregistration = KindDeregister, &Deregistration{Reason: DeregistrationMoved}
	},
		[]string{"address", "deregistration"},
		[]string{"cancellation", "correction", "death", "address_change"}},
	{KindCancel, cancelOf(KindRegister, CancelErroneousEntry),
		[]string{"cancellation"},
		[]string{"deregistration", "correction", "death", "address_change"}},
	{KindExclude, exclude,
		[]string{"address", "basis_document"},
		[]string{"previous_address", "cancellation", "deregistration", "correction", "death", "address_change"}},
	{KindStayRegister, stay,
		[]string{"address", "person.document"},
		[]string{"cancellation", "deregistration", "correction", "death", "address_change"}},
	{KindChange, change,
		[]string{"address", "previous_address", "person.document"},
		[]string{"cancellation", "deregistration", "correction", "death", "address_change"}},
	{KindCorrect, correct,
		[]string{"correction", "basis_document"},
		[]string{"address", "previous_address", "cancellation", "deregistration", "death", "address_change"}},
	{KindDeregisterDeath, death,
		[]string{"address", "death"},
		[]string{"previous_address", "cancellation", "deregistration", "correction", "address_change"}},
	{KindAddressChange, addressChange,
		[]string{"address_change", "basis_document"},
		[]string{"person", "address", "previous_address", "cancellation", "deregistration", "correction", "death"}},
}

// parseMutated applies mutations to the example submission and parses it.
func parseMutated(t *testing.T, mutate ...func(*Submission)) (*Submission, error) {
	t.Helper()
	s := baseSubmission(t)
	for _, m := range mutate {
		m(&s)
	}
	body, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(body, testNow)
}

func checkCodes(t *testing.T, err error, want []fc) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want %v, got valid", want)
	}
	if g, w := fieldCodes(err), sorted(want); !slices.Equal(g, w) {
		t.Fatalf("errors\n got %v\nwant %v\n(%v)", g, w, err)
	}
}

// TestKindBlocks: for every kind, its example is valid; taking out each
// required block is reported as required, and adding each block the kind
// does not take as not allowed, each on its own path and nothing else.
func TestKindBlocks(t *testing.T) {
	seen := map[Kind]bool{}
	for _, kc := range kindCases {
		seen[kc.kind] = true
		t.Run(string(kc.kind), func(t *testing.T) {
			s, err := parseMutated(t, kc.example)
			checkCodes(t, err, nil)
			if s.Kind != kc.kind {
				t.Fatalf("example is a %s", s.Kind)
			}
			for _, b := range kc.required {
				t.Run("without "+b, func(t *testing.T) {
					_, err := parseMutated(t, kc.example, blockRemovers[b])
					checkCodes(t, err, []fc{{b, CodeRequired}})
				})
			}
			for _, b := range kc.forbidden {
				t.Run("with "+b, func(t *testing.T) {
					_, err := parseMutated(t, kc.example, blockAdders[b])
					checkCodes(t, err, []fc{{b, CodeNotAllowed}})
				})
			}
		})
	}
	for _, k := range Kinds() {
		if !seen[k] {
			t.Errorf("kind %s has no case in kindCases", k)
		}
	}
}

func TestCancellationReasons(t *testing.T) {
	for _, tt := range []struct {
		of      Kind
		allowed []string
	}{
		{KindDeclare, residenceCancelReasons},
		{KindRegister, residenceCancelReasons},
		{KindDeregister, residenceCancelReasons},
		{KindStayRegister, residenceCancelReasons},
		{KindChange, residenceCancelReasons},
		{KindDeregisterDeath, []string{CancelErroneousEntry, CancelViolationOfLaw, CancelDMSNoticeConfirmed, CancelCivilRecordAnnulled}},
	} {
		t.Run(string(tt.of), func(t *testing.T) {
			for _, r := range []string{CancelErroneousEntry, CancelViolationOfLaw, CancelDMSNoticeConfirmed, CancelDocumentInvalid, CancelCivilRecordAnnulled} {
				_, err := parseMutated(t, cancelOf(tt.of, r))
				if slices.Contains(tt.allowed, r) {
					checkCodes(t, err, nil)
				} else {
					checkCodes(t, err, []fc{{"cancellation.reason", CodeUnknownValue}})
				}
			}
			for _, bad := range []string{"помилково внесені відомості", "ERRONEOUS_ENTRY", "other"} {
				_, err := parseMutated(t, cancelOf(tt.of, bad))
				checkCodes(t, err, []fc{{"cancellation.reason", CodeUnknownValue}})
			}
		})
	}
	for _, of := range []Kind{KindExclude, KindCorrect, KindAddressChange, KindCancel} {
		_, err := parseMutated(t, cancelOf(of, CancelErroneousEntry))
		checkCodes(t, err, []fc{{"cancellation.of", CodeUnknownValue}})
	}
	// The reason is checked only against a known kind; a blank one is required.
	_, err := parseMutated(t, cancelOf("residence.move", "whatever"))
	checkCodes(t, err, []fc{{"cancellation.of", CodeUnknownValue}})
	_, err = parseMutated(t, cancelOf(KindDeclare, " "))
	checkCodes(t, err, []fc{{"cancellation.reason", CodeRequired}})
	if got := CancellableKinds(); !slices.Equal(got, []Kind{KindChange, KindDeclare, KindDeregister, KindDeregisterDeath, KindRegister, KindStayRegister}) {
		t.Errorf("cancellable kinds %v", got)
	}
}

func TestChangeRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Submission)
		want   []fc
	}{
		{"same address", func(s *Submission) { a := *s.Address; s.PreviousAddress = &a }, []fc{{"address", CodeUnchanged}}},
		{"other apartment is a change", func(s *Submission) { a := *s.Address; a.Apartment = "6"; s.PreviousAddress = &a }, nil},
		{"previous katottg bad", func(s *Submission) { s.PreviousAddress.KATOTTG = "UA1" }, []fc{{"previous_address.katottg", CodeInvalidFormat}}},
		{"previous katottg missing", func(s *Submission) { s.PreviousAddress.KATOTTG = "" }, []fc{{"previous_address.katottg", CodeRequired}}},
		{"basis document allowed", func(s *Submission) { s.BasisDocument = &BasisDocument{Type: "заява"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMutated(t, change, tt.mutate)
			checkCodes(t, err, tt.want)
		})
	}
}

func TestExcludeRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Submission)
		want   []fc
	}{
		{"without document", func(s *Submission) { s.Person.Document = nil }, nil},
		{"basis without type", func(s *Submission) { s.BasisDocument.Type = "" }, []fc{{"basis_document.type", CodeRequired}}},
		{"basis in future", func(s *Submission) { s.BasisDocument.Date = "2026-11-21" }, []fc{{"basis_document.date", CodeFutureDate}}},
		{"address katottg bad", func(s *Submission) { s.Address.KATOTTG = "UA" }, []fc{{"address.katottg", CodeInvalidFormat}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMutated(t, exclude, tt.mutate)
			checkCodes(t, err, tt.want)
		})
	}
}

func TestStayRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Submission)
		want   []fc
	}{
		{"with previous address", func(s *Submission) { s.PreviousAddress = &Address{KATOTTG: "UA12060170030054821"} }, nil},
		{"document type unknown", func(s *Submission) { s.Person.Document.Type = "student_card" }, []fc{{"person.document.type", CodeUnknownValue}}},
		{"effective date in future", func(s *Submission) { s.EffectiveDate = "2026-11-21" }, []fc{{"effective_date", CodeFutureDate}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMutated(t, stay, tt.mutate)
			checkCodes(t, err, tt.want)
		})
	}
}

func TestCorrectionRules(t *testing.T) {
	prev := func(s *Submission) *PreviousPerson { return s.Correction.Previous }
	tests := []struct {
		name   string
		mutate func(*Submission)
		want   []fc
	}{
		{"every correctable field", func(s *Submission) {
			s.Correction.Fields = slices.Clone(CorrectableFields)
			*prev(s) = PreviousPerson{Surname: "Ковальова", GivenNames: "Олеся", Patronymic: "Павлівна", BirthDate: "1990-05-15",
				BirthPlace: "м. Дніпро", Sex: SexMale, Citizenship: "POL", Document: prev(s).Document}
		}, nil},
		{"patronymic corrected to none", func(s *Submission) {
			s.Person.Patronymic = ""
			s.Correction.Fields = []string{"patronymic"}
			*prev(s) = PreviousPerson{Patronymic: "Петрівна"}
		}, nil},
		{"birth place added", func(s *Submission) {
			s.Correction.Fields = []string{"birth_place"}
			*prev(s) = PreviousPerson{}
		}, nil},
		{"without document when not corrected", func(s *Submission) {
			s.Person.Document = nil
			s.Correction.Fields = []string{"surname"}
			prev(s).Document = nil
		}, nil},

		{"no fields", func(s *Submission) { s.Correction.Fields = nil; *prev(s) = PreviousPerson{} }, []fc{{"correction.fields", CodeRequired}}},
		{"unknown field", func(s *Submission) { s.Correction.Fields = append(s.Correction.Fields, "rnokpp") },
			[]fc{{"correction.fields[2]", CodeUnknownValue}}},
		{"blank field", func(s *Submission) { s.Correction.Fields[0] = " " },
			[]fc{{"correction.fields[0]", CodeRequired}, {"correction.previous.surname", CodeNotAllowed}}},
		{"field twice", func(s *Submission) { s.Correction.Fields = append(s.Correction.Fields, "surname") },
			[]fc{{"correction.fields[2]", CodeDuplicate}}},
		{"previous missing", func(s *Submission) { s.Correction.Previous = nil }, []fc{{"correction.previous", CodeRequired}}},
		{"previous value missing", func(s *Submission) { prev(s).Surname = "" }, []fc{{"correction.previous.surname", CodeRequired}}},
		{"previous document missing", func(s *Submission) { prev(s).Document = nil }, []fc{{"correction.previous.document", CodeRequired}}},
		{"previous value not corrected", func(s *Submission) { prev(s).GivenNames = "Олеся" }, []fc{{"correction.previous.given_names", CodeNotAllowed}}},
		{"unchanged surname", func(s *Submission) { prev(s).Surname = s.Person.Surname }, []fc{{"correction.previous.surname", CodeUnchanged}}},
		{"unchanged document", func(s *Submission) { d := *s.Person.Document; prev(s).Document = &d }, []fc{{"correction.previous.document", CodeUnchanged}}},
		{"corrected document absent", func(s *Submission) { s.Person.Document = nil }, []fc{{"person.document", CodeRequired}}},
		{"empty before and after", func(s *Submission) {
			s.Person.Patronymic = ""
			s.Correction.Fields = []string{"patronymic"}
			*prev(s) = PreviousPerson{}
		}, []fc{{"correction.previous.patronymic", CodeRequired}}},
		{"previous name with digits", func(s *Submission) { prev(s).Surname = "Коваль2" }, []fc{{"correction.previous.surname", CodeInvalidFormat}}},
		{"previous sex unknown", func(s *Submission) {
			s.Correction.Fields = []string{"sex"}
			*prev(s) = PreviousPerson{Sex: "X"}
		}, []fc{{"correction.previous.sex", CodeUnknownValue}}},
		{"previous birth date impossible", func(s *Submission) {
			s.Correction.Fields = []string{"birth_date"}
			*prev(s) = PreviousPerson{BirthDate: "1990-02-30"}
		}, []fc{{"correction.previous.birth_date", CodeInvalidDate}}},
		{"previous citizenship bad", func(s *Submission) {
			s.Correction.Fields = []string{"citizenship"}
			*prev(s) = PreviousPerson{Citizenship: "ua"}
		}, []fc{{"correction.previous.citizenship", CodeInvalidFormat}}},
		{"previous document type unknown", func(s *Submission) { prev(s).Document.Type = "licence" }, []fc{{"correction.previous.document.type", CodeUnknownValue}}},
		{"previous document expires before its issue", func(s *Submission) { prev(s).Document.Expires = "2018-02-01" },
			[]fc{{"correction.previous.document.expires_on", CodeOutOfRange}}},
		{"basis without type", func(s *Submission) { s.BasisDocument.Type = "" }, []fc{{"basis_document.type", CodeRequired}}},
		{"new person data still checked", func(s *Submission) { s.Person.Surname = "Коваль2" }, []fc{{"person.surname", CodeInvalidFormat}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMutated(t, correct, tt.mutate)
			checkCodes(t, err, tt.want)
		})
	}
}

func TestDeathRules(t *testing.T) {
	cert := func(s *Submission) *DeathCertificate { return s.Death.Certificate }
	tests := []struct {
		name   string
		mutate func(*Submission)
		want   []fc
	}{
		{"foreign record", func(s *Submission) { cert(s).Type = DeathCertificateForeign }, nil},
		{"without person document", func(s *Submission) { s.Person.Document = nil }, nil},
		{"died on the effective date", func(s *Submission) { s.Death.Date, cert(s).IssuedOn = "2026-11-20", "2026-11-20" }, nil},

		{"date missing", func(s *Submission) { s.Death.Date = "" }, []fc{{"death.date", CodeRequired}}},
		{"date malformed", func(s *Submission) { s.Death.Date = "10.11.2026" }, []fc{{"death.date", CodeInvalidFormat}}},
		{"date in future", func(s *Submission) { s.Death.Date = "2026-11-21" }, []fc{{"death.date", CodeFutureDate}}},
		{"date before birth", func(s *Submission) { s.Death.Date = "1990-05-13" }, []fc{{"death.date", CodeOutOfRange}}},
		{"date after deregistration", func(s *Submission) { s.EffectiveDate = "2026-11-09" }, []fc{{"death.date", CodeOutOfRange}}},
		{"certificate missing", func(s *Submission) { s.Death.Certificate = nil }, []fc{{"death.certificate", CodeRequired}}},
		{"certificate empty", func(s *Submission) { *cert(s) = DeathCertificate{} }, []fc{
			{"death.certificate.type", CodeRequired}, {"death.certificate.number", CodeRequired},
			{"death.certificate.issued_on", CodeRequired}, {"death.certificate.issuer", CodeRequired},
		}},
		{"certificate type unknown", func(s *Submission) { cert(s).Type = "medical_report" }, []fc{{"death.certificate.type", CodeUnknownValue}}},
		{"certificate number with space", func(s *Submission) { cert(s).Number = "ІКР 123456" }, []fc{{"death.certificate.number", CodeInvalidFormat}}},
		{"certificate number too long", func(s *Submission) { cert(s).Number = strings.Repeat("1", 21) }, []fc{{"death.certificate.number", CodeTooLong}}},
		{"certificate issued before death", func(s *Submission) { cert(s).IssuedOn = "2026-11-09" }, []fc{{"death.certificate.issued_on", CodeOutOfRange}}},
		{"certificate issued in future", func(s *Submission) { cert(s).IssuedOn = "2026-11-21" }, []fc{{"death.certificate.issued_on", CodeFutureDate}}},
		{"issuer blank", func(s *Submission) { cert(s).Issuer = "  " }, []fc{{"death.certificate.issuer", CodeRequired}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMutated(t, death, tt.mutate)
			checkCodes(t, err, tt.want)
		})
	}
}

func TestAddressChangeRules(t *testing.T) {
	ac := func(s *Submission) *AddressChange { return s.AddressChange }
	renumber := func(s *Submission) {
		*ac(s) = AddressChange{Type: AddressRenumbering, KATOTTG: "UA12060170010076413",
			Previous: &AddressNames{Street: "вул. Соборності", Building: "12"}, New: &AddressNames{Building: "14"}}
	}
	tests := []struct {
		name   string
		mutate func(*Submission)
		want   []fc
	}{
		{"renumbering", renumber, nil},
		{"renumbering with blocks", func(s *Submission) { renumber(s); ac(s).Previous.Block = "1"; ac(s).New.Block = "2" }, nil},
		{"block only renumbered", func(s *Submission) {
			renumber(s)
			ac(s).New.Building, ac(s).Previous.Block, ac(s).New.Block = "12", "1", "2"
		}, nil},
		{"settlement renamed", func(s *Submission) {
			*ac(s) = AddressChange{Type: AddressSettlementRenamed, KATOTTG: "UA12060170010076413",
				Previous: &AddressNames{Settlement: "смт Старе"}, New: &AddressNames{Settlement: "смт Нове"}}
		}, nil},
		{"unit renamed", func(s *Submission) { blockAdders["address_change"](s) }, nil},
		{"empty person object is no person", func(s *Submission) { s.Person = Person{} }, nil},

		{"type missing", func(s *Submission) { ac(s).Type = "" }, []fc{{"address_change.type", CodeRequired}}},
		{"type unknown", func(s *Submission) { ac(s).Type = "merger" }, []fc{{"address_change.type", CodeUnknownValue}}},
		{"katottg missing", func(s *Submission) { ac(s).KATOTTG = "" }, []fc{{"address_change.katottg", CodeRequired}}},
		{"katottg bad", func(s *Submission) { ac(s).KATOTTG = "UA12" }, []fc{{"address_change.katottg", CodeInvalidFormat}}},
		{"previous missing", func(s *Submission) { ac(s).Previous = nil }, []fc{{"address_change.previous", CodeRequired}}},
		{"new missing", func(s *Submission) { ac(s).New = nil }, []fc{{"address_change.new", CodeRequired}}},
		{"street rename without new street", func(s *Submission) { ac(s).New.Street = "" }, []fc{{"address_change.new.street", CodeRequired}}},
		{"street rename with building", func(s *Submission) { ac(s).Previous.Building = "12" }, []fc{{"address_change.previous.building", CodeNotAllowed}}},
		{"street rename with settlement", func(s *Submission) { ac(s).New.Settlement = "м. Вигаданськ" }, []fc{{"address_change.new.settlement", CodeNotAllowed}}},
		{"street rename unchanged", func(s *Submission) { ac(s).New.Street = ac(s).Previous.Street }, []fc{{"address_change.new.street", CodeUnchanged}}},
		{"renumbering without street", func(s *Submission) { renumber(s); ac(s).Previous.Street = "" }, []fc{{"address_change.previous.street", CodeRequired}}},
		{"renumbering without new building", func(s *Submission) { renumber(s); ac(s).New.Building = "" }, []fc{{"address_change.new.building", CodeRequired}}},
		{"renumbering with new street", func(s *Submission) { renumber(s); ac(s).New.Street = "вул. Нова" }, []fc{{"address_change.new.street", CodeNotAllowed}}},
		{"renumbering unchanged", func(s *Submission) { renumber(s); ac(s).New.Building = "12" }, []fc{{"address_change.new.building", CodeUnchanged}}},
		{"building too long", func(s *Submission) { renumber(s); ac(s).New.Building = strings.Repeat("1", 21) }, []fc{{"address_change.new.building", CodeTooLong}}},
		{"unit rename without previous unit", func(s *Submission) {
			blockAdders["address_change"](s)
			ac(s).Previous.Unit = ""
		}, []fc{{"address_change.previous.unit", CodeRequired}}},
		{"decision without number", func(s *Submission) { s.BasisDocument.Number = "" }, []fc{{"basis_document.number", CodeRequired}}},
		{"decision without date", func(s *Submission) { s.BasisDocument.Date = "" }, []fc{{"basis_document.date", CodeRequired}}},
		{"decision in future", func(s *Submission) { s.BasisDocument.Date = "2026-12-01" }, []fc{{"basis_document.date", CodeFutureDate}}},
		{"person's document", func(s *Submission) { s.Person.Document = &Document{Type: DocumentIDCard, Number: "1"} }, []fc{{"person", CodeNotAllowed}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseMutated(t, addressChange, tt.mutate)
			checkCodes(t, err, tt.want)
			if err == nil && s.PersonKey() != "address:"+s.AddressChange.KATOTTG {
				t.Errorf("person key %q", s.PersonKey())
			}
		})
	}
}

func TestPersonKeyOfAddressChange(t *testing.T) {
	a, err := parseMutated(t, addressChange)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.PersonKey(); got != "address:UA12060170010076413" {
		t.Fatalf("address.change key %q", got)
	}
	// Every directory change of one community shares a queue, whatever street it names.
	b, err := parseMutated(t, addressChange, func(s *Submission) {
		*s.AddressChange = AddressChange{Type: AddressRenumbering, KATOTTG: "UA12060170010076413",
			Previous: &AddressNames{Street: "вул. Каштанова", Building: "1"}, New: &AddressNames{Building: "3"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.PersonKey() != b.PersonKey() {
		t.Errorf("two changes of one community keyed %q and %q", a.PersonKey(), b.PersonKey())
	}
	// Person kinds keep the person's key.
	for _, m := range []func(*Submission){exclude, stay, change, correct, death} {
		s, err := parseMutated(t, m)
		if err != nil {
			t.Fatal(err)
		}
		if s.PersonKey() != "unzr:19900514-01233" {
			t.Errorf("%s key %q", s.Kind, s.PersonKey())
		}
	}
}

func TestMalformedArray(t *testing.T) {
	body := strings.Replace(exampleBody, `"residence.register"`, `"person.correct", "correction": {"fields": "surname"}`, 1)
	_, err := Parse([]byte(body), testNow)
	var got []FieldError
	if ve, ok := err.(*ValidationError); ok {
		got = ve.Fields
	}
	if len(got) != 1 || got[0].Field != "correction.fields" || got[0].Code != CodeMalformed || !strings.Contains(got[0].Detail, "array") {
		t.Fatalf("got %+v", got)
	}
}
