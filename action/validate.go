package action

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Kyiv must resolve in minimal containers too
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxBodyBytes is the largest submission body the hub accepts.
const MaxBodyBytes = 64 << 10

// The codes a FieldError carries. Details never repeat the submitted value:
// validation errors end up in logs and must not leak personal data.
const (
	CodeTooLarge          = "too_large"          // body over MaxBodyBytes
	CodeMalformed         = "malformed"          // not JSON, not an object, or a wrong JSON type
	CodeRequired          = "required"           // missing or blank
	CodeNotAllowed        = "not_allowed"        // a block this kind does not take
	CodeInvalidFormat     = "invalid_format"     // wrong shape
	CodeInvalidChecksum   = "invalid_checksum"   // right shape, wrong check digit
	CodeInvalidDate       = "invalid_date"       // YYYY-MM-DD but no such calendar day
	CodeFutureDate        = "future_date"        // after today in Europe/Kyiv
	CodeOutOfRange        = "out_of_range"       // before 1900 or before a date it must follow
	CodeMismatch          = "mismatch"           // disagrees with another field
	CodeUnknownValue      = "unknown_value"      // not in the field's enumeration
	CodeTooLong           = "too_long"           // more runes than the field allows
	CodeInvalidCharacters = "invalid_characters" // control characters or line separators
	CodeUnchanged         = "unchanged"          // a new value equal to the one it replaces
	CodeDuplicate         = "duplicate"          // listed twice
)

// Identity document types (person.document.type).
const (
	DocumentIDCard           = "id_card"
	DocumentPassport         = "passport" // the booklet passport of a citizen
	DocumentBirthCertificate = "birth_certificate"
	DocumentForeignPassport  = "foreign_passport"
	DocumentResidencePermit  = "residence_permit"
)

// Reasons for a deregistration (deregistration.reason).
const (
	DeregistrationMoved         = "moved"
	DeregistrationCourtDecision = "court_decision"
	DeregistrationOwnerRequest  = "owner_request"
	DeregistrationDeath         = "death"
	DeregistrationOther         = "other"
)

// Grounds of a cancellation (cancellation.reason); which a kind allows is
// its KindSpec.CancelReasons.
const (
	// CancelErroneousEntry: the record was entered in error; a person may
	// have erroneous data about them cancelled (002 §6.2.2, §6.3).
	CancelErroneousEntry = "erroneous_entry"
	// CancelViolationOfLaw: the action was performed in breach of the
	// requirements of the Law (002 §7.5).
	CancelViolationOfLaw = "violation_of_law"
	// CancelDMSNoticeConfirmed: the migration service reported a breach of
	// the Law in the action and the re-check confirmed it (002 §7.7).
	CancelDMSNoticeConfirmed = "dms_notice_confirmed"
	// CancelDocumentInvalid: the passport document the action rested on
	// was declared invalid by the migration service (002 §7.8).
	CancelDocumentInvalid = "document_invalid"
	// CancelCivilRecordAnnulled: the civil-status record the action rested
	// on (a birth or death record) was annulled by the Ministry of Justice
	// (002 §7.8).
	CancelCivilRecordAnnulled = "civil_record_annulled"
)

// Types of the document a deregistration on death rests on
// (death.certificate.type, 002 §4.4.14).
const (
	// DeathCertificateDomestic: a Ukrainian death certificate (свідоцтво про смерть).
	DeathCertificateDomestic = "death_certificate"
	// DeathCertificateForeign: a foreign authority's document registering
	// the death, legalised unless a treaty says otherwise.
	DeathCertificateForeign = "foreign_death_record"
)

// CorrectableFields are the fields of person a person.correct may correct
// (correction.fields, 002 §7.2–7.3). The УНЗР and the РНОКПП are not among
// them: they key the person's queue, and a different one is another person.
var CorrectableFields = []string{
	"surname", "given_names", "patronymic", "birth_date", "birth_place", "sex", "citizenship", "document",
}

