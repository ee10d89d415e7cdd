package dmssim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/simulators/upstream"
)

// Requests of the kinds beyond the core four, as the hub's mapping builds
// them (synthetic data only).

func date(y int, m time.Month, d int) soap.XSDDate {
	return soap.CreateXsdDate(time.Date(y, m, d, 0, 0, 0, 0, time.UTC), false)
}

// kindRequest is request with what code needs beyond the core fields.
func kindRequest(id string, code dms.ActionCode, person, katottg string) *dms.OtgToDmsRequest {
	r := request(id, code, person, katottg)
	switch code {
	case dms.ActionCodeEXCLUDE_DECLARATION:
		r.BasisDocument = &dms.BasisDocument{Type_: "заява власника житла", Number: "17/2025", Date: date(2025, 2, 28)}
	case dms.ActionCodeCHANGE_RESIDENCE:
		r.PreviousAddress = &dms.Address{Katottg: katottgA, Street: "Testova", Building: "1"}
	case dms.ActionCodeCORRECT_PERSON:
		f := dms.PersonFieldLastName
		r.Person.LastName = "Testenko-Nova"
		r.Correction = &dms.Correction{Field: []*dms.PersonField{&f}, Previous: &dms.PreviousPersonData{LastName: "Testenko"}}
		r.BasisDocument = &dms.BasisDocument{Type_: "свідоцтво про шлюб"}
	case dms.ActionCodeDEREGISTER_DEATH:
		t := dms.DeathDocumentTypeDEATH_CERTIFICATE
		r.Death = &dms.Death{DeathDate: date(2025, 2, 20), Certificate: &dms.DeathCertificate{
			Type_: &t, Number: "ІКР000001", IssueDate: date(2025, 2, 21), Issuer: "ДРАЦС (вигаданий)"}}
	}
	return r
}

// addressChange renames street "Testova" (of request's addresses) in katottg.
func addressChange(id, katottg, from, to string) *dms.OtgToDmsRequest {
	r := request(id, dms.ActionCodeADDRESS_CHANGE, "", "")
	r.Person = nil
	typ := dms.AddressChangeTypeSTREET_RENAMED
	r.AddressChange = &dms.AddressChange{Type_: &typ, Katottg: katottg,
		Previous: &dms.AddressNames{Street: from}, New: &dms.AddressNames{Street: to}}
	r.BasisDocument = &dms.BasisDocument{Type_: "рішення міської ради", Number: "2025/1", Date: date(2025, 2, 1)}
	return r
}

