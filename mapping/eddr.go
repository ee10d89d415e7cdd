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
	// noPerson: the action concerns no person (an address-directory change).
	noPerson bool
	// previous: the previous address is sent too (a change of residence).
	previous bool
	// extra fills what the kind adds to the request (basisDocument, death,
	// correction, addressChange); nil for the core kinds, whose messages
	// carry nothing more.
	extra func(f *fields, s *action.Submission, req *eddr.SubmitResidenceChange)
}

// eddrRules is the national registry's table of kinds.
var eddrRules = map[action.Kind]eddrRule{
	action.KindDeclare:         {change: eddr.ChangeTypeRESIDENCE_DECLARED, cancellable: true},
	action.KindRegister:        {change: eddr.ChangeTypeRESIDENCE_REGISTERED, cancellable: true},
	action.KindDeregister:      {change: eddr.ChangeTypeRESIDENCE_DEREGISTERED, cancellable: true},
	action.KindCancel:          {change: eddr.ChangeTypeRESIDENCE_CANCELLED, cancels: true},
	action.KindExclude:         {change: eddr.ChangeTypeRESIDENCE_EXCLUDED, extra: eddrBasis},
	action.KindStayRegister:    {change: eddr.ChangeTypeSTAY_REGISTERED, cancellable: true},
	action.KindChange:          {change: eddr.ChangeTypeRESIDENCE_CHANGED, cancellable: true, previous: true},
	action.KindCorrect:         {change: eddr.ChangeTypeIDENTITY_CORRECTED, extra: all(eddrBasis, eddrCorrection)},
	action.KindDeregisterDeath: {change: eddr.ChangeTypeRESIDENCE_DEREGISTERED_DEATH, cancellable: true, extra: eddrDeath},
	action.KindAddressChange:   {change: eddr.ChangeTypeADDRESS_CHANGED, noPerson: true, extra: all(eddrBasis, eddrAddressChange)},
}

