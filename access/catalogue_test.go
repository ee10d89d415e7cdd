package access

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testCatalogue is a small valid catalogue the broken ones are made from.
const testCatalogue = `version: "t1"
categories:
  - code: notary
    name: Notaries
  - code: social_protection
    name: Social protection bodies
bases:
  - code: test.basis
    law: Закон України «Про тест»
    article: стаття 1
    valid_from: 2024-01-01
    valid_to: 2024-12-31
    requesters:
      orgs: [SYN-ORG-1]
      categories: [notary]
    parameters: [unzr, rnokpp]
    fields: [surname, birth_date]
    sources: [local]
    consent_required: false
    purpose: Testing.
    purpose_ids: [testing]
`

func loadString(t testing.TB, s string) *Catalogue {
	t.Helper()
	c, err := Load(strings.NewReader(s))
	if err != nil {
		t.Fatalf("catalogue refused: %v", err)
	}
	return c
}

func defaultCat(t testing.TB) *Catalogue {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatalf("shipped catalogue refused: %v", err)
	}
	return c
}

func TestLoadTestCatalogue(t *testing.T) {
	c := loadString(t, testCatalogue)
	b, ok := c.Basis("test.basis")
	if !ok || c.Version != "t1" || len(c.Categories) != 2 {
		t.Fatalf("decoded wrongly: %+v", c)
	}
	if b.Law != "Закон України «Про тест»" || b.ValidFrom != "2024-01-01" || b.ValidTo != "2024-12-31" ||
		!slices.Equal(b.Parameters, []ParamSet{ParamUNZR, ParamRNOKPP}) || !slices.Equal(b.Requesters.Orgs, []string{"SYN-ORG-1"}) {
		t.Fatalf("basis decoded wrongly: %+v", b)
	}
	if _, ok := c.Basis("nope"); ok {
		t.Fatal("found a basis that does not exist")
	}
}

