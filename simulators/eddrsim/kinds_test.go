package eddrsim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/simulators/upstream"
)

const katottgB = "UA12020010010045887"

func date(y int, m time.Month, d int) soap.XSDDate {
	return soap.CreateXsdDate(time.Date(y, m, d, 0, 0, 0, 0, time.UTC), false)
}

// kindChange is change with what ct needs beyond the core fields (synthetic data).
func kindChange(id string, ct eddr.ChangeType, person, katottg string) *eddr.SubmitResidenceChange {
	c := change(id, ct, person, katottg)
	switch ct {
	case eddr.ChangeTypeRESIDENCE_EXCLUDED:
		c.BasisDocument = &eddr.BasisDocument{DocumentType: "заява власника житла"}
	case eddr.ChangeTypeRESIDENCE_CHANGED:
		c.PreviousAddress = &eddr.ResidenceAddress{Katottg: katottgA, Street: "Testova", House: "2"}
	case eddr.ChangeTypeIDENTITY_CORRECTED:
		f := eddr.IdentityFieldGivenNames
		c.Person.GivenNames = "Ivanka"
		c.Correction = &eddr.IdentityCorrection{CorrectedField: []*eddr.IdentityField{&f}, Previous: &eddr.PreviousIdentity{GivenNames: "Ivanna"}}
		c.BasisDocument = &eddr.BasisDocument{DocumentType: "заява особи"}
	case eddr.ChangeTypeRESIDENCE_DEREGISTERED_DEATH:
		t := eddr.DeathDocumentTypeFOREIGN_DEATH_RECORD
		c.Death = &eddr.DeathRecord{DateOfDeath: date(2025, 2, 20), CertificateType: &t, CertificateNumber: "DR00000001",
			CertificateIssued: date(2025, 2, 22), CertificateIssuer: "foreign authority (synthetic)"}
	}
	return c
}

func cancelOf(id string, of eddr.ChangeType, person string) *eddr.SubmitResidenceChange {
	c := change(id, eddr.ChangeTypeRESIDENCE_CANCELLED, person, "")
	c.CancelledChangeType, c.Reason = &of, "помилково внесені відомості"
	return c
}

func TestNewChangeTypes(t *testing.T) {
	url := start(t, upstream.Config{})
	p := unzr(5)
	steps := []struct {
		req    *eddr.SubmitResidenceChange
		want   eddr.Outcome
		reason string
		state  string
	}{
		{kindChange("e-1", eddr.ChangeTypeRESIDENCE_EXCLUDED, p, katottgA), eddr.OutcomeREFUSED, upstream.ReasonNoDeclaredResidence, ""},
		{kindChange("e-2", eddr.ChangeTypeRESIDENCE_DECLARED, p, katottgA), eddr.OutcomeRECORDED, "", upstream.StateDeclared},
		{kindChange("e-3", eddr.ChangeTypeSTAY_REGISTERED, p, katottgB), eddr.OutcomeRECORDED, "", upstream.StateDeclared},
		{kindChange("e-4", eddr.ChangeTypeIDENTITY_CORRECTED, p, ""), eddr.OutcomeRECORDED, "", upstream.StateDeclared},
		{kindChange("e-5", eddr.ChangeTypeRESIDENCE_CHANGED, p, katottgB), eddr.OutcomeRECORDED, "", upstream.StateDeclared},
		{cancelOf("e-6", eddr.ChangeTypeRESIDENCE_CHANGED, p), eddr.OutcomeRECORDED, "", upstream.StateDeclared},
		{kindChange("e-7", eddr.ChangeTypeRESIDENCE_EXCLUDED, p, katottgA), eddr.OutcomeRECORDED, "", upstream.StateExcluded},
		{kindChange("e-8", eddr.ChangeTypeRESIDENCE_DEREGISTERED_DEATH, p, katottgA), eddr.OutcomeREFUSED, upstream.ReasonNoActiveRegistration, upstream.StateExcluded},
		{kindChange("e-9", eddr.ChangeTypeRESIDENCE_REGISTERED, p, katottgA), eddr.OutcomeRECORDED, "", upstream.StateRegistered},
		{kindChange("e-10", eddr.ChangeTypeRESIDENCE_DEREGISTERED_DEATH, p, katottgA), eddr.OutcomeRECORDED, "", upstream.StateDeceased},
		{kindChange("e-11", eddr.ChangeTypeSTAY_REGISTERED, p, katottgB), eddr.OutcomeREFUSED, upstream.ReasonPersonDeceased, upstream.StateDeceased},
		{cancelOf("e-12", eddr.ChangeTypeRESIDENCE_DEREGISTERED_DEATH, p), eddr.OutcomeRECORDED, "", upstream.StateRegistered},
	}
	for i, st := range steps {
		resp := wantOutcome(t, submit(t, url, st.req), st.want)
		if resp.RefusalCode != st.reason {
			t.Fatalf("step %d (%s): refusal %q, want %q", i, *st.req.ChangeType, resp.RefusalCode, st.reason)
		}
		ps := inspect(t, url).Persons[p]
		if ps.State != st.state {
			t.Fatalf("step %d (%s): state %q, want %q", i, *st.req.ChangeType, ps.State, st.state)
		}
		if *st.req.ChangeType == eddr.ChangeTypeIDENTITY_CORRECTED && ps.Person.GivenNames != "Ivanka" {
			t.Fatalf("identity after the correction %+v", ps.Person)
		}
	}
	// The cancelled death brings back the residence and the place of stay.
	ps := inspect(t, url).Persons[p]
	if ps.Stay == nil || ps.Stay.Address.Katottg != katottgB || ps.Residence.Address.Katottg != katottgA || ps.Residence.DeathDate != "" {
		t.Fatalf("stay %+v residence %+v", ps.Stay, ps.Residence)
	}
}

