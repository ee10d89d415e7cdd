package soapclient_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/schemas/xroad"
)

// submission is a synthetic declaration (invented person; РНОКПП and УНЗР
// pass the checks of DOMAIN.md).
const submission = `{
  "kind": "residence.declare",
  "person": {
    "unzr": "19880412-07347", "rnokpp": "3224401240",
    "surname": "Вигаденко", "given_names": "Олеся", "patronymic": "Тестівна",
    "birth_date": "1988-04-12", "sex": "F", "citizenship": "UKR",
    "document": {"type": "id_card", "number": "009876543", "issued_on": "2019-06-03", "issuer": "1299"}
  },
  "address": {"katottg": "UA12060190010000123", "street": "вул. Вигадана", "building": "17", "apartment": "42"},
  "effective_date": "2025-03-14",
  "official": {"id": "reg-officer-0042", "name": "Зразкова Ганна Іванівна"}
}`

var createdAt = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

func message(dest action.Destination, stage outbox.Stage, receipt string) outbox.Message {
	return outbox.Message{
		ID:          uuid.New(),
		ActionID:    uuid.MustParse("0195a3c1-7a2b-7c3d-8e4f-000000000100"),
		ActionRef:   "RH-0195a3c1-7a2b-7c3d-8e4f-000000000100",
		Destination: dest,
		Kind:        action.KindDeclare,
		Body:        []byte(submission),
		Stage:       stage,
		Attempt:     1,
		Receipt:     receipt,
		CreatedAt:   createdAt,
	}
}

// received is what the fake upstream decoded from a request.
type received struct {
	raw        []byte
	soapAction string
	headers    xroad.Headers
	bodyName   xml.Name
	// id is the body's requestId (DMS) or messageId (EDDR); receipt its
	// receiptId or ticket.
	id, receipt string
}

type requestEnvelope struct {
	XMLName xml.Name     `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  xroad.Header `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body    struct {
		Content struct {
			XMLName   xml.Name
			RequestID string `xml:"requestId"`
			MessageID string `xml:"messageId"`
			ReceiptID string `xml:"receiptId"`
			Ticket    string `xml:"ticket"`
		} `xml:",any"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

func decodeRequest(r *http.Request) (received, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return received{}, err
	}
	var env requestEnvelope
	if err := xml.Unmarshal(raw, &env); err != nil {
		return received{raw: raw}, err
	}
	c := env.Body.Content
	return received{
		raw:        raw,
		soapAction: r.Header.Get("SOAPAction"),
		headers:    env.Header.Headers(),
		bodyName:   c.XMLName,
		id:         c.RequestID + c.MessageID,
		receipt:    c.ReceiptID + c.Ticket,
	}, nil
}

// upstream is a fake DMS or EDDR: it records each request and answers with
// respond.
type upstream struct {
	srv      *httptest.Server
	newConns atomic.Int64

	mu       sync.Mutex
	requests []received
	respond  func(w http.ResponseWriter, r *http.Request, got received)
}

func newUpstream(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, got received)) *upstream {
	t.Helper()
	u := &upstream{respond: respond}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.handle))
	u.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.newConns.Add(1)
		}
	}
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) handle(w http.ResponseWriter, r *http.Request) {
	got, err := decodeRequest(r)
	if err != nil {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, fault("soap:Client", "cannot decode request: "+err.Error()))
		return
	}
	u.mu.Lock()
	u.requests = append(u.requests, got)
	u.mu.Unlock()
	u.respond(w, r, got)
}

func (u *upstream) last(t *testing.T) received {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.requests) == 0 {
		t.Fatal("the upstream received no request")
	}
	return u.requests[len(u.requests)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.requests)
}

// --- canned answers ---

// kit names a destination's answer elements, so one table of cases runs
// against both.
type kit struct {
	dest                       action.Destination
	ns                         string
	sendAnswer, pollAnswer     string // element names
	idEl, resultEl             string
	ack, receipt, receipt2     string // send results
	pending, pending2          string // poll results meaning "still no decision"
	rejected                   string
	refEl, receiptEl           string
	reasonCodeEl, reasonTextEl string
}

var kits = []kit{
	{
		dest: action.DestMigrationService, ns: "urn:reghub:dms:otg:v1",
		sendAnswer: "OtgToDmsResponse", pollAnswer: "OtgToDmsStatusResponse",
		idEl: "requestId", resultEl: "result",
		ack: "REGISTERED", receipt: "ACCEPTED", receipt2: "PENDING",
		pending: "PENDING", pending2: "ACCEPTED", rejected: "REJECTED",
		refEl: "recordId", receiptEl: "receiptId", reasonCodeEl: "reasonCode", reasonTextEl: "reasonText",
	},
	{
		dest: action.DestNationalRegistry, ns: "urn:reghub:eddr:residence:v1",
		sendAnswer: "SubmitResidenceChangeResponse", pollAnswer: "GetChangeStatusResponse",
		idEl: "messageId", resultEl: "outcome",
		ack: "RECORDED", receipt: "QUEUED", receipt2: "IN_PROGRESS",
		pending: "IN_PROGRESS", pending2: "QUEUED", rejected: "REFUSED",
		refEl: "entryNumber", receiptEl: "ticket", reasonCodeEl: "refusalCode", reasonTextEl: "refusalReason",
	},
}

// answer renders an envelope whose body is element el; fields are name,
// value pairs in schema order (an empty value leaves the element out).
func (k kit) answer(el string, fields ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<%s xmlns="%s">`, el, k.ns)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] != "" {
			fmt.Fprintf(&b, "<%s>%s</%s>", fields[i], fields[i+1], fields[i])
		}
	}
	fmt.Fprintf(&b, "</%s>", el)
	return envelope(b.String())
}