// Types of an address-directory change (address_change.type, 002 §4.2.22, §7.4).
const (
	// AddressRenumbering: buildings renumbered (previous street and
	// building, new building; block optionally).
	AddressRenumbering = "renumbering"
	// AddressStreetRenamed: a street (avenue, square, lane...) renamed.
	AddressStreetRenamed = "street_renamed"
	// AddressSettlementRenamed: a settlement renamed.
	AddressSettlementRenamed = "settlement_renamed"
	// AddressUnitRenamed: an administrative-territorial unit renamed.
	AddressUnitRenamed = "unit_renamed"
)

// Military statuses (person.military_status, 002 §4.2.19.1): the first
// three put a person on the military register.
const (
	MilitaryConscript = "conscript"
	MilitaryLiable    = "liable"
	MilitaryReservist = "reservist"
	MilitaryNotLiable = "not_liable"
)

// OnMilitaryRegister says whether the person's status makes them a
// conscript, liable for service or a reservist.
func (p Person) OnMilitaryRegister() bool {
	switch p.MilitaryStatus {
	case MilitaryConscript, MilitaryLiable, MilitaryReservist:
		return true
	}
	return false
}

// Sexes (person.sex).
const (
	SexMale   = "M"
	SexFemale = "F"
)

// FieldError is one problem with one field of a submission. Field is the JSON
// path ("person.rnokpp"), empty for the body as a whole.
type FieldError struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// ValidationError lists every problem found in a submission.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid submission: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		if f.Field != "" {
			b.WriteString(f.Field)
			b.WriteString(": ")
		}
		b.WriteString(f.Code)
		if f.Detail != "" {
			b.WriteString(" (")
			b.WriteString(f.Detail)
			b.WriteString(")")
		}
	}
	return b.String()
}

func invalid(f FieldError) *ValidationError { return &ValidationError{Fields: []FieldError{f}} }

// Parse decodes and validates a submission body. now decides what "future"
// means; dates are compared as calendar days in Europe/Kyiv. Every error it
// returns is a *ValidationError listing all the problems found. Fields the
// hub does not know are allowed (and kept in the stored body by the caller).
func Parse(body []byte, now time.Time) (*Submission, error) {
	if len(body) > MaxBodyBytes {
		return nil, invalid(FieldError{Code: CodeTooLarge, Detail: fmt.Sprintf("body exceeds %d bytes", MaxBodyBytes)})
	}
	if !utf8.Valid(body) {
		return nil, invalid(FieldError{Code: CodeMalformed, Detail: "body is not valid UTF-8"})
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, invalid(FieldError{Code: CodeMalformed, Detail: "body must be a JSON object"})
	}
	var s Submission
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, invalid(malformed(err))
	}
	c := newChecker(now)
	c.submission(&s)
	if len(c.errs) > 0 {
		return nil, &ValidationError{Fields: c.errs}
	}
	return &s, nil
}

// malformed turns a decoding error into a FieldError without echoing the input.
func malformed(err error) FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got, _, _ := strings.Cut(te.Value, " ") // "number", "array"...; never the literal
		want := "string"
		if te.Type != nil {
			switch te.Type.Kind().String() {
			case "string":
			case "slice":
				want = "array"
			default:
				want = "object"
			}
		}
		return FieldError{Field: te.Field, Code: CodeMalformed, Detail: fmt.Sprintf("expected a JSON %s, got %s", want, got)}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return FieldError{Code: CodeMalformed, Detail: fmt.Sprintf("invalid JSON near byte %d", se.Offset)}
	}
	return FieldError{Code: CodeMalformed, Detail: "invalid JSON"}
}

// kyiv is the zone in which "today" is decided.
var kyiv = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Kyiv"); err == nil {
		return loc
	}
	return time.FixedZone("EET", 2*60*60)
})

// checker collects field errors, at most one per field.
type checker struct {
	today string            // YYYY-MM-DD in Europe/Kyiv
	dates map[string]string // dates that passed their checks, by path
	bad   map[string]bool
	errs  []FieldError
}

func newChecker(now time.Time) *checker {
	return &checker{
		today: now.In(kyiv()).Format(time.DateOnly),
		dates: map[string]string{},
		bad:   map[string]bool{},
	}
}

func (c *checker) add(field, code, detail string) {
	if c.bad[field] {
		return
	}
	c.bad[field] = true
	c.errs = append(c.errs, FieldError{Field: field, Code: code, Detail: detail})
}