func TestNewKindsStateTransitions(t *testing.T) {
	type step struct {
		code   dms.ActionCode
		addr   string
		want   dms.ResultCode
		reason string // of a rejection
		state  string
		at     string
	}
	ok := dms.ResultCodeREGISTERED
	no := dms.ResultCodeREJECTED
	tests := []struct {
		name  string
		steps []step
	}{
		{"exclusion of a declared residence", []step{
			{dms.ActionCodeDECLARE, katottgA, ok, "", upstream.StateDeclared, katottgA},
			{dms.ActionCodeEXCLUDE_DECLARATION, katottgA, ok, "", upstream.StateExcluded, ""},
			{dms.ActionCodeEXCLUDE_DECLARATION, katottgA, no, upstream.ReasonNoDeclaredResidence, upstream.StateExcluded, ""},
			{dms.ActionCodeDEREGISTER, katottgA, no, upstream.ReasonNoActiveRegistration, upstream.StateExcluded, ""},
			{dms.ActionCodeDECLARE, katottgB, ok, "", upstream.StateDeclared, katottgB},
		}},
		{"a registration is not excluded", []step{
			{dms.ActionCodeEXCLUDE_DECLARATION, katottgA, no, upstream.ReasonNoDeclaredResidence, "", ""},
			{dms.ActionCodeREGISTER, katottgA, ok, "", upstream.StateRegistered, katottgA},
			{dms.ActionCodeEXCLUDE_DECLARATION, katottgA, no, upstream.ReasonNoDeclaredResidence, upstream.StateRegistered, katottgA},
		}},
		{"change of residence, cancelled", []step{
			{dms.ActionCodeCHANGE_RESIDENCE, katottgB, no, upstream.ReasonNoActiveRegistration, "", ""},
			{dms.ActionCodeREGISTER, katottgA, ok, "", upstream.StateRegistered, katottgA},
			{dms.ActionCodeCHANGE_RESIDENCE, katottgB, ok, "", upstream.StateRegistered, katottgB},
			{dms.ActionCodeCANCEL_REGISTRATION, "", ok, "", upstream.StateCancelled, ""},
		}},
		{"cancel change restores", []step{
			{dms.ActionCodeDECLARE, katottgA, ok, "", upstream.StateDeclared, katottgA},
			{dms.ActionCodeCHANGE_RESIDENCE, katottgB, ok, "", upstream.StateDeclared, katottgB},
			{dms.ActionCodeCANCEL_CHANGE, "", ok, "", upstream.StateDeclared, katottgA},
			{dms.ActionCodeCANCEL_CHANGE, "", ok, "", upstream.StateDeclared, katottgA}, // nothing to cancel
		}},
		{"death", []step{
			{dms.ActionCodeDEREGISTER_DEATH, katottgA, no, upstream.ReasonNoActiveRegistration, "", ""},
			{dms.ActionCodeREGISTER, katottgA, ok, "", upstream.StateRegistered, katottgA},
			{dms.ActionCodeREGISTER_STAY, katottgB, ok, "", upstream.StateRegistered, katottgA},
			{dms.ActionCodeDEREGISTER_DEATH, katottgA, ok, "", upstream.StateDeceased, ""},
			{dms.ActionCodeREGISTER, katottgB, no, upstream.ReasonPersonDeceased, upstream.StateDeceased, ""},
			{dms.ActionCodeCORRECT_PERSON, "", no, upstream.ReasonPersonDeceased, upstream.StateDeceased, ""},
			{dms.ActionCodeDEREGISTER_DEATH, katottgA, no, upstream.ReasonPersonDeceased, upstream.StateDeceased, ""},
			{dms.ActionCodeCANCEL_REGISTRATION, "", ok, "", upstream.StateDeceased, ""}, // applied, changes nothing
			{dms.ActionCodeCANCEL_DEATH_DEREGISTRATION, "", ok, "", upstream.StateRegistered, katottgA},
		}},
		{"correction", []step{
			{dms.ActionCodeCORRECT_PERSON, "", no, upstream.ReasonUnknownPerson, "", ""},
			{dms.ActionCodeDECLARE, katottgA, ok, "", upstream.StateDeclared, katottgA},
			{dms.ActionCodeCORRECT_PERSON, "", ok, "", upstream.StateDeclared, katottgA},
		}},
		{"stay beside the residence", []step{
			{dms.ActionCodeREGISTER_STAY, katottgB, ok, "", "", ""},
			{dms.ActionCodeREGISTER, katottgA, ok, "", upstream.StateRegistered, katottgA},
			{dms.ActionCodeCANCEL_STAY_REGISTRATION, "", ok, "", upstream.StateRegistered, katottgA},
			{dms.ActionCodeDEREGISTER, "", ok, "", upstream.StateDeregistered, ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, upstream.Config{})
			applied := 0
			for i, st := range tc.steps {
				resp := wantResult(t, s.submit(t, kindRequest(fmt.Sprintf("m-%d", i), st.code, unzr(8), st.addr)), st.want)
				if st.want == ok {
					applied++
				} else if resp.ReasonCode != st.reason {
					t.Fatalf("step %d (%s): rejected %s, want %s", i, st.code, resp.ReasonCode, st.reason)
				}
				p := s.inspect(t).Persons[unzr(8)]
				if p.State != st.state || p.Katottg != st.at {
					t.Fatalf("step %d (%s): state %q at %q, want %q at %q", i, st.code, p.State, p.Katottg, st.state, st.at)
				}
			}
			if in := s.inspect(t); in.AppliedCount != applied {
				t.Fatalf("applied %d, want %d", in.AppliedCount, applied)
			}
		})
	}
}

