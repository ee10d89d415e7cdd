package action

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		exampleBody,
		strings.Replace(exampleBody, `"residence.register"`, `"residence.deregister", "deregistration": {"reason": "moved"}`, 1),
		strings.Replace(exampleBody, `"residence.register"`, `"residence.cancel", "cancellation": {"of": "residence.declare", "reason": "помилка"}`, 1),
		strings.Replace(exampleBody, `"rnokpp": "3300612300", `, ``, 1),
		strings.Replace(exampleBody, `"unzr": "19900514-01233", `, ``, 1),
		``,
		`{`,
		`null`,
		`[]`,
		`{}`,
		`{"kind":1}`,
		`{"kind":"residence.register","person":null}`,
		`{"kind":"residence.register","person":{"unzr":"19900514-01233","birth_date":"1990-05-14"}}`,
		`{"kind":"residence.cancel","cancellation":{"of":"residence.cancel"}}`,
		`{"person":{"rnokpp":"\u0000"}}`,
		`{"person":{"surname":"\ud800"}}`,
		"{\"kind\":\"\xff\"}",
		`{"kind":"residence.register","KIND":"residence.declare","kind":"x"}`,
		`{"effective_date":"9999-12-31","person":{"birth_date":"0000-02-29"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// A valid example of every kind beyond the core ones, and of a
	// cancellation of each cancellable kind.
	for _, m := range []func(*Submission){exclude, stay, change, correct, death, addressChange,
		cancelOf(KindStayRegister, CancelViolationOfLaw), cancelOf(KindChange, CancelDocumentInvalid),
		cancelOf(KindDeregisterDeath, CancelCivilRecordAnnulled)} {
		s := baseSubmission(f)
		m(&s)
		body, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, s := range []string{
		`{"kind":"address.change","address_change":{"type":"renumbering","katottg":"UA12060170010076413","previous":{},"new":null}}`,
		`{"kind":"person.correct","correction":{"fields":["surname","surname",""],"previous":{"document":{}}}}`,
		`{"kind":"person.correct","correction":{"fields":[1]}}`,
		`{"kind":"residence.deregister_death","death":{"date":"2026-11-10","certificate":null}}`,
		`{"kind":"residence.cancel","cancellation":{"of":"residence.deregister_death","reason":"document_invalid"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := Parse(body, testNow)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("error %v is not a non-empty *ValidationError", err)
			}
			if s != nil {
				t.Fatal("submission returned with an error")
			}
			_ = err.Error()
			return
		}
		if s == nil {
			t.Fatal("nil submission without error")
		}
		if _, ok := Spec(s.Kind); !ok {
			t.Fatalf("accepted unknown kind %q", s.Kind)
		}
		if s.Kind == KindAddressChange {
			// No person: the queue is the community's.
			if k := s.PersonKey(); k != "address:"+s.AddressChange.KATOTTG || !ValidKATOTTG(s.AddressChange.KATOTTG) {
				t.Fatalf("accepted address change keyed %q", k)
			}
			if s.Person != (Person{}) {
				t.Fatal("accepted address change with a person")
			}
		} else if k := s.PersonKey(); !strings.HasPrefix(k, "unzr:") && !strings.HasPrefix(k, "rnokpp:") {
			t.Fatalf("accepted without a person identifier: %q", k)
		}
		if s.Cancellation != nil {
			if spec, _ := Spec(s.Cancellation.Of); !slices.Contains(spec.CancelReasons, s.Cancellation.Reason) {
				t.Fatalf("accepted cancellation of %s on ground %q", s.Cancellation.Of, s.Cancellation.Reason)
			}
		}
		if s.Person.UNZR != "" && ValidUNZR(s.Person.UNZR) != nil {
			t.Fatalf("accepted invalid УНЗР %q", s.Person.UNZR)
		}
		if s.Person.RNOKPP != "" && !ValidRNOKPP(s.Person.RNOKPP) {
			t.Fatalf("accepted invalid РНОКПП %q", s.Person.RNOKPP)
		}
		// An accepted body hashes for the idempotency check (a failure there
		// would be a 500), and its hash ignores layout.
		hash, err := bodyHash(body)
		if err != nil {
			t.Fatalf("accepted body does not hash: %v", err)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, body, "", "\t"); err != nil {
			t.Fatalf("accepted body is not JSON: %v", err)
		}
		if again, err := bodyHash(indented.Bytes()); err != nil || !bytes.Equal(again, hash) {
			t.Fatalf("re-indented body hashes differently (%v)", err)
		}
		// What was accepted, re-encoded, is accepted again.
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(again, testNow); err != nil {
			t.Fatalf("re-encoded submission rejected: %v\n%s", err, again)
		}
	})
}