// ToEDDR maps a submission to the national registry's SubmitResidenceChange.
// The registry takes the address the action is about (for a deregistration,
// the address being left); only a change of residence sends the previous
// address as well.
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
		Address:              eddrAddress(&f, "address", s.Address),
		EffectiveDate:        f.date("effective_date", s.EffectiveDate, true),
	}
	req.XMLName.Space, req.XMLName.Local = "urn:reghub:eddr:residence:v1", "SubmitResidenceChange"
	if !rule.noPerson {
		req.Person = eddrPerson(&f, &s.Person)
	}
	if rule.previous {
		req.PreviousAddress = eddrAddress(&f, "previous_address", s.PreviousAddress)
	}
	if s.Deregistration != nil {
		req.Reason = s.Deregistration.Reason
	}
	if rule.cancels {
		req.CancelledChangeType = eddrCancelled(&f, s.Cancellation)
		if s.Cancellation != nil {
			req.Reason = f.need("cancellation.reason", CancelReasonText(s.Cancellation.Reason))
		}
	}
	if rule.extra != nil {
		rule.extra(&f, s, req)
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

func eddrAddress(f *fields, name string, a *action.Address) *eddr.ResidenceAddress {
	if a == nil {
		return nil
	}
	return &eddr.ResidenceAddress{
		Katottg: f.need(name+".katottg", a.KATOTTG),
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

func eddrBasis(f *fields, s *action.Submission, req *eddr.SubmitResidenceChange) {
	b := s.BasisDocument
	if b == nil {
		f.add("basis_document is required")
		return
	}
	req.BasisDocument = &eddr.BasisDocument{
		DocumentType:   f.need("basis_document.type", b.Type),
		DocumentNumber: b.Number,
		DocumentDate:   f.date("basis_document.date", b.Date, false),
	}
}

var eddrDeathDocuments = map[string]eddr.DeathDocumentType{
	action.DeathCertificateDomestic: eddr.DeathDocumentTypeDEATH_CERTIFICATE,
	action.DeathCertificateForeign:  eddr.DeathDocumentTypeFOREIGN_DEATH_RECORD,
}

func eddrDeath(f *fields, s *action.Submission, req *eddr.SubmitResidenceChange) {
	d := s.Death
	if d == nil || d.Certificate == nil {
		f.add("death.certificate is required")
		return
	}
	c := d.Certificate
	req.Death = &eddr.DeathRecord{
		DateOfDeath:       f.date("death.date", d.Date, true),
		CertificateType:   enumOf(f, "death.certificate.type", c.Type, eddrDeathDocuments),
		CertificateNumber: f.need("death.certificate.number", c.Number),
		CertificateIssued: f.date("death.certificate.issued_on", c.IssuedOn, true),
		CertificateIssuer: f.need("death.certificate.issuer", c.Issuer),
	}
}

// eddrIdentityFields names the parts of eddr.PersonIdentity that
// correction.fields name.
var eddrIdentityFields = map[string]eddr.IdentityField{
	"surname":     eddr.IdentityFieldSurname,
	"given_names": eddr.IdentityFieldGivenNames,
	"patronymic":  eddr.IdentityFieldPatronymic,
	"birth_date":  eddr.IdentityFieldDateOfBirth,
	"birth_place": eddr.IdentityFieldPlaceOfBirth,
	"sex":         eddr.IdentityFieldSex,
	"citizenship": eddr.IdentityFieldCitizenship,
	"document":    eddr.IdentityFieldDocument,
}

func eddrCorrection(f *fields, s *action.Submission, req *eddr.SubmitResidenceChange) {
	x := s.Correction
	if x == nil || x.Previous == nil || len(x.Fields) == 0 {
		f.add("correction with fields and previous values is required")
		return
	}
	out := &eddr.IdentityCorrection{}
	for _, name := range x.Fields {
		out.CorrectedField = append(out.CorrectedField, enumOf(f, "correction.fields", name, eddrIdentityFields))
	}
	p := x.Previous
	out.Previous = &eddr.PreviousIdentity{
		Surname:      p.Surname,
		GivenNames:   p.GivenNames,
		Patronymic:   p.Patronymic,
		DateOfBirth:  f.date("correction.previous.birth_date", p.BirthDate, false),
		PlaceOfBirth: p.BirthPlace,
		Sex:          p.Sex,
		Citizenship:  p.Citizenship,
	}
	if d := p.Document; d != nil {
		out.Previous.DocumentType = f.need("correction.previous.document.type", d.Type)
		out.Previous.DocumentNumber = f.need("correction.previous.document.number", d.Number)
		out.Previous.DocumentIssued = f.date("correction.previous.document.issued_on", d.IssuedOn, false)
		out.Previous.DocumentIssuer = d.Issuer
	}
	req.Correction = out
}

var eddrDirectoryChanges = map[string]eddr.DirectoryChangeType{
	action.AddressRenumbering:       eddr.DirectoryChangeTypeRENUMBERING,
	action.AddressStreetRenamed:     eddr.DirectoryChangeTypeSTREET_RENAMED,
	action.AddressSettlementRenamed: eddr.DirectoryChangeTypeSETTLEMENT_RENAMED,
	action.AddressUnitRenamed:       eddr.DirectoryChangeTypeUNIT_RENAMED,
}

func eddrAddressChange(f *fields, s *action.Submission, req *eddr.SubmitResidenceChange) {
	c := s.AddressChange
	if c == nil || c.Previous == nil || c.New == nil {
		f.add("address_change with previous and new values is required")
		return
	}
	parts := func(a *action.AddressNames) *eddr.AddressParts {
		return &eddr.AddressParts{Unit: a.Unit, Settlement: a.Settlement, Street: a.Street, House: a.Building, Block: a.Block}
	}
	req.AddressChange = &eddr.AddressDirectoryChange{
		ChangeKind: enumOf(f, "address_change.type", c.Type, eddrDirectoryChanges),
		Katottg:    f.need("address_change.katottg", c.KATOTTG),
		Previous:   parts(c.Previous),
		New:        parts(c.New),
	}
}