// submission checks every field, then what the kind adds. The order matters
// only for dates checked against earlier ones (birth date first).
func (c *checker) submission(s *Submission) {
	checkFields(c, "", s, headRules)
	// An address.change concerns no person: its kind refuses the block.
	if s.Kind != KindAddressChange {
		checkFields(c, "person.", &s.Person, personRules)
		if s.Person.UNZR == "" && s.Person.RNOKPP == "" {
			c.add("person.unzr", CodeRequired, "unzr or rnokpp is required (a person who refused an РНОКПП is identified by the УНЗР)")
		}
		checkFields(c, "person.document.", s.Person.Document, documentRules)
	}
	checkFields(c, "address.", s.Address, addressRules)
	checkFields(c, "previous_address.", s.PreviousAddress, addressRules)
	checkFields(c, "", s, tailRules)
	checkFields(c, "official.", &s.Official, officialRules)
	checkFields(c, "basis_document.", s.BasisDocument, basisRules)
	checkFields(c, "cancellation.", s.Cancellation, cancellationRules)
	checkCancelReason(s, c)
	checkFields(c, "deregistration.", s.Deregistration, deregistrationRules)
	if x := s.Correction; x != nil {
		requireBlock(c, "correction.previous", x.Previous != nil)
		checkFields(c, "correction.previous.", x.Previous, previousPersonRules)
		if x.Previous != nil {
			checkFields(c, "correction.previous.document.", x.Previous.Document, previousDocumentRules)
		}
	}
	if d := s.Death; d != nil {
		checkFields(c, "death.", d, deathRules)
		requireBlock(c, "death.certificate", d.Certificate != nil)
		checkFields(c, "death.certificate.", d.Certificate, deathCertificateRules)
	}
	if a := s.AddressChange; a != nil {
		checkFields(c, "address_change.", a, addressChangeRules)
		requireBlock(c, "address_change.previous", a.Previous != nil)
		requireBlock(c, "address_change.new", a.New != nil)
		checkFields(c, "address_change.previous.", a.Previous, addressNamesRules)
		checkFields(c, "address_change.new.", a.New, addressNamesRules)
	}
	if spec, ok := Spec(s.Kind); ok {
		spec.validate(s, c)
	}
}

// requireBlock reports a block nested in another that must be there.
func requireBlock(c *checker, path string, present bool) {
	if !present {
		c.add(path, CodeRequired, "must be present")
	}
}

// maxRunes bounds every string field unless its rule says otherwise.
const maxRunes = 200

// minDate is the earliest date any field may carry.
const minDate = "1900-01-01"

// fieldRule checks one string field of a T. Checks run in order: blank
// (required), control characters, length, then check on non-empty values.
type fieldRule[T any] struct {
	name     string
	get      func(*T) string
	required bool
	max      int // in runes; 0 means maxRunes
	check    func(c *checker, path, v string) (code, detail string)
}

// checkFields applies rules to obj, a block that may be absent (nil).
func checkFields[T any](c *checker, prefix string, obj *T, rules []fieldRule[T]) {
	if obj == nil {
		return
	}
	for _, r := range rules {
		path := prefix + r.name
		if code, detail := r.apply(c, path, r.get(obj)); code != "" {
			c.add(path, code, detail)
		}
	}
}

func (r fieldRule[T]) apply(c *checker, path, v string) (string, string) {
	if strings.TrimSpace(v) == "" && (r.required || v == "") {
		if r.required {
			return CodeRequired, "must not be empty"
		}
		return "", ""
	}
	if strings.IndexFunc(v, badRune) >= 0 {
		return CodeInvalidCharacters, "contains control characters"
	}
	limit := r.max
	if limit == 0 {
		limit = maxRunes
	}
	if n := utf8.RuneCountInString(v); n > limit {
		return CodeTooLong, fmt.Sprintf("at most %d characters, got %d", limit, n)
	}
	if r.check != nil {
		return r.check(c, path, v)
	}
	return "", ""
}

func badRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == utf8.RuneError
}

