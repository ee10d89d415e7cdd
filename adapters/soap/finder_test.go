package soapclient_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/reghub/reghub/access"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/eddrsim"
	sim "github.com/reghub/reghub/simulators/upstream"
)

// sims are both simulated upstreams over HTTP, recording the purpose
// header of every request.
type sims struct {
	dmsURL, eddrURL string
	mu              sync.Mutex
	purposes        []string
}

func startSims(t *testing.T) *sims {
	t.Helper()
	s := &sims{}
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path != "/config" && r.URL.Path != "/reset" {
				s.mu.Lock()
				s.purposes = append(s.purposes, r.Header.Get(soapclient.PurposeHeader))
				s.mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}
	d := httptest.NewServer(wrap(dmssim.New(sim.Config{}, nil).Handler()))
	e := httptest.NewServer(wrap(eddrsim.New(sim.Config{}, nil).Handler()))
	t.Cleanup(d.Close)
	t.Cleanup(e.Close)
	s.dmsURL, s.eddrURL = d.URL+"/dms", e.URL+"/eddr"
	return s
}

func (s *sims) base(src access.Source) string {
	if src == access.SourceDMS {
		return s.dmsURL[:len(s.dmsURL)-len("/dms")]
	}
	return s.eddrURL[:len(s.eddrURL)-len("/eddr")]
}

// apply delivers the synthetic declaration of upstream_test.go to both
// simulators with the real Senders.
func (s *sims) apply(t *testing.T) {
	t.Helper()
	senders := soapclient.NewSenders(soapclient.Config{DMSURL: s.dmsURL, EDDRURL: s.eddrURL, RegistrationBody: registrationBody}, nil)
	for dest, snd := range senders {
		r, err := snd.Send(t.Context(), message(dest, outbox.StageSend, ""))
		if err != nil || r.Kind != outbox.ReplyAcknowledged {
			t.Fatalf("send to %s: %+v, %v", dest, r, err)
		}
	}
}

// who asks: the lookups carry them as userId, issue and Uxp-Purpose-Ids.
var caller = access.FindRequest{Official: "SYN-OFF-0042", Case: "SYN-2026/0001", Purpose: "notarial-act-preparation"}

func asked(search access.Search, param access.ParamSet) access.FindRequest {
	r := caller
	r.Search, r.Param = search, param
	return r
}

// declared is the declaration of upstream_test.go as either upstream
// answers it, under the catalogue's field names and the keys the local
// source uses (access.RecordOf).
var declared = map[string]any{
	access.FieldSurname:     "Вигаденко",
	access.FieldGivenNames:  "Олеся",
	access.FieldPatronymic:  "Тестівна",
	access.FieldBirthDate:   "1988-04-12",
	access.FieldSex:         "F",
	access.FieldCitizenship: "UKR",
	access.FieldUNZR:        "19880412-07347",
	access.FieldRNOKPP:      "3224401240",
	access.FieldDocument: map[string]any{
		"type": "id_card", "number": "009876543", "issued_on": "2019-06-03", "issuer": "1299",
	},
	access.FieldAddress: map[string]any{
		"katottg": "UA12060190010000123", "street": "вул. Вигадана", "building": "17", "apartment": "42",
	},
	access.FieldRegistrationKind: "declared_residence",
	access.FieldRegistrationDate: "2025-03-14",
}

