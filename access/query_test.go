package access

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Synthetic identifiers (from the action package's tests): the РНОКПП
// passes its check digit, the УНЗР its format.
const (
	testUNZR    = "19900514-01233"
	testRNOKPP  = "3300612300"
	otherUNZR   = "19851103-00417"
	testKATOTTG = "UA12060170010076413"
)

// exampleBody is a social protection body's query.
const exampleBody = `{
  "official": {"id": "SYN-OFF-0042", "name": "Петренко П. П."},
  "case": "SYN-2026/0001",
  "basis": {"code": "social.services", "law": "Положення про Реєстр Криворізької міської територіальної громади", "article": "підпункт 6.4.2.3 пункту 6.4"},
  "purpose": {"id": "social-services", "text": "призначення житлової субсидії"},
  "search": {"rnokpp": "3300612300"},
  "fields": ["surname", "given_names", "address", "registration_date"]
}`

func TestParseQueryExample(t *testing.T) {
	q, err := ParseQuery([]byte(exampleBody))
	if err != nil {
		t.Fatalf("example refused: %v", err)
	}
	want := Query{
		Official: Official{ID: "SYN-OFF-0042", Name: "Петренко П. П."},
		Case:     "SYN-2026/0001",
		Basis:    Citation{Code: "social.services", Law: "Положення про Реєстр Криворізької міської територіальної громади", Article: "підпункт 6.4.2.3 пункту 6.4"},
		Purpose:  Purpose{ID: "social-services", Text: "призначення житлової субсидії"},
		Search:   Search{RNOKPP: testRNOKPP},
		Fields:   []string{"surname", "given_names", "address", "registration_date"},
	}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("decoded wrongly:\n got %+v\nwant %+v", q, want)
	}
}

func TestParseQueryEveryParameterSet(t *testing.T) {
	for _, search := range []string{
		`{"unzr": "19900514-01233"}`,
		`{"rnokpp": "3300612300"}`,
		`{"name_birth_date": {"surname": "Коваль", "given_names": "Олена", "patronymic": "Петрівна", "birth_date": "1990-05-14"}}`,
		`{"name_birth_date": {"surname": "O'Neil-Ковальʼ", "given_names": "Ann", "birth_date": "1990-05-14"}}`,
		`{"address": {"katottg": "UA12060170010076413", "street": "вул. Соборності", "building": "12", "apartment": "5"}}`,
		`{"address": {"katottg": "UA12060170010076413", "street": "вул. Соборності", "building": "12-А"}}`,
	} {
		body := strings.Replace(exampleBody, `{"rnokpp": "3300612300"}`, search, 1)
		q, err := ParseQuery([]byte(body))
		if err != nil {
			t.Errorf("%s refused: %v", search, err)
			continue
		}
		if n := len(q.Search.Sets()); n != 1 {
			t.Errorf("%s: %d sets", search, n)
		}
	}
}

