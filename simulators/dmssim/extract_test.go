package dmssim_test

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/upstream"
)

// extractAnswer is a decoded ExtractPerson answer or fault.
type extractAnswer struct {
	code    int
	raw     []byte
	headers *xroad.Header
	resp    *dms.ExtractPersonResponse
	fault   *upstream.Fault
}

func (s *sim) extract(t *testing.T, id string, req *dms.ExtractPersonRequest) extractAnswer {
	t.Helper()
	h := headers(id)
	h.Service.ServiceCode = "ExtractPerson"
	h.UserID, h.Issue = "SYN-OFF-0042", "SYN-2026/0001"
	code, raw, err := upstream.PostSOAP(t.Context(), s.url+"/dms", dmssim.ActionExtractPerson, h, req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	a := extractAnswer{code: code, raw: raw}
	env, err := upstream.DecodeEnvelope(raw, func(n xml.Name) any {
		switch n.Local {
		case "ExtractPersonResponse":
			a.resp = new(dms.ExtractPersonResponse)
			return a.resp
		case "Fault":
			a.fault = new(upstream.Fault)
			return a.fault
		}
		return nil
	})
	if err == nil {
		a.headers = env.Header
	}
	return a
}

func byUNZR(id, u string) *dms.ExtractPersonRequest {
	return &dms.ExtractPersonRequest{RequestId: id, Unzr: u}
}

func wantPersons(t *testing.T, a extractAnswer, n int) []*dms.ExtractedPerson {
	t.Helper()
	if a.code != http.StatusOK || a.resp == nil {
		t.Fatalf("want HTTP 200 with an extract, got %d: %s", a.code, a.raw)
	}
	if len(a.resp.Person) != n {
		t.Fatalf("%d persons, want %d: %s", len(a.resp.Person), n, a.raw)
	}
	return a.resp.Person
}

// TestExtractAfterActions applies actions, then reads the persons back with
// ExtractPerson: identity, document, the residence in force, its dates and
// kind, the previous address, and how cancellations bring a residence back.
func TestExtractAfterActions(t *testing.T) {
	s := start(t, upstream.Config{})
	a := request("m-1", dms.ActionCodeDECLARE, unzr(21), katottgA)
	a.Person.Rnokpp, a.Person.MiddleName, a.Person.Citizenship = rnokpp, "Testivna", "UKR"
	a.Person.Document = &dms.IdentityDocument{Type_: "id_card", Number: "009876543",
		IssueDate: soap.CreateXsdDate(time.Date(2019, 6, 3, 0, 0, 0, 0, time.UTC), false), Issuer: "1299"}
	wantResult(t, s.submit(t, a), dms.ResultCodeREGISTERED)
	move := request("m-2", dms.ActionCodeREGISTER, unzr(21), katottgB)
	move.Person = a.Person
	move.EffectiveDate = soap.CreateXsdDate(time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC), false)
	wantResult(t, s.submit(t, move), dms.ResultCodeREGISTERED)
	// Someone else of the same name and birth date.
	wantResult(t, s.submit(t, request("m-3", dms.ActionCodeDECLARE, unzr(22), katottgA)), dms.ResultCodeREGISTERED)

	x := s.extract(t, "q-1", byUNZR("q-1", unzr(21)))
	p := wantPersons(t, x, 1)[0]
	if x.resp.RequestId != "q-1" || x.resp.ExtractId != "DMS-E-00000001" || x.resp.FormedAt.ToGoTime().IsZero() {
		t.Fatalf("extract %+v", x.resp)
	}
	if x.headers == nil || x.headers.ID != "q-1" || x.headers.UserID != "SYN-OFF-0042" || x.headers.Issue != "SYN-2026/0001" {
		t.Fatalf("X-Road headers not echoed: %s", x.raw)
	}
	id := p.Person
	if id.Unzr != unzr(21) || id.Rnokpp != rnokpp || id.LastName != "Testenko" || id.FirstName != "Probna" ||
		id.MiddleName != "Testivna" || mapping.Day(id.BirthDate) != "1990-01-01" || id.Gender != "F" || id.Citizenship != "UKR" ||
		id.Document == nil || id.Document.Number != "009876543" || mapping.Day(id.Document.IssueDate) != "2019-06-03" {
		t.Fatalf("identity %+v document %+v", id, id.Document)
	}
	if *p.Status != dms.RegistrationStatusREGISTERED || *p.RegistrationKind != dms.RegistrationKindREGISTERED_RESIDENCE ||
		p.Address == nil || p.Address.Katottg != katottgB || p.Address.Street != "Testova" ||
		p.PreviousAddress == nil || p.PreviousAddress.Katottg != katottgA ||
		mapping.Day(p.RegistrationDate) != "2025-04-02" || mapping.Day(p.DeregistrationDate) != "" ||
		p.RegistrationBody == nil || p.RegistrationBody.Code != "1210400000" || p.RecordId != "DMS-00000002" {
		t.Fatalf("residence %s", x.raw)
	}

	// By name and birth date: both, ordered by key; by RNOKPP: one.
	byName := &dms.ExtractPersonRequest{RequestId: "q-2", LastName: "TESTENKO", FirstName: "probna",
		BirthDate: soap.CreateXsdDate(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), false)}
	ps := wantPersons(t, s.extract(t, "q-2", byName), 2)
	if ps[0].Person.Unzr != unzr(21) || ps[1].Person.Unzr != unzr(22) || *ps[1].Status != dms.RegistrationStatusDECLARED {
		t.Fatalf("by name: %+v %+v", ps[0].Person, ps[1].Person)
	}
	byName.RequestId, byName.MiddleName = "q-3", "Testivna"
	wantPersons(t, s.extract(t, "q-3", byName), 1)
	wantPersons(t, s.extract(t, "q-4", &dms.ExtractPersonRequest{RequestId: "q-4", Rnokpp: rnokpp}), 1)
	wantPersons(t, s.extract(t, "q-5", byUNZR("q-5", unzr(99))), 0)

	// Deregistered: the last address stays, with the date; cancelling the
	// deregistration brings the registration back.
	dereg := request("m-4", dms.ActionCodeDEREGISTER, unzr(21), katottgB)
	dereg.EffectiveDate = soap.CreateXsdDate(time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC), false)
	wantResult(t, s.submit(t, dereg), dms.ResultCodeREGISTERED)
	p = wantPersons(t, s.extract(t, "q-6", byUNZR("q-6", unzr(21))), 1)[0]
	if *p.Status != dms.RegistrationStatusDEREGISTERED || p.Address.Katottg != katottgB || mapping.Day(p.DeregistrationDate) != "2025-05-05" {
		t.Fatalf("after deregistration: %+v", p)
	}
	wantResult(t, s.submit(t, request("m-5", dms.ActionCodeCANCEL_DEREGISTRATION, unzr(21), "")), dms.ResultCodeREGISTERED)
	p = wantPersons(t, s.extract(t, "q-7", byUNZR("q-7", unzr(21))), 1)[0]
	if *p.Status != dms.RegistrationStatusREGISTERED || p.Address.Katottg != katottgB || mapping.Day(p.DeregistrationDate) != "" ||
		mapping.Day(p.RegistrationDate) != "2025-04-02" || p.RecordId != "DMS-00000005" {
		t.Fatalf("after cancelling the deregistration: %+v", p)
	}
	// Cancelling the registration: back to the declaration at A.
	wantResult(t, s.submit(t, request("m-6", dms.ActionCodeCANCEL_REGISTRATION, unzr(21), "")), dms.ResultCodeREGISTERED)
	p = wantPersons(t, s.extract(t, "q-8", byUNZR("q-8", unzr(21))), 1)[0]
	if *p.Status != dms.RegistrationStatusDECLARED || *p.RegistrationKind != dms.RegistrationKindDECLARED_RESIDENCE ||
		p.Address.Katottg != katottgA || p.PreviousAddress != nil {
		t.Fatalf("after cancelling the registration: %+v", p)
	}

	in := s.inspect(t)
	if in.LookupCount != 8 || len(in.Lookups) != 8 || in.AppliedCount != 6 {
		t.Fatalf("lookups %d (%d listed), applied %d", in.LookupCount, len(in.Lookups), in.AppliedCount)
	}
	l := in.Lookups[1]
	if l.ID != "DMS-E-00000002" || l.MessageID != "q-2" || l.Parameter != "name_birth_date" || l.UserID != "SYN-OFF-0042" ||
		l.Issue != "SYN-2026/0001" || len(l.Found) != 2 || l.Client != "SEVDEIR-TEST/GOV/00000001/REGHUB" {
		t.Fatalf("lookup entry %+v", l)
	}
	if ps := in.Persons[unzr(21)]; ps.Person == nil || ps.Person.Surname != "Testenko" || ps.Residence.Address == nil {
		t.Fatalf("person state %+v", ps)
	}
	if err := upstream.Reset(t.Context(), s.url); err != nil {
		t.Fatal(err)
	}
	if in := s.inspect(t); in.LookupCount != 0 || len(in.Lookups) != 0 {
		t.Fatalf("lookups after reset: %+v", in.Lookups)
	}
}

