package eddrsim_test

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/eddrsim"
	"github.com/reghub/reghub/simulators/upstream"
)

const katottgC = "UA12020010010045887"

type lookupAnswer struct {
	code    int
	raw     []byte
	headers *xroad.Header
	resp    *eddr.LookupPersonResponse
	fault   *upstream.Fault
}

func lookup(t *testing.T, url string, req *eddr.LookupPerson) lookupAnswer {
	t.Helper()
	h := headers(req.MessageId)
	h.Service.ServiceCode = "LookupPerson"
	h.UserID, h.Issue = "SYN-OFF-0042", "SYN-2026/0001"
	code, raw, err := upstream.PostSOAP(t.Context(), url+"/eddr", eddrsim.ActionLookupPerson, h, req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	a := lookupAnswer{code: code, raw: raw}
	env, err := upstream.DecodeEnvelope(raw, func(n xml.Name) any {
		switch n.Local {
		case "LookupPersonResponse":
			a.resp = new(eddr.LookupPersonResponse)
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

func wantPersons(t *testing.T, a lookupAnswer, n int) []*eddr.RegistryPerson {
	t.Helper()
	if a.code != http.StatusOK || a.resp == nil || len(a.resp.Person) != n {
		t.Fatalf("want HTTP 200 with %d persons, got %d: %s", n, a.code, a.raw)
	}
	return a.resp.Person
}

// TestLookupAfterChanges records changes, then reads the person back with
// LookupPerson.
func TestLookupAfterChanges(t *testing.T) {
	url := start(t, upstream.Config{})
	c := change("e-1", eddr.ChangeTypeRESIDENCE_DECLARED, unzr(31), katottgA)
	c.Person.TaxNumber, c.Person.Patronymic = taxNum, "Petrivna"
	c.Person.DocumentType, c.Person.DocumentNumber, c.Person.DocumentIssuer = "passport", "AB123456", "1299"
	c.Person.DocumentIssued = soap.CreateXsdDate(time.Date(2015, 2, 3, 0, 0, 0, 0, time.UTC), false)
	wantOutcome(t, submit(t, url, c), eddr.OutcomeRECORDED)
	reg := change("e-2", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(31), katottgC)
	reg.Person = c.Person
	reg.EffectiveDate = soap.CreateXsdDate(time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC), false)
	wantOutcome(t, submit(t, url, reg), eddr.OutcomeRECORDED)

	a := lookup(t, url, &eddr.LookupPerson{MessageId: "q-1", TaxNumber: taxNum})
	p := wantPersons(t, a, 1)[0]
	if a.resp.MessageId != "q-1" || a.headers == nil || a.headers.ID != "q-1" || a.headers.UserID != "SYN-OFF-0042" || a.headers.Issue != "SYN-2026/0001" {
		t.Fatalf("answer %s", a.raw)
	}
	id := p.Identity
	if id.Unzr != unzr(31) || id.TaxNumber != taxNum || id.Surname != "Probenko" || id.Patronymic != "Petrivna" ||
		mapping.Day(id.DateOfBirth) != "1985-06-15" || id.DocumentNumber != "AB123456" || mapping.Day(id.DocumentIssued) != "2015-02-03" {
		t.Fatalf("identity %+v", id)
	}
	if *p.ResidenceStatus != eddr.ResidenceStatusREGISTERED || *p.ResidenceKind != eddr.ResidenceKindREGISTERED ||
		p.Address == nil || p.Address.Katottg != katottgC || p.Address.House != "2" || p.PreviousAddress == nil ||
		p.PreviousAddress.Katottg != katottgA || mapping.Day(p.RegisteredOn) != "2025-04-02" || p.EntryNumber != "EDDR-00000002" {
		t.Fatalf("residence %s", a.raw)
	}
	byName := &eddr.LookupPerson{MessageId: "q-2", Surname: "probenko", GivenNames: "Ivanna",
		DateOfBirth: soap.CreateXsdDate(time.Date(1985, 6, 15, 0, 0, 0, 0, time.UTC), false)}
	wantPersons(t, lookup(t, url, byName), 1)
	wantPersons(t, lookup(t, url, &eddr.LookupPerson{MessageId: "q-3", Unzr: unzr(31)}), 1)
	wantPersons(t, lookup(t, url, &eddr.LookupPerson{MessageId: "q-4", Unzr: unzr(32)}), 0)

	wantOutcome(t, submit(t, url, change("e-3", eddr.ChangeTypeRESIDENCE_DEREGISTERED, unzr(31), katottgC)), eddr.OutcomeRECORDED)
	p = wantPersons(t, lookup(t, url, &eddr.LookupPerson{MessageId: "q-5", Unzr: unzr(31)}), 1)[0]
	if *p.ResidenceStatus != eddr.ResidenceStatusDEREGISTERED || p.Address.Katottg != katottgC || mapping.Day(p.DeregisteredOn) != "2025-03-01" {
		t.Fatalf("after deregistration %s", p.Address.Katottg)
	}
	in := inspect(t, url)
	if in.LookupCount != 5 || in.Lookups[0].Parameter != "rnokpp" || in.Lookups[0].UserID != "SYN-OFF-0042" {
		t.Fatalf("lookups %+v", in.Lookups)
	}
}

func TestLookupRefusalsAndFaults(t *testing.T) {
	url := start(t, upstream.Config{})
	for name, req := range map[string]*eddr.LookupPerson{
		"no messageId": {Unzr: unzr(1)},
		"no search":    {MessageId: "q-2"},
		"two sets":     {MessageId: "q-3", Unzr: unzr(1), TaxNumber: taxNum},
	} {
		if a := lookup(t, url, req); a.code != http.StatusInternalServerError || a.fault == nil || !a.fault.IsClient() {
			t.Errorf("%s: want a Client fault, got %d: %s", name, a.code, a.raw)
		}
	}
	// The body's messageId must be the X-Road id.
	h := headers("q-x")
	code, raw, err := upstream.PostSOAP(t.Context(), url+"/eddr", eddrsim.ActionLookupPerson, h, &eddr.LookupPerson{MessageId: "q-y", Unzr: unzr(1)})
	if err != nil || code != http.StatusInternalServerError {
		t.Fatalf("id mismatch: %d %s %v", code, raw, err)
	}
	for i, cfg := range []upstream.Config{{Outage: true}, {ServerFaultRate: 1}} {
		if err := upstream.SetConfig(t.Context(), url, cfg); err != nil {
			t.Fatal(err)
		}
		a := lookup(t, url, &eddr.LookupPerson{MessageId: fmt.Sprint("q-f", i), Unzr: unzr(1)})
		if a.resp != nil || a.code < 500 {
			t.Fatalf("%+v: %d %s", cfg, a.code, a.raw)
		}
	}
	if in := inspect(t, url); in.LookupCount != 0 || in.Faults["outage"] != 1 || in.Faults["server_fault"] != 1 {
		t.Fatalf("inspection %+v", in)
	}
}

func TestLookupGowsdlClient(t *testing.T) {
	url := start(t, upstream.Config{})
	wantOutcome(t, submit(t, url, change("e-1", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(33), katottgA)), eddr.OutcomeRECORDED)
	c := soap.NewClient(url+"/eddr", soap.WithHTTPClient(http.DefaultClient))
	c.SetHeaders(headers("q-g").Elements()...)
	res, err := eddr.NewEddrResidencePort(c).LookupPersonContext(t.Context(), &eddr.LookupPerson{MessageId: "q-g", Unzr: unzr(33)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Person) != 1 || res.Person[0].Identity.Unzr != unzr(33) {
		t.Fatalf("lookup %+v", res)
	}
	_, err = eddr.NewEddrResidencePort(c).LookupPersonContext(t.Context(), &eddr.LookupPerson{MessageId: "q-g"})
	var httpErr *soap.HTTPError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("want *soap.HTTPError 500, got %T %v", err, err)
	}
}
