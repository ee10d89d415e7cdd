package action

import (
	"testing"
)

func TestApplyNewKinds(t *testing.T) {
	home := &Address{KATOTTG: "UA12060170010076413", Street: "вул. Соборності", Building: "12", Apartment: "5"}
	flat := &Address{KATOTTG: "UA12060170020011248", Street: "вул. Липова", Building: "3"}
	dorm := &Address{KATOTTG: "UA12080130010093157", Street: "вул. Степова", Building: "7"}
	person := Person{UNZR: "19900514-01233", Surname: "Коваль", GivenNames: "Олена", BirthDate: "1990-05-14", Sex: SexFemale}
	sub := func(k Kind, eff string, edit func(*Submission)) Submission {
		s := Submission{Kind: k, Person: person, EffectiveDate: eff}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	var r Registration
	r.Apply(sub(KindDeclare, "2026-01-10", func(s *Submission) { s.Address = home }))
	if !r.Registered || r.Address != home || r.Kind != KindDeclare {
		t.Fatalf("declared: %+v", r)
	}

	// A place of stay is beside the residence.
	r.Apply(sub(KindStayRegister, "2026-02-01", func(s *Submission) { s.Address = dorm }))
	if r.Stay == nil || r.Stay.Address != dorm || r.Stay.RegistrationDate != "2026-02-01" || r.Address != home || !r.Registered {
		t.Fatalf("stay: %+v", r)
	}
	r.Apply(sub(KindCancel, "2026-02-02", func(s *Submission) {
		s.Cancellation = &Cancellation{Of: KindStayRegister, Reason: CancelErroneousEntry}
	}))
	if r.Stay != nil || r.Address != home || !r.Registered {
		t.Fatalf("stay cancelled: %+v", r)
	}

	// A change of residence moves the person and keeps how they came.
	r.Apply(sub(KindChange, "2026-03-01", func(s *Submission) { s.Address, s.PreviousAddress = flat, home }))
	if r.Address != flat || r.PreviousAddress != home || r.ChangeDate != "2026-03-01" || r.Kind != KindDeclare || !r.Registered ||
		r.RegistrationDate != "2026-01-10" {
		t.Fatalf("changed: %+v", r)
	}
	r.Apply(sub(KindCancel, "2026-03-02", func(s *Submission) {
		s.Cancellation = &Cancellation{Of: KindChange, Reason: CancelViolationOfLaw}
	}))
	if r.Address != home || r.PreviousAddress != nil || r.ChangeDate != "" || !r.Registered {
		t.Fatalf("change cancelled: %+v", r)
	}

	// A correction replaces the personal data.
	corrected := person
	corrected.Surname = "Ковальова"
	r.Apply(Submission{Kind: KindCorrect, Person: corrected, EffectiveDate: "2026-04-01",
		Correction: &Correction{Fields: []string{"surname"}, Previous: &PreviousPerson{Surname: "Коваль"}}})
	if r.Person.Surname != "Ковальова" || r.CorrectionDate != "2026-04-01" || r.Address != home || !r.Registered {
		t.Fatalf("corrected: %+v", r)
	}

	// The declared residence is excluded.
	r.Apply(sub(KindExclude, "2026-05-01", func(s *Submission) { s.Address = home }))
	if r.Registered || r.ExclusionDate != "2026-05-01" || r.Address != home || r.Kind != KindDeclare {
		t.Fatalf("excluded: %+v", r)
	}
	// Registered elsewhere: the exclusion is history.
	r.Apply(sub(KindRegister, "2026-06-01", func(s *Submission) { s.Address = flat }))
	if !r.Registered || r.ExclusionDate != "" || r.PreviousAddress != home {
		t.Fatalf("registered after the exclusion: %+v", r)
	}

	// Death: deregistered, no place of stay, the certificate kept; a
	// cancellation brings the person back.
	r.Apply(sub(KindStayRegister, "2026-06-02", func(s *Submission) { s.Address = dorm }))
	d := &Death{Date: "2026-07-01", Certificate: &DeathCertificate{Type: DeathCertificateDomestic, Number: "ІКР1", IssuedOn: "2026-07-02", Issuer: "ДРАЦС"}}
	r.Apply(sub(KindDeregisterDeath, "2026-07-03", func(s *Submission) { s.Address, s.Death = flat, d }))
	if r.Registered || r.Death == nil || r.Death.Date != "2026-07-01" || r.DeregistrationDate != "2026-07-03" || r.Stay != nil || r.Address != flat {
		t.Fatalf("deregistered on death: %+v", r)
	}
	r.Apply(sub(KindCancel, "2026-07-10", func(s *Submission) {
		s.Cancellation = &Cancellation{Of: KindDeregisterDeath, Reason: CancelCivilRecordAnnulled}
	}))
	if !r.Registered || r.Death != nil || r.DeregistrationDate != "" || r.Address != flat {
		t.Fatalf("death deregistration cancelled: %+v", r)
	}

	// An address change leaves the registration Apply is given alone.
	before := r
	r.Apply(Submission{Kind: KindAddressChange, EffectiveDate: "2026-08-01",
		AddressChange: &AddressChange{Type: AddressStreetRenamed, KATOTTG: flat.KATOTTG,
			Previous: &AddressNames{Street: flat.Street}, New: &AddressNames{Street: "вул. Березова"}}})
	if r.PersonKey != before.PersonKey || r.Address != before.Address || r.Person != before.Person {
		t.Fatalf("address change applied to a person's registration: %+v", r)
	}
}

func TestApplyAddressChange(t *testing.T) {
	const k = "UA12060170010076413"
	street := AddressChange{Type: AddressStreetRenamed, KATOTTG: k,
		Previous: &AddressNames{Street: "вул. Соборності"}, New: &AddressNames{Street: "вул. Каштанова"}}
	renumber := AddressChange{Type: AddressRenumbering, KATOTTG: k,
		Previous: &AddressNames{Street: "вул. Соборності", Building: "12"}, New: &AddressNames{Building: "14"}}
	home := &Address{KATOTTG: k, Street: "вул. Соборності", Building: "12", Apartment: "5"}
	other := &Address{KATOTTG: "UA12060170020011248", Street: "вул. Соборності", Building: "12"}

	r := Registration{Address: home, PreviousAddress: other, Stay: &Stay{Address: home, RegistrationDate: "2026-01-01"},
		Registered: true, RegistrationDate: "2025-01-01"}
	if !r.ApplyAddressChange(street) {
		t.Fatal("street rename not applied")
	}
	if r.Address.Street != "вул. Каштанова" || r.Address.Building != "12" || r.Address.Apartment != "5" ||
		r.Stay.Address.Street != "вул. Каштанова" || r.PreviousAddress != other || r.RegistrationDate != "2025-01-01" {
		t.Fatalf("after the rename: %+v %+v", r.Address, r.Stay.Address)
	}
	if home.Street != "вул. Соборності" {
		t.Fatal("the submission's address was modified in place")
	}
	// The renumbering names the old street: it no longer covers the address.
	if r.ApplyAddressChange(renumber) {
		t.Fatalf("renumbering in the old street applied: %+v", r.Address)
	}
	renumber.Previous.Street = "вул. Каштанова"
	if !r.ApplyAddressChange(renumber) || r.Address.Building != "14" || r.Address.Block != "" {
		t.Fatalf("renumbering: %+v", r.Address)
	}
	for _, c := range []AddressChange{
		{Type: AddressSettlementRenamed, KATOTTG: k, Previous: &AddressNames{Settlement: "a"}, New: &AddressNames{Settlement: "b"}},
		{Type: AddressUnitRenamed, KATOTTG: k, Previous: &AddressNames{Unit: "a"}, New: &AddressNames{Unit: "b"}},
		{Type: AddressStreetRenamed, KATOTTG: k},
	} {
		if r.ApplyAddressChange(c) {
			t.Errorf("%s changed an address: %+v", c.Type, r.Address)
		}
	}
	var empty Registration
	if empty.ApplyAddressChange(street) {
		t.Error("an empty registration changed")
	}
}
