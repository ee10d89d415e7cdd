package soapquery_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/adapters/soapquery"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/schemas/query"
	"github.com/reghub/reghub/schemas/xroad"
)

var quiet = slog.New(slog.DiscardHandler)

func handler(a soapquery.Asker) http.Handler {
	return soapquery.Handler(a, fakeClients{category: "military_enlistment"}, quiet)
}

// TestAnswered: a granted query is answered with its id, status,
// decision and records, the X-Road headers echoed; the service received
// the JSON query of the SOAP body and headers, from the authenticated
// organisation.
func TestAnswered(t *testing.T) {
	a := &fakeAsker{}
	r := decode(post(handler(a), envelope(t, xheaders(), queryRequest(t)), nil))
	if r.err != nil || r.status != http.StatusOK || r.resp == nil {
		t.Fatalf("HTTP %d (%v):\n%s", r.status, r.err, r.raw)
	}
	if r.header == nil || r.header.Headers() != xheaders() {
		t.Fatalf("headers not echoed: %+v", r.header)
	}
	res := r.resp
	if res.QueryId != queryID.String() || *res.Status != query.QueryStatusAnswered || res.DueAt.ToGoTime().Year() > 1 {
		t.Fatalf("response %+v", res)
	}
	d := res.Decision
	if d.Basis != "military.registration" || d.CatalogueVersion != "2026-11-01.1" || d.Parameter != "unzr" ||
		!reflect.DeepEqual(d.Sources.Source, []string{"local", "dms", "eddr"}) || !reflect.DeepEqual(d.Fields.Field, grantedFields) {
		t.Fatalf("decision %+v", d)
	}
	if len(res.Record) != 1 {
		t.Fatalf("records %+v", res.Record)
	}
	var names []string
	for _, f := range res.Record[0].Field {
		names = append(names, f.Name)
	}
	if !reflect.DeepEqual(names, grantedFields) {
		t.Fatalf("fields in order %v, want %v", names, grantedFields)
	}
	addr := res.Record[0].Field[3]
	if addr.Value != "" || len(addr.Field) != 4 || addr.Field[0].Name != "katottg" || addr.Field[3].Name != "apartment" ||
		addr.Field[0].Value != "UA12060190010000123" {
		t.Fatalf("address %+v", addr)
	}

	calls := a.called()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if c.requester != (access.Requester{Org: orgAuthority, Category: "military_enlistment"}) {
		t.Fatalf("requester %+v", c.requester)
	}
	req := queryRequest(t)
	want := access.Query{
		Official: access.Official{ID: "SYN-OFF-0042", Name: req.OfficialName},
		Case:     "SYN-2026/0001",
		Basis:    access.Citation{Code: req.Basis.Code, Law: req.Basis.Law, Article: req.Basis.Article},
		Purpose:  access.Purpose{ID: purposeID, Text: req.Purpose},
		Search:   access.Search{UNZR: "19880412-07347"},
		Fields:   grantedFields,
	}
	if !reflect.DeepEqual(c.query, want) {
		t.Fatalf("query\n got %+v\nwant %+v\nbody %s", c.query, want, c.body)
	}
}