func TestExtractRefusals(t *testing.T) {
	s := start(t, upstream.Config{})
	bd := soap.CreateXsdDate(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), false)
	for name, tc := range map[string]struct {
		id  string
		req *dms.ExtractPersonRequest
	}{
		"requestId is not the X-Road id": {"q-1", byUNZR("q-other", unzr(1))},
		"no requestId":                   {"q-2", &dms.ExtractPersonRequest{Unzr: unzr(1)}},
		"no search":                      {"q-3", &dms.ExtractPersonRequest{RequestId: "q-3"}},
		"two parameter sets":             {"q-4", &dms.ExtractPersonRequest{RequestId: "q-4", Unzr: unzr(1), Rnokpp: rnokpp}},
		"name without birth date":        {"q-5", &dms.ExtractPersonRequest{RequestId: "q-5", LastName: "Testenko", FirstName: "Probna"}},
		"birth date alone":               {"q-6", &dms.ExtractPersonRequest{RequestId: "q-6", BirthDate: bd}},
	} {
		t.Run(name, func(t *testing.T) {
			a := s.extract(t, tc.id, tc.req)
			if a.code != http.StatusInternalServerError || a.fault == nil || !a.fault.IsClient() {
				t.Fatalf("want a Client fault, got %d: %s", a.code, a.raw)
			}
		})
	}
	if in := s.inspect(t); in.LookupCount != 0 || in.ProtocolErrors != 6 {
		t.Fatalf("lookups %d, protocol errors %d", in.LookupCount, in.ProtocolErrors)
	}
}

