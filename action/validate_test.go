package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// exampleBody is the example of the issue. Its РНОКПП (33006 days after
// 31.12.1899 = 1990-05-14, 9th digit even = female) and УНЗР (7-3-1 check
// digit 3) happen to pass the checks.
const exampleBody = `{"kind": "residence.register", "person": {"unzr": "19900514-01233", "rnokpp": "3300612300", "surname": "Коваль", "given_names": "Олена", "patronymic": "Петрівна", "birth_date": "1990-05-14", "birth_place": "м. Кривий Ріг", "sex": "F", "citizenship": "UKR", "document": {"type": "id_card", "number": "001234567", "issued_on": "2018-03-01", "issuer": "1234"}}, "address": {"katottg": "UA12060170010076413", "street": "вул. Соборності", "building": "12", "apartment": "5"}, "effective_date": "2026-11-20", "official": {"id": "KR-0042", "name": "Іваненко І. І.", "position": "адміністратор"}}`

// testNow is noon of the example's effective date in Kyiv.
var testNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func baseSubmission(t testing.TB) Submission {
	t.Helper()
	var s Submission
	if err := json.Unmarshal([]byte(exampleBody), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

type fc struct{ field, code string }

func fieldCodes(err error) []fc {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []fc
	for _, f := range ve.Fields {
		out = append(out, fc{f.Field, f.Code})
	}
	slices.SortFunc(out, func(a, b fc) int { return strings.Compare(a.field+" "+a.code, b.field+" "+b.code) })
	return out
}

func sorted(in []fc) []fc {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b fc) int { return strings.Compare(a.field+" "+a.code, b.field+" "+b.code) })
	return out
}

func TestParseExample(t *testing.T) {
	s, err := Parse([]byte(exampleBody), testNow)
	if err != nil {
		t.Fatalf("example rejected: %v", err)
	}
	if s.Kind != KindRegister || s.PersonKey() != "unzr:19900514-01233" || s.Address.KATOTTG != "UA12060170010076413" {
		t.Fatalf("decoded wrongly: %+v", s)
	}
}

