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
	// noPerson: the action concerns no person (an address-directory change).
	noPerson bool
	// extra fills what the kind adds to the request (basisDocument, death,
	// correction, addressChange); nil for the core kinds, whose messages
	// carry nothing more.
	extra func(f *fields, s *action.Submission, req *dms.OtgToDmsRequest)
}

// dmsRules is the migration service's table of kinds (002 §2.1.6, §4.2.22,
// §7.2–7.4). A change of residence sends the new address as address and
// the one left as previousAddress, as every kind that names both does.
var dmsRules = map[action.Kind]dmsRule{
	action.KindDeclare:         {code: dms.ActionCodeDECLARE, cancelCode: dms.ActionCodeCANCEL_DECLARATION},
	action.KindRegister:        {code: dms.ActionCodeREGISTER, cancelCode: dms.ActionCodeCANCEL_REGISTRATION},
	action.KindDeregister:      {code: dms.ActionCodeDEREGISTER, cancelCode: dms.ActionCodeCANCEL_DEREGISTRATION},
	action.KindCancel:          {cancels: true},
	action.KindExclude:         {code: dms.ActionCodeEXCLUDE_DECLARATION, extra: dmsBasis},
	action.KindStayRegister:    {code: dms.ActionCodeREGISTER_STAY, cancelCode: dms.ActionCodeCANCEL_STAY_REGISTRATION},
	action.KindChange:          {code: dms.ActionCodeCHANGE_RESIDENCE, cancelCode: dms.ActionCodeCANCEL_CHANGE},
	action.KindCorrect:         {code: dms.ActionCodeCORRECT_PERSON, extra: all(dmsBasis, dmsCorrection)},
	action.KindDeregisterDeath: {code: dms.ActionCodeDEREGISTER_DEATH, cancelCode: dms.ActionCodeCANCEL_DEATH_DEREGISTRATION, extra: dmsDeath},
	action.KindAddressChange:   {code: dms.ActionCodeADDRESS_CHANGE, noPerson: true, extra: all(dmsBasis, dmsAddressChange)},
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
	if !rule.noPerson {
		req.Person = dmsPerson(&f, &s.Person)
	}
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
	if rule.extra != nil {
		rule.extra(&f, s, req)
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
		Reason:     f.need("cancellation.reason", CancelReasonText(c.Reason)),
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

func dmsBasis(f *fields, s *action.Submission, req *dms.OtgToDmsRequest) {
	b := s.BasisDocument
	if b == nil {
		f.add("basis_document is required")
		return
	}
	req.BasisDocument = &dms.BasisDocument{
		Type_:  f.need("basis_document.type", b.Type),
		Number: b.Number,
		Date:   f.date("basis_document.date", b.Date, false),
	}
}

func dmsDeath(f *fields, s *action.Submission, req *dms.OtgToDmsRequest) {
	d := s.Death
	if d == nil || d.Certificate == nil {
		f.add("death.certificate is required")
		return
	}
	c := d.Certificate
	req.Death = &dms.Death{
		DeathDate: f.date("death.date", d.Date, true),
		Certificate: &dms.DeathCertificate{
			Type_:     enumOf(f, "death.certificate.type", c.Type, dmsDeathDocuments),
			Number:    f.need("death.certificate.number", c.Number),
			IssueDate: f.date("death.certificate.issued_on", c.IssuedOn, true),
			Issuer:    f.need("death.certificate.issuer", c.Issuer),
		},
	}
}

var dmsDeathDocuments = map[string]dms.DeathDocumentType{
	action.DeathCertificateDomestic: dms.DeathDocumentTypeDEATH_CERTIFICATE,
	action.DeathCertificateForeign:  dms.DeathDocumentTypeFOREIGN_DEATH_RECORD,
}

// dmsPersonFields names the elements of dms.Person that correction.fields
// name.
var dmsPersonFields = map[string]dms.PersonField{
	"surname":     dms.PersonFieldLastName,
	"given_names": dms.PersonFieldFirstName,
	"patronymic":  dms.PersonFieldMiddleName,
	"birth_date":  dms.PersonFieldBirthDate,
	"birth_place": dms.PersonFieldBirthPlace,
	"sex":         dms.PersonFieldGender,
	"citizenship": dms.PersonFieldCitizenship,
	"document":    dms.PersonFieldDocument,
}

func dmsCorrection(f *fields, s *action.Submission, req *dms.OtgToDmsRequest) {
	x := s.Correction
	if x == nil || x.Previous == nil || len(x.Fields) == 0 {
		f.add("correction with fields and previous values is required")
		return
	}
	out := &dms.Correction{}
	for _, name := range x.Fields {
		out.Field = append(out.Field, enumOf(f, "correction.fields", name, dmsPersonFields))
	}
	p := x.Previous
	out.Previous = &dms.PreviousPersonData{
		LastName:    p.Surname,
		FirstName:   p.GivenNames,
		MiddleName:  p.Patronymic,
		BirthDate:   f.date("correction.previous.birth_date", p.BirthDate, false),
		BirthPlace:  p.BirthPlace,
		Gender:      p.Sex,
		Citizenship: p.Citizenship,
	}
	if d := p.Document; d != nil {
		out.Previous.Document = &dms.IdentityDocument{
			Type_:      f.need("correction.previous.document.type", d.Type),
			Number:     f.need("correction.previous.document.number", d.Number),
			IssueDate:  f.date("correction.previous.document.issued_on", d.IssuedOn, false),
			Issuer:     d.Issuer,
			ExpiryDate: f.date("correction.previous.document.expires_on", d.Expires, false),
		}
	}
	req.Correction = out
}

var dmsAddressChangeTypes = map[string]dms.AddressChangeType{
	action.AddressRenumbering:       dms.AddressChangeTypeRENUMBERING,
	action.AddressStreetRenamed:     dms.AddressChangeTypeSTREET_RENAMED,
	action.AddressSettlementRenamed: dms.AddressChangeTypeSETTLEMENT_RENAMED,
	action.AddressUnitRenamed:       dms.AddressChangeTypeUNIT_RENAMED,
}

func dmsAddressChange(f *fields, s *action.Submission, req *dms.OtgToDmsRequest) {
	c := s.AddressChange
	if c == nil || c.Previous == nil || c.New == nil {
		f.add("address_change with previous and new values is required")
		return
	}
	names := func(a *action.AddressNames) *dms.AddressNames {
		return &dms.AddressNames{Unit: a.Unit, Settlement: a.Settlement, Street: a.Street, Building: a.Building, Block: a.Block}
	}
	req.AddressChange = &dms.AddressChange{
		Type_:    enumOf(f, "address_change.type", c.Type, dmsAddressChangeTypes),
		Katottg:  f.need("address_change.katottg", c.KATOTTG),
		Previous: names(c.Previous),
		New:      names(c.New),
	}
}
