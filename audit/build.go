package audit

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/ops"
)

// UNZR and RNOKPP make the identifiers of Record.Persons.
func UNZR(id string) string   { return "unzr:" + id }
func RNOKPP(id string) string { return "rnokpp:" + id }

// queryDetail is the Detail of a query record.
type queryDetail struct {
	CatalogueVersion string            `json:"catalogue_version,omitempty"`
	Refusal          string            `json:"refusal,omitempty"`
	OfficialName     string            `json:"official_name,omitempty"`
	Consent          string            `json:"consent,omitempty"`
	Applicant        *access.Applicant `json:"applicant,omitempty"`
	Parameter        access.ParamSet   `json:"parameter,omitempty"`
	Sources          []access.Source   `json:"sources,omitempty"`
}

// ForQuery is the record of one query as the access service reports it:
// who asked (the requesting organisation and its official), the basis and
// citation, the purpose and case, the search parameters and fields asked —
// as the requester gave them, whatever was decided — and then the outcome:
// granted with the fields and persons delivered, refused with its reason,
// or pending or failed (granted, nothing delivered yet or at all).
func ForQuery(a access.Access) Record {
	q, d := a.Query, a.Decision
	r := Record{
		Kind:        KindQuery,
		At:          a.At,
		Org:         a.Requester.Org,
		Official:    q.Official.ID,
		Basis:       q.Basis.Code,
		Citation:    join(", ", q.Basis.Law, q.Basis.Article),
		Purpose:     join(": ", q.Purpose.ID, q.Purpose.Text),
		CaseRef:     q.Case,
		QueryID:     a.QueryID.String(),
		Search:      searchParams(q.Search),
		FieldsAsked: slices.Clone(q.Fields),
		Decision:    Refused,
		Reason:      string(d.Reason),
	}
	if d.Basis != "" {
		r.Basis = d.Basis
	}
	det := queryDetail{CatalogueVersion: d.CatalogueVersion, OfficialName: q.Official.Name, Consent: q.Consent, Applicant: q.Applicant}
	switch {
	case !d.Granted:
		det.Refusal = d.Detail
	case a.Outcome == access.StatusPending || a.Outcome == access.StatusFailed:
		// Granted, but nothing left: the record says so, and why.
		r.Decision, r.Reason = Pending, a.Error
		if a.Outcome == access.StatusFailed {
			r.Decision = Failed
		}
		det.Parameter, det.Sources = d.Parameter, d.Sources
	default:
		r.Decision, r.Reason = Granted, ""
		r.FieldsDelivered, r.Persons = slices.Clone(a.FieldsDelivered), slices.Clone(a.Persons)
		det.Parameter, det.Sources = d.Parameter, d.Sources
	}
	r.Detail, _ = json.Marshal(det) // plain strings and slices: never fails
	return r
}

// Recorder is the access service's Recorder on an audit log: a query is
// answered only once its record is committed.
type Recorder struct{ Log Log }

// RecordAccess appends the query's record.
func (r Recorder) RecordAccess(ctx context.Context, a access.Access) error {
	return r.Log.Append(ctx, ForQuery(a))
}

// searchParams flattens a query's search parameters: unzr, rnokpp,
// surname, given_names, patronymic, birth_date, katottg, street, building,
// apartment, those given.
func searchParams(s access.Search) map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("unzr", s.UNZR)
	put("rnokpp", s.RNOKPP)
	if n := s.NameBirthDate; n != nil {
		put("surname", n.Surname)
		put("given_names", n.GivenNames)
		put("patronymic", n.Patronymic)
		put("birth_date", n.BirthDate)
	}
	if a := s.Address; a != nil {
		put("katottg", a.KATOTTG)
		put("street", a.Street)
		put("building", a.Building)
		put("apartment", a.Apartment)
	}
	return m
}

func join(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// stepDetail is the Detail of an operator step's record.
type stepDetail struct {
	StepID  int64           `json:"step_id"`
	Role    string          `json:"role"`
	Target  string          `json:"target"`
	Details json.RawMessage `json:"details,omitempty"`
}

// ForStep is the record of operator step st, stored in operator_steps with
// id stepID: Org is the operator's client id (the actor), Decision the
// operation, Reason the operator's reason, Detail the step id, the actor's
// role, the target and the step's details (filter, count, …).
func ForStep(st ops.Step, stepID int64) Record {
	det := stepDetail{StepID: stepID, Role: st.Role, Target: st.Target}
	if len(st.Details) > 0 && json.Valid(st.Details) {
		det.Details = st.Details
	}
	d, _ := json.Marshal(det) // valid JSON throughout: never fails
	return Record{Kind: KindOperatorStep, At: st.At, Org: st.Actor, Decision: st.Operation, Reason: st.Reason, Detail: d}
}
