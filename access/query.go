package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/reghub/reghub/action"
)

// MaxQueryBytes is the largest query body ParseQuery reads. The caller
// should limit the request body to it before reading.
const MaxQueryBytes = 16 << 10

// Query is what an authority asks: the body of a query request. Who asks
// (the organisation) is not in it: it comes from the authenticated client,
// so that a body can never claim to be another organisation's.
type Query struct {
	// Official is the requester's employee who asks; Official.ID becomes
	// the X-Road userId and every access record names them (002 §5.3).
	Official Official `json:"official"`
	// Case is the requester's case reference (X-Road issue).
	Case    string   `json:"case"`
	Basis   Citation `json:"basis"`
	Purpose Purpose  `json:"purpose"`
	Search  Search   `json:"search"`
	// Fields are the fields wanted; each must be granted by the basis.
	Fields []string `json:"fields"`
	// Consent references the person's written consent (001 §3.9), when given.
	Consent string `json:"consent,omitempty"`
	// Applicant is the person a portal or centre authenticated and asks
	// for, when they ask about themselves (002 §6.1).
	Applicant *Applicant `json:"applicant,omitempty"`
}

// Official identifies who asks at the requester.
type Official struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Citation is the basis a query rests on, as the requester cites it: the
// catalogue code and the law and article, which must be the code's own
// (001 §5.2: the request cites the norm of law).
type Citation struct {
	Code    string `json:"code"`
	Law     string `json:"law"`
	Article string `json:"article"`
}

// Purpose is why the data is wanted: an id the basis must list (sent on as
// X-Road Uxp-Purpose-Ids) and the requester's own words.
type Purpose struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Search holds exactly one parameter set.
type Search struct {
	UNZR          string         `json:"unzr,omitempty"`
	RNOKPP        string         `json:"rnokpp,omitempty"`
	NameBirthDate *NameBirthDate `json:"name_birth_date,omitempty"`
	Address       *Address       `json:"address,omitempty"`
}

// NameBirthDate finds a person by name and birth date.
type NameBirthDate struct {
	Surname    string `json:"surname"`
	GivenNames string `json:"given_names"`
	Patronymic string `json:"patronymic,omitempty"`
	BirthDate  string `json:"birth_date"`
}

// Address finds the people registered at a dwelling.
type Address struct {
	KATOTTG   string `json:"katottg"`
	Street    string `json:"street"`
	Building  string `json:"building"`
	Apartment string `json:"apartment,omitempty"`
}

// Applicant identifies a person asking about themselves.
type Applicant struct {
	UNZR   string `json:"unzr,omitempty"`
	RNOKPP string `json:"rnokpp,omitempty"`
}

// Sets lists the parameter sets present, in ParamSets order.
func (s Search) Sets() []ParamSet {
	var out []ParamSet
	if s.UNZR != "" {
		out = append(out, ParamUNZR)
	}
	if s.RNOKPP != "" {
		out = append(out, ParamRNOKPP)
	}
	if s.NameBirthDate != nil {
		out = append(out, ParamNameBirthDate)
	}
	if s.Address != nil {
		out = append(out, ParamAddress)
	}
	return out
}

// Problem is one thing wrong with a query. Details never repeat a submitted
// value: they end up in logs and refusals and must not leak personal data.
type Problem struct {
	Field  string `json:"field"` // JSON path, "" for the body as a whole
	Reason Reason `json:"reason"`
	Detail string `json:"detail"`
}

// QueryError lists what is wrong with a query. Reason is ReasonMalformed
// when any problem is, else ReasonIncomplete.
type QueryError struct {
	Reason   Reason
	Problems []Problem
}

func (e *QueryError) Error() string { return string(e.Reason) + ": " + e.detail() }

func (e *QueryError) detail() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Field == "" {
			parts[i] = p.Detail
		} else {
			parts[i] = p.Field + ": " + p.Detail
		}
	}
	return strings.Join(parts, "; ")
}

func newQueryError(ps []Problem) *QueryError {
	if len(ps) == 0 {
		return nil
	}
	e := &QueryError{Reason: ReasonIncomplete, Problems: ps}
	for _, p := range ps {
		if p.Reason == ReasonMalformed {
			e.Reason = ReasonMalformed
		}
	}
	return e
}

func malformedBody(format string, args ...any) *QueryError {
	return newQueryError([]Problem{{Reason: ReasonMalformed, Detail: fmt.Sprintf(format, args...)}})
}

// ParseQuery decodes and validates a query body. Decoding is strict: unknown
// keys, keys in another case, repeated keys and text after the object are
// refused, because encoding/json would otherwise accept them silently and
// two readers of one body (the hub, an auditor) could see different queries.
// Every error is a *QueryError.
func ParseQuery(body []byte) (Query, error) {
	if len(body) > MaxQueryBytes {
		return Query{}, malformedBody("body exceeds %d bytes", MaxQueryBytes)
	}
	if !utf8.Valid(body) {
		return Query{}, malformedBody("body is not valid UTF-8")
	}
	if err := checkKeys(body); err != nil {
		return Query{}, err
	}
	var q Query
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return Query{}, decodeError(err)
	}
	if err := q.Validate(); err != nil {
		return Query{}, err
	}
	return q, nil
}