var headRules = []fieldRule[Submission]{
	{name: "kind", get: func(s *Submission) string { return string(s.Kind) }, required: true, check: knownKind},
}

var tailRules = []fieldRule[Submission]{
	{name: "effective_date", get: func(s *Submission) string { return s.EffectiveDate }, required: true,
		check: dateRule{notFuture: true, notBefore: []string{"person.birth_date"}}.check},
}

// personRules: birth_date comes first so that unzr and later dates can be
// compared with it.
var personRules = []fieldRule[Person]{
	{name: "birth_date", get: func(p *Person) string { return p.BirthDate }, required: true,
		check: dateRule{notFuture: true}.check},
	{name: "unzr", get: func(p *Person) string { return p.UNZR }, check: checkUNZRField},
	{name: "rnokpp", get: func(p *Person) string { return p.RNOKPP }, check: checkRNOKPPField},
	{name: "surname", get: func(p *Person) string { return p.Surname }, required: true, check: personName},
	{name: "given_names", get: func(p *Person) string { return p.GivenNames }, required: true, check: personName},
	{name: "patronymic", get: func(p *Person) string { return p.Patronymic }, check: personName},
	{name: "birth_place", get: func(p *Person) string { return p.BirthPlace }},
	{name: "sex", get: func(p *Person) string { return p.Sex }, required: true, check: oneOf(SexMale, SexFemale)},
	{name: "citizenship", get: func(p *Person) string { return p.Citizenship }, check: alpha3},
	{name: "military_status", get: func(p *Person) string { return p.MilitaryStatus },
		check: oneOf(MilitaryConscript, MilitaryLiable, MilitaryReservist, MilitaryNotLiable)},
	{name: "military_registration_number", get: func(p *Person) string { return p.MilitaryRegNumber }},
}

var documentRules = documentRulesAt("person.document.")

// documentRulesAt are the rules of an identity document found at prefix: its
// expiry is compared with its own issue date.
func documentRulesAt(prefix string) []fieldRule[Document] {
	return []fieldRule[Document]{
		{name: "type", get: func(d *Document) string { return d.Type }, required: true,
			check: oneOf(DocumentIDCard, DocumentPassport, DocumentBirthCertificate, DocumentForeignPassport, DocumentResidencePermit)},
		// Series and number together, without separators: "КВ123456", "001234567".
		{name: "number", get: func(d *Document) string { return d.Number }, required: true, max: 20, check: alnum},
		{name: "issued_on", get: func(d *Document) string { return d.IssuedOn },
			check: dateRule{notFuture: true, notBefore: []string{"person.birth_date"}}.check},
		{name: "issuer", get: func(d *Document) string { return d.Issuer }},
		{name: "expires_on", get: func(d *Document) string { return d.Expires },
			check: dateRule{notBefore: []string{prefix + "issued_on", "person.birth_date"}}.check},
	}
}

// previousPersonRules check the values a correction replaces like the
// person's own, none required (a correction names which are there).
var previousPersonRules = []fieldRule[PreviousPerson]{
	{name: "surname", get: func(p *PreviousPerson) string { return p.Surname }, check: personName},
	{name: "given_names", get: func(p *PreviousPerson) string { return p.GivenNames }, check: personName},
	{name: "patronymic", get: func(p *PreviousPerson) string { return p.Patronymic }, check: personName},
	{name: "birth_date", get: func(p *PreviousPerson) string { return p.BirthDate }, check: dateRule{notFuture: true}.check},
	{name: "birth_place", get: func(p *PreviousPerson) string { return p.BirthPlace }},
	{name: "sex", get: func(p *PreviousPerson) string { return p.Sex }, check: oneOf(SexMale, SexFemale)},
	{name: "citizenship", get: func(p *PreviousPerson) string { return p.Citizenship }, check: alpha3},
}

var previousDocumentRules = documentRulesAt("correction.previous.document.")

var deathRules = []fieldRule[Death]{
	{name: "date", get: func(d *Death) string { return d.Date }, required: true,
		check: dateRule{notFuture: true, notBefore: []string{"person.birth_date"}}.check},
}

