package mapping

import (
	"fmt"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/schemas/eddr"
)

// eddrRule is how one kind of action is told to the national registry.
type eddrRule struct {
	change eddr.ChangeType
	// cancellable: a RESIDENCE_CANCELLED may name this change type.
	cancellable bool
	// cancels: the action undoes an earlier one; cancelledChangeType is that
	// kind's change type.
	cancels bool
}

// eddrRules is the national registry's table of kinds.
var eddrRules = map[action.Kind]eddrRule{
	action.KindDeclare:    {change: eddr.ChangeTypeRESIDENCE_DECLARED, cancellable: true},
	action.KindRegister:   {change: eddr.ChangeTypeRESIDENCE_REGISTERED, cancellable: true},
	action.KindDeregister: {change: eddr.ChangeTypeRESIDENCE_DEREGISTERED, cancellable: true},
	action.KindCancel:     {change: eddr.ChangeTypeRESIDENCE_CANCELLED, cancels: true},
}

// ToEDDR maps a submission to the national registry's SubmitResidenceChange.
// The registry takes one address: the one the action is about (for a
// deregistration, the address being left).
func ToEDDR(s *action.Submission, m Meta) (*eddr.SubmitResidenceChange, error) {
	if s == nil {
		return nil, fmt.Errorf("map to eddr: nil submission")
	}
	rule, ok := eddrRules[s.Kind]
	if !ok {
		return nil, fmt.Errorf("map to eddr: %w %q", ErrUnknownKind, s.Kind)
	}
	var f fields
	change := rule.change
	req := &eddr.SubmitResidenceChange{
		MessageId:            f.need("message id", m.MessageID),
		ChangeType:           &change,
		SourceReference:      f.need("action reference", m.ActionRef),
		RegistrationBodyCode: f.need("registration body code", m.RegistrationBody.Code),
		OfficialId:           f.need("official.id", s.Official.ID),
		Person:               eddrPerson(&f, &s.Person),
		Address:              eddrAddress(&f, s.Address),
		EffectiveDate:        f.date("effective_date", s.EffectiveDate, true),
	}
	req.XMLName.Space, req.XMLName.Local = "urn:reghub:eddr:residence:v1", "SubmitResidenceChange"
	if s.Deregistration != nil {
		req.Reason = s.Deregistration.Reason
	}
	if rule.cancels {
		req.CancelledChangeType = eddrCancelled(&f, s.Cancellation)
		if s.Cancellation != nil {
			req.Reason = f.need("cancellation.reason", s.Cancellation.Reason)
		}
	}
	if err := f.err("eddr"); err != nil {
		return nil, err
	}
	return req, nil
}

func eddrCancelled(f *fields, c *action.Cancellation) *eddr.ChangeType {
	if c == nil {
		f.add("cancellation is required")
		return nil
	}
	of, ok := eddrRules[c.Of]
	if !ok || !of.cancellable {
		f.add("cancellation.of %q cannot be cancelled", c.Of)
		return nil
	}
	change := of.change
	return &change
}

func eddrPerson(f *fields, p *action.Person) *eddr.PersonIdentity {
	out := &eddr.PersonIdentity{
		Unzr:         p.UNZR,
		TaxNumber:    p.RNOKPP,
		Surname:      f.need("person.surname", p.Surname),
		GivenNames:   f.need("person.given_names", p.GivenNames),
		Patronymic:   p.Patronymic,
		DateOfBirth:  f.date("person.birth_date", p.BirthDate, true),
		PlaceOfBirth: p.BirthPlace,
		Sex:          f.need("person.sex", p.Sex),
		Citizenship:  p.Citizenship,
	}
	if d := p.Document; d != nil {
		out.DocumentType = f.need("person.document.type", d.Type)
		out.DocumentNumber = f.need("person.document.number", d.Number)
		out.DocumentIssued = f.date("person.document.issued_on", d.IssuedOn, false)
		out.DocumentIssuer = d.Issuer
	}
	return out
}

func eddrAddress(f *fields, a *action.Address) *eddr.ResidenceAddress {
	if a == nil {
		return nil
	}
	return &eddr.ResidenceAddress{
		Katottg: f.need("address.katottg", a.KATOTTG),
		Street:  a.Street,
		House:   a.Building,
		Block:   a.Block,
		Flat:    a.Apartment,
	}
}

// ToEDDRStatus builds the request that polls the national registry for its
// decision on message m.MessageID, which it queued under ticket.
func ToEDDRStatus(m Meta, ticket string) (*eddr.GetChangeStatus, error) {
	var f fields
	req := &eddr.GetChangeStatus{
		MessageId: f.need("message id", m.MessageID),
		Ticket:    f.need("ticket", ticket),
	}
	req.XMLName.Space, req.XMLName.Local = "urn:reghub:eddr:residence:v1", "GetChangeStatus"
	if err := f.err("eddr status"); err != nil {
		return nil, err
	}
	return req, nil
}
