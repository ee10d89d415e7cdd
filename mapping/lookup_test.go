package mapping_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
)

// lookupMeta is a routed query's lookup: synthetic official and case.
var lookupMeta = mapping.LookupMeta{
	MessageID: "0195a3c1-7a2b-7c3d-8e4f-000000000201",
	Official:  "SYN-OFF-0042",
	Case:      "SYN-2026/0001",
}

// lookupSearches are the searches both lookups run; each golden is
// testdata/lookup.<name>.<dest>.xml.
var lookupSearches = []struct {
	name   string
	search access.Search
}{
	{"unzr", access.Search{UNZR: "19880412-07347"}},
	{"rnokpp", access.Search{RNOKPP: "3224401240"}},
	{"name_birth_date", access.Search{NameBirthDate: &access.NameBirthDate{
		Surname: "Вигаденко", GivenNames: "Олеся", Patronymic: "Тестівна", BirthDate: "1988-04-12"}}},
}

func mapLookup(t *testing.T, s access.Search) []mapped {
	t.Helper()
	id := mapping.DefaultIdentity()
	d, err := mapping.ToDMSExtract(s, lookupMeta)
	if err != nil {
		t.Fatalf("ToDMSExtract: %v", err)
	}
	e, err := mapping.ToEDDRLookup(s, lookupMeta)
	if err != nil {
		t.Fatalf("ToEDDRLookup: %v", err)
	}
	return []mapped{
		{action.DestMigrationService, d, mapping.LookupHeaders(action.DestMigrationService, id, lookupMeta)},
		{action.DestNationalRegistry, e, mapping.LookupHeaders(action.DestNationalRegistry, id, lookupMeta)},
	}
}

// TestGoldenLookup renders the lookup requests (DMS ExtractPerson, EDDR
// LookupPerson) with their X-Road headers, compares them with the goldens
// (which TestGoldenSchemaValid validates against the WSDLs' schemas), and
// decodes them back the way gowsdl does.
func TestGoldenLookup(t *testing.T) {
	for _, ls := range lookupSearches {
		for _, m := range mapLookup(t, ls.search) {
			t.Run(ls.name+"."+string(m.dest), func(t *testing.T) {
				got, err := mapping.Envelope(m.headers, m.request)
				if err != nil {
					t.Fatal(err)
				}
				compareGolden(t, filepath.Join("testdata", "lookup."+ls.name+"."+string(m.dest)+".xml"), got)
				roundTrip(t, got, m)
			})
		}
	}
}

func TestLookupHeaders(t *testing.T) {
	id := mapping.DefaultIdentity()
	for dest, code := range map[action.Destination]string{
		action.DestMigrationService: "ExtractPerson",
		action.DestNationalRegistry: "LookupPerson",
	} {
		h := mapping.LookupHeaders(dest, id, lookupMeta)
		send := id.Services[dest]
		if h.Service.ServiceCode != code || h.Service.MemberCode != send.MemberCode || h.Service.SubsystemCode != send.SubsystemCode ||
			h.Service.ServiceVersion != send.ServiceVersion {
			t.Errorf("%s: service %+v, want %s at %+v", dest, h.Service, code, send)
		}
		if h.ID != lookupMeta.MessageID || h.UserID != lookupMeta.Official || h.Issue != lookupMeta.Case || h.ProtocolVersion != "4.0" {
			t.Errorf("%s: headers %+v", dest, h)
		}
		if h.Client != id.Client {
			t.Errorf("%s: client %+v, want the hub %+v", dest, h.Client, id.Client)
		}
	}
	if s := id.Services[action.DestMigrationService]; s.ServiceCode != "OtgToDms" {
		t.Errorf("LookupHeaders changed the identity's send service: %+v", s)
	}
}

func TestLookupUnsupported(t *testing.T) {
	for name, s := range map[string]access.Search{
		"address": {Address: &access.Address{KATOTTG: "UA12060190010000123", Street: "вул. Вигадана", Building: "17"}},
		"none":    {},
		"two":     {UNZR: "19880412-07347", RNOKPP: "3224401240"},
	} {
		if _, err := mapping.ToDMSExtract(s, lookupMeta); !errors.Is(err, mapping.ErrUnsupportedSearch) {
			t.Errorf("dms %s: %v, want ErrUnsupportedSearch", name, err)
		}
		if _, err := mapping.ToEDDRLookup(s, lookupMeta); !errors.Is(err, mapping.ErrUnsupportedSearch) {
			t.Errorf("eddr %s: %v, want ErrUnsupportedSearch", name, err)
		}
	}
	bad := access.Search{NameBirthDate: &access.NameBirthDate{Surname: "Вигаденко", GivenNames: "Олеся", BirthDate: "12.04.1988"}}
	if _, err := mapping.ToDMSExtract(bad, lookupMeta); err == nil || errors.Is(err, mapping.ErrUnsupportedSearch) {
		t.Errorf("bad birth date: %v", err)
	}
	if _, err := mapping.ToEDDRLookup(access.Search{UNZR: "19880412-07347"}, mapping.LookupMeta{}); err == nil {
		t.Error("lookup without a message id mapped")
	}
}