var deathCertificateRules = []fieldRule[DeathCertificate]{
	{name: "type", get: func(d *DeathCertificate) string { return d.Type }, required: true,
		check: oneOf(DeathCertificateDomestic, DeathCertificateForeign)},
	{name: "number", get: func(d *DeathCertificate) string { return d.Number }, required: true, max: 20, check: alnum},
	{name: "issued_on", get: func(d *DeathCertificate) string { return d.IssuedOn }, required: true,
		check: dateRule{notFuture: true, notBefore: []string{"death.date", "person.birth_date"}}.check},
	{name: "issuer", get: func(d *DeathCertificate) string { return d.Issuer }, required: true},
}

var addressChangeRules = []fieldRule[AddressChange]{
	{name: "type", get: func(a *AddressChange) string { return a.Type }, required: true,
		check: oneOf(AddressRenumbering, AddressStreetRenamed, AddressSettlementRenamed, AddressUnitRenamed)},
	{name: "katottg", get: func(a *AddressChange) string { return a.KATOTTG }, required: true, check: katottg},
}

var addressNamesRules = []fieldRule[AddressNames]{
	{name: "unit", get: func(a *AddressNames) string { return a.Unit }},
	{name: "settlement", get: func(a *AddressNames) string { return a.Settlement }},
	{name: "street", get: func(a *AddressNames) string { return a.Street }},
	{name: "building", get: func(a *AddressNames) string { return a.Building }, max: 20},
	{name: "block", get: func(a *AddressNames) string { return a.Block }, max: 20},
}

var addressRules = []fieldRule[Address]{
	{name: "katottg", get: func(a *Address) string { return a.KATOTTG }, required: true, check: katottg},
	{name: "street", get: func(a *Address) string { return a.Street }},
	{name: "building", get: func(a *Address) string { return a.Building }, max: 20},
	{name: "block", get: func(a *Address) string { return a.Block }, max: 20},
	{name: "apartment", get: func(a *Address) string { return a.Apartment }, max: 20},
}

var officialRules = []fieldRule[Official]{
	// id becomes the X-Road userId: no white space.
	{name: "id", get: func(o *Official) string { return o.ID }, required: true, max: 64, check: noSpace},
	{name: "name", get: func(o *Official) string { return o.Name }, required: true},
	{name: "position", get: func(o *Official) string { return o.Position }},
}

var basisRules = []fieldRule[BasisDocument]{
	{name: "type", get: func(b *BasisDocument) string { return b.Type }, required: true},
	{name: "number", get: func(b *BasisDocument) string { return b.Number }},
	{name: "date", get: func(b *BasisDocument) string { return b.Date }, check: dateRule{notFuture: true}.check},
}

var cancellationRules = []fieldRule[Cancellation]{
	{name: "of", get: func(x *Cancellation) string { return string(x.Of) }, required: true, check: cancellableKind},
	{name: "action_id", get: func(x *Cancellation) string { return x.ActionID }, check: canonicalUUID},
	{name: "reason", get: func(x *Cancellation) string { return x.Reason }, required: true},
}

var deregistrationRules = []fieldRule[Deregistration]{
	{name: "reason", get: func(d *Deregistration) string { return d.Reason }, required: true,
		check: oneOf(DeregistrationMoved, DeregistrationCourtDecision, DeregistrationOwnerRequest, DeregistrationDeath, DeregistrationOther)},
}

// blockPresent tells whether an optional block is in a submission; kinds name
// these blocks as required or not allowed.
var blockPresent = map[string]func(*Submission) bool{
	// person is a struct: absent when every field is empty.
	"person":           func(s *Submission) bool { return s.Person != Person{} },
	"address":          func(s *Submission) bool { return s.Address != nil },
	"previous_address": func(s *Submission) bool { return s.PreviousAddress != nil },
	"person.document":  func(s *Submission) bool { return s.Person.Document != nil },
	"basis_document":   func(s *Submission) bool { return s.BasisDocument != nil },
	"cancellation":     func(s *Submission) bool { return s.Cancellation != nil },
	"deregistration":   func(s *Submission) bool { return s.Deregistration != nil },
	"correction":       func(s *Submission) bool { return s.Correction != nil },
	"death":            func(s *Submission) bool { return s.Death != nil },
	"address_change":   func(s *Submission) bool { return s.AddressChange != nil },
}