// decodeError turns a decoding error into a QueryError without echoing the input.
func decodeError(err error) *QueryError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got, _, _ := strings.Cut(te.Value, " ") // "number", "array"...; never the literal
		return newQueryError([]Problem{{Field: te.Field, Reason: ReasonMalformed,
			Detail: fmt.Sprintf("expected a JSON %s, got %s", jsonKind(te), got)}})
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return malformedBody("invalid JSON near byte %d", se.Offset)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		// checkKeys let only the query's own key names through, so the
		// name is ours, not the requester's text: a key in the wrong place.
		return malformedBody("key %s is not allowed here", msg)
	}
	return malformedBody("invalid JSON")
}

func jsonKind(te *json.UnmarshalTypeError) string {
	if te.Type == nil {
		return "value"
	}
	switch te.Type.Kind().String() {
	case "string":
		return "string"
	case "slice":
		return "array"
	default:
		return "object"
	}
}

// queryKeys are every key name a query body may use, at any depth.
var queryKeys = map[string]bool{
	"official": true, "id": true, "name": true, "case": true, "basis": true, "code": true,
	"law": true, "article": true, "purpose": true, "text": true, "search": true, "unzr": true,
	"rnokpp": true, "name_birth_date": true, "surname": true, "given_names": true,
	"patronymic": true, "birth_date": true, "address": true, "katottg": true, "street": true,
	"building": true, "apartment": true, "fields": true, "consent": true, "applicant": true,
}

