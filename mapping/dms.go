package mapping

import (
	"fmt"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/schemas/dms"
)

// dmsRule is how one kind of action is told to the migration service.
type dmsRule struct {
	// code is the statusCode of an action of this kind.
	code dms.ActionCode
	// cancelCode is the statusCode of a cancellation of an action of this
	// kind; empty when it cannot be cancelled.
	cancelCode dms.ActionCode
	// cancels: the action undoes an earlier one (cancellation.of); its
	// statusCode is that kind's cancelCode.
	cancels bool
}

// dmsRules is the migration service's table of kinds (002 §2.1.6).
var dmsRules = map[action.Kind]dmsRule{
	action.KindDeclare:    {code: dms.ActionCodeDECLARE, cancelCode: dms.ActionCodeCANCEL_DECLARATION},
	action.KindRegister:   {code: dms.ActionCodeREGISTER, cancelCode: dms.ActionCodeCANCEL_REGISTRATION},
	action.KindDeregister: {code: dms.ActionCodeDEREGISTER, cancelCode: dms.ActionCodeCANCEL_DEREGISTRATION},
	action.KindCancel:     {cancels: true},
}

// ToDMS maps a submission to the migration service's OtgToDms request.
func ToDMS(s *action.Submission, m Meta) (*dms.OtgToDmsRequest, error) {
	if s == nil {
		return nil, fmt.Errorf("map to dms: nil submission")
	}
	rule, ok := dmsRules[s.Kind]
	if !ok {
		return nil, fmt.Errorf("map to dms: %w %q", ErrUnknownKind, s.Kind)
	}
	var f fields
	req := &dms.OtgToDmsRequest{
		RequestId:       f.need("message id", m.MessageID),
		StatusTime:      f.dateTime("status time", m.StatusTime),
		ActionReference: f.need("action reference", m.ActionRef),
		RegistrationBody: &dms.RegistrationBody{
			Code: f.need("registration body code", m.RegistrationBody.Code),
			Name: m.RegistrationBody.Name,
		},
		Person:          dmsPerson(&f, &s.Person),
		Address:         dmsAddress(&f, "address", s.Address),
		PreviousAddress: dmsAddress(&f, "previous_address", s.PreviousAddress),
		EffectiveDate:   f.date("effective_date", s.EffectiveDate, true),
		Official: &dms.Official{
			Id:       f.need("official.id", s.Official.ID),
			Name:     f.need("official.name", s.Official.Name),
			Position: s.Official.Position,
		},
	}
	req.XMLName.Space, req.XMLName.Local = "urn:reghub:dms:otg:v1", "OtgToDmsRequest"
	if s.Deregistration != nil {
		req.StatusNote = s.Deregistration.Reason
	}
	code := rule.code
	if rule.cancels {
		code, req.Cancelled = dmsCancelled(&f, s.Cancellation)
	}
	if code != "" {
		req.StatusCode = &code
	}
	if err := f.err("dms"); err != nil {
		return nil, err
	}
	return req, nil
}

// dmsCancelled returns the cancellation's statusCode and the cancelled action.
func dmsCancelled(f *fields, c *action.Cancellation) (dms.ActionCode, *dms.CancelledAction) {
	if c == nil {
		f.add("cancellation is required")
		return "", nil
	}
	of, ok := dmsRules[c.Of]
	if !ok || of.cancelCode == "" {
		f.add("cancellation.of %q cannot be cancelled", c.Of)
		return "", nil
	}
	code := of.code
	return of.cancelCode, &dms.CancelledAction{
		ActionCode: &code,
		Reference:  c.ActionID,
		Reason:     f.need("cancellation.reason", c.Reason),
	}
}

func dmsPerson(f *fields, p *action.Person) *dms.Person {
	out := &dms.Person{
		Unzr:        p.UNZR,
		Rnokpp:      p.RNOKPP,
		LastName:    f.need("person.surname", p.Surname),
		FirstName:   f.need("person.given_names", p.GivenNames),
		MiddleName:  p.Patronymic,
		BirthDate:   f.date("person.birth_date", p.BirthDate, true),
		BirthPlace:  p.BirthPlace,
		Gender:      f.need("person.sex", p.Sex),
		Citizenship: p.Citizenship,
	}
	if d := p.Document; d != nil {
		out.Document = &dms.IdentityDocument{
			Type_:      f.need("person.document.type", d.Type),
			Number:     f.need("person.document.number", d.Number),
			IssueDate:  f.date("person.document.issued_on", d.IssuedOn, false),
			Issuer:     d.Issuer,
			ExpiryDate: f.date("person.document.expires_on", d.Expires, false),
		}
	}
	return out
}

func dmsAddress(f *fields, name string, a *action.Address) *dms.Address {
	if a == nil {
		return nil
	}
	return &dms.Address{
		Katottg:   f.need(name+".katottg", a.KATOTTG),
		Street:    a.Street,
		Building:  a.Building,
		Block:     a.Block,
		Apartment: a.Apartment,
	}
}

// ToDMSStatus builds the status request that polls the migration service
// for its decision on message m.MessageID, which it acknowledged with receipt.
func ToDMSStatus(m Meta, receipt string) (*dms.OtgToDmsStatusRequest, error) {
	var f fields
	req := &dms.OtgToDmsStatusRequest{
		RequestId: f.need("message id", m.MessageID),
		ReceiptId: f.need("receipt", receipt),
	}
	req.XMLName.Space, req.XMLName.Local = "urn:reghub:dms:otg:v1", "OtgToDmsStatusRequest"
	if err := f.err("dms status"); err != nil {
		return nil, err
	}
	return req, nil
}
