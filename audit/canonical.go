package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"
)

// EncodingVersion is the "v" of the canonical encoding.
const EncodingVersion = 1

// timeLayout is the one way a time is written: UTC, microseconds.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// ErrNotCanonical is returned (wrapped) by Decode for bytes that are not
// exactly what Encode writes.
var ErrNotCanonical = errors.New("not a canonical audit record")

// Encode returns the canonical bytes of r (see the package documentation):
// what the chain hashes and the log stores. It fails only for a time
// outside years 1–9999 or a detail that is not JSON.
func Encode(r Record) ([]byte, error) {
	_, b, err := Canonical(r)
	return b, err
}

// Canonical returns r normalised (Normalize) and its canonical bytes
// (Encode): the record as it will be decoded from them, and the bytes.
func Canonical(r Record) (Record, []byte, error) {
	r, err := normalize(r)
	if err != nil {
		return r, nil, err
	}
	if y := r.At.Year(); y < 1 || y > 9999 {
		return r, nil, fmt.Errorf("%w: time %s is out of range", ErrInvalid, r.At)
	}
	b := make([]byte, 0, 512)
	b = fmt.Appendf(b, `{"v":%d,"kind":`, EncodingVersion)
	b = appendString(b, string(r.Kind))
	b = append(b, `,"at":"`...)
	b = r.At.AppendFormat(b, timeLayout)
	b = append(b, '"')
	for _, f := range [...]struct{ key, val string }{
		{"org", r.Org}, {"official", r.Official}, {"basis", r.Basis}, {"citation", r.Citation},
		{"purpose", r.Purpose}, {"case_ref", r.CaseRef}, {"query_id", r.QueryID},
	} {
		b = appendKey(b, f.key)
		b = appendString(b, f.val)
	}
	b = appendKey(b, "search")
	b = appendStringMap(b, r.Search)
	b = appendKey(b, "fields_asked")
	b = appendStrings(b, r.FieldsAsked)
	b = appendKey(b, "fields_delivered")
	b = appendStrings(b, r.FieldsDelivered)
	b = appendKey(b, "persons")
	b = appendStrings(b, r.Persons)
	b = appendKey(b, "decision")
	b = appendString(b, r.Decision)
	b = appendKey(b, "reason")
	b = appendString(b, r.Reason)
	b = appendKey(b, "detail")
	if len(r.Detail) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Detail...) // canonical already (normalize)
	}
	return r, append(b, '}'), nil
}

// wire is the canonical encoding's shape, for Decode.
type wire struct {
	V               int               `json:"v"`
	Kind            string            `json:"kind"`
	At              string            `json:"at"`
	Org             string            `json:"org"`
	Official        string            `json:"official"`
	Basis           string            `json:"basis"`
	Citation        string            `json:"citation"`
	Purpose         string            `json:"purpose"`
	CaseRef         string            `json:"case_ref"`
	QueryID         string            `json:"query_id"`
	Search          map[string]string `json:"search"`
	FieldsAsked     []string          `json:"fields_asked"`
	FieldsDelivered []string          `json:"fields_delivered"`
	Persons         []string          `json:"persons"`
	Decision        string            `json:"decision"`
	Reason          string            `json:"reason"`
	Detail          json.RawMessage   `json:"detail"`
}

// Decode parses canonical bytes back into a record. It accepts exactly what
// Encode writes: anything else (other key order or spacing, a missing or
// unknown key, another time format) is ErrNotCanonical.
func Decode(b []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wire
	if err := dec.Decode(&w); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrNotCanonical, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Record{}, fmt.Errorf("%w: data after the record", ErrNotCanonical)
	}
	if w.V != EncodingVersion {
		return Record{}, fmt.Errorf("%w: version %d, want %d", ErrNotCanonical, w.V, EncodingVersion)
	}
	at, err := time.Parse(timeLayout, w.At)
	if err != nil {
		return Record{}, fmt.Errorf("%w: at: %w", ErrNotCanonical, err)
	}
	r := Record{
		Kind: Kind(w.Kind), At: at, Org: w.Org, Official: w.Official, Basis: w.Basis, Citation: w.Citation,
		Purpose: w.Purpose, CaseRef: w.CaseRef, QueryID: w.QueryID, Search: w.Search,
		FieldsAsked: w.FieldsAsked, FieldsDelivered: w.FieldsDelivered, Persons: w.Persons,
		Decision: w.Decision, Reason: w.Reason,
	}
	if len(w.Detail) > 0 && string(w.Detail) != "null" {
		r.Detail = w.Detail
	}
	again, err := Encode(r)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrNotCanonical, err)
	}
	if !bytes.Equal(again, b) {
		return Record{}, fmt.Errorf("%w: bytes differ from the record's canonical encoding", ErrNotCanonical)
	}
	return r, nil
}

// CanonicalJSON re-encodes a JSON value the way Encode writes a detail:
// object keys sorted bytewise, no whitespace, numbers as written. JSON null
// gives nil.
func CanonicalJSON(raw []byte) (json.RawMessage, error) {
	v, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	return appendValue(nil, v), nil
}

func parseJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("parse JSON: data after the value")
	}
	return v, nil
}

func appendKey(b []byte, k string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendValue writes a value decoded with UseNumber.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if v {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case json.Number:
		return append(b, v...)
	case string:
		return appendString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendValue(b, v[k])
		}
		return append(b, '}')
	default:
		panic(fmt.Sprintf("audit: unexpected JSON value %T", v))
	}
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: UTF-8 as is, escaping only '"',
// '\\' and control characters; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
