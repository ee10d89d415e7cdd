package mapping_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/schemas/xroad"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedNow is "today" for validating the fixtures.
var fixedNow = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// fixtures are the synthetic submissions in testdata/submissions, one per
// kind (an address change per type of change) and cancellation target; each
// golden is testdata/<fixture>.<dest>.xml. TestFixturesCoverEveryKind keeps
// the list complete.
var fixtures = []string{
	"residence.declare",
	"residence.register",
	"residence.deregister",
	"residence.cancel.declare",
	"residence.cancel.register",
	"residence.cancel.deregister",
	"residence.exclude",
	"stay.register",
	"residence.change",
	"person.correct",
	"residence.deregister_death",
	"address.change.street_renamed",
	"address.change.renumbering",
	"address.change.settlement_renamed",
	"residence.cancel.stay.register",
	"residence.cancel.change",
	"residence.cancel.deregister_death",
}

// TestFixturesCoverEveryKind: every kind, and a cancellation of every
// cancellable kind, has a golden for each of its destinations, and every
// submission in testdata/submissions is a fixture.
func TestFixturesCoverEveryKind(t *testing.T) {
	kinds := map[action.Kind]bool{}
	cancelled := map[action.Kind]bool{}
	for _, name := range fixtures {
		s := loadFixture(t, name)
		kinds[s.Kind] = true
		if s.Cancellation != nil {
			cancelled[s.Cancellation.Of] = true
		}
		spec, _ := action.Spec(s.Kind)
		for _, d := range spec.Destinations {
			if _, err := os.Stat(filepath.Join("testdata", name+"."+string(d)+".xml")); err != nil {
				t.Errorf("%s to %s: no golden: %v", name, d, err)
			}
		}
	}
	for _, k := range action.Kinds() {
		if !kinds[k] {
			t.Errorf("no fixture of kind %s", k)
		}
	}
	for _, k := range action.CancellableKinds() {
		if !cancelled[k] {
			t.Errorf("no fixture cancelling a %s", k)
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "submissions", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !slices.Contains(fixtures, name) {
			t.Errorf("%s is not in fixtures", f)
		}
	}
}

var fixedMeta = mapping.Meta{
	MessageID:  "0195a3c1-7a2b-7c3d-8e4f-000000000101",
	ActionRef:  "RH-0195a3c1-7a2b-7c3d-8e4f-000000000100",
	StatusTime: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC),
	RegistrationBody: mapping.RegistrationBody{
		Code: "99999901",
		Name: "Відділ реєстрації місця проживання (вигаданий)",
	},
}

// loadFixture reads a submission and checks it passes the hub's own
// validation, so the goldens show only messages the hub could really send.
func loadFixture(t *testing.T, name string) *action.Submission {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "submissions", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := action.Parse(body, fixedNow)
	if err != nil {
		t.Fatalf("fixture %s does not validate: %v", name, err)
	}
	return s
}

// mapped is one rendered request of a fixture.
type mapped struct {
	dest    action.Destination
	request any
	headers xroad.Headers
}

func mapFixture(t *testing.T, s *action.Submission) []mapped {
	t.Helper()
	id := mapping.DefaultIdentity()
	d, err := mapping.ToDMS(s, fixedMeta)
	if err != nil {
		t.Fatalf("ToDMS: %v", err)
	}
	e, err := mapping.ToEDDR(s, fixedMeta)
	if err != nil {
		t.Fatalf("ToEDDR: %v", err)
	}
	return []mapped{
		{action.DestMigrationService, d, mapping.Headers(action.DestMigrationService, id, fixedMeta, s.Official)},
		{action.DestNationalRegistry, e, mapping.Headers(action.DestNationalRegistry, id, fixedMeta, s.Official)},
	}
}

func TestGolden(t *testing.T) {
	for _, name := range fixtures {
		s := loadFixture(t, name)
		for _, m := range mapFixture(t, s) {
			t.Run(name+"."+string(m.dest), func(t *testing.T) {
				got, err := mapping.Envelope(m.headers, m.request)
				if err != nil {
					t.Fatal(err)
				}
				compareGolden(t, filepath.Join("testdata", name+"."+string(m.dest)+".xml"), got)
			})
		}
	}
}

// TestGoldenStatus covers the poll requests.
func TestGoldenStatus(t *testing.T) {
	official := action.Official{ID: "reg-officer-0042"}
	id := mapping.DefaultIdentity()
	d, err := mapping.ToDMSStatus(fixedMeta, "DMS-RCPT-000777")
	if err != nil {
		t.Fatal(err)
	}
	e, err := mapping.ToEDDRStatus(fixedMeta, "EDDR-TKT-000888")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []mapped{
		{action.DestMigrationService, d, mapping.StatusHeaders(action.DestMigrationService, id, fixedMeta, official)},
		{action.DestNationalRegistry, e, mapping.StatusHeaders(action.DestNationalRegistry, id, fixedMeta, official)},
	} {
		t.Run(string(m.dest), func(t *testing.T) {
			got, err := mapping.Envelope(m.headers, m.request)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "status."+string(m.dest)+".xml"), got)
			roundTrip(t, got, m)
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./mapping -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered envelope (go test ./mapping -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestRoundTrip decodes each rendered envelope the way gowsdl decodes a
// message and expects the very request and headers that were rendered.
func TestRoundTrip(t *testing.T) {
	for _, name := range fixtures {
		s := loadFixture(t, name)
		for _, m := range mapFixture(t, s) {
			t.Run(name+"."+string(m.dest), func(t *testing.T) {
				raw, err := mapping.Envelope(m.headers, m.request)
				if err != nil {
					t.Fatal(err)
				}
				roundTrip(t, raw, m)
			})
		}
	}
}

func roundTrip(t *testing.T, raw []byte, m mapped) {
	t.Helper()
	// A fresh value of the request's type for gowsdl's envelope decoder.
	got := reflect.New(reflect.TypeOf(m.request).Elem()).Interface()
	env := soap.SOAPEnvelopeResponse{Body: soap.SOAPBodyResponse{Content: got, Fault: &soap.SOAPFault{}}}
	if err := xml.Unmarshal(raw, &env); err != nil {
		t.Fatalf("decode body: %v", err)
	}
	if err := env.Body.ErrorFromFault(); err != nil {
		t.Fatalf("decoded a fault: %v", err)
	}
	if !reflect.DeepEqual(got, m.request) {
		t.Errorf("body round trip differs:\n got %s\nwant %s", dump(got), dump(m.request))
	}
	var hdr struct {
		Header xroad.Header `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	}
	if err := xml.Unmarshal(raw, &hdr); err != nil {
		t.Fatalf("decode header: %v", err)
	}
	if h := hdr.Header.Headers(); h != m.headers {
		t.Errorf("header round trip differs:\n got %+v\nwant %+v", h, m.headers)
	}
}

func dump(v any) string {
	switch r := v.(type) {
	case *dms.OtgToDmsRequest:
		if r.Person == nil {
			return fmt.Sprintf("%+v", *r)
		}
		return fmt.Sprintf("%+v person=%+v", *r, *r.Person)
	case *eddr.SubmitResidenceChange:
		if r.Person == nil {
			return fmt.Sprintf("%+v", *r)
		}
		return fmt.Sprintf("%+v person=%+v", *r, *r.Person)
	}
	return fmt.Sprintf("%+v", v)
}