func TestStayCorrectionAndDeathAreRecorded(t *testing.T) {
	s := start(t, upstream.Config{})
	wantResult(t, s.submit(t, kindRequest("m-1", dms.ActionCodeREGISTER, unzr(9), katottgA)), dms.ResultCodeREGISTERED)
	wantResult(t, s.submit(t, kindRequest("m-2", dms.ActionCodeREGISTER_STAY, unzr(9), katottgB)), dms.ResultCodeREGISTERED)
	p := s.inspect(t).Persons[unzr(9)]
	if p.Stay == nil || p.Stay.Address == nil || p.Stay.Address.Katottg != katottgB || p.Stay.RegistrationDate != "2025-03-01" {
		t.Fatalf("stay %+v", p.Stay)
	}
	wantResult(t, s.submit(t, kindRequest("m-3", dms.ActionCodeCORRECT_PERSON, unzr(9), "")), dms.ResultCodeREGISTERED)
	if p := s.inspect(t).Persons[unzr(9)]; p.Person == nil || p.Person.Surname != "Testenko-Nova" {
		t.Fatalf("identity after the correction %+v", p.Person)
	}
	wantResult(t, s.submit(t, kindRequest("m-4", dms.ActionCodeCHANGE_RESIDENCE, unzr(9), katottgB)), dms.ResultCodeREGISTERED)
	p = s.inspect(t).Persons[unzr(9)]
	if r := p.Residence; r.Address.Katottg != katottgB || r.PreviousAddress.Katottg != katottgA || r.ChangeDate != "2025-03-01" ||
		r.Kind != upstream.KindRegister || r.RegistrationDate != "2025-03-01" {
		t.Fatalf("residence after the change %+v", r)
	}
	wantResult(t, s.submit(t, kindRequest("m-5", dms.ActionCodeDEREGISTER_DEATH, unzr(9), katottgB)), dms.ResultCodeREGISTERED)
	p = s.inspect(t).Persons[unzr(9)]
	if p.State != upstream.StateDeceased || p.Stay != nil || p.Residence.DeathDate != "2025-02-20" || p.Residence.DeregistrationDate != "2025-03-01" {
		t.Fatalf("after death: %+v", p)
	}
}

func TestAddressChangeRenamesAddresses(t *testing.T) {
	s := start(t, upstream.Config{})
	wantResult(t, s.submit(t, request("m-1", dms.ActionCodeREGISTER, unzr(1), katottgA)), dms.ResultCodeREGISTERED)
	wantResult(t, s.submit(t, request("m-2", dms.ActionCodeREGISTER, unzr(2), katottgB)), dms.ResultCodeREGISTERED)
	wantResult(t, s.submit(t, request("m-3", dms.ActionCodeREGISTER, unzr(3), katottgA)), dms.ResultCodeREGISTERED)
	wantResult(t, s.submit(t, request("m-4", dms.ActionCodeREGISTER, unzr(3), katottgB)), dms.ResultCodeREGISTERED)

	ch := addressChange("m-5", katottgA, "Testova", "Nova")
	first := s.submit(t, ch)
	wantResult(t, first, dms.ResultCodeREGISTERED)
	again := s.submit(t, ch) // a resend: answered from memory, renames nothing more
	if string(again.raw) != string(first.raw) {
		t.Fatalf("resend answered differently")
	}
	in := s.inspect(t)
	if got := in.Persons[unzr(1)].Residence.Address; got.Street != "Nova" || got.Katottg != katottgA || got.Building != "1" {
		t.Fatalf("person at the renamed street: %+v", got)
	}
	if got := in.Persons[unzr(2)].Residence.Address; got.Street != "Testova" {
		t.Fatalf("person in another community renamed: %+v", got)
	}
	// Person 3 moved away; the address left, kept as the previous one, is renamed too.
	if r := in.Persons[unzr(3)].Residence; r.Address.Street != "Testova" || r.PreviousAddress.Street != "Nova" {
		t.Fatalf("person who moved: %+v %+v", r.Address, r.PreviousAddress)
	}
	changes := in.Addresses["address:"+katottgA]
	if len(changes) != 1 || changes[0].Change == nil || changes[0].Change.Previous.Street != "Testova" ||
		changes[0].Change.New.Street != "Nova" || len(changes[0].Persons) != 2 || in.Duplicates != 1 {
		t.Fatalf("address changes %+v, duplicates %d", in.Addresses, in.Duplicates)
	}
	last := in.Applied[len(in.Applied)-1]
	if last.PersonKey != "address:"+katottgA || last.Kind != upstream.KindAddressChange || last.Action != "ADDRESS_CHANGE" {
		t.Fatalf("applied entry %+v", last)
	}
	// Cancelling person 3's move brings back the renamed address.
	wantResult(t, s.submit(t, request("m-6", dms.ActionCodeCANCEL_REGISTRATION, unzr(3), "")), dms.ResultCodeREGISTERED)
	if r := s.inspect(t).Persons[unzr(3)].Residence; r.Address.Street != "Nova" || r.Address.Katottg != katottgA {
		t.Fatalf("after cancelling the move: %+v", r.Address)
	}
}