func (k kit) send(id, result string, more ...string) string {
	return k.answer(k.sendAnswer, append([]string{k.idEl, id, k.resultEl, result}, more...)...)
}

func (k kit) poll(id, result string, more ...string) string {
	return k.answer(k.pollAnswer, append([]string{k.idEl, id, k.resultEl, result}, more...)...)
}

// envelope wraps a body in a SOAP 1.1 envelope with an echoed X-Road id, as
// a security server answers; the SOAP-ENV prefix differs from the hub's.
func envelope(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd">
  <SOAP-ENV:Header><xrd:protocolVersion>4.0</xrd:protocolVersion></SOAP-ENV:Header>
  <SOAP-ENV:Body>` + body + `</SOAP-ENV:Body>
</SOAP-ENV:Envelope>
`
}

// fault renders a SOAP 1.1 fault; code carries its own prefix.
func fault(code, text string) string {
	prefix, _, _ := strings.Cut(code, ":")
	if !strings.Contains(code, ":") {
		prefix = "soapenv"
	}
	return fmt.Sprintf(`<%[1]s:Envelope xmlns:%[1]s="http://schemas.xmlsoap.org/soap/envelope/"><%[1]s:Body><%[1]s:Fault>`+
		`<faultcode>%[2]s</faultcode><faultstring>%[3]s</faultstring></%[1]s:Fault></%[1]s:Body></%[1]s:Envelope>`,
		prefix, code, text)
}

func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// canonical is an XML document as its sequence of tokens without
// indentation, with names resolved to namespaces: two renderings of the same
// elements compare equal.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return b.String()
		}
		if err != nil {
			t.Fatalf("canonical: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			fmt.Fprintf(&b, "<{%s}%s", el.Name.Space, el.Name.Local)
			for _, a := range el.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
			}
			b.WriteString(">")
		case xml.EndElement:
			fmt.Fprintf(&b, "</{%s}%s>", el.Name.Space, el.Name.Local)
		case xml.CharData:
			if s := strings.TrimSpace(string(el)); s != "" {
				b.WriteString(s)
			}
		}
	}
}
