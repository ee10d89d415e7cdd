package mapping

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/action"
)

// RegistrationBody is the registration body (орган реєстрації) the hub speaks
// for; it comes from configuration.
type RegistrationBody struct {
	Code string
	Name string
}

// Meta is what a message carries besides the submission.
type Meta struct {
	// MessageID is the outbox message id: the X-Road id, the DMS requestId and
	// the EDDR messageId, and so the upstream's idempotency key.
	MessageID string
	// ActionRef is the hub's action reference: the X-Road issue, the DMS
	// actionReference and the EDDR sourceReference.
	ActionRef string
	// StatusTime is when the registration body recorded the action (the DMS
	// statusTime); it is sent in UTC.
	StatusTime time.Time
	// RegistrationBody is the hub's registration-body identity.
	RegistrationBody RegistrationBody
}

// ErrUnknownKind is returned (wrapped) for an action kind a destination has
// no mapping for.
var ErrUnknownKind = errors.New("no mapping for action kind")

// fields collects the problems found while mapping, so that one error names
// them all.
type fields struct {
	errs []string
}

func (f *fields) add(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// need records a missing value the schema requires.
func (f *fields) need(name, v string) string {
	if strings.TrimSpace(v) == "" {
		f.add("%s is required", name)
	}
	return v
}

// date converts a YYYY-MM-DD string; an empty optional date is the zero
// XSDDate, which gowsdl leaves out of the XML.
func (f *fields) date(name, v string, required bool) soap.XSDDate {
	if v == "" {
		if required {
			f.add("%s is required", name)
		}
		return soap.XSDDate{}
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		f.add("%s is not a YYYY-MM-DD date", name) // never echo the value: it is personal data
		return soap.XSDDate{}
	}
	return soap.CreateXsdDate(t, false)
}

// dateTime converts an instant to an xs:dateTime in UTC ("…Z").
func (f *fields) dateTime(name string, t time.Time) soap.XSDDateTime {
	if t.IsZero() {
		f.add("%s is required", name)
		return soap.XSDDateTime{}
	}
	return soap.CreateXsdDateTime(t.UTC(), true)
}

func (f *fields) err(dest string) error {
	if len(f.errs) == 0 {
		return nil
	}
	return fmt.Errorf("map to %s: %s", dest, strings.Join(f.errs, "; "))
}

// enumOf translates one of the hub's codes into a destination's enumeration
// value; a code without one is a mapping error (named, never echoed).
func enumOf[T ~string](f *fields, name, code string, table map[string]T) *T {
	v, ok := table[code]
	if !ok {
		f.add("%s has no value at this destination", name)
		return nil
	}
	return &v
}

// all runs the fillers of a kind in order.
func all[R any](fs ...func(*fields, *action.Submission, R)) func(*fields, *action.Submission, R) {
	return func(f *fields, s *action.Submission, req R) {
		for _, fill := range fs {
			fill(f, s, req)
		}
	}
}

// Day renders an xs:date as YYYY-MM-DD; "" when absent or invalid.
func Day(d soap.XSDDate) string {
	t := d.ToGoTime()
	if t.Year() <= 1 {
		return ""
	}
	return t.Format(time.DateOnly)
}

// XSDDate is Day's inverse; "" (or an invalid date) is the zero XSDDate,
// which gowsdl leaves out.
func XSDDate(s string) soap.XSDDate {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return soap.XSDDate{}
	}
	return soap.CreateXsdDate(t, false)
}
