package access

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Kyiv must resolve in minimal containers too
)

// Reason is why a query was refused.
type Reason string

// The refusal reasons, in the order Decide checks them: a query with several
// faults is refused for the first. The order goes from the request's form to
// its substance, as 001 §5.6 lists the grounds (not in the prescribed form;
// lacking the data needed; no authority; no basis), so that a requester
// fixes its request before it learns what its basis covers:
//
//  1. request_malformed: not parseable, or a bad format (an identifier, a
//     date, an unknown field name, two parameter sets).
//  2. request_incomplete: a required item is missing (official, case
//     reference, basis code, law, article, purpose id or text, a search
//     parameter set or one of its parts, fields).
//  3. no_basis: the basis code is not in the catalogue, the citation is not
//     the code's law and article, or the purpose is not one it serves.
//  4. requester_not_authorised: the basis is not granted to this
//     organisation or category, or today is outside its validity dates.
//  5. parameter_not_authorised: the basis does not allow this parameter set,
//     or (own-data bases) the person searched is not the applicant.
//  6. field_not_authorised: a field wanted is not granted by the basis; a
//     query is refused, never silently trimmed, so that the requester knows
//     what it did not get and why.
//  7. consent_missing: the basis needs the person's consent and the query
//     gives no consent reference.
const (
	ReasonMalformed              Reason = "request_malformed"
	ReasonIncomplete             Reason = "request_incomplete"
	ReasonNoBasis                Reason = "no_basis"
	ReasonRequesterNotAuthorised Reason = "requester_not_authorised"
	ReasonParameterNotAuthorised Reason = "parameter_not_authorised"
	ReasonFieldNotAuthorised     Reason = "field_not_authorised"
	ReasonConsentMissing         Reason = "consent_missing"
)

// Reasons returns every refusal reason in the order Decide checks them.
func Reasons() []Reason {
	return []Reason{
		ReasonMalformed, ReasonIncomplete, ReasonNoBasis, ReasonRequesterNotAuthorised,
		ReasonParameterNotAuthorised, ReasonFieldNotAuthorised, ReasonConsentMissing,
	}
}

// Requester is the organisation a query comes from, as the authenticated
// client says: its code and category.
type Requester struct {
	Org      string
	Category string
}

