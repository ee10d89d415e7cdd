package notice

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
)

// FieldError is one problem with one field of a notice: its path in the
// notice's JSON ("document.number"), and a code and detail as for actions
// (action.CodeRequired...). Details never repeat the value.
type FieldError = action.FieldError

// ValidationError lists every problem found in a notice.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid notice: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Code)
		if f.Detail != "" {
			b.WriteString(" (")
			b.WriteString(f.Detail)
			b.WriteString(")")
		}
	}
	return b.String()
}

// Limits of the free-text and identifier fields, in runes.
const (
	maxID     = 100
	maxText   = 200
	maxReason = 2000
)

// ClockSkew is how far in the future IssuedAt may lie: the two systems'
// clocks differ a little.
const ClockSkew = 5 * time.Minute

// earliest is the earliest IssuedAt accepted.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// DocumentTypes are the document types a notice may name, those of an
// action's person.document.type.
var DocumentTypes = []string{
	action.DocumentIDCard, action.DocumentPassport, action.DocumentBirthCertificate,
	action.DocumentForeignPassport, action.DocumentResidencePermit,
}

// Check validates n as of now and returns it in canonical form: the hub
// action id bare and in lower case (an action reference RH-<id> loses its
// prefix), IssuedAt in UTC. Each kind requires its own fields:
//
//	every kind                     notice_id, kind, action.registration_body_code,
//	                               reason, issued_at (not after now + ClockSkew)
//	recheck_action                 action.hub_action_id or action.upstream_reference;
//	                               no document, no civil_record
//	cancel_invalid_document        person (unzr or rnokpp), document (type, number);
//	                               no civil_record
//	cancel_annulled_civil_record   person (unzr or rnokpp), civil_record (number,
//	                               date, office); no document
//
// A person, when given, names an УНЗР or a РНОКПП, each valid. Every error
// is a *ValidationError listing all the problems found.
func Check(n Notice, now time.Time) (Notice, error) {
	c := &checker{}
	c.text("notice_id", n.NoticeID, true, maxID, noSpace)
	switch {
	case n.Kind == "":
		c.add("kind", action.CodeRequired, "must not be empty")
	case !n.Kind.Valid():
		c.add("kind", action.CodeUnknownValue, "one of "+kindList())
	}

	a := &n.Action
	c.text("action.registration_body_code", a.RegistrationBodyCode, true, maxID, noSpace)
	c.text("action.upstream_reference", a.UpstreamReference, false, maxID, noSpace)
	if a.HubActionID != "" {
		if id, err := parseActionID(a.HubActionID); err != nil {
			c.add("action.hub_action_id", action.CodeInvalidFormat, "expected the hub's action id (a UUID) or its reference RH-<UUID>")
		} else {
			a.HubActionID = id.String()
		}
	}

	if p := n.Person; p != nil {
		c.unzr("person.unzr", p.UNZR)
		c.rnokpp("person.rnokpp", p.RNOKPP)
		if p.UNZR == "" && p.RNOKPP == "" {
			c.add("person.unzr", action.CodeRequired, "unzr or rnokpp is required")
		}
	}
	if d := n.Document; d != nil {
		c.text("document.type", d.Type, true, maxText, oneOf(DocumentTypes))
		c.text("document.number", d.Number, true, 20, alnum)
	}
	if r := n.CivilRecord; r != nil {
		c.text("civil_record.number", r.Number, true, maxID, nil)
		c.text("civil_record.date", r.Date, true, 10, pastDate(now))
		c.text("civil_record.office", r.Office, true, maxText, nil)
	}
	c.reason(n.Reason)
	if t, ok := c.issuedAt(n.IssuedAt, now); ok {
		n.IssuedAt = t.UTC().Format(time.RFC3339Nano)
	}

	switch n.Kind {
	case KindRecheckAction:
		if a.HubActionID == "" && a.UpstreamReference == "" {
			c.add("action.hub_action_id", action.CodeRequired, "recheck_action names the action: hub_action_id or upstream_reference")
		}
		c.absent("document", n.Document != nil)
		c.absent("civil_record", n.CivilRecord != nil)
	case KindCancelInvalidDocument:
		c.present("person", n.Person != nil, "the person whose document was declared invalid")
		c.present("document", n.Document != nil, "the document declared invalid (type, number)")
		c.absent("civil_record", n.CivilRecord != nil)
	case KindCancelAnnulledCivilRecord:
		c.present("person", n.Person != nil, "the person the annulled record concerns")
		c.present("civil_record", n.CivilRecord != nil, "the annulled record (number, date, office)")
		c.absent("document", n.Document != nil)
	}
	if len(c.errs) > 0 {
		return n, &ValidationError{Fields: c.errs}
	}
	return n, nil
}

// checker collects field errors, at most one per field.
type checker struct {
	errs []FieldError
	bad  map[string]bool
}

func (c *checker) add(field, code, detail string) {
	if c.bad == nil {
		c.bad = map[string]bool{}
	}
	if c.bad[field] {
		return
	}
	c.bad[field] = true
	c.errs = append(c.errs, FieldError{Field: field, Code: code, Detail: detail})
}