// TestFindersAgainstSimulators: after a declaration was delivered, both
// finders find the person by each parameter set, with the same record, and
// the lookups carry the caller's official, case and purpose.
func TestFindersAgainstSimulators(t *testing.T) {
	s := startSims(t)
	s.apply(t)
	finders := soapclient.NewFinders(soapclient.Config{DMSURL: s.dmsURL, EDDRURL: s.eddrURL, Timeout: 5 * time.Second}, nil)
	if len(finders) != 2 {
		t.Fatalf("finders %v", finders)
	}
	ctx := t.Context()
	searches := map[access.ParamSet]access.Search{
		access.ParamUNZR:   {UNZR: "19880412-07347"},
		access.ParamRNOKPP: {RNOKPP: "3224401240"},
		access.ParamNameBirthDate: {NameBirthDate: &access.NameBirthDate{
			Surname: "Вигаденко", GivenNames: "Олеся", BirthDate: "1988-04-12"}},
	}
	for _, src := range []access.Source{access.SourceDMS, access.SourceEDDR} {
		for param, search := range searches {
			found, err := finders[src].Find(ctx, asked(search, param))
			if err != nil {
				t.Fatalf("%s by %s: %v", src, param, err)
			}
			if len(found) != 1 || found[0].Person != "unzr:19880412-07347" {
				t.Fatalf("%s by %s: %+v", src, param, found)
			}
			if !reflect.DeepEqual(found[0].Record, declared) {
				t.Errorf("%s by %s: record\n got %#v\nwant %#v", src, param, found[0].Record, declared)
			}
		}
		found, err := finders[src].Find(ctx, asked(access.Search{UNZR: "19880412-07355"}, access.ParamUNZR))
		if err != nil || found == nil || len(found) != 0 {
			t.Errorf("%s, nobody: %+v, %v", src, found, err)
		}

		in, err := sim.Inspect(t.Context(), s.base(src))
		if err != nil {
			t.Fatal(err)
		}
		if in.LookupCount != 4 {
			t.Fatalf("%s: %d lookups, want 4", src, in.LookupCount)
		}
		want := map[access.Source]string{access.SourceDMS: "/ExtractPerson/v1", access.SourceEDDR: "/LookupPerson/v1"}[src]
		for _, l := range in.Lookups {
			if l.UserID != caller.Official || l.Issue != caller.Case || l.Client != mapping.DefaultClient.String() ||
				len(l.Service) < len(want) || l.Service[len(l.Service)-len(want):] != want {
				t.Errorf("%s: lookup %+v", src, l)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.purposes[2:] { // after the two deliveries
		if p != caller.Purpose {
			t.Errorf("request %d: %s %q, want %q", i, soapclient.PurposeHeader, p, caller.Purpose)
		}
	}
}

// TestFinderWithoutCaller: with no official, case or purpose, a lookup goes out
// without userId, issue and purpose, and still works.
func TestFinderWithoutCaller(t *testing.T) {
	s := startSims(t)
	s.apply(t)
	f := soapclient.NewDMSFinder(soapclient.Config{DMSURL: s.dmsURL}, nil)
	found, err := f.Find(t.Context(), access.FindRequest{Search: access.Search{UNZR: "19880412-07347"}, Param: access.ParamUNZR})
	if err != nil || len(found) != 1 {
		t.Fatalf("%+v, %v", found, err)
	}
	in, err := sim.Inspect(t.Context(), s.base(access.SourceDMS))
	if err != nil {
		t.Fatal(err)
	}
	if l := in.Lookups[0]; l.UserID != "" || l.Issue != "" {
		t.Fatalf("lookup %+v", l)
	}
}

// TestFinderErrors: what says a source is down wraps
// access.ErrSourceUnavailable (the query waits); a refusal of the request
// itself, and a search the lookup cannot run, do not (the query fails).
func TestFinderErrors(t *testing.T) {
	s := startSims(t)
	s.apply(t)
	search := access.Search{UNZR: "19880412-07347"}
	tests := []struct {
		name        string
		cfg         sim.Config
		unavailable bool
	}{
		{"outage 503", sim.Config{Outage: true}, true},
		{"outage, connection dropped", sim.Config{Outage: true, OutageClose: true}, true},
		{"HTTP 503", sim.Config{ErrorRate: 1}, true},
		{"SOAP Server fault", sim.Config{ServerFaultRate: 1}, true},
		{"malformed answer", sim.Config{MalformedRate: 1}, true},
		{"timeout", sim.Config{Latency: 2 * time.Second}, true},
		{"SOAP Client fault", sim.Config{ClientFaultRate: 1}, false},
	}
	for _, src := range []access.Source{access.SourceDMS, access.SourceEDDR} {
		f := soapclient.NewFinders(soapclient.Config{DMSURL: s.dmsURL, EDDRURL: s.eddrURL, Timeout: 300 * time.Millisecond}, nil)[src]
		for _, tc := range tests {
			t.Run(string(src)+"/"+tc.name, func(t *testing.T) {
				if err := sim.SetConfig(t.Context(), s.base(src), tc.cfg); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = sim.SetConfig(t.Context(), s.base(src), sim.Config{}) })
				found, err := f.Find(t.Context(), asked(search, access.ParamUNZR))
				if err == nil {
					t.Fatalf("found %+v", found)
				}
				if got := errors.Is(err, access.ErrSourceUnavailable); got != tc.unavailable {
					t.Fatalf("unavailable = %v, want %v: %v", got, tc.unavailable, err)
				}
			})
		}
		t.Run(string(src)+"/unreachable", func(t *testing.T) {
			cfg := soapclient.Config{Timeout: time.Second}
			if src == access.SourceDMS {
				cfg.DMSURL = closedPortURL(t)
			} else {
				cfg.EDDRURL = closedPortURL(t)
			}
			_, err := soapclient.NewFinders(cfg, nil)[src].Find(t.Context(), asked(search, access.ParamUNZR))
			if !errors.Is(err, access.ErrSourceUnavailable) {
				t.Fatalf("%v", err)
			}
		})
		t.Run(string(src)+"/by address", func(t *testing.T) {
			addr := access.Search{Address: &access.Address{KATOTTG: "UA12060190010000123", Street: "вул. Вигадана", Building: "17"}}
			_, err := f.Find(t.Context(), asked(addr, access.ParamAddress))
			if err == nil || errors.Is(err, access.ErrSourceUnavailable) || !errors.Is(err, mapping.ErrUnsupportedSearch) {
				t.Fatalf("%v", err)
			}
		})
	}
}
