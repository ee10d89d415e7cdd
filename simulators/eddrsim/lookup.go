package eddrsim

import (
	"context"
	"errors"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/simulators/upstream"
)

// lookup answers LookupPerson from the engine's per-person state. The
// body's messageId must equal the X-Road id, and the search must be exactly
// one parameter set (else a Client fault). Like every SOAP request, it goes
// through the fault knobs first.
func (s *Server) lookup(_ context.Context, call *upstream.Call) ([]byte, error) {
	req := call.Request.(*eddr.LookupPerson)
	if req.MessageId == "" {
		return nil, upstream.ClientFault("missing messageId")
	}
	if req.MessageId != call.Headers.ID {
		return nil, upstream.ClientFault("messageId %q differs from the X-Road id %q", req.MessageId, call.Headers.ID)
	}
	h := call.Headers
	res, err := s.engine.Lookup(upstream.LookupRequest{
		ID: h.ID, Client: h.Client.String(), Service: h.Service.String(), UserID: h.UserID, Issue: h.Issue,
		Search: upstream.Search{
			UNZR: req.Unzr, RNOKPP: req.TaxNumber, Surname: req.Surname, GivenNames: req.GivenNames,
			Patronymic: req.Patronymic, BirthDate: mapping.Day(req.DateOfBirth),
		},
	})
	if errors.Is(err, upstream.ErrBadSearch) {
		return nil, upstream.ClientFault("%v", err)
	}
	if err != nil {
		return nil, err
	}
	out := &eddr.LookupPersonResponse{MessageId: req.MessageId}
	for _, f := range res.Persons {
		out.Person = append(out.Person, registryPerson(f))
	}
	return call.Respond(out)
}

func registryPerson(f upstream.FoundPerson) *eddr.RegistryPerson {
	p, r := f.Person, f.Residence
	out := &eddr.RegistryPerson{
		Identity: &eddr.PersonIdentity{
			Unzr: p.UNZR, TaxNumber: p.RNOKPP, Surname: p.Surname, GivenNames: p.GivenNames, Patronymic: p.Patronymic,
			DateOfBirth: mapping.XSDDate(p.BirthDate), PlaceOfBirth: p.BirthPlace, Sex: p.Sex, Citizenship: p.Citizenship,
		},
		Address:         eddrAddress(r.Address),
		RegisteredOn:    mapping.XSDDate(r.RegistrationDate),
		DeregisteredOn:  mapping.XSDDate(r.DeregistrationDate),
		PreviousAddress: eddrAddress(r.PreviousAddress),
		EntryNumber:     r.RecordID,
	}
	if d := p.Document; d != nil {
		out.Identity.DocumentType, out.Identity.DocumentNumber = d.Type, d.Number
		out.Identity.DocumentIssued, out.Identity.DocumentIssuer = mapping.XSDDate(d.IssuedOn), d.Issuer
	}
	status := statuses[f.State]
	out.ResidenceStatus = &status
	if k, ok := residenceKinds[r.Kind]; ok {
		out.ResidenceKind = &k
	}
	return out
}

var statuses = map[string]eddr.ResidenceStatus{
	upstream.StateDeclared:     eddr.ResidenceStatusDECLARED,
	upstream.StateRegistered:   eddr.ResidenceStatusREGISTERED,
	upstream.StateDeregistered: eddr.ResidenceStatusDEREGISTERED,
	upstream.StateCancelled:    eddr.ResidenceStatusCANCELLED,
	upstream.StateExcluded:     eddr.ResidenceStatusEXCLUDED,
	upstream.StateDeceased:     eddr.ResidenceStatusDECEASED,
	"":                         eddr.ResidenceStatusNO_RESIDENCE, // a place of stay at most
}

var residenceKinds = map[upstream.Kind]eddr.ResidenceKind{
	upstream.KindDeclare:  eddr.ResidenceKindDECLARED,
	upstream.KindRegister: eddr.ResidenceKindREGISTERED,
}

// personData is what the engine keeps of a request's person.
func personData(p *eddr.PersonIdentity) *upstream.PersonData {
	out := &upstream.PersonData{
		UNZR: p.Unzr, RNOKPP: p.TaxNumber, Surname: p.Surname, GivenNames: p.GivenNames, Patronymic: p.Patronymic,
		BirthDate: mapping.Day(p.DateOfBirth), BirthPlace: p.PlaceOfBirth, Sex: p.Sex, Citizenship: p.Citizenship,
	}
	if p.DocumentType != "" || p.DocumentNumber != "" {
		out.Document = &upstream.Document{
			Type: p.DocumentType, Number: p.DocumentNumber, IssuedOn: mapping.Day(p.DocumentIssued), Issuer: p.DocumentIssuer,
		}
	}
	return out
}

func address(a *eddr.ResidenceAddress) *upstream.Address {
	if a == nil {
		return nil
	}
	return &upstream.Address{Katottg: a.Katottg, Street: a.Street, Building: a.House, Block: a.Block, Apartment: a.Flat}
}

func eddrAddress(a *upstream.Address) *eddr.ResidenceAddress {
	if a == nil {
		return nil
	}
	return &eddr.ResidenceAddress{Katottg: a.Katottg, Street: a.Street, House: a.Building, Block: a.Block, Flat: a.Apartment}
}
