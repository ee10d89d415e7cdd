package mapping

import (
	"fmt"
	"slices"

	"github.com/reghub/reghub/action"
)

// The military enlistment centre's notice (002 §4.2.19.1): the JSON body of
// POST {base}/v1/registrations/notifications, whose contract is
// schemas/military/military.yaml. The types below are that contract's
// request body; their JSON tags are the wire names.

// MilitaryNotice tells the military enlistment centre of a declaration,
// registration, change or deregistration of residence of a conscript, a
// person liable for military service or a reservist.
type MilitaryNotice struct {
	// MessageID is the outbox message id, also sent as the Idempotency-Key.
	MessageID string `json:"message_id"`
	// ActionReference is the hub's action reference.
	ActionReference string `json:"action_reference"`
	// Kind is the action kind, one of MilitaryKinds.
	Kind          action.Kind    `json:"kind"`
	EffectiveDate string         `json:"effective_date"`
	Person        MilitaryPerson `json:"person"`
	// Address is the new address of a declaration, registration or change,
	// the address left by a deregistration (also on death).
	Address MilitaryAddress `json:"address"`
	// PreviousAddress is the address a change (or a declaration or
	// registration that names it) leaves; absent otherwise.
	PreviousAddress  *MilitaryAddress         `json:"previous_address,omitempty"`
	RegistrationBody MilitaryRegistrationBody `json:"registration_body"`
}

// MilitaryPerson is the person as the centre needs them: identifiers (УНЗР
// and/or РНОКПП), name, birth date, sex, and their place on the military
// register.
type MilitaryPerson struct {
	UNZR       string `json:"unzr,omitempty"`
	RNOKPP     string `json:"rnokpp,omitempty"`
	Surname    string `json:"surname"`
	GivenNames string `json:"given_names"`
	Patronymic string `json:"patronymic,omitempty"`
	BirthDate  string `json:"birth_date"`
	Sex        string `json:"sex"`
	// MilitaryStatus is conscript, liable or reservist: a person not on the
	// military register is not notified.
	MilitaryStatus string `json:"military_status"`
	// MilitaryRegistrationNumber is the military registration document's
	// number, when the registry knows it.
	MilitaryRegistrationNumber string `json:"military_registration_number,omitempty"`
}

// MilitaryAddress is an address, keyed by its KATOTTG code.
type MilitaryAddress struct {
	KATOTTG   string `json:"katottg"`
	Street    string `json:"street,omitempty"`
	Building  string `json:"building,omitempty"`
	Block     string `json:"block,omitempty"`
	Apartment string `json:"apartment,omitempty"`
}

// MilitaryRegistrationBody is the registration body that performed the
// action: the hub's configured identity.
type MilitaryRegistrationBody struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// militaryKinds are the kinds the centre is told of (002 §4.2.19.1:
// declarations, registrations and deregistrations; a change of residence
// is both), in the contract's order.
var militaryKinds = []action.Kind{
	action.KindDeclare,
	action.KindRegister,
	action.KindChange,
	action.KindDeregister,
	action.KindDeregisterDeath,
}

// MilitaryKinds returns the action kinds ToMilitary maps: the routing rules
// must send no other kind to routing.DestMilitary.
func MilitaryKinds() []action.Kind { return slices.Clone(militaryKinds) }

// militarySexes are the contract's values of person.sex.
var militarySexes = map[string]string{action.SexMale: "M", action.SexFemale: "F"}

// ToMilitary maps a submission to the military enlistment centre's notice.
// The person's military status is the submission's own
// (action.Person.MilitaryStatus, as the routing condition reads it): a
// person it does not put on the military register is a mapping error, as
// is a kind outside MilitaryKinds (ErrUnknownKind) — neither should have
// been routed here. Like every mapping here it is pure, so a resend is the
// same notice, byte for byte once encoded.
func ToMilitary(s action.Submission, m Meta) (MilitaryNotice, error) {
	if !slices.Contains(militaryKinds, s.Kind) {
		return MilitaryNotice{}, fmt.Errorf("map to military: %w %q", ErrUnknownKind, s.Kind)
	}
	var f fields
	p := &s.Person
	n := MilitaryNotice{
		MessageID:       f.need("message id", m.MessageID),
		ActionReference: f.need("action reference", m.ActionRef),
		Kind:            s.Kind,
		EffectiveDate:   s.EffectiveDate,
		Person: MilitaryPerson{
			UNZR:                       p.UNZR,
			RNOKPP:                     p.RNOKPP,
			Surname:                    f.need("person.surname", p.Surname),
			GivenNames:                 f.need("person.given_names", p.GivenNames),
			Patronymic:                 p.Patronymic,
			BirthDate:                  p.BirthDate,
			MilitaryStatus:             p.MilitaryStatus,
			MilitaryRegistrationNumber: p.MilitaryRegNumber,
		},
		PreviousAddress: militaryAddress(&f, "previous_address", s.PreviousAddress),
		RegistrationBody: MilitaryRegistrationBody{
			Code: f.need("registration body code", m.RegistrationBody.Code),
			Name: f.need("registration body name", m.RegistrationBody.Name),
		},
	}
	f.date("effective_date", s.EffectiveDate, true)
	f.date("person.birth_date", p.BirthDate, true)
	if p.UNZR == "" && p.RNOKPP == "" {
		f.add("person.unzr or person.rnokpp is required")
	}
	if sex := enumOf(&f, "person.sex", p.Sex, militarySexes); sex != nil {
		n.Person.Sex = *sex
	}
	if !p.OnMilitaryRegister() {
		// Never echo the value: it is personal data.
		f.add("person.military_status does not put the person on the military register")
	}
	if s.Address == nil {
		f.add("address is required")
	} else {
		n.Address = *militaryAddress(&f, "address", s.Address)
	}
	if err := f.err("military"); err != nil {
		return MilitaryNotice{}, err
	}
	return n, nil
}

func militaryAddress(f *fields, name string, a *action.Address) *MilitaryAddress {
	if a == nil {
		return nil
	}
	return &MilitaryAddress{
		KATOTTG:   f.need(name+".katottg", a.KATOTTG),
		Street:    a.Street,
		Building:  a.Building,
		Block:     a.Block,
		Apartment: a.Apartment,
	}
}
