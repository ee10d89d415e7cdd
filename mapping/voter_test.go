package mapping_test

import (
	"encoding/json"
	"encoding/xml"
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
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/schemas/voter"
	"github.com/reghub/reghub/schemas/xroad"
)

// voterFixtures are the synthetic monthly sets to the voter register
// (testdata/voter/<fixture>.json, a monthly.VoterSet as the scheduler
// stores it); each golden is testdata/voter/<fixture>.xml. They live in a
// folder of their own: TestGoldenSchemaValid picks a schema by the
// destination in a golden's name, and knows only the destinations of the
// actions; TestVoterGoldenSchemaValid validates these.
var voterFixtures = []string{
	"full",  // every list filled
	"empty", // a month with nobody in any list
}

func voterPath(name, ext string) string {
	return filepath.Join("testdata", "voter", name+ext)
}

func loadVoterSet(t *testing.T, name string) monthly.VoterSet {
	t.Helper()
	body, err := os.ReadFile(voterPath(name, ".json"))
	if err != nil {
		t.Fatal(err)
	}
	var set monthly.VoterSet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("fixture voter/%s: %v", name, err)
	}
	return set
}

func mapVoter(t *testing.T, set monthly.VoterSet) mapped {
	t.Helper()
	req, err := mapping.ToVoter(set, fixedMeta.RegistrationBody, fixedMeta.MessageID)
	if err != nil {
		t.Fatalf("ToVoter: %v", err)
	}
	return mapped{dest: monthly.DestVoterRegister, request: req,
		headers: mapping.VoterHeaders(mapping.DefaultIdentity(), fixedMeta)}
}

// decodeVoter reads a rendered envelope's body as gowsdl's client decodes
// an answer, and maps it back.
func decodeVoter(t *testing.T, raw []byte) (monthly.VoterSet, mapping.RegistrationBody, string) {
	t.Helper()
	req := new(voter.SubmitVoterSetRequest)
	env := soap.SOAPEnvelopeResponse{Body: soap.SOAPBodyResponse{Content: req, Fault: &soap.SOAPFault{}}}
	if err := xml.Unmarshal(raw, &env); err != nil {
		t.Fatalf("decode body: %v", err)
	}
	if err := env.Body.ErrorFromFault(); err != nil {
		t.Fatalf("decoded a fault: %v", err)
	}
	set, body, id, err := mapping.FromVoter(req)
	if err != nil {
		t.Fatal(err)
	}
	return set, body, id
}

// TestVoterGolden renders each fixture's set, compares it with its golden
// (go test ./mapping -update rewrites them), decodes it back as gowsdl does
// and maps it back to the very set.
func TestVoterGolden(t *testing.T) {
	for _, name := range voterFixtures {
		t.Run(name, func(t *testing.T) {
			set := loadVoterSet(t, name)
			m := mapVoter(t, set)
			got, err := mapping.Envelope(m.headers, m.request)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, voterPath(name, ".xml"), got)
			roundTrip(t, got, m)
			back, body, id := decodeVoter(t, got)
			if !reflect.DeepEqual(back, set) {
				t.Errorf("set round trip differs:\n got %+v\nwant %+v", back, set)
			}
			if body != fixedMeta.RegistrationBody || id != fixedMeta.MessageID {
				t.Errorf("body %+v, set id %q", body, id)
			}
		})
	}
}

// TestVoterFixtures: the full fixture fills every list and every optional
// value somewhere, so the golden shows each element; the empty one has
// three empty lists; every testdata/voter/*.json is a fixture.
func TestVoterFixtures(t *testing.T) {
	full := loadVoterSet(t, "full")
	if len(full.TurningAdult) == 0 || len(full.Registered) == 0 || len(full.Deregistered) == 0 {
		t.Errorf("full: %d turning adult, %d registered, %d deregistered", len(full.TurningAdult), len(full.Registered), len(full.Deregistered))
	}
	var onlyUNZR, onlyRNOKPP, patronymic, block, reason bool
	for _, v := range slices.Concat(full.TurningAdult, full.Registered, full.Deregistered) {
		onlyUNZR = onlyUNZR || v.RNOKPP == ""
		onlyRNOKPP = onlyRNOKPP || v.UNZR == ""
		patronymic = patronymic || v.Patronymic != ""
		block = block || v.Address.Block != ""
		reason = reason || v.Reason != ""
	}
	if !onlyUNZR || !onlyRNOKPP || !patronymic || !block || !reason {
		t.Errorf("full lacks a variant: only УНЗР %v, only РНОКПП %v, patronymic %v, block %v, reason %v", onlyUNZR, onlyRNOKPP, patronymic, block, reason)
	}
	empty := loadVoterSet(t, "empty")
	if len(empty.TurningAdult)+len(empty.Registered)+len(empty.Deregistered) != 0 {
		t.Errorf("empty is not: %+v", empty)
	}
	files, err := filepath.Glob(voterPath("*", ".json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !slices.Contains(voterFixtures, name) {
			t.Errorf("%s is not in voterFixtures", f)
		}
	}
}

// TestVoterRoundTrip: a set built at any instant, in any zone, comes back
// with builtAt in UTC to the nanosecond; absent lists come back empty, not
// nil, as BuildVoterSet makes them.
func TestVoterRoundTrip(t *testing.T) {
	kyiv := time.FixedZone("EEST", 3*60*60)
	set := loadVoterSet(t, "full")
	set.BuiltAt = time.Date(2026, 10, 1, 3, 5, 7, 123456789, kyiv)
	set.Registered = nil
	m := mapVoter(t, set)
	raw, err := mapping.Envelope(m.headers, m.request)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "<builtAt>2026-10-01T00:05:07.123456789Z</builtAt>") {
		t.Errorf("builtAt not in UTC:\n%s", raw)
	}
	if !strings.Contains(string(raw), "<registered></registered>") {
		t.Errorf("an empty list is left out:\n%s", raw)
	}
	back, _, _ := decodeVoter(t, raw)
	want := set
	want.BuiltAt = set.BuiltAt.UTC()
	want.Registered = []monthly.Voter{}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, want)
	}
}