func TestParseQueryProblems(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(exampleBody, old) {
			panic("test edit does not apply: " + old)
		}
		return strings.Replace(exampleBody, old, new, 1)
	}
	const m, i = ReasonMalformed, ReasonIncomplete
	search := func(s string) string { return edit(`{"rnokpp": "3300612300"}`, s) }
	cases := []struct {
		name   string
		body   string
		reason Reason
		field  string // the first problem's field
		detail string // part of the first problem's detail
	}{
		{"empty", ``, m, "", "JSON object"},
		{"not JSON", `{`, m, "", "invalid JSON"},
		{"array", `[]`, m, "", "JSON object"},
		{"null", `null`, m, "", "JSON object"},
		{"text after", exampleBody + ` {}`, m, "", "text after the JSON object"},
		{"invalid UTF-8", "{\"case\": \"\xff\"}", m, "", "UTF-8"},
		{"too large", `{"case": "` + strings.Repeat("x", MaxQueryBytes) + `"}`, m, "", "exceeds"},
		{"unknown key", edit(`"case"`, `"case_ref"`), m, "", `unknown key "case_ref"`},
		{"key in another case", edit(`"case"`, `"Case"`), m, "", `unknown key "Case"`},
		{"nested unknown key", edit(`"rnokpp": "3300612300"`, `"passport": "AB123456"`), m, "search", `unknown key "passport"`},
		{"key given twice", edit(`"case": "SYN-2026/0001",`, `"case": "SYN-2026/0001", "case": "other",`), m, "case", "key given twice"},
		{"key in the wrong place", edit(`"case": "SYN-2026/0001",`, `"case": "SYN-2026/0001", "surname": "x",`), m, "", `"surname" is not allowed here`},
		{"number for a string", edit(`"SYN-2026/0001"`, `2026`), m, "case", "expected a JSON string, got number"},
		{"string for a list", edit(`["surname", "given_names", "address", "registration_date"]`, `"surname"`), m, "fields", "expected a JSON array, got string"},
		{"no official", edit(`"official": {"id": "SYN-OFF-0042", "name": "Петренко П. П."},`, ``), i, "official.id", "required"},
		{"official id with a space", edit(`"SYN-OFF-0042"`, `"SYN OFF"`), m, "official.id", "white space"},
		{"no case", edit(`"case": "SYN-2026/0001",`, ``), i, "case", "required"},
		{"blank case", edit(`"SYN-2026/0001"`, `"  "`), i, "case", "required"},
		{"control character", edit(`"SYN-2026/0001"`, `"SYN\u0000"`), m, "case", "control characters"},
		{"no basis code", edit(`"code": "social.services", `, ``), i, "basis.code", "required"},
		{"no law", edit(`"law": "Положення про Реєстр Криворізької міської територіальної громади", `, ``), i, "basis.law", "required"},
		{"no article", edit(`, "article": "підпункт 6.4.2.3 пункту 6.4"`, ``), i, "basis.article", "required"},
		{"no purpose", edit(`"purpose": {"id": "social-services", "text": "призначення житлової субсидії"},`, ``), i, "purpose.id", "required"},
		{"no purpose text", edit(`, "text": "призначення житлової субсидії"`, ``), i, "purpose.text", "required"},
		{"no search", edit(`"search": {"rnokpp": "3300612300"},`, ``), i, "search", "one parameter set is required"},
		{"empty search", search(`{"rnokpp": ""}`), i, "search", "one parameter set is required"},
		{"two parameter sets", search(`{"rnokpp": "3300612300", "unzr": "19900514-01233"}`), m, "search", "exactly one parameter set"},
		{"rnokpp checksum", search(`{"rnokpp": "3300612301"}`), m, "search.rnokpp", "invalid_checksum"},
		{"rnokpp format", search(`{"rnokpp": "33006123"}`), m, "search.rnokpp", "invalid_format"},
		{"unzr format", search(`{"unzr": "19900514-0123"}`), m, "search.unzr", "invalid_format"},
		{"unzr date", search(`{"unzr": "19901314-01233"}`), m, "search.unzr", "invalid_date"},
		{"name without birth date", search(`{"name_birth_date": {"surname": "Коваль", "given_names": "Олена"}}`), i, "search.name_birth_date.birth_date", "required"},
		{"name with digits", search(`{"name_birth_date": {"surname": "Коваль2", "given_names": "Олена", "birth_date": "1990-05-14"}}`), m, "search.name_birth_date.surname", "letters"},
		{"birth date not a day", search(`{"name_birth_date": {"surname": "Коваль", "given_names": "Олена", "birth_date": "1990-02-30"}}`), m, "search.name_birth_date.birth_date", "YYYY-MM-DD"},
		{"birth date too early", search(`{"name_birth_date": {"surname": "Коваль", "given_names": "Олена", "birth_date": "1899-12-31"}}`), m, "search.name_birth_date.birth_date", "1900-01-01"},
		{"address without building", search(`{"address": {"katottg": "UA12060170010076413", "street": "вул. Соборності"}}`), i, "search.address.building", "required"},
		{"address bad katottg", search(`{"address": {"katottg": "UA1206", "street": "вул. Соборності", "building": "1"}}`), m, "search.address.katottg", "UA followed by 17 digits"},
		{"empty address", search(`{"address": {}}`), i, "search.address.katottg", "required"},
		{"no fields", edit(`["surname", "given_names", "address", "registration_date"]`, `[]`), i, "fields", "at least one field"},
		{"unknown field", edit(`"registration_date"]`, `"salary"]`), m, "fields[3]", `unknown field "salary"`},
		{"field twice", edit(`"registration_date"]`, `"surname"]`), m, "fields[3]", `"surname" listed twice`},
		{"applicant without identifier", edit(`"fields"`, `"applicant": {}, "fields"`), i, "applicant", "unzr or rnokpp"},
		{"applicant bad rnokpp", edit(`"fields"`, `"applicant": {"rnokpp": "1"}, "fields"`), m, "applicant.rnokpp", "invalid_format"},
		{"consent with a line break", edit(`"fields"`, `"consent": "a\nb", "fields"`), m, "consent", "control characters"},
		// Malformed wins the reason over incomplete; problems keep the body's order.
		{"malformed and incomplete", strings.Replace(search(`{"rnokpp": "1"}`), `"SYN-2026/0001"`, `""`, 1), m, "case", "required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseQuery([]byte(tc.body))
			if err == nil {
				t.Fatalf("accepted: %+v", q)
			}
			var qe *QueryError
			if !errors.As(err, &qe) || len(qe.Problems) == 0 {
				t.Fatalf("not a *QueryError with problems: %v", err)
			}
			if qe.Reason != tc.reason {
				t.Errorf("reason %s, want %s (%v)", qe.Reason, tc.reason, err)
			}
			p := qe.Problems[0]
			if p.Field != tc.field || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("first problem %+v, want field %q detail containing %q (%v)", p, tc.field, tc.detail, err)
			}
		})
	}
}

