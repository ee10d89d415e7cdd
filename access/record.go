package access

import "github.com/reghub/reghub/action"

// RecordOf is a registration as the local source answers it, keyed by the
// catalogue's field names; fields the register does not hold are absent.
func RecordOf(r action.Registration) map[string]any {
	out := map[string]any{}
	put := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	p := r.Person
	put(FieldSurname, p.Surname)
	put(FieldGivenNames, p.GivenNames)
	put(FieldPatronymic, p.Patronymic)
	put(FieldBirthDate, p.BirthDate)
	put(FieldBirthPlace, p.BirthPlace)
	put(FieldSex, p.Sex)
	put(FieldCitizenship, p.Citizenship)
	put(FieldUNZR, p.UNZR)
	put(FieldRNOKPP, p.RNOKPP)
	if d := p.Document; d != nil {
		doc := map[string]any{}
		for k, v := range map[string]string{"type": d.Type, "number": d.Number, "issued_on": d.IssuedOn, "issuer": d.Issuer, "expires_on": d.Expires} {
			if v != "" {
				doc[k] = v
			}
		}
		out[FieldDocument] = doc
	}
	if a := addressRecord(r.Address); a != nil {
		out[FieldAddress] = a
	}
	if a := addressRecord(r.PreviousAddress); a != nil {
		out[FieldPreviousAddress] = a
	}
	switch r.Kind {
	case action.KindDeclare:
		out[FieldRegistrationKind] = "declared_residence"
	case action.KindRegister:
		out[FieldRegistrationKind] = "registered_residence"
	}
	put(FieldRegistrationDate, r.RegistrationDate)
	put(FieldDeregistrationDate, r.DeregistrationDate)
	return out
}

func addressRecord(a *action.Address) map[string]any {
	if a == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range map[string]string{"katottg": a.KATOTTG, "street": a.Street, "building": a.Building, "block": a.Block, "apartment": a.Apartment} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