// TestToVoterErrors: a set that cannot be sent is an error naming every
// problem by list and position, never by value.
func TestToVoterErrors(t *testing.T) {
	body := fixedMeta.RegistrationBody
	for _, tt := range []struct {
		name  string
		edit  func(s *monthly.VoterSet)
		body  mapping.RegistrationBody
		setID string
		want  []string
	}{
		{"no set id", func(*monthly.VoterSet) {}, body, "", []string{"set id (message id) is required"}},
		{"no registration body", func(*monthly.VoterSet) {}, mapping.RegistrationBody{Name: "x"}, "id", []string{"registration body code is required"}},
		{"periods", func(s *monthly.VoterSet) { s.Period, s.TurningAdultMonth = "2026-9", "" }, body, "id",
			[]string{"period is not a YYYY-MM month", "turning_adult_month is required"}},
		{"month 13", func(s *monthly.VoterSet) { s.Period = "2026-13" }, body, "id", []string{"period is not a YYYY-MM month"}},
		{"not built", func(s *monthly.VoterSet) { s.BuiltAt = time.Time{} }, body, "id", []string{"built_at is required"}},
		{"voters", func(s *monthly.VoterSet) {
			s.TurningAdult[1].UNZR, s.TurningAdult[1].RNOKPP = "", ""
			s.Registered[0].Sex = "X"
			s.Registered[1].Sex = ""
			s.Registered[1].BirthDate = "28.02.1975"
			s.Deregistered[1].Address = &action.Address{Street: "пров. Умовний"}
			s.Deregistered[1].Date = ""
			s.Deregistered[1].Surname = " "
		}, body, "id", []string{
			"turning_adult[1].unzr or turning_adult[1].rnokpp is required",
			"registered[0].sex has no value at this destination",
			"registered[1].sex is required",
			"registered[1].birth_date is not a YYYY-MM-DD date",
			"deregistered[1].address.katottg is required",
			"deregistered[1].date is required",
			"deregistered[1].surname is required",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := loadVoterSet(t, "full")
			tt.edit(&set)
			req, err := mapping.ToVoter(set, tt.body, tt.setID)
			if err == nil {
				t.Fatalf("mapped: %+v", req)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, personal := range []string{"28.02.1975", "Умовний", "Прикладна"} {
				if strings.Contains(err.Error(), personal) {
					t.Errorf("error %q echoes %q", err, personal)
				}
			}
		})
	}
}

// TestToVoterErrorBounded: a set with a problem in each of many voters
// names the first ones and counts the rest.
func TestToVoterErrorBounded(t *testing.T) {
	set := loadVoterSet(t, "empty")
	for range 500 {
		set.Registered = append(set.Registered, monthly.Voter{UNZR: "19900514-33067", Surname: "Тестенко", GivenNames: "Марко",
			BirthDate: "1990-05-14", Address: &action.Address{KATOTTG: "UA12060170010000321"}, Date: "2026-09-10"})
	}
	_, err := mapping.ToVoter(set, fixedMeta.RegistrationBody, fixedMeta.MessageID)
	if err == nil || !strings.Contains(err.Error(), "registered[19].sex is required; and 480 more") ||
		strings.Contains(err.Error(), "registered[20]") || len(err.Error()) > 2000 {
		t.Errorf("error: %v", err)
	}
}

// TestVoterHeaders: the synthetic voter register service unless one is
// configured; the userId is the hub's system client, no official.
func TestVoterHeaders(t *testing.T) {
	h := mapping.VoterHeaders(mapping.DefaultIdentity(), fixedMeta)
	want := xroad.Headers{Client: mapping.DefaultClient, Service: mapping.DefaultVoterService, ID: fixedMeta.MessageID,
		UserID: monthly.SystemClient, Issue: fixedMeta.ActionRef, ProtocolVersion: xroad.ProtocolVersion}
	if h != want {
		t.Errorf("headers %+v, want %+v", h, want)
	}
	id := mapping.DefaultIdentity()
	configured := xroad.Identifier{ObjectType: "SERVICE", XRoadInstance: "SEVDEIR", MemberClass: "GOV",
		MemberCode: "43210987", SubsystemCode: "DRV", ServiceCode: "SubmitVoterSet", ServiceVersion: "v2"}
	id.Services[monthly.DestVoterRegister] = configured
	if h := mapping.VoterHeaders(id, fixedMeta); h.Service != configured {
		t.Errorf("configured service: %+v, want %+v", h.Service, configured)
	}
}

// TestFromVoterNil: only a nil request is an error.
func TestFromVoterNil(t *testing.T) {
	if _, _, _, err := mapping.FromVoter(nil); err == nil {
		t.Error("a nil request read")
	}
	set, body, id, err := mapping.FromVoter(&voter.SubmitVoterSetRequest{})
	if err != nil || set.TurningAdult == nil || set.Registered == nil || set.Deregistered == nil ||
		!set.BuiltAt.IsZero() || body != (mapping.RegistrationBody{}) || id != "" {
		t.Errorf("an empty request: %+v, %+v, %q, %v", set, body, id, err)
	}
}
