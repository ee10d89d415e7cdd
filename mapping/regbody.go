package mapping

import (
	"errors"
	"fmt"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/routing"
	"github.com/reghub/reghub/schemas/regbody"
	"github.com/reghub/reghub/schemas/xroad"
)

// DefaultRegBodyService is the synthetic test-bus service of another
// registration body's notices; its member code is replaced by the
// receiving body's code on every message (RegBodyHeaders).
var DefaultRegBodyService = xroad.Identifier{
	ObjectType: "SERVICE", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV",
	SubsystemCode: "REGBODY", ServiceCode: "NotifyRegistrationBody", ServiceVersion: "v1",
}

// ErrNoAddressLeft is returned (wrapped) for a submission that makes the
// person leave no address (routing.AddressLeft): there is nothing to tell
// another registration body.
var ErrNoAddressLeft = errors.New("the action leaves no address")

// regBodyRule is how one kind of action is told to the registration body of
// the address it makes the person leave (002 §4.2.4).
type regBodyRule struct {
	// cause is the ActionKind of a deregistration notice; the zero value for
	// a cancellation, whose kind comes from cancellation.of.
	cause   regbody.ActionKind
	cancels bool
}

// regBodyRules are the kinds the routing rules may send to
// routing.DestPreviousBody: a deregistration here (also on death), a
// declaration, registration or change of residence here that leaves an
// address in another community (§4.2.4.1), and a cancellation concerning
// an address there (§4.2.4.2).
var regBodyRules = map[action.Kind]regBodyRule{
	action.KindDeregister:      {cause: regbody.ActionKindDeregistration},
	action.KindDeregisterDeath: {cause: regbody.ActionKindDeregistration_on_death},
	action.KindDeclare:         {cause: regbody.ActionKindDeclaration},
	action.KindRegister:        {cause: regbody.ActionKindRegistration},
	action.KindChange:          {cause: regbody.ActionKindChange_of_residence},
	action.KindCancel:          {cancels: true},
}

// regBodyCancelled names the kinds a cancellation notice may report, by
// cancellation.of.
var regBodyCancelled = map[string]regbody.ActionKind{
	string(action.KindDeclare):         regbody.ActionKindDeclaration,
	string(action.KindRegister):        regbody.ActionKindRegistration,
	string(action.KindDeregister):      regbody.ActionKindDeregistration,
	string(action.KindDeregisterDeath): regbody.ActionKindDeregistration_on_death,
	string(action.KindChange):          regbody.ActionKindChange_of_residence,
	string(action.KindStayRegister):    regbody.ActionKindStay_registration,
}

// ToRegBody maps a submission to the notice NotifyRegistrationBody sent to
// recipient, the registration body of the community the address concerned
// lies in. The address concerned is routing.AddressLeft: the previous
// address when given, else the address of a deregistration or a
// cancellation. A deregistration, a death, and a declaration, registration
// or change of residence that leaves that address are deregistration
// notices (cause: the kind of action); a residence.cancel is a cancellation
// notice (cancelledKind: cancellation.of).
//
// The noticeId is m.MessageID, the X-Road id: the receiving body's
// idempotency key. Like every mapping here it is pure, so a resend is the
// same message.
func ToRegBody(s *action.Submission, m Meta, recipient RegistrationBody) (*regbody.NotifyRequest, error) {
	if s == nil {
		return nil, fmt.Errorf("map to previous_body: nil submission")
	}
	rule, ok := regBodyRules[s.Kind]
	if !ok {
		return nil, fmt.Errorf("map to previous_body: %w %q", ErrUnknownKind, s.Kind)
	}
	left := routing.AddressLeft(s)
	if left == nil {
		return nil, fmt.Errorf("map to previous_body: %w (%s without previous_address)", ErrNoAddressLeft, s.Kind)
	}
	var f fields
	req := &regbody.NotifyRequest{
		NoticeId:      f.need("message id", m.MessageID),
		Person:        regBodyPerson(&f, &s.Person),
		Address:       regBodyAddress(&f, left),
		EffectiveDate: f.date("effective_date", s.EffectiveDate, true),
		SendingBody: &regbody.RegistrationBody{
			Code: f.need("registration body code", m.RegistrationBody.Code),
			Name: m.RegistrationBody.Name,
		},
		RecipientBody:   f.need("recipient body code", recipient.Code),
		ActionReference: f.need("action reference", m.ActionRef),
		IssuedAt:        f.dateTime("status time", m.StatusTime),
	}
	req.XMLName.Space, req.XMLName.Local = "urn:reghub:regbody:v1", "NotifyRequest"
	kind := regbody.NoticeKindDeregistration
	if rule.cancels {
		kind = regbody.NoticeKindCancellation
		if c := s.Cancellation; c == nil {
			f.add("cancellation is required")
		} else {
			req.CancelledKind = enumOf(&f, "cancellation.of", string(c.Of), regBodyCancelled)
			req.CancelledActionId = c.ActionID
			req.ReasonCode = f.need("cancellation.reason", c.Reason)
			req.Reason = CancelReasonText(c.Reason)
		}
	} else {
		cause := rule.cause
		req.Cause = &cause
		if d := s.Deregistration; d != nil {
			req.ReasonCode = d.Reason
		}
		if s.Kind == action.KindDeregisterDeath {
			req.ReasonCode = action.DeregistrationDeath
		}
	}
	req.NoticeKind = &kind
	if err := f.err("previous_body"); err != nil {
		return nil, err
	}
	return req, nil
}

func regBodyPerson(f *fields, p *action.Person) *regbody.Person {
	if p.UNZR == "" && p.RNOKPP == "" {
		f.add("person.unzr or person.rnokpp is required")
	}
	return &regbody.Person{
		Unzr:       p.UNZR,
		Rnokpp:     p.RNOKPP,
		Surname:    f.need("person.surname", p.Surname),
		GivenNames: f.need("person.given_names", p.GivenNames),
		Patronymic: p.Patronymic,
		BirthDate:  f.date("person.birth_date", p.BirthDate, true),
	}
}

func regBodyAddress(f *fields, a *action.Address) *regbody.Address {
	return &regbody.Address{
		Katottg:   f.need("address left.katottg", a.KATOTTG),
		Street:    a.Street,
		Building:  a.Building,
		Block:     a.Block,
		Apartment: a.Apartment,
	}
}

// RegBodyHeaders returns the X-Road headers of a notice to recipient: the
// hub as client; as service, id.Services[routing.DestPreviousBody] (else
// DefaultRegBodyService) with the recipient's code as member code; id =
// message id, userId = the official, issue = action reference, protocol
// version 4.0.
func RegBodyHeaders(id Identity, m Meta, official action.Official, recipient RegistrationBody) xroad.Headers {
	h := Headers(routing.DestPreviousBody, id, m, official)
	if _, ok := id.Services[routing.DestPreviousBody]; !ok {
		h.Service = DefaultRegBodyService
	}
	h.Service.MemberCode = recipient.Code
	return h
}
