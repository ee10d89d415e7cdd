package mapping

import (
	"fmt"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/schemas/voter"
	"github.com/reghub/reghub/schemas/xroad"
)

// DefaultVoterService is the synthetic test-bus service of the State Voter
// Register (Державний реєстр виборців) receiving the monthly sets.
var DefaultVoterService = xroad.Identifier{
	ObjectType: "SERVICE", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV",
	MemberCode: "00000004", SubsystemCode: "DRV", ServiceCode: "SubmitVoterSet", ServiceVersion: "v1",
}

// voterNamespace is the target namespace of schemas/voter.
const voterNamespace = "urn:reghub:voter:v1"

// maxVoterProblems bounds the problems one mapping error names: a set may
// hold thousands of voters, and one missing value in each would otherwise
// make an error of megabytes.
const maxVoterProblems = 20

var voterSexes = map[string]voter.Sex{
	action.SexMale:   voter.SexM,
	action.SexFemale: voter.SexF,
}

// ToVoter maps a month's set to SubmitVoterSet (schemas/voter, 002
// §4.2.19.2) sent for the registration body body. setID is the outbox
// message id, the X-Road id: the register's idempotency key. Every list is
// sent, empty when nobody is in it; the voters keep their order.
//
// A value the schema requires that the set lacks (a period that is not
// YYYY-MM, a voter without УНЗР and РНОКПП, name, birth date, sex, address
// or date, ...) is an error naming each, by list and position, never by
// value; the sender reports it as a permanent mapping failure. Like every
// mapping here it is pure, so a resend is the same message.
func ToVoter(set monthly.VoterSet, body RegistrationBody, setID string) (*voter.SubmitVoterSetRequest, error) {
	var f fields
	req := &voter.SubmitVoterSetRequest{
		SetId: f.need("set id (message id)", setID),
		RegistrationBody: &voter.RegistrationBody{
			Code: f.need("registration body code", body.Code),
			Name: body.Name,
		},
		Period:            voterMonth(&f, "period", set.Period),
		TurningAdultMonth: voterMonth(&f, "turning_adult_month", set.TurningAdultMonth),
		BuiltAt:           f.dateTime("built_at", set.BuiltAt),
		TurningAdult:      voterList(&f, "turning_adult", set.TurningAdult),
		Registered:        voterList(&f, "registered", set.Registered),
		Deregistered:      voterList(&f, "deregistered", set.Deregistered),
	}
	req.XMLName.Space, req.XMLName.Local = voterNamespace, "SubmitVoterSetRequest"
	if n := len(f.errs); n > maxVoterProblems {
		f.errs = append(f.errs[:maxVoterProblems:maxVoterProblems], fmt.Sprintf("and %d more", n-maxVoterProblems))
	}
	if err := f.err(string(monthly.DestVoterRegister)); err != nil {
		return nil, err
	}
	return req, nil
}

// voterMonth checks a YYYY-MM month.
func voterMonth(f *fields, name, v string) *voter.Month {
	if v == "" {
		f.add("%s is required", name)
		return nil
	}
	p, err := monthly.ParsePeriod(v)
	if err != nil || p.String() != v {
		f.add("%s is not a YYYY-MM month", name)
		return nil
	}
	m := voter.Month(v)
	return &m
}

func voterList(f *fields, name string, vs []monthly.Voter) *voter.VoterList {
	out := &voter.VoterList{}
	for i := range vs {
		out.Voter = append(out.Voter, toVoter(f, fmt.Sprintf("%s[%d]", name, i), &vs[i]))
	}
	return out
}

func toVoter(f *fields, name string, v *monthly.Voter) *voter.Voter {
	if v.UNZR == "" && v.RNOKPP == "" {
		f.add("%s.unzr or %s.rnokpp is required", name, name)
	}
	out := &voter.Voter{
		Unzr:       v.UNZR,
		Rnokpp:     v.RNOKPP,
		Surname:    f.need(name+".surname", v.Surname),
		GivenNames: f.need(name+".given_names", v.GivenNames),
		Patronymic: v.Patronymic,
		BirthDate:  f.date(name+".birth_date", v.BirthDate, true),
		Date:       f.date(name+".date", v.Date, true),
		Reason:     v.Reason,
		ActionId:   v.ActionID,
	}
	if f.need(name+".sex", v.Sex) != "" {
		out.Sex = enumOf(f, name+".sex", v.Sex, voterSexes)
	}
	// A cancellation may name no address; the voter is known by number.
	if a := v.Address; a != nil {
		out.Address = &voter.Address{
			Katottg:   f.need(name+".address.katottg", a.KATOTTG),
			Street:    a.Street,
			Building:  a.Building,
			Block:     a.Block,
			Apartment: a.Apartment,
		}
	}
	return out
}

// FromVoter is ToVoter's inverse: the set, the registration body and the
// set id a request carries. Absent lists are empty, absent or invalid
// dates "", builtAt is in UTC. The register's simulator reads requests
// with it; only a nil request is an error.
func FromVoter(req *voter.SubmitVoterSetRequest) (monthly.VoterSet, RegistrationBody, string, error) {
	if req == nil {
		return monthly.VoterSet{}, RegistrationBody{}, "", fmt.Errorf("read %s set: nil request", monthly.DestVoterRegister)
	}
	set := monthly.VoterSet{
		Period:            optional(req.Period),
		TurningAdultMonth: optional(req.TurningAdultMonth),
		TurningAdult:      fromVoterList(req.TurningAdult),
		Registered:        fromVoterList(req.Registered),
		Deregistered:      fromVoterList(req.Deregistered),
	}
	if t := req.BuiltAt.ToGoTime(); !t.IsZero() {
		set.BuiltAt = t.UTC()
	}
	var body RegistrationBody
	if b := req.RegistrationBody; b != nil {
		body = RegistrationBody{Code: b.Code, Name: b.Name}
	}
	return set, body, req.SetId, nil
}

func fromVoterList(l *voter.VoterList) []monthly.Voter {
	out := []monthly.Voter{}
	if l == nil {
		return out
	}
	for _, v := range l.Voter {
		if v == nil {
			continue
		}
		m := monthly.Voter{
			UNZR:       v.Unzr,
			RNOKPP:     v.Rnokpp,
			Surname:    v.Surname,
			GivenNames: v.GivenNames,
			Patronymic: v.Patronymic,
			BirthDate:  Day(v.BirthDate),
			Sex:        optional(v.Sex),
			Date:       Day(v.Date),
			Reason:     v.Reason,
			ActionID:   v.ActionId,
		}
		if a := v.Address; a != nil {
			m.Address = &action.Address{KATOTTG: a.Katottg, Street: a.Street, Building: a.Building, Block: a.Block, Apartment: a.Apartment}
		}
		out = append(out, m)
	}
	return out
}

// optional is an optional enumeration's value, "" when absent.
func optional[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// VoterHeaders returns the X-Road headers of a voter set: the hub as
// client; as service, id.Services[monthly.DestVoterRegister] (else
// DefaultVoterService); id = message id, userId = monthly.SystemClient (no
// official performs a monthly set: the hub builds it), issue = the set's
// action reference, protocol version 4.0.
func VoterHeaders(id Identity, m Meta) xroad.Headers {
	h := Headers(monthly.DestVoterRegister, id, m, action.Official{ID: monthly.SystemClient})
	if _, ok := id.Services[monthly.DestVoterRegister]; !ok {
		h.Service = DefaultVoterService
	}
	return h
}
