package mapping_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/routing"
	"github.com/reghub/reghub/test/openapitest"
)

// militaryFixtures are the kinds told to the military enlistment centre:
// each is the common fixture testdata/submissions/<kind>.json with the
// person put on the military register as below, and its golden is
// testdata/military.<kind>.json.
var militaryFixtures = []struct {
	kind      action.Kind
	status    string
	regNumber string
}{
	{action.KindDeclare, action.MilitaryConscript, ""},
	{action.KindRegister, action.MilitaryLiable, "SYN-MIL-0000202"},
	{action.KindChange, action.MilitaryReservist, "SYN-MIL-0000303"},
	{action.KindDeregister, action.MilitaryLiable, "SYN-MIL-0000404"},
	{action.KindDeregisterDeath, action.MilitaryReservist, "SYN-MIL-0000505"},
}

// loadMilitaryFixture is a common fixture with the military status set,
// validated as the hub validates a submission.
func loadMilitaryFixture(t *testing.T, kind action.Kind, status, regNumber string) *action.Submission {
	t.Helper()
	s := loadFixture(t, string(kind))
	s.Person.MilitaryStatus, s.Person.MilitaryRegNumber = status, regNumber
	body, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	s, err = action.Parse(body, fixedNow)
	if err != nil {
		t.Fatalf("military fixture %s does not validate: %v", kind, err)
	}
	return s
}

func militaryGolden(kind action.Kind) string {
	return filepath.Join("testdata", "military."+string(kind)+".json")
}

// TestMilitaryGolden renders each fixture's notice, compares it with its
// golden, decodes the golden back into the very notice, and checks that
// the built-in rules really route the fixture to the centre.
func TestMilitaryGolden(t *testing.T) {
	rules, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, fx := range militaryFixtures {
		t.Run(string(fx.kind), func(t *testing.T) {
			s := loadMilitaryFixture(t, fx.kind, fx.status, fx.regNumber)
			if to := rules.Route(s); !slices.Contains(to, routing.DestMilitary) {
				t.Errorf("the built-in rules route it to %v, not to %s", to, routing.DestMilitary)
			}
			n, err := mapping.ToMilitary(*s, fixedMeta)
			if err != nil {
				t.Fatalf("ToMilitary: %v", err)
			}
			got, err := json.MarshalIndent(n, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, militaryGolden(fx.kind), got)

			// Round trip: the golden decodes, strictly, into the notice.
			raw, err := os.ReadFile(militaryGolden(fx.kind))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			var back mapping.MilitaryNotice
			if err := dec.Decode(&back); err != nil {
				t.Fatalf("decode golden: %v", err)
			}
			if !reflect.DeepEqual(back, n) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", back, n)
			}
			// What the notice must carry, beyond the golden's bytes.
			if n.Kind != fx.kind || n.Person.MilitaryStatus != fx.status || n.Person.MilitaryRegistrationNumber != fx.regNumber {
				t.Errorf("kind %s, status %s, number %q: not the fixture's", n.Kind, n.Person.MilitaryStatus, n.Person.MilitaryRegistrationNumber)
			}
			if n.MessageID != fixedMeta.MessageID || n.ActionReference != fixedMeta.ActionRef {
				t.Errorf("message id %s, action reference %s: not the meta's", n.MessageID, n.ActionReference)
			}
			if n.Address.KATOTTG != s.Address.KATOTTG || (s.PreviousAddress == nil) != (n.PreviousAddress == nil) {
				t.Errorf("addresses %+v / %+v do not follow the submission's", n.Address, n.PreviousAddress)
			}
		})
	}
}