// TestEverySearchAndItem converts each parameter set, consent and
// applicant into the JSON query.
func TestEverySearchAndItem(t *testing.T) {
	bd := "1988-04-12"
	tests := []struct {
		name   string
		search string // the search element's XML
		extra  string
		want   func(q *access.Query)
	}{
		{"rnokpp", `<rnokpp>3224401240</rnokpp>`, "", func(q *access.Query) { q.Search = access.Search{RNOKPP: "3224401240"} }},
		{"name", `<nameBirthDate><surname>Вигаденко</surname><givenNames>Олеся</givenNames><patronymic>Тестівна</patronymic><birthDate>` + bd + `</birthDate></nameBirthDate>`, "",
			func(q *access.Query) {
				q.Search = access.Search{NameBirthDate: &access.NameBirthDate{Surname: "Вигаденко", GivenNames: "Олеся", Patronymic: "Тестівна", BirthDate: bd}}
			}},
		{"address", `<address><katottg>UA12060190010000123</katottg><street>вул. Вигадана</street><building>17</building><apartment>42</apartment></address>`, "",
			func(q *access.Query) {
				q.Search = access.Search{Address: &access.Address{KATOTTG: "UA12060190010000123", Street: "вул. Вигадана", Building: "17", Apartment: "42"}}
			}},
		{"consent and applicant", `<unzr>19880412-07347</unzr>`, `<consent>SYN-CONSENT-7</consent><applicant><unzr>19880412-07347</unzr><rnokpp>3224401240</rnokpp></applicant>`,
			func(q *access.Query) {
				q.Search = access.Search{UNZR: "19880412-07347"}
				q.Consent = "SYN-CONSENT-7"
				q.Applicant = &access.Applicant{UNZR: "19880412-07347", RNOKPP: "3224401240"}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &fakeAsker{}
			body := rawRequest(hdrs(), `<officialName>Петренко П. П.</officialName>
				<basis><code>x.y</code><law>Закон</law><article>стаття 1</article></basis>
				<purpose>мета</purpose><search>`+tc.search+`</search><fields><field>surname</field></fields>`+tc.extra)
			r := decode(post(handler(a), body, nil))
			if r.status != http.StatusOK {
				t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
			}
			want := access.Query{
				Official: access.Official{ID: "SYN-OFF-0042", Name: "Петренко П. П."}, Case: "SYN-2026/0001",
				Basis: access.Citation{Code: "x.y", Law: "Закон", Article: "стаття 1"}, Purpose: access.Purpose{ID: purposeID, Text: "мета"},
				Fields: []string{"surname"},
			}
			tc.want(&want)
			if got := a.called()[0].query; !reflect.DeepEqual(got, want) {
				t.Fatalf("query\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// rawRequest is a QueryRequest envelope around inner, with headers h (no
// SOAP Header if nil), written with other prefixes than gowsdl's.
func rawRequest(h *xroad.Headers, inner string) []byte {
	hdr := ""
	if h != nil {
		var b strings.Builder
		for _, el := range h.Elements() {
			x, err := xml.Marshal(el)
			if err != nil {
				panic(err)
			}
			b.Write(x)
		}
		hdr = "<soapenv:Header>" + b.String() + "</soapenv:Header>"
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:q="urn:reghub:query:v1">
` + hdr + `
<soapenv:Body><QueryRequest xmlns="urn:reghub:query:v1">` + inner + `</QueryRequest></soapenv:Body>
</soapenv:Envelope>`)
}

func hdrs() *xroad.Headers {
	h := xheaders()
	return &h
}

// TestRefusals: each refusal reason of the service is a Client fault
// carrying it, its detail and the query id, with the headers echoed.
func TestRefusals(t *testing.T) {
	for _, reason := range access.Reasons() {
		t.Run(string(reason), func(t *testing.T) {
			detail := fmt.Sprintf("basis %q: %s (synthetic detail)", "military.registration", reason)
			a := &fakeAsker{answer: func(access.Query) (access.Answer, error) {
				return access.Answer{ID: queryID, Status: access.StatusRefused, Decision: access.Decision{Reason: reason, Detail: detail}}, nil
			}}
			r := decode(post(handler(a), envelope(t, xheaders(), queryRequest(t)), nil))
			f := wantFault(t, r, http.StatusInternalServerError, "Client", string(reason))
			if f.Detail != detail || f.QueryId != queryID.String() {
				t.Fatalf("fault %+v", f)
			}
			if r.header == nil || r.header.Headers() != xheaders() {
				t.Fatalf("headers not echoed: %+v", r.header)
			}
		})
	}
}

func TestPending(t *testing.T) {
	a := &fakeAsker{answer: func(access.Query) (access.Answer, error) { return pending(), nil }}
	r := decode(post(handler(a), envelope(t, xheaders(), queryRequest(t)), nil))
	if r.status != http.StatusOK || r.resp == nil || *r.resp.Status != query.QueryStatusPending || len(r.resp.Record) != 0 {
		t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
	}
	if due := r.resp.DueAt.ToGoTime(); !due.Equal(*pending().DueAt) {
		t.Fatalf("due %v, want %v", due, *pending().DueAt)
	}
}

// TestFailedAndInternal: a failed query is a Server fault with its id; an
// error of the service a Server fault that tells nothing of it.
func TestFailedAndInternal(t *testing.T) {
	failed := &fakeAsker{answer: func(access.Query) (access.Answer, error) {
		return access.Answer{ID: queryID, Status: access.StatusFailed, Decision: granted(), Error: "a source could not answer"}, nil
	}}
	f := wantFault(t, decode(post(handler(failed), envelope(t, xheaders(), queryRequest(t)), nil)),
		http.StatusInternalServerError, "Server", soapquery.ReasonFailed)
	if f.QueryId != queryID.String() || f.Detail != "a source could not answer" {
		t.Fatalf("fault %+v", f)
	}
	broken := &fakeAsker{answer: func(access.Query) (access.Answer, error) {
		return access.Answer{}, errors.New("record granted query: connection refused to db-secret-host")
	}}
	r := decode(post(handler(broken), envelope(t, xheaders(), queryRequest(t)), nil))
	f = wantFault(t, r, http.StatusInternalServerError, "Server", soapquery.ReasonInternal)
	if f.QueryId != "" || strings.Contains(string(r.raw), "db-secret-host") {
		t.Fatalf("internal fault says too much:\n%s", r.raw)
	}
	odd := &fakeAsker{answer: func(access.Query) (access.Answer, error) {
		return access.Answer{ID: queryID, Status: "mystery"}, nil
	}}
	wantFault(t, decode(post(handler(odd), envelope(t, xheaders(), queryRequest(t)), nil)),
		http.StatusInternalServerError, "Server", soapquery.ReasonInternal)
}

// TestAuthentication: a token of role authority is required.
func TestAuthentication(t *testing.T) {
	body := envelope(t, xheaders(), queryRequest(t))
	for name, tc := range map[string]struct {
		authz  string
		status int
		kind   string
		reason string
	}{
		"no token":        {"", http.StatusUnauthorized, "Client", soapquery.ReasonUnauthenticated},
		"not bearer":      {"Basic dXNlcjpwYXNz", http.StatusUnauthorized, "Client", soapquery.ReasonUnauthenticated},
		"unknown token":   {"Bearer rh_nobody", http.StatusUnauthorized, "Client", soapquery.ReasonUnauthenticated},
		"registry role":   {"Bearer " + tokenRegistry, http.StatusInternalServerError, "Client", string(access.ReasonRequesterNotAuthorised)},
		"scheme any case": {"bEaReR " + tokenAuthority, http.StatusOK, "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			a := &fakeAsker{}
			w := post(handler(a), body, func(r *http.Request) { r.Header.Set("Authorization", tc.authz) })
			r := decode(w)
			if tc.status == http.StatusOK {
				if r.status != http.StatusOK {
					t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
				}
				return
			}
			wantFault(t, r, tc.status, tc.kind, tc.reason)
			if tc.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate")
			}
			if len(a.called()) != 0 {
				t.Error("the service was asked")
			}
		})
	}
	h := soapquery.Handler(&fakeAsker{}, fakeClients{err: errors.New("database down")}, quiet)
	wantFault(t, decode(post(h, body, nil)), http.StatusInternalServerError, "Server", soapquery.ReasonInternal)
}

// TestClientMismatch: the X-Road client must be the authenticated client.
func TestClientMismatch(t *testing.T) {
	a := &fakeAsker{}
	h := xheaders()
	h.Client.MemberCode = "SYN-TCC-0002"
	r := decode(post(handler(a), envelope(t, h, queryRequest(t)), nil))
	wantFault(t, r, http.StatusInternalServerError, "Client", string(access.ReasonRequesterNotAuthorised))
	if r.header == nil || r.header.Headers() != h {
		t.Fatalf("headers not echoed: %+v", r.header)
	}
	if len(a.called()) != 0 {
		t.Fatal("the service was asked")
	}
	// Not asked, but the refusal is recorded like any other.
	f := wantFault(t, r, http.StatusInternalServerError, "Client", string(access.ReasonRequesterNotAuthorised))
	if len(a.refusals) != 1 || a.refusals[0] != access.ReasonRequesterNotAuthorised || f.QueryId == "" {
		t.Fatalf("refusal not recorded: %v, fault %+v", a.refusals, f)
	}
}

// TestPurposeHeader: none is the query's request_incomplete (from the
// service, which records it); several are refused before.
func TestPurposeHeader(t *testing.T) {
	body := envelope(t, xheaders(), queryRequest(t))
	a := &fakeAsker{}
	f := wantFault(t, decode(post(handler(a), body, func(r *http.Request) { r.Header.Del(soapquery.PurposeHeader) })),
		http.StatusInternalServerError, "Client", string(access.ReasonIncomplete))
	if !strings.Contains(f.Detail, "purpose.id") || len(a.called()) != 1 {
		t.Fatalf("fault %+v, %d calls", f, len(a.called()))
	}
	for name, edit := range map[string]func(r *http.Request){
		"comma":      func(r *http.Request) { r.Header.Set(soapquery.PurposeHeader, purposeID+", social-services") },
		"two header": func(r *http.Request) { r.Header.Add(soapquery.PurposeHeader, "social-services") },
	} {
		a := &fakeAsker{}
		wantFault(t, decode(post(handler(a), body, edit)), http.StatusInternalServerError, "Client", string(access.ReasonMalformed))
		if len(a.called()) != 0 {
			t.Fatalf("%s: the service was asked", name)
		}
	}
	a = &fakeAsker{}
	r := decode(post(handler(a), body, func(r *http.Request) { r.Header.Set(soapquery.PurposeHeader, " "+purposeID+" ,") }))
	if r.status != http.StatusOK || a.called()[0].query.Purpose.ID != purposeID {
		t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
	}
}

// TestMissingOfficialOrCase: userId and issue are the query's official.id
// and case: the service refuses them missing, as for REST.
func TestMissingOfficialOrCase(t *testing.T) {
	for _, tc := range []struct {
		edit func(h *xroad.Headers)
		path string
	}{
		{func(h *xroad.Headers) { h.UserID = "" }, "official.id"},
		{func(h *xroad.Headers) { h.Issue = "" }, "case"},
	} {
		h := xheaders()
		tc.edit(&h)
		a := &fakeAsker{}
		f := wantFault(t, decode(post(handler(a), envelope(t, h, queryRequest(t)), nil)),
			http.StatusInternalServerError, "Client", string(access.ReasonIncomplete))
		if !strings.Contains(f.Detail, tc.path) || f.QueryId != queryID.String() || len(a.called()) != 1 {
			t.Fatalf("%s: fault %+v", tc.path, f)
		}
	}
}

// TestMalformedRequests: what is wrong with the message itself is refused
// before the service is asked, with request_malformed or
// request_incomplete.
func TestMalformedRequests(t *testing.T) {
	good := func(t *testing.T) []byte { return envelope(t, xheaders(), queryRequest(t)) }
	noHeader := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			return regexp.MustCompile(`(?s)<`+name+` .*?</`+name+`>`).ReplaceAll(good(t), nil)
		}
	}
	inner := func(s string) func(*testing.T) []byte {
		return func(*testing.T) []byte { return rawRequest(hdrs(), s) }
	}
	const okInner = `<officialName>П.</officialName><basis><code>a</code><law>b</law><article>c</article></basis><purpose>p</purpose><search><unzr>19880412-07347</unzr></search><fields><field>surname</field></fields>`
	tests := []struct {
		name   string
		body   func(t *testing.T) []byte
		edit   func(r *http.Request)
		reason access.Reason
	}{
		{"not XML", func(*testing.T) []byte { return []byte("{\"query\": 1}") }, nil, access.ReasonMalformed},
		{"empty", func(*testing.T) []byte { return nil }, nil, access.ReasonMalformed},
		{"cut short", func(t *testing.T) []byte { b := good(t); return b[:len(b)/2] }, nil, access.ReasonMalformed},
		{"DTD", func(t *testing.T) []byte {
			return append([]byte(`<!DOCTYPE x [<!ENTITY e "boom">]>`), good(t)...)
		}, nil, access.ReasonMalformed},
		{"SOAP 1.2", func(t *testing.T) []byte {
			return []byte(strings.ReplaceAll(string(good(t)), "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"))
		}, nil, access.ReasonMalformed},
		{"two roots", func(t *testing.T) []byte { return append(good(t), good(t)...) }, nil, access.ReasonMalformed},
		{"wrong SOAPAction", good, func(r *http.Request) { r.Header.Set("SOAPAction", `"urn:reghub:dms:otg:v1/OtgToDms"`) }, access.ReasonMalformed},
		{"wrong Content-Type", good, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, access.ReasonMalformed},
		{"wrong charset", good, func(r *http.Request) { r.Header.Set("Content-Type", "text/xml; charset=koi8-r") }, access.ReasonMalformed},
		{"too large", func(t *testing.T) []byte {
			return []byte(strings.Replace(string(good(t)), "<soap:Body>", "<soap:Body><!--"+strings.Repeat("x", access.MaxQueryBytes*4)+"-->", 1))
		}, nil, access.ReasonMalformed},
		{"no Header", func(*testing.T) []byte { return rawRequest(nil, okInner) }, nil, access.ReasonIncomplete},
		{"no client", noHeader("client"), nil, access.ReasonIncomplete},
		{"no service", noHeader("service"), nil, access.ReasonIncomplete},
		{"no id", noHeader("id"), nil, access.ReasonIncomplete},
		{"no protocolVersion", noHeader("protocolVersion"), nil, access.ReasonIncomplete},
		{"protocolVersion 3.1", func(t *testing.T) []byte {
			return []byte(strings.Replace(string(good(t)), ">4.0<", ">3.1<", 1))
		}, nil, access.ReasonMalformed},
		{"userId twice", func(t *testing.T) []byte {
			b := string(good(t))
			i := strings.Index(b, "<userId ")
			j := strings.Index(b, "</userId>") + len("</userId>")
			return []byte(b[:j] + b[i:j] + b[j:])
		}, nil, access.ReasonMalformed},
		{"unknown header to understand", func(t *testing.T) []byte {
			return []byte(strings.Replace(string(good(t)), "<soap:Header>",
				`<soap:Header><sec xmlns="urn:x" soap:mustUnderstand="1">x</sec>`, 1))
		}, nil, access.ReasonMalformed},
		{"another operation", func(t *testing.T) []byte {
			return []byte(strings.ReplaceAll(string(good(t)), "QueryRequest", "QueryRequestV2"))
		}, nil, access.ReasonMalformed},
		{"two elements in Body", func(t *testing.T) []byte {
			return []byte(strings.Replace(string(good(t)), "</soap:Body>", "<extra/></soap:Body>", 1))
		}, nil, access.ReasonMalformed},
		{"unknown element", inner(okInner + `<priority>high</priority>`), nil, access.ReasonMalformed},
		{"element twice", inner(okInner + `<consent>a</consent><consent>b</consent>`), nil, access.ReasonMalformed},
		{"element of another namespace", inner(strings.Replace(okInner, "<purpose>p</purpose>", `<purpose xmlns="urn:other">p</purpose>`, 1)), nil, access.ReasonMalformed},
		{"attribute", inner(strings.Replace(okInner, "<purpose>", `<purpose lang="uk">`, 1)), nil, access.ReasonMalformed},
		{"text in an object", inner(strings.Replace(okInner, "<basis>", "<basis>basis", 1)), nil, access.ReasonMalformed},
		{"element in a text", inner(strings.Replace(okInner, "<purpose>p</purpose>", "<purpose><b>p</b></purpose>", 1)), nil, access.ReasonMalformed},
		{"unknown list item", inner(strings.Replace(okInner, "<field>surname</field>", "<name>surname</name>", 1)), nil, access.ReasonMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &fakeAsker{}
			r := decode(post(handler(a), tc.body(t), tc.edit))
			wantFault(t, r, http.StatusInternalServerError, "Client", string(tc.reason))
			if n := len(a.called()); n != 0 {
				t.Fatalf("the service was asked %d times", n)
			}
		})
	}
	// The same body with everything right is answered: the cases above
	// fail for their one reason.
	if r := decode(post(handler(&fakeAsker{}), rawRequest(hdrs(), okInner), nil)); r.status != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
	}
}

func TestMethod(t *testing.T) {
	w := httptest.NewRecorder()
	handler(&fakeAsker{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/soap/queries", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
		t.Fatalf("GET: %d %v", w.Code, w.Header())
	}
}

// TestClientsOverStore: the store adapter resolves tokens as the REST API
// does, with the client's category.
func TestClientsOverStore(t *testing.T) {
	s := &memStore{clients: map[string]*auth.Client{}}
	tok, err := auth.Register(t.Context(), s, orgAuthority, "ТЦК (вигаданий)", auth.RoleAuthority)
	if err != nil {
		t.Fatal(err)
	}
	cl := soapquery.Clients(s)
	c, err := cl.Authenticate(t.Context(), tok)
	if err != nil || c.ID != orgAuthority {
		t.Fatalf("%+v, %v", c, err)
	}
	if _, err := cl.Authenticate(t.Context(), "rh_nobody"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("unknown token: %v", err)
	}
	now := time.Now()
	c.RevokedAt = &now
	if _, err := cl.Authenticate(t.Context(), tok); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	c.Category = "military_enlistment"
	if cat, err := cl.Category(t.Context(), c); cat != "military_enlistment" || err != nil {
		t.Fatalf("category %q, %v", cat, err)
	}
}

// memStore is an auth.Store in memory.
type memStore struct {
	clients map[string]*auth.Client // by token hash
}

func (m *memStore) ClientByTokenHash(_ context.Context, hash []byte) (*auth.Client, error) {
	if c, ok := m.clients[string(hash)]; ok {
		return c, nil
	}
	return nil, auth.ErrUnauthenticated
}

func (m *memStore) AddClient(_ context.Context, c auth.Client, hash []byte) error {
	m.clients[string(hash)] = &c
	return nil
}

func (m *memStore) ListClients(context.Context) ([]auth.Client, error)       { return nil, nil }
func (m *memStore) RevokeClient(context.Context, string) error               { return nil }
func (m *memStore) SetWebhook(context.Context, string, string, string) error { return nil }
func (m *memStore) SetCategory(context.Context, string, string) error        { return nil }
