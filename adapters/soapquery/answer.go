package soapquery

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/adapters/soapenv"
	"github.com/reghub/reghub/schemas/query"
)

// Fault reasons besides access's refusal reasons.
const (
	// ReasonUnauthenticated: no bearer token, or an unknown or revoked one
	// (HTTP 401).
	ReasonUnauthenticated = "unauthenticated"
	// ReasonFailed: the query was granted but a source failed for good.
	ReasonFailed = "failed"
	// ReasonInternal: the hub could not handle or record the query.
	ReasonInternal = "internal"
)

// fault is a refused or failed request: a SOAP fault whose faultcode is
// SOAP-ENV:Client.<reason> or SOAP-ENV:Server.<reason>, whose faultstring
// is the detail, and whose detail element is a query.QueryFault.
type fault struct {
	status  int    // HTTP status: 500 unless set
	server  bool   // a Server fault; else Client
	reason  string // access.Reason, or one of the Reason constants above
	detail  string
	queryID string
	err     error // the cause of an internal fault, for the log
}

func clientFault(r access.Reason, format string, args ...any) *fault {
	return &fault{reason: string(r), detail: fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) *fault {
	return clientFault(access.ReasonMalformed, format, args...)
}

func incomplete(format string, args ...any) *fault {
	return clientFault(access.ReasonIncomplete, format, args...)
}

func internalFault(err error) *fault {
	return &fault{server: true, reason: ReasonInternal,
		detail: "the hub could not complete the query; it is logged", err: err}
}

func (f *fault) code() string {
	kind := "Client"
	if f.server {
		kind = "Server"
	}
	return "soap:" + kind + "." + f.reason
}

// out is the fault as the envelope's Body holds it.
func (f *fault) out() *soapenv.Fault {
	text := f.detail
	if text == "" {
		text = f.reason
	}
	return &soapenv.Fault{Code: f.code(), String: text, Detail: &soapenv.FaultDetail{Content: &query.QueryFault{
		Reason: f.reason, Detail: f.detail, QueryId: f.queryID,
	}}}
}

// response renders a granted query's answer (answered or pending).
func response(a access.Answer) *query.QueryResponse {
	status := query.QueryStatus(a.Status)
	d := a.Decision
	out := &query.QueryResponse{
		QueryId: a.ID.String(),
		Status:  &status,
		Decision: &query.Decision{
			Basis:            d.Basis,
			CatalogueVersion: d.CatalogueVersion,
			Parameter:        string(d.Parameter),
			Sources:          &query.SourceNames{},
			Fields:           &query.FieldNames{Field: slices.Clone(d.Fields)},
		},
	}
	for _, s := range d.Sources {
		out.Decision.Sources.Source = append(out.Decision.Sources.Source, string(s))
	}
	for _, r := range a.Records {
		out.Record = append(out.Record, &query.Record{Field: recordFields(d.Fields, r)})
	}
	if a.DueAt != nil {
		out.DueAt = soap.CreateXsdDateTime(a.DueAt.UTC(), true)
	}
	return out
}

// recordFields renders a record's fields in the given order (for a record,
// the order they were asked for); any other key (a record is minimised, so
// there should be none) follows, sorted.
func recordFields(order []string, r map[string]any) []*query.Field {
	var out []*query.Field
	done := map[string]bool{}
	for _, k := range order {
		if v, ok := r[k]; ok && !done[k] {
			done[k] = true
			out = appendField(out, k, v)
		}
	}
	var rest []string
	for k := range r {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = appendField(out, k, r[k])
	}
	return out
}

// partOrder is the order of the parts of a structured field as people read
// them: a document's (access.RecordOf), then an address's.
var partOrder = []string{
	"type", "number", "issued_on", "issuer", "expires_on",
	"katottg", "street", "building", "block", "apartment",
}

// appendField renders one value: text as a value, a map as the fields it
// is made of (by name), a list as repeated "item" fields; a nil value is
// left out, and any other value is written as its JSON.
func appendField(out []*query.Field, name string, v any) []*query.Field {
	f := &query.Field{Name: name}
	switch t := v.(type) {
	case nil:
		return out
	case string:
		f.Value = t
	case map[string]any:
		f.Field = recordFields(partOrder, t)
	case map[string]string:
		m := make(map[string]any, len(t))
		for k, s := range t {
			m[k] = s
		}
		f.Field = recordFields(partOrder, m)
	case []any:
		for _, it := range t {
			f.Field = appendField(f.Field, "item", it)
		}
	case []string:
		for _, it := range t {
			f.Field = appendField(f.Field, "item", it)
		}
	case bool:
		f.Value = strconv.FormatBool(t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			f.Value = fmt.Sprint(t)
		} else {
			f.Value = string(b)
		}
	}
	return append(out, f)
}