// blocks is the part of a kind's validation that says which blocks it
// requires and which it does not take.
type blocks struct {
	required, forbidden []string
}

func (b blocks) check(s *Submission, c *checker) {
	for _, name := range b.required {
		if !present(name, s) {
			c.add(name, CodeRequired, fmt.Sprintf("required for %s", s.Kind))
		}
	}
	for _, name := range b.forbidden {
		if present(name, s) {
			c.add(name, CodeNotAllowed, fmt.Sprintf("not allowed for %s", s.Kind))
		}
	}
}

func present(block string, s *Submission) bool {
	f, ok := blockPresent[block]
	if !ok {
		panic(fmt.Sprintf("action: unknown block %q in the kind table", block))
	}
	return f(s)
}

// --- checks ---

func knownKind(_ *checker, _, v string) (string, string) {
	if _, ok := Spec(Kind(v)); !ok {
		return CodeUnknownValue, fmt.Sprintf("unknown kind; known: %s", joinKinds(Kinds()))
	}
	return "", ""
}

func cancellableKind(_ *checker, _, v string) (string, string) {
	if s, ok := Spec(Kind(v)); ok && s.Cancellable() {
		return "", ""
	}
	return CodeUnknownValue, "must be one of " + joinKinds(CancellableKinds())
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func oneOf(values ...string) func(*checker, string, string) (string, string) {
	detail := "must be one of " + strings.Join(values, ", ")
	return func(_ *checker, _, v string) (string, string) {
		for _, x := range values {
			if v == x {
				return "", ""
			}
		}
		return CodeUnknownValue, detail
	}
}

// dateRule checks a YYYY-MM-DD date; a date that passes is remembered under
// its path so later dates can be compared with it.
type dateRule struct {
	notFuture bool
	notBefore []string // paths of dates checked earlier
}

func (d dateRule) check(c *checker, path, v string) (string, string) {
	if code, detail := checkDate(v); code != "" {
		return code, detail
	}
	if d.notFuture && v > c.today {
		return CodeFutureDate, "after today (Europe/Kyiv)"
	}
	if v < minDate {
		return CodeOutOfRange, "before " + minDate
	}
	for _, p := range d.notBefore {
		if w, ok := c.dates[p]; ok && v < w {
			return CodeOutOfRange, "before " + p
		}
	}
	c.dates[path] = v
	return "", ""
}

func checkDate(v string) (string, string) {
	if !digitsAt(v, "dddd-dd-dd") {
		return CodeInvalidFormat, "expected YYYY-MM-DD"
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return CodeInvalidDate, "no such calendar date"
	}
	return "", ""
}

// digitsAt reports whether v has the shape of pattern, where 'd' stands for an
// ASCII digit and any other byte for itself.
func digitsAt(v, pattern string) bool {
	if len(v) != len(pattern) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if pattern[i] == 'd' {
			if v[i] < '0' || v[i] > '9' {
				return false
			}
		} else if v[i] != pattern[i] {
			return false
		}
	}
	return true
}

func checkUNZRField(c *checker, _, v string) (string, string) {
	if code, detail := unzrProblem(v); code != "" {
		return code, detail
	}
	if b, ok := c.dates["person.birth_date"]; ok && strings.ReplaceAll(b, "-", "") != v[:8] {
		return CodeMismatch, "date part differs from birth_date"
	}
	return "", ""
}

func checkRNOKPPField(_ *checker, _, v string) (string, string) {
	return rnokppProblem(v)
}

// personName: letters (any script) with spaces, hyphens, apostrophes and dots.
func personName(_ *checker, _, v string) (string, string) {
	letters := 0
	for _, r := range v {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.Is(unicode.M, r), strings.ContainsRune(" -'’ʼ‘.", r):
		default:
			return CodeInvalidFormat, "letters, spaces, hyphens, apostrophes and dots only"
		}
	}
	if letters == 0 {
		return CodeInvalidFormat, "must contain a letter"
	}
	return "", ""
}

