package access

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The universe the matrix walks, written out here rather than taken from the
// package, so that a parameter set or field added there is noticed here.
var (
	universeParams = []ParamSet{"unzr", "rnokpp", "name_birth_date", "address"}
	universeFields = []string{
		"surname", "given_names", "patronymic", "birth_date", "birth_place", "sex", "citizenship",
		"unzr", "rnokpp", "document", "address", "registration_kind", "registration_date",
		"deregistration_date", "previous_address", "contacts", "military_registration_number",
	}
)

// testNow is noon in Kyiv on the day the tests pretend it is.
var testNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// kyivNoon is noon of day in Kyiv.
func kyivNoon(t testing.TB, day string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, day, kyiv())
	if err != nil {
		t.Fatal(err)
	}
	return d.Add(12 * time.Hour)
}

func searchBy(p ParamSet) Search {
	switch p {
	case ParamUNZR:
		return Search{UNZR: testUNZR}
	case ParamRNOKPP:
		return Search{RNOKPP: testRNOKPP}
	case ParamNameBirthDate:
		return Search{NameBirthDate: &NameBirthDate{Surname: "Коваль", GivenNames: "Олена", Patronymic: "Петрівна", BirthDate: "1990-05-14"}}
	case ParamAddress:
		return Search{Address: &Address{KATOTTG: testKATOTTG, Street: "вул. Соборності", Building: "12", Apartment: "5"}}
	}
	panic("unknown parameter set " + p)
}

// queryFor builds a well-formed query citing b exactly. An own-data basis
// gets the searched person as its applicant.
func queryFor(b Basis, p ParamSet, fields []string, consent bool) Query {
	q := Query{
		Official: Official{ID: "SYN-OFF-0042", Name: "Петренко П. П."},
		Case:     "SYN-2026/0001",
		Basis:    Citation{Code: b.Code, Law: b.Law, Article: b.Article},
		Purpose:  Purpose{ID: b.PurposeIDs[0], Text: "перевірка"},
		Search:   searchBy(p),
		Fields:   fields,
	}
	if consent {
		q.Consent = "SYN-CONSENT-0001"
	}
	if b.OwnDataOnly {
		q.Applicant = &Applicant{UNZR: testUNZR, RNOKPP: testRNOKPP}
	}
	return q
}

// expected is the oracle: the rules of the issue written plainly over the
// catalogue's data, independent of Decide's code.
func expected(b Basis, r Requester, p ParamSet, fields []string, consent bool, day string) Reason {
	if !slices.Contains(b.Requesters.Orgs, r.Org) && !slices.Contains(b.Requesters.Categories, r.Category) {
		return ReasonRequesterNotAuthorised
	}
	if day < b.ValidFrom || (b.ValidTo != "" && day > b.ValidTo) {
		return ReasonRequesterNotAuthorised
	}
	if !slices.Contains(b.Parameters, p) {
		return ReasonParameterNotAuthorised
	}
	for _, f := range fields {
		if !slices.Contains(b.Fields, f) {
			return ReasonFieldNotAuthorised
		}
	}
	if b.ConsentRequired && !consent {
		return ReasonConsentMissing
	}
	return ""
}

// requestersOf lists, for basis b, every requester it grants (each
// organisation, each category) and requesters it does not (a stranger, every
// other category and organisation of the catalogue).
func requestersOf(c *Catalogue, b Basis) (allowed, denied []Requester) {
	for _, o := range b.Requesters.Orgs {
		allowed = append(allowed, Requester{Org: o, Category: "unlisted"})
	}
	for _, cat := range b.Requesters.Categories {
		allowed = append(allowed, Requester{Org: "SYN-UNLISTED", Category: cat})
	}
	denied = append(denied, Requester{Org: "SYN-STRANGER", Category: "stranger"}, Requester{})
	for _, cat := range c.Categories {
		if !slices.Contains(b.Requesters.Categories, cat.Code) {
			denied = append(denied, Requester{Org: "SYN-UNLISTED", Category: cat.Code})
		}
	}
	seen := map[string]bool{}
	for _, other := range c.Bases {
		for _, o := range other.Requesters.Orgs {
			if !slices.Contains(b.Requesters.Orgs, o) && !seen[o] {
				seen[o] = true
				denied = append(denied, Requester{Org: o, Category: "unlisted"})
			}
		}
	}
	return allowed, denied
}