// TestMilitaryFixturesCoverRoutedKinds: the kinds the built-in rules send
// to the centre are exactly the kinds ToMilitary maps, each has a fixture,
// and every testdata/military.*.json is a fixture's golden.
func TestMilitaryFixturesCoverRoutedKinds(t *testing.T) {
	rules, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	var routed []action.Kind
	for _, r := range rules.Rules {
		if !slices.Contains(r.To, routing.DestMilitary) {
			continue
		}
		for _, k := range r.Kinds {
			if k == "*" {
				t.Fatalf("rule %q sends every kind to %s: the notice maps only some", r.Name, routing.DestMilitary)
			}
			routed = append(routed, action.Kind(k))
		}
	}
	slices.Sort(routed)
	mapped := mapping.MilitaryKinds()
	slices.Sort(mapped)
	if !slices.Equal(slices.Compact(routed), mapped) {
		t.Errorf("the rules send %v to %s; ToMilitary maps %v", routed, routing.DestMilitary, mapped)
	}
	var fixtures []action.Kind
	for _, fx := range militaryFixtures {
		fixtures = append(fixtures, fx.kind)
	}
	for _, k := range mapped {
		if !slices.Contains(fixtures, k) {
			t.Errorf("no military fixture of kind %s", k)
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "military.*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		k := action.Kind(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "military."), ".json"))
		if !slices.Contains(fixtures, k) {
			t.Errorf("%s is not a military fixture's golden", f)
		}
	}
}

// TestToMilitaryRefuses: what should never have been routed to the centre,
// or cannot be told to it, is a mapping error that names the field and not
// the value.
func TestToMilitaryRefuses(t *testing.T) {
	ok := func() action.Submission {
		return *loadMilitaryFixture(t, action.KindRegister, action.MilitaryLiable, "SYN-MIL-0000202")
	}
	cases := []struct {
		name    string
		change  func(s *action.Submission, m *mapping.Meta)
		want    string
		unknown bool
	}{
		{"not on the register", func(s *action.Submission, _ *mapping.Meta) { s.Person.MilitaryStatus = action.MilitaryNotLiable }, "person.military_status", false},
		{"no military status", func(s *action.Submission, _ *mapping.Meta) { s.Person.MilitaryStatus = "" }, "person.military_status", false},
		{"a kind the centre is not told of", func(s *action.Submission, _ *mapping.Meta) { s.Kind = action.KindExclude }, "no mapping", true},
		{"a cancellation", func(s *action.Submission, _ *mapping.Meta) { s.Kind = action.KindCancel }, "no mapping", true},
		{"no address", func(s *action.Submission, _ *mapping.Meta) { s.Address = nil }, "address is required", false},
		{"no identifier", func(s *action.Submission, _ *mapping.Meta) { s.Person.UNZR, s.Person.RNOKPP = "", "" }, "person.unzr or person.rnokpp", false},
		{"bad birth date", func(s *action.Submission, _ *mapping.Meta) { s.Person.BirthDate = "12.04.1988" }, "person.birth_date", false},
		{"unknown sex", func(s *action.Submission, _ *mapping.Meta) { s.Person.Sex = "X" }, "person.sex", false},
		{"no message id", func(_ *action.Submission, m *mapping.Meta) { m.MessageID = "" }, "message id", false},
		{"no registration body", func(_ *action.Submission, m *mapping.Meta) { m.RegistrationBody = mapping.RegistrationBody{} }, "registration body code", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, m := ok(), fixedMeta
			tc.change(&s, &m)
			_, err := mapping.ToMilitary(s, m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
			if errors.Is(err, mapping.ErrUnknownKind) != tc.unknown {
				t.Errorf("errors.Is(err, ErrUnknownKind) = %v, want %v", !tc.unknown, tc.unknown)
			}
			if strings.Contains(err.Error(), action.MilitaryNotLiable) || strings.Contains(err.Error(), "12.04.1988") {
				t.Errorf("the error echoes a personal value: %v", err)
			}
		})
	}
}

// The contract, and where a notification is posted.
const (
	militaryContractPath = "../schemas/military/military.yaml"
	militaryURL          = "http://centre.invalid/v1/registrations/notifications"
)

// TestMilitaryGoldenMatchesContract: every golden is a valid request body
// of the contract, and the contract does refuse a notice it must refuse.
func TestMilitaryGoldenMatchesContract(t *testing.T) {
	_, router := openapitest.Load(t, militaryContractPath)
	for _, fx := range militaryFixtures {
		raw, err := os.ReadFile(militaryGolden(fx.kind))
		if err != nil {
			t.Fatal(err)
		}
		if err := openapitest.ValidatePost(t, router, militaryURL, fixedMeta.MessageID, raw); err != nil {
			t.Errorf("%s does not match schemas/military/military.yaml: %v", militaryGolden(fx.kind), err)
		}
	}
	n, err := mapping.ToMilitary(*loadMilitaryFixture(t, action.KindDeclare, action.MilitaryConscript, ""), fixedMeta)
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(n *mapping.MilitaryNotice){
		"not on the register": func(n *mapping.MilitaryNotice) { n.Person.MilitaryStatus = action.MilitaryNotLiable },
		"another kind":        func(n *mapping.MilitaryNotice) { n.Kind = action.KindExclude },
		"no identifier":       func(n *mapping.MilitaryNotice) { n.Person.UNZR, n.Person.RNOKPP = "", "" },
		"no katottg":          func(n *mapping.MilitaryNotice) { n.Address.KATOTTG = "" },
	} {
		bad := n
		change(&bad)
		body, err := json.Marshal(bad)
		if err != nil {
			t.Fatal(err)
		}
		if openapitest.ValidatePost(t, router, militaryURL, fixedMeta.MessageID, body) == nil {
			t.Errorf("%s: the contract accepts it", name)
		}
	}
}