func alpha3(_ *checker, _, v string) (string, string) {
	if len(v) != 3 || strings.IndexFunc(v, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return CodeInvalidFormat, "expected an ISO 3166-1 alpha-3 code in capitals"
	}
	return "", ""
}

func alnum(_ *checker, _, v string) (string, string) {
	if strings.IndexFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && (r < '0' || r > '9') }) >= 0 {
		return CodeInvalidFormat, "letters and digits only"
	}
	return "", ""
}

// ValidKATOTTG says whether s has the form of a KATOTTG code: UA followed by
// 17 digits.
func ValidKATOTTG(s string) bool { return digitsAt(s, "UAddddddddddddddddd") }

func katottg(_ *checker, _, v string) (string, string) {
	if !ValidKATOTTG(v) {
		return CodeInvalidFormat, "expected UA followed by 17 digits"
	}
	return "", ""
}

func noSpace(_ *checker, _, v string) (string, string) {
	if strings.IndexFunc(v, unicode.IsSpace) >= 0 {
		return CodeInvalidFormat, "must not contain white space"
	}
	return "", ""
}

func canonicalUUID(_ *checker, _, v string) (string, string) {
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		return CodeInvalidFormat, "expected a UUID"
	}
	return "", ""
}

// --- identifiers ---

// rnokppWeights are the РНОКПП check weights of digits 1–9 (DOMAIN.md).
var rnokppWeights = [9]int{-1, 5, 7, 9, 4, 6, 10, 5, 7}

// RNOKPPCheckDigit computes the РНОКПП check digit over the first nine digits
// of s: ((−d1 + 5d2 + 7d3 + 9d4 + 4d5 + 6d6 + 10d7 + 5d8 + 7d9) mod 11) mod 10.
// It returns -1 when s does not start with nine ASCII digits.
func RNOKPPCheckDigit(s string) int {
	if len(s) < 9 {
		return -1
	}
	sum := 0
	for i, w := range rnokppWeights {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		sum += w * int(s[i]-'0')
	}
	return ((sum%11 + 11) % 11) % 10
}

// ValidRNOKPP reports whether s is ten digits with a correct check digit.
func ValidRNOKPP(s string) bool {
	code, _ := rnokppProblem(s)
	return code == ""
}

func rnokppProblem(s string) (string, string) {
	if !digitsAt(s, "dddddddddd") {
		return CodeInvalidFormat, "expected 10 digits"
	}
	if RNOKPPCheckDigit(s) != int(s[9]-'0') {
		return CodeInvalidChecksum, "check digit does not match"
	}
	return "", ""
}

// ValidUNZR checks an УНЗР: YYYYMMDD-NNNNC with a real date and a serial
// 0001–9999. The check digit C is not verified: which digits it covers is
// unconfirmed (DOMAIN.md), see UNZRCheckDigit.
func ValidUNZR(s string) error {
	if code, detail := unzrProblem(s); code != "" {
		return fmt.Errorf("unzr: %s: %s", code, detail)
	}
	return nil
}

func unzrProblem(s string) (string, string) {
	if !digitsAt(s, "dddddddd-ddddd") {
		return CodeInvalidFormat, "expected YYYYMMDD-NNNNC"
	}
	if _, err := time.Parse("20060102", s[:8]); err != nil || s[:8] < "19000101" {
		return CodeInvalidDate, "date part is not a calendar date"
	}
	if s[9:13] == "0000" {
		return CodeInvalidFormat, "serial must be 0001-9999"
	}
	return "", ""
}

// UNZRCheckDigit computes the check digit the way a passport's machine
// readable zone does (ICAO 9303: weights 7, 3, 1 repeating, sum mod 10) over
// the first 12 digits of s, the birth date and the serial; other characters
// (the hyphen) are skipped. It returns -1 when s has fewer than 12 digits.
// It is advisory: ValidUNZR does not require it to match.
func UNZRCheckDigit(s string) int {
	weights := [3]int{7, 3, 1}
	sum, n := 0, 0
	for i := 0; i < len(s) && n < 12; i++ {
		if s[i] < '0' || s[i] > '9' {
			continue
		}
		sum += weights[n%3] * int(s[i]-'0')
		n++
	}
	if n < 12 {
		return -1
	}
	return sum % 10
}