// checkKeys walks the body's tokens: it must be one JSON object whose keys
// are all query key names, spelled exactly, none repeated in an object.
// Where a key may stand is left to the decoder (DisallowUnknownFields).
func checkKeys(body []byte) *QueryError {
	type frame struct {
		object  bool
		wantKey bool   // an object waiting for its next key (or its end)
		path    string // JSON path of this object or array
		key     string // an object's current key
		keys    map[string]bool
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	// done marks the end of a value: its object waits for the next key.
	done := func() {
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
	open := func(object bool) {
		path := ""
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			path = top.path + "[]"
			if top.object {
				path = joinPath(top.path, top.key)
			}
		}
		stack = append(stack, &frame{object: object, wantKey: object, path: path, keys: map[string]bool{}})
	}
	started := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if !started {
				return malformedBody("body must be a JSON object")
			}
			return nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return malformedBody("invalid JSON near byte %d", se.Offset)
			}
			return malformedBody("invalid JSON")
		}
		if len(stack) == 0 {
			if started {
				return malformedBody("text after the JSON object")
			}
			if tok != json.Delim('{') {
				return malformedBody("body must be a JSON object")
			}
			started = true
			open(true)
			continue
		}
		top := stack[len(stack)-1]
		if top.object && top.wantKey && tok != json.Delim('}') {
			key, _ := tok.(string)
			if !queryKeys[key] {
				return newQueryError([]Problem{{Field: top.path, Reason: ReasonMalformed,
					Detail: fmt.Sprintf("unknown key %s (keys are case-sensitive)", quoteShort(key))}})
			}
			if top.keys[key] {
				return newQueryError([]Problem{{Field: joinPath(top.path, key), Reason: ReasonMalformed, Detail: "key given twice"}})
			}
			top.keys[key] = true
			top.key = key
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			open(true)
		case json.Delim('['):
			open(false)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			done()
		default:
			done()
		}
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// quoteShort quotes a requester's text cut to a few characters: enough to
// recognise a typo, too little to carry much personal data into a log.
func quoteShort(s string) string {
	const max = 32
	if utf8.RuneCountInString(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q…", string(r[:max]))
}

// Validate checks every item of q and returns a *QueryError listing all the
// problems, or nil. ParseQuery calls it; Decide calls it again so that a
// Query built in code gets the same checks.
func (q Query) Validate() error {
	if e := q.problems(); e != nil {
		return e
	}
	return nil
}

func (q Query) problems() *QueryError {
	v := &validator{}
	v.text("official.id", q.Official.ID, 64, noSpace)
	v.text("official.name", q.Official.Name, 200, nil)
	v.text("case", q.Case, 200, nil)
	v.text("basis.code", q.Basis.Code, 64, noSpace)
	v.text("basis.law", q.Basis.Law, 500, nil)
	v.text("basis.article", q.Basis.Article, 200, nil)
	v.text("purpose.id", q.Purpose.ID, 100, noSpace)
	v.text("purpose.text", q.Purpose.Text, 2000, nil)
	switch sets := q.Search.Sets(); len(sets) {
	case 0:
		v.add("search", ReasonIncomplete, "one parameter set is required: unzr, rnokpp, name_birth_date or address")
	case 1:
	default:
		v.add("search", ReasonMalformed, fmt.Sprintf("exactly one parameter set is allowed, got %d", len(sets)))
	}
	if q.Search.UNZR != "" {
		v.unzr("search.unzr", q.Search.UNZR)
	}
	if q.Search.RNOKPP != "" {
		v.rnokpp("search.rnokpp", q.Search.RNOKPP)
	}
	if n := q.Search.NameBirthDate; n != nil {
		v.text("search.name_birth_date.surname", n.Surname, 200, personName)
		v.text("search.name_birth_date.given_names", n.GivenNames, 200, personName)
		if n.Patronymic != "" {
			v.text("search.name_birth_date.patronymic", n.Patronymic, 200, personName)
		}
		v.text("search.name_birth_date.birth_date", n.BirthDate, 10, birthDate)
	}
	if a := q.Search.Address; a != nil {
		v.text("search.address.katottg", a.KATOTTG, 19, katottg)
		v.text("search.address.street", a.Street, 200, nil)
		v.text("search.address.building", a.Building, 20, nil)
		if a.Apartment != "" {
			v.text("search.address.apartment", a.Apartment, 20, nil)
		}
	}
	if len(q.Fields) == 0 {
		v.add("fields", ReasonIncomplete, "list at least one field")
	}
	seen := map[string]bool{}
	for i, f := range q.Fields {
		path := fmt.Sprintf("fields[%d]", i)
		switch {
		case !isKnownField(f):
			v.add(path, ReasonMalformed, fmt.Sprintf("unknown field %s", quoteShort(f)))
		case seen[f]:
			v.add(path, ReasonMalformed, fmt.Sprintf("field %q listed twice", f))
		}
		seen[f] = true
	}
	if q.Consent != "" {
		v.text("consent", q.Consent, 200, nil)
	}
	if a := q.Applicant; a != nil {
		if a.UNZR == "" && a.RNOKPP == "" {
			v.add("applicant", ReasonIncomplete, "unzr or rnokpp is required")
		}
		if a.UNZR != "" {
			v.unzr("applicant.unzr", a.UNZR)
		}
		if a.RNOKPP != "" {
			v.rnokpp("applicant.rnokpp", a.RNOKPP)
		}
	}
	return newQueryError(v.problems)
}

func isKnownField(f string) bool {
	for _, k := range knownFields {
		if f == k {
			return true
		}
	}
	return false
}

type validator struct{ problems []Problem }

func (v *validator) add(field string, r Reason, detail string) {
	v.problems = append(v.problems, Problem{Field: field, Reason: r, Detail: detail})
}

// text checks a required string: blank is incomplete; control characters,
// length and the check are malformed.
func (v *validator) text(field, s string, max int, check func(string) string) {
	if strings.TrimSpace(s) == "" {
		v.add(field, ReasonIncomplete, "required")
		return
	}
	msg := checkText(s, max)
	if msg == "" && check != nil {
		msg = check(s)
	}
	if msg != "" {
		v.add(field, ReasonMalformed, msg)
	}
}

// unzr and rnokpp reuse the action package's checks, so that a query and
// a registration action agree on what a valid identifier is.
func (v *validator) unzr(field, s string) {
	if err := action.ValidUNZR(s); err != nil {
		_, detail, _ := strings.Cut(err.Error(), ": ") // drop the "unzr" prefix; no value in it
		v.add(field, ReasonMalformed, detail)
	}
}

func (v *validator) rnokpp(field, s string) {
	switch {
	case action.ValidRNOKPP(s):
	case len(s) == 10 && action.RNOKPPCheckDigit(s) >= 0 && s[9] >= '0' && s[9] <= '9':
		v.add(field, ReasonMalformed, "invalid_checksum: check digit does not match")
	default:
		v.add(field, ReasonMalformed, "invalid_format: expected 10 digits")
	}
}

func noSpace(s string) string {
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return "must not contain white space"
	}
	return ""
}

// personName: letters (any script) with spaces, hyphens, apostrophes and
// dots, as in a registration action.
func personName(s string) string {
	letters := 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.Is(unicode.M, r), strings.ContainsRune(" -'’ʼ‘.", r):
		default:
			return "letters, spaces, hyphens, apostrophes and dots only"
		}
	}
	if letters == 0 {
		return "must contain a letter"
	}
	return ""
}

func birthDate(s string) string {
	if !isDay(s) || s < "1900-01-01" {
		return "expected a date YYYY-MM-DD from 1900-01-01"
	}
	return ""
}

// katottg: the community code of the KATOTTG classifier, UA and 17 digits.
func katottg(s string) string {
	if !action.ValidKATOTTG(s) {
		return "expected UA followed by 17 digits"
	}
	return ""
}