func TestNewKindsMissingFieldsAreInvalid(t *testing.T) {
	noPerson := kindRequest("m-1", dms.ActionCodeREGISTER_STAY, unzr(1), katottgA)
	noPerson.Person = nil
	noAddress := kindRequest("m-2", dms.ActionCodeREGISTER_STAY, unzr(1), "")
	noPrevious := kindRequest("m-3", dms.ActionCodeCHANGE_RESIDENCE, unzr(1), katottgB)
	noPrevious.PreviousAddress = nil
	noBasis := kindRequest("m-4", dms.ActionCodeEXCLUDE_DECLARATION, unzr(1), katottgA)
	noBasis.BasisDocument = nil
	noCorrection := kindRequest("m-5", dms.ActionCodeCORRECT_PERSON, unzr(1), "")
	noCorrection.Correction.Field = nil
	noCertificate := kindRequest("m-6", dms.ActionCodeDEREGISTER_DEATH, unzr(1), katottgA)
	noCertificate.Death.Certificate = nil
	noChange := addressChange("m-7", katottgA, "Testova", "Nova")
	noChange.AddressChange = nil
	noKatottg := addressChange("m-8", "", "Testova", "Nova")
	for _, req := range []*dms.OtgToDmsRequest{noPerson, noAddress, noPrevious, noBasis, noCorrection, noCertificate, noChange, noKatottg} {
		t.Run(string(*req.StatusCode)+" "+req.RequestId, func(t *testing.T) {
			s := start(t, upstream.Config{})
			resp := wantResult(t, s.submit(t, req), dms.ResultCodeREJECTED)
			if resp.ReasonCode != upstream.ReasonInvalidRequest {
				t.Fatalf("reason %s (%s), want %s", resp.ReasonCode, resp.ReasonText, upstream.ReasonInvalidRequest)
			}
		})
	}
}

func TestNewKindsFaultsAndRejectionRate(t *testing.T) {
	s := start(t, upstream.Config{ClientFaultRate: 1})
	wantFault(t, s.submit(t, addressChange("m-1", katottgA, "Testova", "Nova")), true)
	if in := s.inspect(t); in.AppliedCount != 0 || len(in.Addresses) != 0 {
		t.Fatalf("a faulted address change applied: %+v", in.Addresses)
	}
	s.setConfig(t, upstream.Config{RejectionRate: 1})
	resp := wantResult(t, s.submit(t, addressChange("m-2", katottgA, "Testova", "Nova")), dms.ResultCodeREJECTED)
	if resp.ReasonCode != upstream.ReasonSimulated {
		t.Fatalf("reason %s", resp.ReasonCode)
	}
}
