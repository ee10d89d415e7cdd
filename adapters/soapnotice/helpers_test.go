package soapnotice_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/adapters/soapnotice"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/notice"
	wsdl "github.com/reghub/reghub/schemas/notice"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/dmssim"
)

// Synthetic callers: the migration service (its client id is its X-Road
// member code), an authority that is not it, and the local registry.
const (
	tokenDMS       = "rh_test-dms"
	tokenAuthority = "rh_test-authority"
	tokenRegistry  = "rh_test-registry"
	dmsMember      = "00000001"
	bodyCode       = "UA1204-RB001"
)

var (
	quiet    = slog.New(slog.DiscardHandler)
	actionID = uuid.MustParse("0195a3c1-7a2b-7c3d-8e4f-000000000101")
	hubID    = uuid.MustParse("0195a3c1-7a2b-7c3d-8e4f-000000000901")
	issuedAt = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	received = time.Date(2026, 11, 20, 9, 30, 2, 250_000_000, time.UTC)
)

// fakeClients resolves the three tokens above.
type fakeClients struct{}

func (fakeClients) Authenticate(_ context.Context, token string) (*auth.Client, error) {
	switch token {
	case tokenDMS:
		return &auth.Client{ID: dmsMember, Name: "ДМС (вигадана)", Role: auth.RoleAuthority}, nil
	case tokenAuthority:
		return &auth.Client{ID: "SYN-TCC-0001", Name: "ТЦК (вигаданий)", Role: auth.RoleAuthority}, nil
	case tokenRegistry:
		return &auth.Client{ID: "SYN-REG-0001", Name: "Реєстр (вигаданий)", Role: auth.RoleRegistry}, nil
	}
	return nil, auth.ErrUnauthenticated
}

func handler(r soapnotice.Receiver) http.Handler {
	return soapnotice.Handler(r, fakeClients{}, soapnotice.Config{DMSMemberCode: dmsMember}, quiet)
}

// fakeStore answers as a store would, at fixed times and ids: a notice
// already received (by X-Road id or notice id) is a duplicate.
type fakeStore struct {
	err error // returned when set

	mu   sync.Mutex
	got  []notice.Message
	byID map[string]notice.Received
}

func (f *fakeStore) ReceiveNotice(_ context.Context, m notice.Message) (notice.Received, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return notice.Received{}, false, f.err
	}
	if f.byID == nil {
		f.byID = map[string]notice.Received{}
	}
	for _, key := range []string{"m:" + m.MessageID, "n:" + m.Notice.NoticeID} {
		if r, ok := f.byID[key]; ok {
			return r, true, nil
		}
	}
	f.got = append(f.got, m)
	r := notice.Received{ID: hubID, Message: m, ReceivedAt: received, Recipients: []string{"SYN-REG-0001"}}
	f.byID["m:"+m.MessageID], f.byID["n:"+m.Notice.NoticeID] = r, r
	return r, false, nil
}

func (f *fakeStore) stored() []notice.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]notice.Message(nil), f.got...)
}

// service is the notice service over store, at the goldens' time.
func service(store notice.Store) *notice.Service {
	return &notice.Service{Store: store, RegistrationBodyCode: bodyCode, Now: func() time.Time { return received }}
}

// xheaders are the X-Road headers of a notice from the migration service.
func xheaders(id string) xroad.Headers {
	return xroad.Headers{
		Client:          dmssim.NoticeClient,
		Service:         dmssim.NoticeService,
		ID:              id,
		UserID:          "DMS-OFF-0007",
		Issue:           "DMS-CASE/2026/0042",
		ProtocolVersion: xroad.ProtocolVersion,
	}
}

func kind(k wsdl.NoticeKind) *wsdl.NoticeKind { return &k }

func docType(t wsdl.DocumentType) *wsdl.DocumentType { return &t }

// Synthetic notices of each kind.
func recheckNotice() *wsdl.Notice {
	return &wsdl.Notice{
		NoticeId: "DMS-N-RC-000001",
		Kind:     kind(wsdl.NoticeKindRecheck_action),
		Action: &wsdl.ActionConcerned{HubActionId: "RH-" + actionID.String(), UpstreamReference: "DMS-00000001",
			RegistrationBodyCode: bodyCode},
		Person:   &wsdl.Person{Unzr: "19880412-07347"},
		Reason:   "Реєстрацію місця проживання здійснено без документа, що підтверджує право на проживання (синтетичні дані)",
		IssuedAt: soap.CreateXsdDateTime(issuedAt, true),
	}
}