func TestAddressChanged(t *testing.T) {
	url := start(t, upstream.Config{})
	wantOutcome(t, submit(t, url, change("e-1", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(1), katottgA)), eddr.OutcomeRECORDED)
	c := change("e-2", eddr.ChangeTypeADDRESS_CHANGED, "", "")
	c.Person = nil
	kind := eddr.DirectoryChangeTypeRENUMBERING
	c.AddressChange = &eddr.AddressDirectoryChange{ChangeKind: &kind, Katottg: katottgA,
		Previous: &eddr.AddressParts{Street: "Testova", House: "2"}, New: &eddr.AddressParts{House: "4"}}
	c.BasisDocument = &eddr.BasisDocument{DocumentType: "рішення виконавчого комітету", DocumentNumber: "2025/7", DocumentDate: date(2025, 2, 1)}
	wantOutcome(t, submit(t, url, c), eddr.OutcomeRECORDED)
	in := inspect(t, url)
	if a := in.Persons[unzr(1)].Residence.Address; a.Building != "4" {
		t.Fatalf("address after the renumbering %+v", a)
	}
	if ch := in.Addresses["address:"+katottgA]; len(ch) != 1 || len(ch[0].Persons) != 1 || ch[0].Change.Type != upstream.AddressRenumbering {
		t.Fatalf("address changes %+v", in.Addresses)
	}
	// Without the change itself, or with a person's key only, it is invalid.
	c2 := change("e-3", eddr.ChangeTypeADDRESS_CHANGED, unzr(1), "")
	c2.BasisDocument = c.BasisDocument
	resp := wantOutcome(t, submit(t, url, c2), eddr.OutcomeREFUSED)
	if resp.RefusalCode != upstream.ReasonInvalidRequest {
		t.Fatalf("refusal %s", resp.RefusalCode)
	}
}

func TestNewChangeTypesMissingFields(t *testing.T) {
	noPrevious := kindChange("e-1", eddr.ChangeTypeRESIDENCE_CHANGED, unzr(1), katottgB)
	noPrevious.PreviousAddress = nil
	noBasis := kindChange("e-2", eddr.ChangeTypeIDENTITY_CORRECTED, unzr(1), "")
	noBasis.BasisDocument = nil
	noDeath := kindChange("e-3", eddr.ChangeTypeRESIDENCE_DEREGISTERED_DEATH, unzr(1), katottgA)
	noDeath.Death.CertificateNumber = ""
	noStayAddress := kindChange("e-4", eddr.ChangeTypeSTAY_REGISTERED, unzr(1), "")
	notCancellable := cancelOf("e-5", eddr.ChangeTypeIDENTITY_CORRECTED, unzr(1))
	for i, c := range []*eddr.SubmitResidenceChange{noPrevious, noBasis, noDeath, noStayAddress, notCancellable} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			url := start(t, upstream.Config{})
			resp := wantOutcome(t, submit(t, url, c), eddr.OutcomeREFUSED)
			if resp.RefusalCode != upstream.ReasonInvalidRequest {
				t.Fatalf("refusal %s (%s)", resp.RefusalCode, resp.RefusalReason)
			}
		})
	}
}