func TestUniverse(t *testing.T) {
	if !slices.Equal(ParamSets(), universeParams) || !slices.Equal(Fields(), universeFields) {
		t.Fatalf("the package's universe changed: update the matrix's\nparams %v\nfields %v", ParamSets(), Fields())
	}
	if !slices.Equal(Sources(), []Source{"local", "dms", "eddr"}) {
		t.Fatalf("sources %v", Sources())
	}
}

// TestDecideShippedCatalogueMatrix decides, for every basis of the shipped
// catalogue, every requester it grants and a set it does not, every parameter
// set, every field alone, with and without consent, on the first day of the
// basis and on testNow (when expired bases are refused), and compares with
// the oracle. Then, per basis and allowed requester: all its fields at once
// (granted) and every field of the universe (refused, naming exactly the
// fields not granted).
func TestDecideShippedCatalogueMatrix(t *testing.T) {
	c := defaultCat(t)
	count := map[Reason]int{}
	total := 0
	check := func(name string, b Basis, r Requester, p ParamSet, fields []string, consent bool, day string) Decision {
		total++
		q := queryFor(b, p, fields, consent)
		d := Decide(c, r, q, kyivNoon(t, day))
		want := expected(b, r, p, fields, consent, day)
		count[want]++
		if d.Reason != want || d.Granted != (want == "") {
			t.Errorf("%s: got granted=%v %s (%s), want %q", name, d.Granted, d.Reason, d.Detail, want)
			return d
		}
		if d.Basis != b.Code || d.CatalogueVersion != c.Version {
			t.Errorf("%s: decision names basis %q version %q", name, d.Basis, d.CatalogueVersion)
		}
		if d.Granted {
			if !slices.Equal(d.Sources, b.Sources) || !slices.Equal(d.Fields, fields) || d.Parameter != p {
				t.Errorf("%s: granted %+v", name, d)
			}
		} else if d.Detail == "" || d.Sources != nil || d.Fields != nil {
			t.Errorf("%s: refusal %+v", name, d)
		}
		return d
	}
	for _, b := range c.Bases {
		allowed, denied := requestersOf(c, b)
		for _, day := range []string{b.ValidFrom, testNow.Format(time.DateOnly)} {
			for _, r := range slices.Concat(allowed, denied) {
				for _, p := range universeParams {
					for _, f := range universeFields {
						for _, consent := range []bool{false, true} {
							name := fmt.Sprintf("%s/%+v/%s/%s/%s/consent=%v", b.Code, r, day, p, f, consent)
							check(name, b, r, p, []string{f}, consent, day)
						}
					}
				}
			}
		}
		for _, r := range allowed {
			name := fmt.Sprintf("%s/%+v/all its fields", b.Code, r)
			check(name, b, r, b.Parameters[0], b.Fields, true, b.ValidFrom)
			name = fmt.Sprintf("%s/%+v/every field", b.Code, r)
			d := check(name, b, r, b.Parameters[0], universeFields, true, b.ValidFrom)
			var notGranted []string
			for _, f := range universeFields {
				if !slices.Contains(b.Fields, f) {
					notGranted = append(notGranted, f)
				}
			}
			if want := fmt.Sprintf("basis %q does not grant %s", b.Code, strings.Join(notGranted, ", ")); len(notGranted) > 0 && d.Detail != want {
				t.Errorf("%s: detail %q, want %q", name, d.Detail, want)
			}
		}
	}
	t.Logf("%d generated cases: %v", total, count)
	for _, r := range []Reason{"", ReasonRequesterNotAuthorised, ReasonParameterNotAuthorised, ReasonFieldNotAuthorised, ReasonConsentMissing} {
		if count[r] == 0 {
			t.Errorf("the matrix never produced %q: the shipped catalogue no longer exercises it", r)
		}
	}
}

