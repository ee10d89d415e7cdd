package soapquery_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/adapters/soapquery"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/query"
	"github.com/reghub/reghub/schemas/xroad"
)

// Synthetic requesters: a territorial recruitment centre (authority) and
// the local registry (another role).
const (
	tokenAuthority = "rh_test-authority"
	tokenRegistry  = "rh_test-registry"
	orgAuthority   = "SYN-TCC-0001"
	purposeID      = "military-registration"
)

var queryID = uuid.MustParse("0195a3c1-7a2b-7c3d-8e4f-000000000401")

// fakeClients resolves the two tokens above.
type fakeClients struct {
	category string
	err      error // returned by Authenticate, when set
}

func (f fakeClients) Authenticate(_ context.Context, token string) (*auth.Client, error) {
	if f.err != nil {
		return nil, f.err
	}
	switch token {
	case tokenAuthority:
		return &auth.Client{ID: orgAuthority, Name: "ТЦК (вигаданий)", Role: auth.RoleAuthority}, nil
	case tokenRegistry:
		return &auth.Client{ID: "SYN-REG-0001", Name: "Реєстр (вигаданий)", Role: auth.RoleRegistry}, nil
	}
	return nil, auth.ErrUnauthenticated
}

func (f fakeClients) Category(context.Context, *auth.Client) (string, error) { return f.category, nil }

// fakeAsker parses each body as the service does, refuses what ParseQuery
// refuses, and answers the rest with answer.
type fakeAsker struct {
	answer func(q access.Query) (access.Answer, error)

	mu       sync.Mutex
	calls    []askCall
	refusals []access.Reason
}

// Refuse records the refusal, as the access service would.
func (f *fakeAsker) Refuse(_ context.Context, _ access.Requester, reason access.Reason, detail string) (access.Answer, error) {
	f.mu.Lock()
	f.refusals = append(f.refusals, reason)
	f.mu.Unlock()
	return access.Answer{ID: queryID, Status: access.StatusRefused, Decision: access.Decision{Reason: reason, Detail: detail}}, nil
}

type askCall struct {
	requester access.Requester
	body      []byte
	query     access.Query
}

func (f *fakeAsker) Ask(_ context.Context, r access.Requester, body []byte) (access.Answer, error) {
	q, err := access.ParseQuery(body)
	f.mu.Lock()
	f.calls = append(f.calls, askCall{requester: r, body: body, query: q})
	f.mu.Unlock()
	if err != nil {
		var qe *access.QueryError
		if !errors.As(err, &qe) {
			return access.Answer{}, err
		}
		detail := strings.TrimPrefix(qe.Error(), string(qe.Reason)+": ")
		return access.Answer{ID: queryID, Status: access.StatusRefused, Decision: access.Decision{Reason: qe.Reason, Detail: detail}}, nil
	}
	if f.answer == nil {
		return answered(), nil
	}
	return f.answer(q)
}

func (f *fakeAsker) called() []askCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]askCall(nil), f.calls...)
}

var grantedFields = []string{"surname", "given_names", "birth_date", "address", "registration_date"}

func granted() access.Decision {
	return access.Decision{
		Granted: true, CatalogueVersion: "2026-11-01.1", Basis: "military.registration",
		Parameter: access.ParamUNZR, Sources: []access.Source{access.SourceLocal, access.SourceDMS, access.SourceEDDR},
		Fields: grantedFields,
	}
}

// answered is a granted query's answer: one synthetic person.
func answered() access.Answer {
	return access.Answer{ID: queryID, Status: access.StatusAnswered, Decision: granted(), Records: []map[string]any{{
		"surname": "Вигаденко", "given_names": "Олеся", "birth_date": "1988-04-12",
		"address": map[string]any{
			"katottg": "UA12060190010000123", "street": "вул. Вигадана", "building": "17", "apartment": "42",
		},
		"registration_date": "2025-03-14",
	}}}
}

func pending() access.Answer {
	due := time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)
	return access.Answer{ID: queryID, Status: access.StatusPending, Decision: granted(), DueAt: &due}
}

