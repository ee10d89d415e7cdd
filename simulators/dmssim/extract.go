package dmssim

import (
	"context"
	"errors"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/simulators/upstream"
)

// extract answers ExtractPerson from the engine's per-person state. The
// body's requestId must equal the X-Road id, and the search must be exactly
// one parameter set (else a Client fault). Like every SOAP request, it goes
// through the fault knobs first.
func (s *Server) extract(_ context.Context, call *upstream.Call) ([]byte, error) {
	req := call.Request.(*dms.ExtractPersonRequest)
	if req.RequestId == "" {
		return nil, upstream.ClientFault("missing requestId")
	}
	if req.RequestId != call.Headers.ID {
		return nil, upstream.ClientFault("requestId %q differs from the X-Road id %q", req.RequestId, call.Headers.ID)
	}
	h := call.Headers
	res, err := s.engine.Lookup(upstream.LookupRequest{
		ID: h.ID, Client: h.Client.String(), Service: h.Service.String(), UserID: h.UserID, Issue: h.Issue,
		Search: upstream.Search{
			UNZR: req.Unzr, RNOKPP: req.Rnokpp, Surname: req.LastName, GivenNames: req.FirstName,
			Patronymic: req.MiddleName, BirthDate: mapping.Day(req.BirthDate),
		},
	})
	if errors.Is(err, upstream.ErrBadSearch) {
		return nil, upstream.ClientFault("%v", err)
	}
	if err != nil {
		return nil, err
	}
	out := &dms.ExtractPersonResponse{
		RequestId: req.RequestId,
		ExtractId: res.ID,
		FormedAt:  soap.CreateXsdDateTime(res.At.UTC().Truncate(time.Second), true),
		Person:    []*dms.ExtractedPerson{},
	}
	for _, f := range res.Persons {
		out.Person = append(out.Person, extracted(f))
	}
	return call.Respond(out)
}

func extracted(f upstream.FoundPerson) *dms.ExtractedPerson {
	p, r := f.Person, f.Residence
	out := &dms.ExtractedPerson{
		Person: &dms.Person{
			Unzr: p.UNZR, Rnokpp: p.RNOKPP, LastName: p.Surname, FirstName: p.GivenNames, MiddleName: p.Patronymic,
			BirthDate: mapping.XSDDate(p.BirthDate), BirthPlace: p.BirthPlace, Gender: p.Sex, Citizenship: p.Citizenship,
		},
		Address:            dmsAddress(r.Address),
		RegistrationDate:   mapping.XSDDate(r.RegistrationDate),
		DeregistrationDate: mapping.XSDDate(r.DeregistrationDate),
		PreviousAddress:    dmsAddress(r.PreviousAddress),
		RecordId:           r.RecordID,
	}
	if d := p.Document; d != nil {
		out.Person.Document = &dms.IdentityDocument{
			Type_: d.Type, Number: d.Number, IssueDate: mapping.XSDDate(d.IssuedOn), Issuer: d.Issuer, ExpiryDate: mapping.XSDDate(d.ExpiresOn),
		}
	}
	status := statuses[f.State]
	out.Status = &status
	if k, ok := registrationKinds[r.Kind]; ok {
		out.RegistrationKind = &k
	}
	if r.RegistrationBody != "" {
		out.RegistrationBody = &dms.RegistrationBody{Code: r.RegistrationBody}
	}
	return out
}

var statuses = map[string]dms.RegistrationStatus{
	upstream.StateDeclared:     dms.RegistrationStatusDECLARED,
	upstream.StateRegistered:   dms.RegistrationStatusREGISTERED,
	upstream.StateDeregistered: dms.RegistrationStatusDEREGISTERED,
	upstream.StateCancelled:    dms.RegistrationStatusCANCELLED,
	upstream.StateExcluded:     dms.RegistrationStatusEXCLUDED,
	upstream.StateDeceased:     dms.RegistrationStatusDECEASED,
	"":                         dms.RegistrationStatusNO_RESIDENCE, // a place of stay at most
}

var registrationKinds = map[upstream.Kind]dms.RegistrationKind{
	upstream.KindDeclare:  dms.RegistrationKindDECLARED_RESIDENCE,
	upstream.KindRegister: dms.RegistrationKindREGISTERED_RESIDENCE,
}

// personData is what the engine keeps of a request's person.
func personData(p *dms.Person) *upstream.PersonData {
	out := &upstream.PersonData{
		UNZR: p.Unzr, RNOKPP: p.Rnokpp, Surname: p.LastName, GivenNames: p.FirstName, Patronymic: p.MiddleName,
		BirthDate: mapping.Day(p.BirthDate), BirthPlace: p.BirthPlace, Sex: p.Gender, Citizenship: p.Citizenship,
	}
	if d := p.Document; d != nil {
		out.Document = &upstream.Document{
			Type: d.Type_, Number: d.Number, IssuedOn: mapping.Day(d.IssueDate), Issuer: d.Issuer, ExpiresOn: mapping.Day(d.ExpiryDate),
		}
	}
	return out
}

func address(a *dms.Address) *upstream.Address {
	if a == nil {
		return nil
	}
	return &upstream.Address{Katottg: a.Katottg, Street: a.Street, Building: a.Building, Block: a.Block, Apartment: a.Apartment}
}

func dmsAddress(a *upstream.Address) *dms.Address {
	if a == nil {
		return nil
	}
	return &dms.Address{Katottg: a.Katottg, Street: a.Street, Building: a.Building, Block: a.Block, Apartment: a.Apartment}
}