// Every problem is listed, and malformed wins the reason.
func TestParseQueryListsEveryProblem(t *testing.T) {
	body := strings.NewReplacer(`"case": "SYN-2026/0001",`, ``, `"3300612300"`, `"3300612301"`, `"registration_date"]`, `"salary"]`).Replace(exampleBody)
	_, err := ParseQuery([]byte(body))
	var qe *QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("got %v", err)
	}
	if qe.Reason != ReasonMalformed || len(qe.Problems) != 3 {
		t.Fatalf("got %s with %d problems: %v", qe.Reason, len(qe.Problems), err)
	}
}

// Problems never repeat what was submitted: refusals and logs must not carry
// the person's data.
func TestQueryProblemsDoNotEchoValues(t *testing.T) {
	secrets := []string{"3300612301", "Коваль7", "1990-02-30", "UA1206999"}
	body := strings.Replace(exampleBody, `{"rnokpp": "3300612300"}`,
		`{"rnokpp": "3300612301", "name_birth_date": {"surname": "Коваль7", "given_names": "Олена", "birth_date": "1990-02-30"}, "address": {"katottg": "UA1206999", "street": "s", "building": "1"}}`, 1)
	_, err := ParseQuery([]byte(body))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error repeats %q: %v", s, err)
		}
	}
}

func TestQueryRoundTrip(t *testing.T) {
	q, err := ParseQuery([]byte(exampleBody))
	if err != nil {
		t.Fatal(err)
	}
	q.Applicant = &Applicant{UNZR: testUNZR}
	q.Consent = "SYN-CONSENT-1"
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseQuery(b)
	if err != nil || !reflect.DeepEqual(q, again) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, q, again)
	}
}