func decideOne(t *testing.T, c *Catalogue, r Requester, q Query, now time.Time, want Reason, detail string) Decision {
	t.Helper()
	d := Decide(c, r, q, now)
	if d.Reason != want || d.Granted != (want == "") {
		t.Fatalf("got granted=%v %s (%s), want %q", d.Granted, d.Reason, d.Detail, want)
	}
	if !strings.Contains(d.Detail, detail) {
		t.Fatalf("detail %q lacks %q", d.Detail, detail)
	}
	return d
}

func testBasis(t *testing.T) (*Catalogue, Basis, Requester) {
	c := loadString(t, testCatalogue)
	b, _ := c.Basis("test.basis")
	return c, b, Requester{Org: "SYN-ORG-1"}
}

// The test basis is valid 2024-01-01..2024-12-31, inclusive, in Kyiv days.
func TestDecideValidityDates(t *testing.T) {
	c, b, r := testBasis(t)
	q := queryFor(b, ParamUNZR, []string{"surname"}, false)
	cases := []struct {
		name string
		now  time.Time
		want Reason
		says string
	}{
		{"the day before", kyivNoon(t, "2023-12-31"), ReasonRequesterNotAuthorised, "may be cited from 2024-01-01; today is 2023-12-31"},
		{"the first day", kyivNoon(t, "2024-01-01"), "", ""},
		{"the last day", kyivNoon(t, "2024-12-31"), "", ""},
		{"the day after", kyivNoon(t, "2025-01-01"), ReasonRequesterNotAuthorised, "could be cited until 2024-12-31; today is 2025-01-01"},
		// 22:30 UTC on 31 December is already 1 January in Kyiv.
		{"first day in Kyiv, last in UTC", time.Date(2023, 12, 31, 22, 30, 0, 0, time.UTC), "", ""},
		{"day after in Kyiv, last in UTC", time.Date(2024, 12, 31, 22, 30, 0, 0, time.UTC), ReasonRequesterNotAuthorised, "today is 2025-01-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { decideOne(t, c, r, q, tc.now, tc.want, tc.says) })
	}
}

func TestDecideExpiredShippedBasis(t *testing.T) {
	c := defaultCat(t)
	b, ok := c.Basis("legacy.address-registrants-2017")
	if !ok {
		t.Fatal("the shipped catalogue lost its expired basis")
	}
	r := Requester{Org: "SYN-CITY-0001", Category: "local_government"}
	q := queryFor(b, ParamAddress, []string{"surname", "registration_date"}, false)
	decideOne(t, c, r, q, testNow, ReasonRequesterNotAuthorised, "could be cited until "+b.ValidTo)
	decideOne(t, c, r, q, kyivNoon(t, "2020-06-01"), "", "")
}

func TestDecideConsent(t *testing.T) {
	c := defaultCat(t)
	b, _ := c.Basis("consent.administrative-services")
	r := Requester{Org: "SYN-CITY-0001", Category: "local_government"}
	q := queryFor(b, ParamRNOKPP, []string{"surname", "address"}, false)
	decideOne(t, c, r, q, testNow, ReasonConsentMissing, "written consent")
	q.Consent = "   "
	decideOne(t, c, r, q, testNow, ReasonIncomplete, "consent: required")
	q.Consent = "SYN-CONSENT-0001"
	decideOne(t, c, r, q, testNow, "", "")
	// A basis without consent does not mind one being given.
	nb, _ := c.Basis("notary.notarial-acts")
	decideOne(t, c, Requester{Org: "SYN-NOT-0001", Category: "notary"}, queryFor(nb, ParamUNZR, []string{"surname"}, true), testNow, "", "")
}

func TestDecideCitation(t *testing.T) {
	c := defaultCat(t)
	b, _ := c.Basis("self.own-data")
	r := Requester{Org: "SYN-PORTAL-0001", Category: "e_services_portal"}
	base := queryFor(b, ParamRNOKPP, []string{"surname"}, false)
	cases := []struct {
		name          string
		code, law, ar string
		purpose       string
		want          Reason
		says          string
	}{
		{"exact", b.Code, b.Law, b.Article, "", "", ""},
		{"case, spaces and quotes differ", b.Code, `  закон україни  "Про захист ПЕРСОНАЛЬНИХ даних" `, "Стаття  8", "", "", ""},
		{"typographic quotes", b.Code, "Закон України “Про захист персональних даних”", b.Article, "", "", ""},
		{"another law", b.Code, "Закон України «Про інформацію»", b.Article, "", ReasonNoBasis, `the law cited is not the law of basis "self.own-data"`},
		{"another article", b.Code, b.Law, "стаття 11", "", ReasonNoBasis, `the article cited is not the article of basis "self.own-data"`},
		{"another basis's citation", b.Code, "Положення про Реєстр Криворізької міської територіальної громади", "підпункт 6.2.1 пункту 6.2", "", ReasonNoBasis, "the law cited"},
		{"unknown code", "self.everything", b.Law, b.Article, "", ReasonNoBasis, `no basis has the code "self.everything"`},
		{"purpose not served", b.Code, b.Law, b.Article, "marketing", ReasonNoBasis, `does not serve the purpose "marketing" (it serves: own-data-access)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := base
			q.Basis = Citation{Code: tc.code, Law: tc.law, Article: tc.ar}
			if tc.purpose != "" {
				q.Purpose.ID = tc.purpose
			}
			decideOne(t, c, r, q, testNow, tc.want, tc.says)
		})
	}
}

func TestDecideOwnData(t *testing.T) {
	c := defaultCat(t)
	b, _ := c.Basis("self.own-data")
	r := Requester{Org: "SYN-PORTAL-0001", Category: "e_services_portal"}
	q := queryFor(b, ParamUNZR, []string{"surname", "address"}, false)
	decideOne(t, c, r, q, testNow, "", "")
	q.Applicant = &Applicant{UNZR: otherUNZR}
	decideOne(t, c, r, q, testNow, ReasonParameterNotAuthorised, "the identifier searched is not the applicant's")
	q.Applicant = &Applicant{RNOKPP: testRNOKPP} // the same person, but the search is by УНЗР
	decideOne(t, c, r, q, testNow, ReasonParameterNotAuthorised, "not the applicant's")
	q.Search = Search{RNOKPP: testRNOKPP}
	decideOne(t, c, r, q, testNow, "", "")
	q.Applicant = nil
	decideOne(t, c, r, q, testNow, ReasonParameterNotAuthorised, "names no applicant")
	q.Search = searchBy(ParamNameBirthDate)
	decideOne(t, c, r, q, testNow, ReasonParameterNotAuthorised, "does not allow searching by name_birth_date (it allows: unzr, rnokpp)")
}

// 002 §6.2: an owner searches by address and learns who is registered and since when.
func TestDecideDwellingOwner(t *testing.T) {
	c := defaultCat(t)
	b, _ := c.Basis("owner.dwelling-registrants")
	r := Requester{Org: "SYN-CNAP-0001", Category: "admin_services_centre"}
	q := queryFor(b, ParamAddress, []string{"surname", "given_names", "patronymic", "registration_date"}, false)
	d := decideOne(t, c, r, q, testNow, "", "")
	if !slices.Equal(d.Sources, []Source{SourceLocal}) || d.Parameter != ParamAddress {
		t.Fatalf("granted %+v", d)
	}
	q.Fields = append(q.Fields, "birth_date", "rnokpp")
	decideOne(t, c, r, q, testNow, ReasonFieldNotAuthorised, `basis "owner.dwelling-registrants" does not grant birth_date, rnokpp`)
	q = queryFor(b, ParamRNOKPP, []string{"surname"}, false)
	decideOne(t, c, r, q, testNow, ReasonParameterNotAuthorised, "does not allow searching by rnokpp")
}

// TestDecidePrecedence starts from a query wrong in every way and fixes one
// fault at a time: each time, the reason must be the next in Reasons().
func TestDecidePrecedence(t *testing.T) {
	c := defaultCat(t)
	b, _ := c.Basis("consent.administrative-services")
	good := queryFor(b, ParamRNOKPP, []string{"surname"}, true)
	goodRequester := Requester{Org: "SYN-CITY-0001", Category: "local_government"}

	q := good
	q.Search = Search{RNOKPP: "3300612301"}                         // malformed (check digit)
	q.Case = ""                                                     // incomplete
	q.Basis.Article = "пункт 5.2"                                   // no basis
	requester := Requester{Org: "SYN-NOT-0001", Category: "notary"} // not this basis's
	fixes := []func(){
		func() { q.Search = Search{NameBirthDate: searchBy(ParamNameBirthDate).NameBirthDate} }, // now a parameter it does not allow
		func() { q.Case = good.Case },
		func() { q.Basis = good.Basis },
		func() { requester = goodRequester },
		func() { q.Search = good.Search; q.Fields = []string{"surname", "contacts"} }, // now a field it does not grant
		func() { q.Fields = good.Fields; q.Consent = "" },                             // now no consent
		func() { q.Consent = good.Consent },
	}
	for i, want := range Reasons() {
		d := Decide(c, requester, q, testNow)
		if d.Reason != want {
			t.Fatalf("step %d: got %s (%s), want %s", i, d.Reason, d.Detail, want)
		}
		fixes[i]()
	}
	if d := Decide(c, requester, q, testNow); !d.Granted {
		t.Fatalf("all fixed, still refused: %s (%s)", d.Reason, d.Detail)
	}
}

func TestReasonStrings(t *testing.T) {
	want := []string{"request_malformed", "request_incomplete", "no_basis", "requester_not_authorised",
		"parameter_not_authorised", "field_not_authorised", "consent_missing"}
	got := Reasons()
	if len(got) != len(want) {
		t.Fatalf("reasons %v", got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("reason %d is %q, want %q", i, got[i], want[i])
		}
	}
}

func TestDecideWithoutCatalogue(t *testing.T) {
	_, b, r := testBasis(t)
	d := Decide(nil, r, queryFor(b, ParamUNZR, []string{"surname"}, false), testNow)
	if d.Reason != ReasonNoBasis {
		t.Fatalf("got %+v", d)
	}
}

// A granted decision's fields are the caller's to keep: changing the query
// or the decision afterwards must not reach the catalogue.
func TestDecisionDoesNotShareTheCatalogue(t *testing.T) {
	c, b, r := testBasis(t)
	d := Decide(c, r, queryFor(b, ParamUNZR, []string{"surname"}, false), testNow.AddDate(-2, 0, 0))
	if !d.Granted {
		t.Fatalf("refused: %+v", d)
	}
	d.Sources[0] = "tampered"
	if again, _ := c.Basis("test.basis"); again.Sources[0] != SourceLocal {
		t.Fatal("the decision shares the catalogue's sources")
	}
}

func TestMinimise(t *testing.T) {
	record := map[string]any{
		"surname": "Коваль", "given_names": "Олена", "rnokpp": testRNOKPP,
		"address": map[string]any{"katottg": testKATOTTG}, "extra_upstream_field": "x",
	}
	got := Minimise([]string{"surname", "address", "registration_date"}, record)
	if len(got) != 2 || got["surname"] != "Коваль" || got["address"] == nil {
		t.Fatalf("got %v", got)
	}
	if len(record) != 5 {
		t.Fatal("Minimise changed its input")
	}
	if got := Minimise(nil, record); len(got) != 0 {
		t.Fatalf("nothing granted, got %v", got)
	}
	if got := Minimise([]string{"surname"}, nil); got == nil || len(got) != 0 {
		t.Fatalf("nil record: %v", got)
	}
}