// Decision is the answer to a query. A granted decision says where to look
// and what to return; a refused one says why, in one Reason and a Detail
// for people. Details name what was wrong, never a person's data.
type Decision struct {
	Granted bool   `json:"granted"`
	Reason  Reason `json:"reason,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// CatalogueVersion and Basis say which rules decided: the access record
	// keeps them (Basis is empty when the code was not found).
	CatalogueVersion string `json:"catalogue_version,omitempty"`
	Basis            string `json:"basis,omitempty"`
	// Parameter, Sources and Fields are set when granted: the parameter set
	// searched by, the systems to reach, and the fields to return (exactly
	// those wanted); cut every record with Minimise(Fields, record).
	Parameter ParamSet `json:"parameter,omitempty"`
	Sources   []Source `json:"sources,omitempty"`
	Fields    []string `json:"fields,omitempty"`
}

// Decide grants or refuses q, asked by requester on today (its calendar day
// in Europe/Kyiv decides validity), against catalogue c. It is pure: the
// same arguments always give the same decision. See Reason for the order of
// the checks.
func Decide(c *Catalogue, requester Requester, q Query, today time.Time) Decision {
	d := Decision{}
	if c != nil {
		d.CatalogueVersion = c.Version
	}
	if e := q.problems(); e != nil {
		return d.refuse(e.Reason, e.detail())
	}

	b, ok := c.Basis(q.Basis.Code)
	if !ok {
		return d.refuse(ReasonNoBasis, fmt.Sprintf("no basis has the code %s", quoteShort(q.Basis.Code)))
	}
	d.Basis = b.Code
	if !sameCitation(q.Basis.Law, b.Law) {
		return d.refuse(ReasonNoBasis, fmt.Sprintf("the law cited is not the law of basis %q", b.Code))
	}
	if !sameCitation(q.Basis.Article, b.Article) {
		return d.refuse(ReasonNoBasis, fmt.Sprintf("the article cited is not the article of basis %q", b.Code))
	}
	if !slices.Contains(b.PurposeIDs, q.Purpose.ID) {
		return d.refuse(ReasonNoBasis, fmt.Sprintf("basis %q does not serve the purpose %s (it serves: %s)",
			b.Code, quoteShort(q.Purpose.ID), strings.Join(b.PurposeIDs, ", ")))
	}

	if !slices.Contains(b.Requesters.Orgs, requester.Org) && !slices.Contains(b.Requesters.Categories, requester.Category) {
		return d.refuse(ReasonRequesterNotAuthorised, fmt.Sprintf("basis %q is not granted to organisation %s of category %s",
			b.Code, quoteShort(requester.Org), quoteShort(requester.Category)))
	}
	day := today.In(kyiv()).Format(time.DateOnly)
	if day < b.ValidFrom {
		return d.refuse(ReasonRequesterNotAuthorised, fmt.Sprintf("basis %q may be cited from %s; today is %s", b.Code, b.ValidFrom, day))
	}
	if b.ValidTo != "" && day > b.ValidTo {
		return d.refuse(ReasonRequesterNotAuthorised, fmt.Sprintf("basis %q could be cited until %s; today is %s", b.Code, b.ValidTo, day))
	}

	param := q.Search.Sets()[0] // problems() made sure there is exactly one
	if !slices.Contains(b.Parameters, param) {
		return d.refuse(ReasonParameterNotAuthorised, fmt.Sprintf("basis %q does not allow searching by %s (it allows: %s)",
			b.Code, param, joinSets(b.Parameters)))
	}
	if b.OwnDataOnly {
		if msg := ownData(q, b.Code); msg != "" {
			return d.refuse(ReasonParameterNotAuthorised, msg)
		}
	}

	var denied []string
	for _, f := range q.Fields {
		if !slices.Contains(b.Fields, f) {
			denied = append(denied, f)
		}
	}
	if len(denied) > 0 {
		return d.refuse(ReasonFieldNotAuthorised, fmt.Sprintf("basis %q does not grant %s", b.Code, strings.Join(denied, ", ")))
	}

	if b.ConsentRequired && strings.TrimSpace(q.Consent) == "" {
		return d.refuse(ReasonConsentMissing, fmt.Sprintf("basis %q needs the person's written consent: give its reference in consent", b.Code))
	}

	d.Granted = true
	d.Parameter = param
	d.Sources = slices.Clone(b.Sources)
	d.Fields = slices.Clone(q.Fields)
	return d
}

func (d Decision) refuse(r Reason, detail string) Decision {
	d.Granted = false
	d.Reason = r
	d.Detail = detail
	return d
}

// ownData checks that an own-data query searches for its applicant.
func ownData(q Query, code string) string {
	a := q.Applicant
	if a == nil {
		return fmt.Sprintf("basis %q allows searching only for the applicant, and the query names no applicant", code)
	}
	switch {
	case q.Search.UNZR != "" && q.Search.UNZR == a.UNZR:
	case q.Search.RNOKPP != "" && q.Search.RNOKPP == a.RNOKPP:
	default:
		return fmt.Sprintf("basis %q allows searching only for the applicant: the identifier searched is not the applicant's", code)
	}
	return ""
}

func joinSets(sets []ParamSet) string {
	s := make([]string, len(sets))
	for i, p := range sets {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// sameCitation compares a citation as typed by a requester's system with
// the catalogue's. People and systems differ in case, spacing and in how
// they write quotes and apostrophes («» "" “”, ' ’ ʼ), none of which changes
// which norm is cited; anything else must match exactly.
func sameCitation(cited, want string) bool {
	return normaliseCitation(cited) == normaliseCitation(want)
}

var citationQuotes = strings.NewReplacer(
	"«", `"`, "»", `"`, "“", `"`, "”", `"`, "„", `"`, "‟", `"`,
	"’", "'", "ʼ", "'", "‘", "'", "`", "'",
)

func normaliseCitation(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(citationQuotes.Replace(s)), " "))
}

// Minimise returns a copy of record holding only the granted fields: the
// router cuts every record an upstream returns with it, so that a requester
// never receives more than its basis grants, whatever the upstream sent.
// Values are not copied deeply.
func Minimise(granted []string, record map[string]any) map[string]any {
	out := make(map[string]any, len(granted))
	for _, f := range granted {
		if v, ok := record[f]; ok {
			out[f] = v
		}
	}
	return out
}

// kyiv is the zone in which "today" is decided, as for registration actions.
var kyiv = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Kyiv"); err == nil {
		return loc
	}
	return time.FixedZone("EET", 2*60*60)
})