// text checks a one-line text field: required (not blank), no control
// characters, at most max runes, then check on a non-empty value.
func (c *checker) text(field, v string, required bool, max int, check func(string) (string, string)) {
	if strings.TrimSpace(v) == "" {
		if required {
			c.add(field, action.CodeRequired, "must not be empty")
		} else if v != "" {
			c.add(field, action.CodeInvalidFormat, "must not be blank")
		}
		return
	}
	if strings.IndexFunc(v, badRune) >= 0 {
		c.add(field, action.CodeInvalidCharacters, "contains control characters")
		return
	}
	if n := utf8.RuneCountInString(v); n > max {
		c.add(field, action.CodeTooLong, fmt.Sprintf("at most %d characters, got %d", max, n))
		return
	}
	if check != nil {
		if code, detail := check(v); code != "" {
			c.add(field, code, detail)
		}
	}
}

// reason is free text: several lines are allowed, other control characters
// are not.
func (c *checker) reason(v string) {
	switch {
	case strings.TrimSpace(v) == "":
		c.add("reason", action.CodeRequired, "must not be empty")
	case strings.IndexFunc(v, func(r rune) bool { return r != '\n' && r != '\r' && r != '\t' && badRune(r) }) >= 0:
		c.add("reason", action.CodeInvalidCharacters, "contains control characters")
	case utf8.RuneCountInString(v) > maxReason:
		c.add("reason", action.CodeTooLong, fmt.Sprintf("at most %d characters, got %d", maxReason, utf8.RuneCountInString(v)))
	}
}

func (c *checker) issuedAt(v string, now time.Time) (time.Time, bool) {
	if v == "" {
		c.add("issued_at", action.CodeRequired, "must not be empty")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	switch {
	case err != nil:
		c.add("issued_at", action.CodeInvalidFormat, "expected a date and time with its time zone (RFC 3339, xs:dateTime)")
	case t.After(now.Add(ClockSkew)):
		c.add("issued_at", action.CodeFutureDate, "in the future")
	case t.Before(earliest):
		c.add("issued_at", action.CodeOutOfRange, "before 2000")
	default:
		return t, true
	}
	return time.Time{}, false
}

func (c *checker) unzr(field, v string) {
	if v == "" {
		return
	}
	if err := action.ValidUNZR(v); err != nil {
		c.add(field, action.CodeInvalidFormat, "expected YYYYMMDD-NNNNC with a calendar date and a serial 0001-9999")
	}
}

func (c *checker) rnokpp(field, v string) {
	switch {
	case v == "" || action.ValidRNOKPP(v):
	case len(v) == 10 && strings.Trim(v, "0123456789") == "":
		c.add(field, action.CodeInvalidChecksum, "check digit does not match")
	default:
		c.add(field, action.CodeInvalidFormat, "expected 10 digits")
	}
}

// present requires a block the kind needs; absent refuses one it does not
// take.
func (c *checker) present(field string, ok bool, what string) {
	if !ok {
		c.add(field, action.CodeRequired, "a notice of this kind names "+what)
	}
}

func (c *checker) absent(field string, given bool) {
	if given {
		c.add(field, action.CodeNotAllowed, "a notice of this kind does not take "+field)
	}
}

func badRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == utf8.RuneError
}

func noSpace(v string) (string, string) {
	if strings.IndexFunc(v, unicode.IsSpace) >= 0 {
		return action.CodeInvalidFormat, "must not contain white space"
	}
	return "", ""
}

func alnum(v string) (string, string) {
	if strings.IndexFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && (r < '0' || r > '9') }) >= 0 {
		return action.CodeInvalidFormat, "letters and digits only"
	}
	return "", ""
}

func oneOf(values []string) func(string) (string, string) {
	return func(v string) (string, string) {
		for _, w := range values {
			if v == w {
				return "", ""
			}
		}
		return action.CodeUnknownValue, "one of " + strings.Join(values, ", ")
	}
}

// pastDate checks a YYYY-MM-DD date between 1900 and today (UTC, a day's
// margin for the zones).
func pastDate(now time.Time) func(string) (string, string) {
	return func(v string) (string, string) {
		t, err := time.Parse(time.DateOnly, v)
		switch {
		case !isDateShape(v):
			return action.CodeInvalidFormat, "expected YYYY-MM-DD"
		case err != nil:
			return action.CodeInvalidDate, "no such calendar date"
		case t.Year() < 1900:
			return action.CodeOutOfRange, "before 1900"
		case t.After(now.UTC().AddDate(0, 0, 1)):
			return action.CodeFutureDate, "in the future"
		}
		return "", ""
	}
}

// isDateShape reports whether v reads dddd-dd-dd, d an ASCII digit.
func isDateShape(v string) bool {
	if len(v) != 10 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i == 4 || i == 7 {
			if v[i] != '-' {
				return false
			}
		} else if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// actionRefPrefix starts the action reference the hub sends upstream.
const actionRefPrefix = "RH-"

// parseActionID reads a hub action id, bare or as its reference RH-<id>.
func parseActionID(s string) (uuid.UUID, error) {
	s = strings.TrimPrefix(s, actionRefPrefix)
	if len(s) != 36 {
		return uuid.UUID{}, errors.New("not a UUID")
	}
	return uuid.Parse(s)
}