// The shipped sample must keep the cases the issue names.
func TestDefaultCatalogueCoversTheSamples(t *testing.T) {
	c := defaultCat(t)
	if c.Version == "" {
		t.Fatal("no version")
	}
	var own, owner, consent, expired, military, notary, social bool
	for _, b := range c.Bases {
		own = own || b.OwnDataOnly
		consent = consent || b.ConsentRequired
		expired = expired || (b.ValidTo != "" && b.ValidTo < "2026-01-01")
		has := func(cat string) bool { return slices.Contains(b.Requesters.Categories, cat) }
		military = military || has("military_enlistment")
		notary = notary || has("notary")
		social = social || has("social_protection")
		if slices.Equal(b.Parameters, []ParamSet{ParamAddress}) && strings.HasPrefix(b.Code, "owner.") {
			owner = true
			// 002 §6.2: the owner learns who is registered, and since when; nothing more.
			for _, f := range b.Fields {
				if !slices.Contains([]string{FieldSurname, FieldGivenNames, FieldPatronymic, FieldRegistrationDate}, f) {
					t.Errorf("owner basis %s grants %s", b.Code, f)
				}
			}
		}
	}
	for name, ok := range map[string]bool{"own data": own, "dwelling owner": owner, "consent": consent,
		"expired": expired, "military": military, "notary": notary, "social protection": social} {
		if !ok {
			t.Errorf("the shipped catalogue has no %s basis", name)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalogue.yaml")
	if err := os.WriteFile(path, []byte(testCatalogue), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	_, err := LoadFile(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: got %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad)
	if !errors.Is(err, ErrInvalidCatalogue) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad file: got %v", err)
	}
}

// JSON is YAML too: a catalogue may be written in either.
func TestLoadJSONCatalogue(t *testing.T) {
	c := loadString(t, `{"version": "j1", "bases": [{"code": "j.basis", "law": "L", "article": "A",
		"valid_from": "2024-01-01", "requesters": {"orgs": ["SYN-ORG-1"]}, "parameters": ["address"],
		"fields": ["surname"], "sources": ["eddr"], "consent_required": true, "purpose": "P", "purpose_ids": ["p"]}]}`)
	if b, ok := c.Basis("j.basis"); !ok || !b.ConsentRequired || b.Sources[0] != SourceEDDR {
		t.Fatalf("decoded wrongly: %+v", c)
	}
}

func TestCatalogueProblems(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(testCatalogue, old) {
			panic("test edit does not apply: " + old)
		}
		return strings.Replace(testCatalogue, old, new, 1)
	}
	secondBasis := strings.SplitAfter(testCatalogue, "bases:\n")[1]
	const b = `basis "test.basis": `
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"empty", "", []string{"the catalogue is empty"}},
		{"only a comment", "# nothing\n", []string{"the catalogue is empty"}},
		{"null document", "---\n", []string{"the catalogue is empty"}},
		{"not YAML", "version: [\n", []string{"not valid YAML"}},
		{"two documents", testCatalogue + "---\nversion: x\n", []string{"more than one YAML document"}},
		{"not a mapping", "- a\n", []string{"the catalogue: must be a mapping"}},
		{"unknown top key", testCatalogue + "extra: 1\n", []string{`the catalogue: unknown key "extra"`}},
		{"missing version", edit(`version: "t1"`, ""), []string{`the catalogue: missing key "version"`}},
		{"blank version", edit(`version: "t1"`, `version: " "`), []string{"version: must not be empty"}},
		{"no bases key", "version: x\n", []string{`the catalogue: missing key "bases"`}},
		{"no bases", edit("bases:\n", "bases: []\nx:\n"), []string{"the catalogue has no basis"}},
		{"bases not a list", "version: x\nbases: {}\n", []string{"bases: must be a list"}},
		{"unknown basis key", edit("    purpose: Testing.", "    purpose: Testing.\n    lawyer: Someone"), []string{b + `unknown key "lawyer"`}},
		{"key twice", edit("    article: стаття 1", "    article: стаття 1\n    article: стаття 2"), []string{b + `key "article" given twice`}},
		{"consent not stated", edit("    consent_required: false\n", ""), []string{b + `missing key "consent_required"`}},
		{"consent not a bool", edit("consent_required: false", "consent_required: maybe"), []string{b + "yaml: unmarshal errors", "into bool"}},
		{"no code", edit("  - code: test.basis\n    law:", "  - law:"), []string{`basis #1 (line 8): missing key "code"`}},
		{"bad code", edit("code: test.basis", "code: Test Basis"), []string{`basis "Test Basis": code must be lower-case`}},
		{"code twice", testCatalogue + secondBasis, []string{b + "defined more than once (lines 8 and 22)"}},
		{"blank law", edit("law: Закон України «Про тест»", `law: ""`), []string{b + "law must not be empty"}},
		{"law with a control character", edit("law: Закон України «Про тест»", `law: "Закон\u0007"`), []string{b + "law contains control characters"}},
		{"no article", edit("    article: стаття 1\n", ""), []string{b + `missing key "article"`}},
		{"bad valid_from", edit("valid_from: 2024-01-01", "valid_from: 2024-13-01"), []string{b + `valid_from "2024-13-01" is not a date`}},
		{"valid_from with a time", edit("valid_from: 2024-01-01", "valid_from: 2024-01-01T00:00:00Z"), []string{b + "valid_from \"2024-01-01T00:00:00Z\" is not a date"}},
		{"valid_to before valid_from", edit("valid_to: 2024-12-31", "valid_to: 2023-12-31"), []string{b + "valid_to 2023-12-31 is before valid_from 2024-01-01"}},
		{"empty requesters", edit("      orgs: [SYN-ORG-1]\n      categories: [notary]", "      orgs: []"), []string{b + "no requesters"}},
		{"requesters unknown key", edit("      orgs: [SYN-ORG-1]", "      people: [x]"), []string{b + `requesters: unknown key "people"`}},
		{"unknown category", edit("categories: [notary]", "categories: [judge]"), []string{b + `requesters.categories: unknown category "judge"`}},
		{"bad org code", edit("orgs: [SYN-ORG-1]", `orgs: ["SYN ORG"]`), []string{b + `requesters.orgs: organisation code "SYN ORG"`}},
		{"org twice", edit("orgs: [SYN-ORG-1]", "orgs: [SYN-ORG-1, SYN-ORG-1]"), []string{b + `requesters.orgs lists "SYN-ORG-1" twice`}},
		{"unknown parameter", edit("parameters: [unzr, rnokpp]", "parameters: [unzr, phone]"), []string{b + `parameters: unknown parameter set "phone"`}},
		{"no parameters", edit("parameters: [unzr, rnokpp]", "parameters: []"), []string{b + "parameters must not be empty"}},
		{"parameters not a list", edit("parameters: [unzr, rnokpp]", "parameters: unzr"), []string{b + "yaml: unmarshal errors"}},
		{"unknown field", edit("fields: [surname, birth_date]", "fields: [surname, salary]"), []string{b + `fields: unknown field "salary"`}},
		{"field twice", edit("fields: [surname, birth_date]", "fields: [surname, surname]"), []string{b + `fields lists "surname" twice`}},
		{"no fields", edit("fields: [surname, birth_date]", "fields: []"), []string{b + "fields must not be empty"}},
		{"unknown source", edit("sources: [local]", "sources: [local, tax]"), []string{b + `sources: unknown source "tax"`}},
		{"no sources", edit("    sources: [local]\n", ""), []string{b + `missing key "sources"`}},
		{"blank purpose", edit("purpose: Testing.", `purpose: ""`), []string{b + "purpose must not be empty"}},
		{"bad purpose id", edit("purpose_ids: [testing]", `purpose_ids: ["two words"]`), []string{b + `purpose_ids: purpose id "two words"`}},
		{"no purpose ids", edit("purpose_ids: [testing]", "purpose_ids: []"), []string{b + "purpose_ids must not be empty"}},
		{"own data by address", edit("parameters: [unzr, rnokpp]", "parameters: [unzr, address]\n    own_data_only: true"),
			[]string{b + `own_data_only allows only the unzr and rnokpp parameters, not "address"`}},
		{"category twice", edit("  - code: social_protection", "  - code: notary"), []string{`category "notary": defined more than once`}},
		{"bad category code", edit("  - code: social_protection", "  - code: Social"), []string{`category #2 (line 5): code "Social" must be lower-case`}},
		{"category without name", edit("    name: Notaries\n", ""), []string{`category #1 (line 3): missing key "name"`}},
		{"alias", edit("fields: [surname, birth_date]", "fields: &f [surname]\n    purpose_ids_x: *f"), []string{"aliases are not allowed"}},
		{"non-string key", edit("    purpose: Testing.", "    purpose: Testing.\n    1: x"), []string{b + "line 21: keys must be plain names"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidCatalogue) {
				t.Errorf("error does not wrap ErrInvalidCatalogue: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// A bad catalogue stops the hub: its author must see every problem at once.
func TestCatalogueReportsEveryProblem(t *testing.T) {
	y := strings.NewReplacer(
		"fields: [surname, birth_date]", "fields: [surname, salary]",
		"valid_to: 2024-12-31", "valid_to: 2023-01-01",
		"sources: [local]", "sources: [tax]",
	).Replace(testCatalogue) + strings.Replace(strings.SplitAfter(testCatalogue, "bases:\n")[1], "code: test.basis", "code: Other", 1)
	_, err := Load(strings.NewReader(y))
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{
		`basis "test.basis": fields: unknown field "salary"`,
		`basis "test.basis": valid_to 2023-01-01 is before valid_from 2024-01-01`,
		`basis "test.basis": sources: unknown source "tax"`,
		`basis "Other": code must be lower-case`,
		"4 problem(s)",
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestCatalogueTooLarge(t *testing.T) {
	_, err := Load(strings.NewReader(testCatalogue + "#" + strings.Repeat("x", MaxCatalogueBytes)))
	if !errors.Is(err, ErrInvalidCatalogue) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v", err)
	}
}