func documentNotice() *wsdl.Notice {
	return &wsdl.Notice{
		NoticeId: "DMS-N-DOC-000002",
		Kind:     kind(wsdl.NoticeKindCancel_invalid_document),
		Action:   &wsdl.ActionConcerned{RegistrationBodyCode: bodyCode},
		Person:   &wsdl.Person{Unzr: "19880412-07347", Rnokpp: "3224401240"},
		Document: &wsdl.Document{Type_: docType(wsdl.DocumentTypeId_card), Number: "009876543"},
		Reason:   "Паспорт громадянина України визнано недійсним: оформлений з порушенням вимог законодавства (синтетичні дані)",
		IssuedAt: soap.CreateXsdDateTime(issuedAt, true),
	}
}

func civilRecordNotice() *wsdl.Notice {
	return &wsdl.Notice{
		NoticeId: "DMS-N-CIV-000003",
		Kind:     kind(wsdl.NoticeKindCancel_annulled_civil_record),
		Action:   &wsdl.ActionConcerned{UpstreamReference: "DMS-00000003", RegistrationBodyCode: bodyCode},
		Person:   &wsdl.Person{Rnokpp: "3224401240"},
		CivilRecord: &wsdl.CivilRecord{Number: "1234", Date: soap.CreateXsdDate(time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC), false),
			Office: "Відділ державної реєстрації актів цивільного стану (вигаданий)"},
		Reason:   "Актовий запис про народження анульовано Міністерством юстиції (синтетичні дані)",
		IssuedAt: soap.CreateXsdDateTime(issuedAt, true),
	}
}

func envelope(t testing.TB, h xroad.Headers, body any) []byte {
	t.Helper()
	raw, err := mapping.Envelope(h, body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// post sends body to the handler as the migration service does; edit
// changes the HTTP request first.
func post(h http.Handler, body []byte, edit func(r *http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/soap/notices", bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+tokenDMS)
	r.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
	r.Header.Set("SOAPAction", soapnotice.SOAPAction)
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
	ack    *wsdl.NoticeAck
	fault  *faultIn
	err    error
}

type faultIn struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		Fault *wsdl.NoticeFault `xml:"urn:reghub:notice:v1 NoticeFault"`
	} `xml:"detail"`
}

func decode(w *httptest.ResponseRecorder) reply {
	r := reply{status: w.Code, raw: w.Body.Bytes()}
	var env struct {
		XMLName xml.Name      `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Header  *xroad.Header `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
		Body    struct {
			Ack   *wsdl.NoticeAck `xml:"urn:reghub:notice:v1 NoticeAck"`
			Fault *faultIn        `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	r.err = xml.Unmarshal(r.raw, &env)
	r.header, r.ack, r.fault = env.Header, env.Body.Ack, env.Body.Fault
	return r
}

// wantAck checks an acknowledgement: HTTP 200, the headers echoed, the
// notice id and the duplicate flag.
func wantAck(t *testing.T, r reply, h xroad.Headers, noticeID string, duplicate bool) *wsdl.NoticeAck {
	t.Helper()
	if r.err != nil || r.status != http.StatusOK || r.ack == nil {
		t.Fatalf("want HTTP 200 with a NoticeAck, got %d (%v):\n%s", r.status, r.err, r.raw)
	}
	if r.header == nil || r.header.Headers() != h {
		t.Fatalf("headers not echoed: %+v", r.header)
	}
	if r.ack.NoticeId != noticeID || r.ack.Duplicate != duplicate || r.ack.ReceivedAt.ToGoTime().IsZero() {
		t.Fatalf("ack %+v; want notice %s, duplicate %v", r.ack, noticeID, duplicate)
	}
	return r.ack
}

// wantFault checks a fault: HTTP status, faultcode soap:<kind>.<reason>,
// and the NoticeFault detail with the same reason and text.
func wantFault(t *testing.T, r reply, status int, kind, reason string) *wsdl.NoticeFault {
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