// TestExtractFaults: lookups go through the same fault knobs as
// submissions.
func TestExtractFaults(t *testing.T) {
	s := start(t, upstream.Config{})
	wantResult(t, s.submit(t, request("m-1", dms.ActionCodeREGISTER, unzr(23), katottgA)), dms.ResultCodeREGISTERED)
	for i, tc := range []struct {
		cfg    upstream.Config
		status int
		server bool
	}{
		{upstream.Config{Outage: true}, http.StatusServiceUnavailable, false},
		{upstream.Config{ErrorRate: 1}, http.StatusServiceUnavailable, false},
		{upstream.Config{ServerFaultRate: 1}, http.StatusInternalServerError, true},
		{upstream.Config{ClientFaultRate: 1}, http.StatusInternalServerError, false},
		{upstream.Config{MalformedRate: 1}, http.StatusOK, false},
	} {
		s.setConfig(t, tc.cfg)
		id := fmt.Sprintf("q-%d", i)
		a := s.extract(t, id, byUNZR(id, unzr(23)))
		if a.code != tc.status || a.resp != nil {
			t.Fatalf("%+v: HTTP %d: %s", tc.cfg, a.code, a.raw)
		}
		if a.code == http.StatusInternalServerError && (a.fault == nil || a.fault.IsServer() != tc.server) {
			t.Fatalf("%+v: fault %s", tc.cfg, a.raw)
		}
	}
	s.setConfig(t, upstream.Config{})
	wantPersons(t, s.extract(t, "q-ok", byUNZR("q-ok", unzr(23))), 1)
	in := s.inspect(t)
	if in.Faults["outage"] != 1 || in.Faults["error"] != 1 || in.Faults["server_fault"] != 1 || in.Faults["client_fault"] != 1 ||
		in.Faults["malformed"] != 1 || in.LookupCount != 1 {
		t.Fatalf("faults %v lookups %d", in.Faults, in.LookupCount)
	}
}

// TestExtractGowsdlClient reads an extract with the generated client, as
// the hub's finder does.
func TestExtractGowsdlClient(t *testing.T) {
	s := start(t, upstream.Config{})
	wantResult(t, s.submit(t, request("m-1", dms.ActionCodeREGISTER, unzr(24), katottgA)), dms.ResultCodeREGISTERED)
	c := soap.NewClient(s.url+"/dms", soap.WithHTTPClient(http.DefaultClient))
	h := headers("q-g")
	h.Service.ServiceCode = "ExtractPerson"
	c.SetHeaders(h.Elements()...)
	res, err := dms.NewOtgToDmsPort(c).ExtractPersonContext(t.Context(), byUNZR("q-g", unzr(24)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Person) != 1 || res.Person[0].Person.Unzr != unzr(24) || *res.Person[0].Status != dms.RegistrationStatusREGISTERED {
		t.Fatalf("extract %+v", res)
	}
	_, err = dms.NewOtgToDmsPort(c).ExtractPersonContext(t.Context(), &dms.ExtractPersonRequest{RequestId: "q-g"})
	var httpErr *soap.HTTPError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("want *soap.HTTPError 500, got %T %v", err, err)
	}
}
