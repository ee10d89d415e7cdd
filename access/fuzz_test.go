package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func FuzzParseQuery(f *testing.F) {
	c := defaultCat(f)
	for _, b := range c.Bases {
		for _, p := range b.Parameters {
			body, err := json.Marshal(queryFor(b, p, b.Fields, b.ConsentRequired))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(body)
		}
	}
	for _, s := range []string{
		exampleBody,
		``, `{`, `null`, `[]`, `{}`, `{"case":1}`, `{"search":null,"fields":null}`,
		`{"case":"a","case":"b"}`, `{"Case":"a"}`, `{"surname":"x"}`, `{} {}`, `{"case":"a"}x`,
		`{"search":{"unzr":"19900514-01233","rnokpp":"3300612300"}}`,
		`{"search":{"address":{}},"applicant":{}}`,
		`{"fields":["surname","surname",""]}`,
		`{"case":"\u0000","purpose":{"text":"\ud800"}}`,
		"{\"case\":\"\xff\"}",
		`{"official":{"id":"a b"},"search":{"name_birth_date":{"surname":"1","given_names":"","birth_date":"0000-02-29"}}}`,
		`{"search":{"unzr":"` + strings.Repeat("9", 200) + `"}}`,
		`{"fields":[[[[[[[[[[]]]]]]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		q, err := ParseQuery(body)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || len(qe.Problems) == 0 {
				t.Fatalf("error %v is not a *QueryError with problems", err)
			}
			if qe.Reason != ReasonMalformed && qe.Reason != ReasonIncomplete {
				t.Fatalf("parse error with reason %s", qe.Reason)
			}
			if !reflect.DeepEqual(q, Query{}) {
				t.Fatal("a query returned with an error")
			}
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("parsed query does not validate: %v", err)
		}
		if n := len(q.Search.Sets()); n != 1 {
			t.Fatalf("parsed query with %d parameter sets", n)
		}
		// Re-marshalled, it parses to the same query.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(q); err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := ParseQuery(buf.Bytes())
		if err != nil {
			t.Fatalf("re-marshalled query refused: %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(q, again) {
			t.Fatalf("round trip changed the query:\n%+v\n%+v", q, again)
		}
		// Whatever it asks, a decision is one of the reasons, and a grant
		// never exceeds its basis.
		for _, r := range []Requester{{Org: "SYN-SOC-0001"}, {Category: "notary"}, {Category: "e_services_portal"}} {
			d := Decide(c, r, q, testNow)
			if d.Granted {
				b, _ := c.Basis(d.Basis)
				for _, fl := range d.Fields {
					if !slices.Contains(b.Fields, fl) {
						t.Fatalf("granted %s outside basis %s", fl, b.Code)
					}
				}
				if d.Reason != "" {
					t.Fatalf("granted with reason %s", d.Reason)
				}
			} else if !slices.Contains(Reasons(), d.Reason) || d.Detail == "" {
				t.Fatalf("refusal %+v", d)
			}
		}
	})
}

func FuzzLoadCatalogue(f *testing.F) {
	f.Add(defaultCatalogue)
	f.Add([]byte(testCatalogue))
	for _, s := range []string{
		``, `---`, `version: x`, `[]`, `{}`, `version: [`, "a: &a [*a]", `bases: [{code: x}]`,
		`{"version": "j1", "bases": [{"code": "j", "law": "L", "article": "A", "valid_from": "2024-01-01", "requesters": {"orgs": ["O"]}, "parameters": ["address"], "fields": ["surname"], "sources": ["eddr"], "consent_required": true, "purpose": "P", "purpose_ids": ["p"]}]}`,
		strings.Replace(testCatalogue, "valid_to: 2024-12-31", "valid_to: 2023-12-31", 1),
		strings.Replace(testCatalogue, "fields: [surname, birth_date]", "fields: &f [surname]\n    purpose_ids_x: *f", 1),
		testCatalogue + "---\nx: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalidCatalogue) {
				t.Fatalf("error %v does not wrap ErrInvalidCatalogue", err)
			}
			return
		}
		if c.Version == "" || len(c.Bases) == 0 {
			t.Fatalf("accepted a catalogue without version or bases: %+v", c)
		}
		for _, b := range c.Bases {
			if got, ok := c.Basis(b.Code); !ok || !reflect.DeepEqual(got, b) {
				t.Fatalf("basis %q not found by its code", b.Code)
			}
			if len(b.Parameters) == 0 || len(b.Fields) == 0 || len(b.Sources) == 0 || len(b.PurposeIDs) == 0 ||
				len(b.Requesters.Orgs)+len(b.Requesters.Categories) == 0 || (b.ValidTo != "" && b.ValidTo < b.ValidFrom) {
				t.Fatalf("accepted an unusable basis %+v", b)
			}
		}
		// Written out again, it loads to the same catalogue.
		out, err := yaml.Marshal(catalogueFile{Version: c.Version, Categories: c.Categories, Bases: c.Bases})
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Load(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-marshalled catalogue refused: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip changed the catalogue:\n%+v\n%+v", c, again)
		}
	})
}