// xheaders are the X-Road headers of a query of orgAuthority.
func xheaders() xroad.Headers {
	return xroad.Headers{
		Client: xroad.Identifier{ObjectType: "SUBSYSTEM", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV",
			MemberCode: orgAuthority, SubsystemCode: "CASES"},
		Service: xroad.Identifier{ObjectType: "SERVICE", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV",
			MemberCode: "00000000", SubsystemCode: "REGHUB", ServiceCode: "Query", ServiceVersion: "v1"},
		ID:              "0195a3c1-7a2b-7c3d-8e4f-000000000301",
		UserID:          "SYN-OFF-0042",
		Issue:           "SYN-2026/0001",
		ProtocolVersion: xroad.ProtocolVersion,
	}
}

// queryRequest asks, under military.registration, for a person by УНЗР.
// The citation is written out, so that the goldens do not follow the
// catalogue; TestWithAccessService takes it from the catalogue.
func queryRequest(t *testing.T) *query.QueryRequest {
	t.Helper()
	return &query.QueryRequest{
		OfficialName: "Петренко Петро Петрович",
		Basis: &query.Basis{Code: "military.registration", Article: "пункт 54",
			Law: "Порядок організації та ведення військового обліку призовників, військовозобов'язаних та резервістів, " +
				"затверджений постановою Кабінету Міністрів України від 30 грудня 2022 р. № 1487"},
		Purpose: "взяття на військовий облік",
		Search:  &query.Search{Unzr: "19880412-07347"},
		Fields:  &query.FieldNames{Field: grantedFields},
	}
}

// citedBasis is code's citation as the catalogue writes it.
func citedBasis(t *testing.T, code string) *query.Basis {
	t.Helper()
	c, err := access.Default()
	if err != nil {
		t.Fatal(err)
	}
	b, ok := c.Basis(code)
	if !ok {
		t.Fatalf("the catalogue has no basis %s", code)
	}
	return &query.Basis{Code: b.Code, Law: b.Law, Article: b.Article}
}

func envelope(t *testing.T, h xroad.Headers, req any) []byte {
	t.Helper()
	raw, err := mapping.Envelope(h, req)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// post sends body to the handler as an authority's SOAP client does;
// edit changes the HTTP request first.
func post(h http.Handler, body []byte, edit func(r *http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/soap/queries", bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+tokenAuthority)
	r.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
	r.Header.Set("SOAPAction", soapquery.SOAPAction)
	r.Header.Set(soapquery.PurposeHeader, purposeID)
	if edit != nil {
		edit(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// reply is a decoded answer of the endpoint.
type reply struct {
	status int
	raw    []byte
	header *xroad.Header
	resp   *query.QueryResponse
	fault  *faultIn
	err    error
}

type faultIn struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		Fault *query.QueryFault `xml:"urn:reghub:query:v1 QueryFault"`
	} `xml:"detail"`
}

func decode(w *httptest.ResponseRecorder) reply {
	r := reply{status: w.Code, raw: w.Body.Bytes()}
	var env struct {
		XMLName xml.Name      `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Header  *xroad.Header `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
		Body    struct {
			Resp  *query.QueryResponse `xml:"urn:reghub:query:v1 QueryResponse"`
			Fault *faultIn             `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	r.err = xml.Unmarshal(r.raw, &env)
	r.header, r.resp, r.fault = env.Header, env.Body.Resp, env.Body.Fault
	return r
}

// wantFault checks a fault: HTTP status, faultcode soap:<kind>.<reason>,
// and the QueryFault detail with the same reason and text.
func wantFault(t *testing.T, r reply, status int, kind, reason string) *query.QueryFault {
	t.Helper()
	if r.err != nil || r.fault == nil || r.status != status {
		t.Fatalf("want HTTP %d with a fault, got %d (%v):\n%s", status, r.status, r.err, r.raw)
	}
	if r.fault.Code != "soap:"+kind+"."+reason {
		t.Fatalf("faultcode %q, want soap:%s.%s:\n%s", r.fault.Code, kind, reason, r.raw)
	}
	d := r.fault.Detail.Fault
	if d == nil || d.Reason != reason || d.Detail == "" || r.fault.String != d.Detail {
		t.Fatalf("fault detail %+v, faultstring %q:\n%s", d, r.fault.String, r.raw)
	}
	return d
}
