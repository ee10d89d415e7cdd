package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what a record is about.
type Kind string

// The kinds of record.
const (
	KindQuery        Kind = "query"
	KindOperatorStep Kind = "operator_step"
)

// The decisions of a query. Pending and Failed are granted queries that
// delivered nothing: waiting for a source that is down, or refused by one
// for good. An operator step's decision is its operation (ops.OpRetry,
// ops.OpCancel, …).
const (
	Granted = "granted"
	Refused = "refused"
	Pending = "pending"
	Failed  = "failed"
)

// ErrInvalid is returned (wrapped) for a record that cannot be logged.
var ErrInvalid = errors.New("invalid audit record")

// Record is one entry of the audit log: a query, granted or refused, or an
// operator step.
type Record struct {
	Kind Kind `json:"kind"`
	// At is when it happened; Append sets it to now when zero. It is kept
	// in UTC to the microsecond.
	At time.Time `json:"at"`
	// Org is the requesting organisation (for an operator step, the
	// operator's client id); Official the person there who asked.
	Org      string `json:"org"`
	Official string `json:"official"`
	// Basis is the legal basis's catalogue code, Citation its law and
	// article as cited.
	Basis    string `json:"basis"`
	Citation string `json:"citation"`
	Purpose  string `json:"purpose"`
	CaseRef  string `json:"case_ref"`
	QueryID  string `json:"query_id"`
	// Search holds the search parameters given (unzr, rnokpp,
	// surname, birth_date, katottg, …).
	Search          map[string]string `json:"search"`
	FieldsAsked     []string          `json:"fields_asked"`
	FieldsDelivered []string          `json:"fields_delivered"`
	// Persons identifies whose data was delivered, as "unzr:…" or
	// "rnokpp:…": the data subjects' listing is by these.
	Persons []string `json:"persons"`
	// Decision is Granted or Refused for a query, the operation for a step.
	Decision string `json:"decision"`
	// Reason is the refusal reason code, or the operator's reason.
	Reason string `json:"reason"`
	// Detail is free JSON: an operator step's target and details, a
	// query's catalogue version and refusal detail.
	Detail json.RawMessage `json:"detail"`
}

// Stored is a record as the log holds it, with its place in the chain.
type Stored struct {
	Seq int64 `json:"seq"`
	Record
}

// Normalize returns r as it is logged and as Decode(Encode(r)) gives it
// back: At in UTC truncated to the microsecond; invalid UTF-8 and NUL in
// strings replaced by U+FFFD (PostgreSQL text holds neither); Detail in
// canonical JSON (nil for JSON null; left as is when it is not JSON); nil
// lists and map kept as they are (they encode as [] and {}). Search keys
// that become equal keep the value of the bytewise smallest original key.
func Normalize(r Record) Record {
	n, err := normalize(r)
	if err != nil {
		n.Detail = r.Detail
	}
	return n
}

// normalize is Normalize, failing for a detail that is not JSON.
func normalize(r Record) (Record, error) {
	r.Kind = Kind(clean(string(r.Kind)))
	r.At = r.At.UTC().Truncate(time.Microsecond)
	for _, p := range []*string{&r.Org, &r.Official, &r.Basis, &r.Citation, &r.Purpose, &r.CaseRef, &r.QueryID, &r.Decision, &r.Reason} {
		*p = clean(*p)
	}
	if r.Search != nil {
		keys := make([]string, 0, len(r.Search))
		for k := range r.Search {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m := make(map[string]string, len(keys))
		for _, k := range keys {
			ck := clean(k)
			if _, dup := m[ck]; !dup {
				m[ck] = clean(r.Search[k])
			}
		}
		r.Search = m
	}
	r.FieldsAsked = cleanAll(r.FieldsAsked)
	r.FieldsDelivered = cleanAll(r.FieldsDelivered)
	r.Persons = cleanAll(r.Persons)
	if len(r.Detail) > 0 {
		d, err := CanonicalJSON(r.Detail)
		if err != nil {
			return r, fmt.Errorf("%w: detail: %w", ErrInvalid, err)
		}
		r.Detail = d
	}
	return r, nil
}

// Validate reports what keeps r from being logged: an unknown kind, no
// decision, a time PostgreSQL or the encoding cannot hold, or a detail that
// is not JSON.
func (r Record) Validate() error {
	switch r.Kind {
	case KindQuery:
		switch r.Decision {
		case Granted, Refused, Pending, Failed:
		default:
			return fmt.Errorf("%w: a query's decision must be %q, %q, %q or %q, not %q", ErrInvalid, Granted, Refused, Pending, Failed, r.Decision)
		}
	case KindOperatorStep:
		if r.Decision == "" {
			return fmt.Errorf("%w: an operator step needs its operation as decision", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: kind must be %q or %q, not %q", ErrInvalid, KindQuery, KindOperatorStep, r.Kind)
	}
	if y := r.At.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%w: time %s is out of range", ErrInvalid, r.At)
	}
	if len(r.Detail) > 0 && !json.Valid(r.Detail) {
		return fmt.Errorf("%w: detail is not JSON", ErrInvalid)
	}
	return nil
}

func clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

func cleanAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return out
}