func TestParseRules(t *testing.T) {
	str := func(n int) string { return strings.Repeat("я", n) }
	deregister := func(s *Submission) {
		s.Kind = KindDeregister
		s.Deregistration = &Deregistration{Reason: DeregistrationMoved}
	}
	cancel := func(s *Submission) {
		s.Kind = KindCancel
		s.Cancellation = &Cancellation{Of: KindRegister, Reason: CancelErroneousEntry}
	}
	tests := []struct {
		name   string
		mutate func(s *Submission)
		want   []fc
	}{
		{"valid base", func(s *Submission) {}, nil},
		{"declare", func(s *Submission) { s.Kind = KindDeclare }, nil},
		{"a reservist", func(s *Submission) {
			s.Person.MilitaryStatus, s.Person.MilitaryRegNumber = MilitaryReservist, "SYN-VO-000123"
		}, nil},
		{"military status not in the list", func(s *Submission) { s.Person.MilitaryStatus = "general" },
			[]fc{{"person.military_status", CodeUnknownValue}}},
		{"deregister", deregister, nil},
		{"deregister without document", func(s *Submission) { deregister(s); s.Person.Document = nil }, nil},
		{"cancel without address", func(s *Submission) { cancel(s); s.Address = nil }, nil},
		{"cancel with action id", func(s *Submission) {
			cancel(s)
			s.Cancellation.ActionID = "0190f5c8-7d2e-7c1a-9b3e-2f4a5b6c7d8e"
		}, nil},
		{"rnokpp only", func(s *Submission) { s.Person.UNZR = "" }, nil},
		{"unzr only (refused rnokpp)", func(s *Submission) { s.Person.RNOKPP = "" }, nil},
		{"unzr wrong check digit is advisory", func(s *Submission) { s.Person.UNZR = "19900514-01230" }, nil},
		{"optional blocks", func(s *Submission) {
			s.PreviousAddress = &Address{KATOTTG: "UA12060170010000001"}
			s.BasisDocument = &BasisDocument{Type: "заява", Number: "17/3", Date: "2026-11-19"}
			s.Person.Document.Expires = "2028-03-01"
		}, nil},
		{"apostrophes in names", func(s *Submission) { s.Person.Surname = "Дем'яненко-Кос’ян" }, nil},

		{"kind missing", func(s *Submission) { s.Kind = "" }, []fc{{"kind", CodeRequired}}},
		{"kind unknown skips kind checks", func(s *Submission) { s.Kind = "residence.move"; s.Address = nil }, []fc{{"kind", CodeUnknownValue}}},
		{"person empty", func(s *Submission) { s.Person = Person{} }, []fc{
			{"person.birth_date", CodeRequired}, {"person.surname", CodeRequired}, {"person.given_names", CodeRequired},
			{"person.sex", CodeRequired}, {"person.unzr", CodeRequired}, {"person.document", CodeRequired},
		}},
		{"no person key", func(s *Submission) { s.Person.UNZR, s.Person.RNOKPP = "", "" }, []fc{{"person.unzr", CodeRequired}}},
		{"blank surname", func(s *Submission) { s.Person.Surname = "  " }, []fc{{"person.surname", CodeRequired}}},
		{"digits in name", func(s *Submission) { s.Person.GivenNames = "Олена2" }, []fc{{"person.given_names", CodeInvalidFormat}}},
		{"punctuation-only patronymic", func(s *Submission) { s.Person.Patronymic = "-" }, []fc{{"person.patronymic", CodeInvalidFormat}}},
		{"sex unknown", func(s *Submission) { s.Person.Sex = "X" }, []fc{{"person.sex", CodeUnknownValue}}},
		{"sex lower case", func(s *Submission) { s.Person.Sex = "f" }, []fc{{"person.sex", CodeUnknownValue}}},
		{"rnokpp checksum", func(s *Submission) { s.Person.RNOKPP = "3300612301" }, []fc{{"person.rnokpp", CodeInvalidChecksum}}},
		{"rnokpp short", func(s *Submission) { s.Person.RNOKPP = "330061230" }, []fc{{"person.rnokpp", CodeInvalidFormat}}},
		{"rnokpp letters", func(s *Submission) { s.Person.RNOKPP = "33006123OO" }, []fc{{"person.rnokpp", CodeInvalidFormat}}},
		{"unzr format", func(s *Submission) { s.Person.UNZR = "1990051401233" }, []fc{{"person.unzr", CodeInvalidFormat}}},
		{"unzr blank", func(s *Submission) { s.Person.UNZR = " " }, []fc{{"person.unzr", CodeInvalidFormat}}},
		{"unzr zero serial", func(s *Submission) { s.Person.UNZR = "19900514-00003" }, []fc{{"person.unzr", CodeInvalidFormat}}},
		{"unzr impossible date", func(s *Submission) { s.Person.UNZR = "19900231-01233" }, []fc{{"person.unzr", CodeInvalidDate}}},
		{"unzr other birth date", func(s *Submission) { s.Person.UNZR = "19900515-01236" }, []fc{{"person.unzr", CodeMismatch}}},
		{"birth date format", func(s *Submission) { s.Person.BirthDate = "14.05.1990" }, []fc{{"person.birth_date", CodeInvalidFormat}}},
		{"birth date impossible", func(s *Submission) {
			s.Person.BirthDate = "1990-02-30"
			s.Person.UNZR = ""
		}, []fc{{"person.birth_date", CodeInvalidDate}}},
		{"birth date in future", func(s *Submission) {
			s.Person.BirthDate = "2026-11-21"
			s.Person.UNZR = ""
		}, []fc{{"person.birth_date", CodeFutureDate}}},
		{"birth date before 1900", func(s *Submission) {
			s.Person.BirthDate = "1899-12-31"
			s.Person.UNZR = ""
		}, []fc{{"person.birth_date", CodeOutOfRange}}},
		{"citizenship lower", func(s *Submission) { s.Person.Citizenship = "ukr" }, []fc{{"person.citizenship", CodeInvalidFormat}}},
		{"citizenship alpha-2", func(s *Submission) { s.Person.Citizenship = "UA" }, []fc{{"person.citizenship", CodeInvalidFormat}}},
		{"control character", func(s *Submission) { s.Person.BirthPlace = "м. Кривий\nРіг" }, []fc{{"person.birth_place", CodeInvalidCharacters}}},
		{"string too long", func(s *Submission) { s.Person.BirthPlace = str(201) }, []fc{{"person.birth_place", CodeTooLong}}},
		{"string at limit", func(s *Submission) { s.Person.BirthPlace = str(200) }, nil},

		{"document missing for register", func(s *Submission) { s.Person.Document = nil }, []fc{{"person.document", CodeRequired}}},
		{"document type unknown", func(s *Submission) { s.Person.Document.Type = "driving_licence" }, []fc{{"person.document.type", CodeUnknownValue}}},
		{"document number missing", func(s *Submission) { s.Person.Document.Number = "" }, []fc{{"person.document.number", CodeRequired}}},
		{"document number punctuation", func(s *Submission) { s.Person.Document.Number = "КВ 123456" }, []fc{{"person.document.number", CodeInvalidFormat}}},
		{"document number cyrillic series", func(s *Submission) { s.Person.Document.Number = "КВ123456" }, nil},
		{"document number too long", func(s *Submission) { s.Person.Document.Number = strings.Repeat("1", 21) }, []fc{{"person.document.number", CodeTooLong}}},
		{"document issued in future", func(s *Submission) { s.Person.Document.IssuedOn = "2027-01-01" }, []fc{{"person.document.issued_on", CodeFutureDate}}},
		{"document issued before birth", func(s *Submission) { s.Person.Document.IssuedOn = "1990-05-13" }, []fc{{"person.document.issued_on", CodeOutOfRange}}},
		{"document expires before issue", func(s *Submission) { s.Person.Document.Expires = "2018-02-28" }, []fc{{"person.document.expires_on", CodeOutOfRange}}},

		{"address missing for register", func(s *Submission) { s.Address = nil }, []fc{{"address", CodeRequired}}},
		{"address missing for deregister", func(s *Submission) { deregister(s); s.Address = nil }, []fc{{"address", CodeRequired}}},
		{"katottg missing", func(s *Submission) { s.Address.KATOTTG = "" }, []fc{{"address.katottg", CodeRequired}}},
		{"katottg 16 digits", func(s *Submission) { s.Address.KATOTTG = "UA1206017001007641" }, []fc{{"address.katottg", CodeInvalidFormat}}},
		{"katottg lower prefix", func(s *Submission) { s.Address.KATOTTG = "ua12060170010076413" }, []fc{{"address.katottg", CodeInvalidFormat}}},
		{"building too long", func(s *Submission) { s.Address.Building = strings.Repeat("1", 21) }, []fc{{"address.building", CodeTooLong}}},
		{"street too long", func(s *Submission) { s.Address.Street = str(201) }, []fc{{"address.street", CodeTooLong}}},
		{"previous address bad", func(s *Submission) { s.PreviousAddress = &Address{KATOTTG: "UA1"} }, []fc{{"previous_address.katottg", CodeInvalidFormat}}},

		{"effective date missing", func(s *Submission) { s.EffectiveDate = "" }, []fc{{"effective_date", CodeRequired}}},
		{"effective date tomorrow", func(s *Submission) { s.EffectiveDate = "2026-11-21" }, []fc{{"effective_date", CodeFutureDate}}},
		{"effective date before birth", func(s *Submission) { s.EffectiveDate = "1990-05-13" }, []fc{{"effective_date", CodeOutOfRange}}},
		{"effective date impossible", func(s *Submission) { s.EffectiveDate = "2026-13-01" }, []fc{{"effective_date", CodeInvalidDate}}},

		{"official missing", func(s *Submission) { s.Official = Official{} }, []fc{{"official.id", CodeRequired}, {"official.name", CodeRequired}}},
		{"official id with space", func(s *Submission) { s.Official.ID = "KR 0042" }, []fc{{"official.id", CodeInvalidFormat}}},

		{"basis document without type", func(s *Submission) { s.BasisDocument = &BasisDocument{Date: "2026-12-01"} },
			[]fc{{"basis_document.type", CodeRequired}, {"basis_document.date", CodeFutureDate}}},

		{"deregistration without reason", func(s *Submission) { deregister(s); s.Deregistration.Reason = "" }, []fc{{"deregistration.reason", CodeRequired}}},
		{"deregistration reason unknown", func(s *Submission) { deregister(s); s.Deregistration.Reason = "bored" }, []fc{{"deregistration.reason", CodeUnknownValue}}},
		{"deregistration block missing", func(s *Submission) { deregister(s); s.Deregistration = nil }, []fc{{"deregistration", CodeRequired}}},
		{"deregistration on register", func(s *Submission) { s.Deregistration = &Deregistration{Reason: DeregistrationMoved} }, []fc{{"deregistration", CodeNotAllowed}}},

		{"cancellation missing", func(s *Submission) { s.Kind = KindCancel }, []fc{{"cancellation", CodeRequired}}},
		{"cancellation of a cancel", func(s *Submission) { cancel(s); s.Cancellation.Of = KindCancel }, []fc{{"cancellation.of", CodeUnknownValue}}},
		{"cancellation of unknown", func(s *Submission) { cancel(s); s.Cancellation.Of = "residence.move" }, []fc{{"cancellation.of", CodeUnknownValue}}},
		{"cancellation without reason or of", func(s *Submission) { cancel(s); s.Cancellation.Of, s.Cancellation.Reason = "", "" },
			[]fc{{"cancellation.of", CodeRequired}, {"cancellation.reason", CodeRequired}}},
		{"cancellation action id bad", func(s *Submission) { cancel(s); s.Cancellation.ActionID = "RH-1" }, []fc{{"cancellation.action_id", CodeInvalidFormat}}},
		{"cancellation on register", func(s *Submission) { s.Cancellation = &Cancellation{Of: KindDeclare, Reason: CancelErroneousEntry} }, []fc{{"cancellation", CodeNotAllowed}}},
		{"cancel address checked when present", func(s *Submission) { cancel(s); s.Address.KATOTTG = "UA" }, []fc{{"address.katottg", CodeInvalidFormat}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSubmission(t)
			tt.mutate(&s)
			body, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(body, testNow)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if got == nil {
					t.Fatal("nil submission without error")
				}
				return
			}
			if err == nil {
				t.Fatalf("want %v, got valid", tt.want)
			}
			if g, w := fieldCodes(err), sorted(tt.want); !slices.Equal(g, w) {
				t.Fatalf("errors\n got %v\nwant %v\n(%v)", g, w, err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	body := `{"kind":"residence.register","person":{"rnokpp":"1234567890","surname":"","given_names":"Олена","birth_date":"1990-02-30","sex":"Z","citizenship":"ua",
		"document":{"type":"id_card","number":"","issued_on":"2099-01-01"}},
		"address":{"katottg":"UA123"},"effective_date":"2030-01-01","official":{"id":"","name":"x"}}`
	_, err := Parse([]byte(body), testNow)
	want := sorted([]fc{
		{"person.rnokpp", CodeInvalidChecksum},
		{"person.surname", CodeRequired},
		{"person.birth_date", CodeInvalidDate},
		{"person.sex", CodeUnknownValue},
		{"person.citizenship", CodeInvalidFormat},
		{"person.document.number", CodeRequired},
		{"person.document.issued_on", CodeFutureDate},
		{"address.katottg", CodeInvalidFormat},
		{"effective_date", CodeFutureDate},
		{"official.id", CodeRequired},
	})
	if got := fieldCodes(err); !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	msg := err.Error()
	for _, s := range []string{"person.rnokpp: invalid_checksum", "official.id: required"} {
		if !strings.Contains(msg, s) {
			t.Errorf("Error() %q lacks %q", msg, s)
		}
	}
	if strings.Contains(msg, "1234567890") {
		t.Errorf("Error() echoes a personal identifier: %q", msg)
	}
}

func TestParseBodyErrors(t *testing.T) {
	big := `{"kind":"residence.register","pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	tests := []struct {
		name, body string
		want       fc
	}{
		{"too large", big, fc{"", CodeTooLarge}},
		{"empty", "", fc{"", CodeMalformed}},
		{"not json", "kind=register", fc{"", CodeMalformed}},
		{"truncated", `{"kind":"residence.register"`, fc{"", CodeMalformed}},
		{"array", `[{"kind":"residence.register"}]`, fc{"", CodeMalformed}},
		{"null", `null`, fc{"", CodeMalformed}},
		{"trailing garbage", exampleBody + `x`, fc{"", CodeMalformed}},
		{"invalid utf-8", "{\"kind\":\"\xff\"}", fc{"", CodeMalformed}},
		{"number for string", `{"kind":"residence.register","person":{"rnokpp":3300612300}}`, fc{"person.rnokpp", CodeMalformed}},
		{"string for object", `{"kind":"residence.register","person":{"document":"id"}}`, fc{"person.document", CodeMalformed}},
		{"object for string", `{"kind":{"v":1}}`, fc{"kind", CodeMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body), testNow)
			got := fieldCodes(err)
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("got %v, want [%v] (%v)", got, tt.want, err)
			}
			if strings.Contains(err.Error(), "3300612300") {
				t.Errorf("error echoes input: %v", err)
			}
		})
	}
}

func TestParseAllowsUnknownFields(t *testing.T) {
	body := strings.Replace(exampleBody, `"kind"`, `"x_local_ref": {"a": [1, 2]}, "kind"`, 1)
	body = strings.Replace(body, `"sex"`, `"phone": "+380000000000", "sex"`, 1)
	if _, err := Parse([]byte(body), testNow); err != nil {
		t.Fatal(err)
	}
}

func TestParseTodayIsKyivDate(t *testing.T) {
	s := baseSubmission(t)
	s.EffectiveDate = "2026-11-21"
	body, _ := json.Marshal(s)
	// 22:30 UTC on the 20th is 00:30 on the 21st in Kyiv (UTC+2 in November).
	if _, err := Parse(body, time.Date(2026, 11, 20, 22, 30, 0, 0, time.UTC)); err != nil {
		t.Fatalf("Kyiv's today rejected: %v", err)
	}
	if _, err := Parse(body, time.Date(2026, 11, 20, 21, 30, 0, 0, time.UTC)); err == nil {
		t.Fatal("tomorrow in Kyiv accepted")
	}
	// Summer time: UTC+3.
	s.EffectiveDate = "2026-07-02"
	body, _ = json.Marshal(s)
	if _, err := Parse(body, time.Date(2026, 7, 1, 21, 30, 0, 0, time.UTC)); err != nil {
		t.Fatalf("Kyiv's summer today rejected: %v", err)
	}
}

func TestRNOKPPChecksum(t *testing.T) {
	const example = "1759013776" // DOMAIN.md's public example
	if !ValidRNOKPP(example) {
		t.Fatalf("%s rejected", example)
	}
	if d := RNOKPPCheckDigit(example); d != 6 {
		t.Fatalf("check digit %d, want 6", d)
	}
	for i := 0; i < len(example); i++ {
		for d := byte('0'); d <= '9'; d++ {
			if d == example[i] {
				continue
			}
			b := []byte(example)
			b[i] = d
			if ValidRNOKPP(string(b)) {
				t.Errorf("%s (digit %d changed) accepted", b, i+1)
			}
		}
	}
	for _, s := range []string{"", "175901377", "17590137760", "175901377a", " 759013776", "３３００６１２３００"} {
		if ValidRNOKPP(s) {
			t.Errorf("%q accepted", s)
		}
	}
	if RNOKPPCheckDigit("12345678") != -1 || RNOKPPCheckDigit("12345678x") != -1 {
		t.Error("RNOKPPCheckDigit accepts a short or non-digit prefix")
	}
	// A large first digit makes the weighted sum negative; the mod must be normalised.
	neg := "900000000"
	if d := RNOKPPCheckDigit(neg); d != 2 { // -9 ≡ 2 (mod 11)
		t.Errorf("check digit of %s = %d, want 2", neg, d)
	}
}

func TestUNZR(t *testing.T) {
	if d := UNZRCheckDigit("19900514-0123"); d != 3 {
		t.Errorf("check digit %d, want 3", d)
	}
	if d := UNZRCheckDigit("19900514-01233"); d != 3 {
		t.Errorf("check digit over a full УНЗР %d, want 3", d)
	}
	if d := UNZRCheckDigit("19900514-012"); d != -1 {
		t.Errorf("short input gave %d", d)
	}
	// ICAO 9303's own example: date of birth 740812 → check digit 2.
	if d := UNZRCheckDigit("000000740812"); d != 2 {
		t.Errorf("ICAO example gave %d, want 2", d)
	}
	valid := []string{"19900514-01233", "20000229-99990", "19000101-00017", "19900514-01230"}
	for _, s := range valid {
		if err := ValidUNZR(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	invalid := []string{"", "19900514-0123", "19900514012334", "1990-0514-0123", "19900514-00000",
		"19900230-01233", "19901301-01233", "18991231-01233", "19900514-0123a", "19900514 01233"}
	for _, s := range invalid {
		if ValidUNZR(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestKinds(t *testing.T) {
	ks := Kinds()
	if !slices.IsSorted(ks) {
		t.Fatalf("not sorted: %v", ks)
	}
	want := []Kind{KindCancel, KindDeclare, KindDeregister, KindRegister,
		KindExclude, KindStayRegister, KindChange, KindCorrect, KindDeregisterDeath, KindAddressChange}
	slices.Sort(want)
	if !slices.Equal(ks, want) {
		t.Fatalf("kinds %v, want %v", ks, want)
	}
	for _, k := range ks {
		s, ok := Spec(k)
		if !ok || s.Kind != k || s.Title == "" {
			t.Fatalf("Spec(%s) = %+v, %v", k, s, ok)
		}
		if !slices.Equal(s.Destinations, []Destination{DestMigrationService, DestNationalRegistry}) {
			t.Errorf("%s destinations %v", k, s.Destinations)
		}
		s.Destinations[0] = "mutated"
		if again, _ := Spec(k); again.Destinations[0] != DestMigrationService {
			t.Errorf("Spec(%s) shares its destinations slice", k)
		}
	}
	if _, ok := Spec("residence.move"); ok {
		t.Error("unknown kind has a spec")
	}
}

func ExampleParse() {
	body := `{"kind":"residence.register","person":{"rnokpp":"3300612301","surname":"Коваль","given_names":"Олена","birth_date":"1990-05-14","sex":"F",
	"document":{"type":"id_card","number":"001234567"}},"address":{"katottg":"UA12060170010076413"},"effective_date":"2026-11-20","official":{"id":"KR-0042","name":"Іваненко І. І."}}`
	_, err := Parse([]byte(body), time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			fmt.Println(f.Field, f.Code)
		}
	}
	// Output: person.rnokpp invalid_checksum
}
