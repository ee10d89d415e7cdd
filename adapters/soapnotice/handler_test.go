package soapnotice_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/adapters/soapnotice"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/notice"
	wsdl "github.com/reghub/reghub/schemas/notice"
	"github.com/reghub/reghub/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// pgBundle is the endpoint over the real store, on a fresh database with
// the migration service's client and one registry.
type pgBundle struct {
	store   *postgres.Store
	handler http.Handler
	ctx     context.Context
}

func setupPG(t *testing.T) pgBundle {
	t.Helper()
	store := postgres.New(pgtest.Pool(t))
	ctx := context.Background()
	if _, err := auth.Register(ctx, store, "SYN-REG-0001", "registry", auth.RoleRegistry); err != nil {
		t.Fatal(err)
	}
	svc := &notice.Service{Store: store, RegistrationBodyCode: bodyCode}
	return pgBundle{store: store, handler: handler(svc), ctx: ctx}
}

func (b pgBundle) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT count(*) FROM notices`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// relayed reads the registry's feed and returns the notices relayed to it.
func (b pgBundle) relayed(t *testing.T) []notice.View {
	t.Helper()
	evs, _, err := b.store.Events(b.ctx, "SYN-REG-0001", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []notice.View
	for _, e := range evs {
		if e.Type != action.EventNotice {
			continue
		}
		var v notice.View
		if err := json.Unmarshal(e.Notice, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// Each kind of notice is stored, relayed to the registry once and
// acknowledged with the headers echoed; the same notice sent again, under
// its X-Road id or under a new one, is acknowledged as a duplicate, at its
// first receipt's time, and not relayed again.
func TestNoticeStoredRelayedOnceAndAcknowledged(t *testing.T) {
	b := setupPG(t)
	for i, n := range []*wsdl.Notice{recheckNotice(), documentNotice(), civilRecordNotice()} {
		t.Run(string(*n.Kind), func(t *testing.T) {
			n.IssuedAt = soapTime(time.Now().Add(-time.Hour))
			h := xheaders(uuid.NewString())
			first := wantAck(t, decode(post(b.handler, envelope(t, h, n), nil)), h, n.NoticeId, false)

			again := wantAck(t, decode(post(b.handler, envelope(t, h, n), nil)), h, n.NoticeId, true)
			h2 := xheaders(uuid.NewString())
			resent := wantAck(t, decode(post(b.handler, envelope(t, h2, n), nil)), h2, n.NoticeId, true)
			if !again.ReceivedAt.ToGoTime().Equal(first.ReceivedAt.ToGoTime()) || !resent.ReceivedAt.ToGoTime().Equal(first.ReceivedAt.ToGoTime()) {
				t.Fatalf("duplicates acknowledged at %v and %v, want the first receipt's %v",
					again.ReceivedAt.ToGoTime(), resent.ReceivedAt.ToGoTime(), first.ReceivedAt.ToGoTime())
			}

			if got := b.count(t); got != i+1 {
				t.Fatalf("%d notices stored, want %d", got, i+1)
			}
			views := b.relayed(t)
			if len(views) != i+1 {
				t.Fatalf("%d notices relayed, want %d", len(views), i+1)
			}
			v := views[i]
			if v.NoticeID != n.NoticeId || string(v.Kind) != string(*n.Kind) || v.Reason != n.Reason ||
				v.Action.RegistrationBodyCode != bodyCode || !v.ReceivedAt.Equal(first.ReceivedAt.ToGoTime()) {
				t.Fatalf("relayed %+v", v)
			}
		})
	}
}

func soapTime(t time.Time) soap.XSDDateTime {
	return soap.CreateXsdDateTime(t.UTC().Truncate(time.Second), true)
}

// envelopeNoHeader is a notice in an envelope without the SOAP Header.
func envelopeNoHeader(t *testing.T) []byte {
	t.Helper()
	env := soap.SOAPEnvelope{XmlNS: soap.XmlNsSoapEnv}
	env.Body.Content = recheckNotice()
	raw, err := xml.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Invalid notices — each kind missing what it requires, or carrying what
// it does not take — are Client faults naming the element, and nothing is
// stored or relayed.
func TestInvalidNoticesAreRefusedAndNothingStored(t *testing.T) {
	b := setupPG(t)
	cases := []struct {
		name   string
		notice func() *wsdl.Notice
		want   string // in the fault's detail
	}{
		{"no notice id", func() *wsdl.Notice { n := recheckNotice(); n.NoticeId = ""; return n }, "noticeId: required"},
		{"no kind", func() *wsdl.Notice { n := recheckNotice(); n.Kind = nil; return n }, "kind: required"},
		{"unknown kind", func() *wsdl.Notice { n := recheckNotice(); n.Kind = kind("cancel_all"); return n }, "kind: unknown_value"},
		{"no action block", func() *wsdl.Notice { n := recheckNotice(); n.Action = nil; return n }, "action/registrationBodyCode: required"},
		{"another registration body", func() *wsdl.Notice { n := recheckNotice(); n.Action.RegistrationBodyCode = "UA0000-RB999"; return n },
			"action/registrationBodyCode: mismatch"},
		{"no reason", func() *wsdl.Notice { n := documentNotice(); n.Reason = ""; return n }, "reason: required"},
		{"no issuedAt", func() *wsdl.Notice { n := civilRecordNotice(); n.IssuedAt = soap.XSDDateTime{}; return n }, "issuedAt: required"},

		{"recheck without the action", func() *wsdl.Notice {
			n := recheckNotice()
			n.Action.HubActionId, n.Action.UpstreamReference = "", ""
			return n
		}, "action/hubActionId: required"},
		{"recheck with a document", func() *wsdl.Notice { n := recheckNotice(); n.Document = documentNotice().Document; return n }, "document: not_allowed"},

		{"document without the person", func() *wsdl.Notice { n := documentNotice(); n.Person = nil; return n }, "person: required"},
		{"document without unzr and rnokpp", func() *wsdl.Notice { n := documentNotice(); n.Person = &wsdl.Person{}; return n }, "person/unzr: required"},
		{"document without the document", func() *wsdl.Notice { n := documentNotice(); n.Document = nil; return n }, "document: required"},
		{"document without its type", func() *wsdl.Notice { n := documentNotice(); n.Document.Type_ = nil; return n }, "document/type: required"},
		{"document without its number", func() *wsdl.Notice { n := documentNotice(); n.Document.Number = ""; return n }, "document/number: required"},
		{"document with a civil record", func() *wsdl.Notice { n := documentNotice(); n.CivilRecord = civilRecordNotice().CivilRecord; return n },
			"civilRecord: not_allowed"},

		{"record without the person", func() *wsdl.Notice { n := civilRecordNotice(); n.Person = nil; return n }, "person: required"},
		{"record with a bad rnokpp", func() *wsdl.Notice { n := civilRecordNotice(); n.Person.Rnokpp = "3224401241"; return n }, "person/rnokpp: invalid_checksum"},
		{"record without the record", func() *wsdl.Notice { n := civilRecordNotice(); n.CivilRecord = nil; return n }, "civilRecord: required"},
		{"record without its number", func() *wsdl.Notice { n := civilRecordNotice(); n.CivilRecord.Number = ""; return n }, "civilRecord/number: required"},
		{"record without its date", func() *wsdl.Notice { n := civilRecordNotice(); n.CivilRecord.Date = soap.XSDDate{}; return n }, "civilRecord/date: required"},
		{"record without its office", func() *wsdl.Notice { n := civilRecordNotice(); n.CivilRecord.Office = ""; return n }, "civilRecord/office: required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := c.notice()
			d := wantFault(t, decode(post(b.handler, envelope(t, xheaders(uuid.NewString()), n), nil)), http.StatusInternalServerError, "Client", soapnotice.ReasonInvalid)
			if !strings.Contains(d.Detail, c.want) {
				t.Fatalf("detail %q, want it to say %q", d.Detail, c.want)
			}
		})
	}
	if got := b.count(t); got != 0 {
		t.Fatalf("%d invalid notices stored", got)
	}
	if got := b.relayed(t); len(got) != 0 {
		t.Fatalf("%d invalid notices relayed", len(got))
	}
}

// Who may send, the request's form and the X-Road headers: each problem is
// its own fault, and nothing is stored.
func TestRefusalsOfCallerAndForm(t *testing.T) {
	b := setupPG(t)
	h := xheaders(uuid.NewString())
	req := envelope(t, h, recheckNotice())
	otherClient := h
	otherClient.Client.MemberCode = "SYN-TCC-0001"
	noID := h
	noID.ID = ""
	v3 := h
	v3.ProtocolVersion = "3.0"
	cases := []struct {
		name   string
		body   []byte
		edit   func(r *http.Request)
		status int
		reason string
	}{
		{"no token", req, func(r *http.Request) { r.Header.Del("Authorization") }, http.StatusUnauthorized, soapnotice.ReasonUnauthenticated},
		{"unknown token", req, func(r *http.Request) { r.Header.Set("Authorization", "Bearer rh_nope") }, http.StatusUnauthorized, soapnotice.ReasonUnauthenticated},
		{"another authority", req, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tokenAuthority) }, 500, soapnotice.ReasonNotAuthorised},
		{"a registry", req, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tokenRegistry) }, 500, soapnotice.ReasonNotAuthorised},
		{"X-Road client of another member", envelope(t, otherClient, recheckNotice()), nil, 500, soapnotice.ReasonNotAuthorised},
		{"GET", nil, func(r *http.Request) { r.Method = http.MethodGet }, http.StatusMethodNotAllowed, soapnotice.ReasonMalformed},
		{"JSON", req, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 500, soapnotice.ReasonMalformed},
		{"another operation", req, func(r *http.Request) { r.Header.Set("SOAPAction", "urn:reghub:query:v1/Query") }, 500, soapnotice.ReasonMalformed},
		{"not XML", []byte("{}"), nil, 500, soapnotice.ReasonMalformed},
		{"no X-Road header", envelopeNoHeader(t), nil, 500, soapnotice.ReasonIncomplete},
		{"empty X-Road id", envelope(t, noID, recheckNotice()), nil, 500, soapnotice.ReasonIncomplete},
		{"protocol 3.0", envelope(t, v3, recheckNotice()), nil, 500, soapnotice.ReasonMalformed},
		{"unknown element", []byte(strings.Replace(string(req), "<reason>", "<severity>high</severity><reason>", 1)), nil, 500, soapnotice.ReasonMalformed},
		{"element twice", []byte(strings.Replace(string(req), "<reason>", "<reason>a</reason><reason>", 1)), nil, 500, soapnotice.ReasonMalformed},
		{"another body", envelope(t, h, &wsdl.NoticeAck{NoticeId: "x"}), nil, 500, soapnotice.ReasonMalformed},
		{"a DTD", []byte(`<!DOCTYPE x [<!ENTITY a "a">]>` + string(req)), nil, 500, soapnotice.ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := decode(post(b.handler, c.body, c.edit))
			wantFault(t, r, c.status, "Client", c.reason)
			if c.status == http.StatusUnauthorized && r.header != nil {
				t.Fatalf("headers echoed to an unauthenticated caller")
			}
		})
	}
	if got := b.count(t); got != 0 {
		t.Fatalf("%d refused notices stored", got)
	}
}

// Reusing the X-Road id or the notice id for a different notice is
// refused; the first notice stays as it was.
func TestReusedIdsAreConflicts(t *testing.T) {
	b := setupPG(t)
	h := xheaders(uuid.NewString())
	n := recheckNotice()
	n.IssuedAt = soapTime(time.Now().Add(-time.Hour))
	wantAck(t, decode(post(b.handler, envelope(t, h, n), nil)), h, n.NoticeId, false)

	other := documentNotice()
	other.IssuedAt = n.IssuedAt
	wantFault(t, decode(post(b.handler, envelope(t, h, other), nil)), 500, "Client", soapnotice.ReasonConflict)
	changed := recheckNotice()
	changed.IssuedAt = n.IssuedAt
	changed.Reason = "інша причина (синтетичне)"
	wantFault(t, decode(post(b.handler, envelope(t, xheaders(uuid.NewString()), changed), nil)), 500, "Client", soapnotice.ReasonConflict)
	if got := b.count(t); got != 1 {
		t.Fatalf("%d notices stored, want 1", got)
	}
	if views := b.relayed(t); len(views) != 1 || views[0].Reason != n.Reason {
		t.Fatalf("relayed %+v", views)
	}
}

// A store that fails is a Server fault: the migration service sends the
// notice again.
func TestStorageFailureIsServerFault(t *testing.T) {
	store := &fakeStore{err: errors.New("connection refused")}
	r := decode(post(handler(service(store)), envelope(t, xheaders(uuid.NewString()), recheckNotice()), nil))
	wantFault(t, r, http.StatusInternalServerError, "Server", soapnotice.ReasonInternal)
	if strings.Contains(string(r.raw), "connection refused") {
		t.Fatalf("the cause leaked into the fault:\n%s", r.raw)
	}
}
