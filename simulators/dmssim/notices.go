package dmssim

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/mapping"
	wsdl "github.com/reghub/reghub/schemas/notice"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/upstream"
)

// The migration service notifies the registration body, through the hub,
// of an action to re-check or of residence records to cancel (002
// §7.7–7.8; schemas/notice/notice.wsdl). Here the simulator plays that
// part: it builds notices about the messages it applied and sends them to
// the hub's notice service (POST /soap/notices) with the generated client.

// ActionNotify is the hub's Notify operation's SOAPAction.
const ActionNotify = "urn:reghub:notice:v1/Notify"

// Synthetic identities on the test bus: the migration service's subsystem
// sending notices (its member code is the one the hub calls the migration
// service at, mapping.DefaultDMSService, and so the hub's default
// --dms-member-code) and the hub's notice service.
var (
	NoticeClient = xroad.Identifier{
		ObjectType: "SUBSYSTEM", XRoadInstance: mapping.DefaultDMSService.XRoadInstance,
		MemberClass: mapping.DefaultDMSService.MemberClass, MemberCode: mapping.DefaultDMSService.MemberCode,
		SubsystemCode: mapping.DefaultDMSService.SubsystemCode,
	}
	NoticeService = xroad.Identifier{
		ObjectType: "SERVICE", XRoadInstance: mapping.DefaultClient.XRoadInstance,
		MemberClass: mapping.DefaultClient.MemberClass, MemberCode: mapping.DefaultClient.MemberCode,
		SubsystemCode: mapping.DefaultClient.SubsystemCode, ServiceCode: "Notify", ServiceVersion: "v1",
	}
)

// NoticeTarget is the hub's notice service, as the simulator calls it.
type NoticeTarget struct {
	// URL of the service, e.g. http://127.0.0.1:8080/soap/notices.
	URL string
	// Token is the bearer token of the migration service's client on the
	// hub (id = its member code, role authority).
	Token string
	// Client and Service are the X-Road client and service headers;
	// NoticeClient and NoticeService when zero.
	Client, Service xroad.Identifier
	// UserID is the official who issued the notice (X-Road userId); none
	// when empty.
	UserID string
	// HTTP is the client to send with; http.DefaultClient when nil.
	HTTP *http.Client
}

// NoticeFault is the hub's refusal (Client) or failure (Server) of a
// notice.
type NoticeFault struct {
	HTTPStatus int
	Code       string // soap:Client.<reason> or soap:Server.<reason>
	Reason     string
	Detail     string
}

func (f *NoticeFault) Error() string {
	return fmt.Sprintf("notice refused: HTTP %d %s: %s", f.HTTPStatus, f.Code, f.Detail)
}

// Server reports a Server fault: the notice may be sent again.
func (f *NoticeFault) Server() bool { return strings.HasPrefix(f.Code, "soap:Server") }

// SendNotice sends n to the hub under the X-Road id messageID (a fresh
// one when empty) and returns the hub's acknowledgement. A SOAP fault is a
// *NoticeFault. Sending the same notice again, under the same or a new
// X-Road id, is acknowledged with Duplicate true.
func SendNotice(ctx context.Context, t NoticeTarget, messageID string, n *wsdl.Notice) (*wsdl.NoticeAck, error) {
	if messageID == "" {
		messageID = uuid.NewString()
	}
	h := xroad.Headers{Client: t.Client, Service: t.Service, ID: messageID, UserID: t.UserID,
		Issue: n.NoticeId, ProtocolVersion: xroad.ProtocolVersion}
	if h.Client == (xroad.Identifier{}) {
		h.Client = NoticeClient
	}
	if h.Service == (xroad.Identifier{}) {
		h.Service = NoticeService
	}
	hc := t.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	// A client per call: gowsdl's header slice is not safe to share.
	c := soap.NewClient(t.URL, soap.WithHTTPClient(hc), soap.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + t.Token}))
	c.SetHeaders(h.Elements()...)
	ack, err := wsdl.NewRegistrationNoticesPort(c).NotifyContext(ctx, n)
	var he *soap.HTTPError
	if errors.As(err, &he) {
		// gowsdl returns a fault sent with HTTP 500 as an HTTPError.
		return nil, parseNoticeFault(he.StatusCode, he.ResponseBody)
	}
	if err != nil {
		return nil, fmt.Errorf("send notice %s: %w", n.NoticeId, err)
	}
	return ack, nil
}

func parseNoticeFault(status int, body []byte) error {
	var env struct {
		Body struct {
			Fault *struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
				Detail struct {
					Fault *wsdl.NoticeFault `xml:"urn:reghub:notice:v1 NoticeFault"`
				} `xml:"detail"`
			} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil || env.Body.Fault == nil {
		return fmt.Errorf("notice: HTTP %d without a SOAP fault: %.200q", status, body)
	}
	f := env.Body.Fault
	out := &NoticeFault{HTTPStatus: status, Code: f.Code, Detail: f.String}
	if f.Detail.Fault != nil {
		out.Reason = f.Detail.Fault.Reason
	}
	return out
}

// NoticeOf builds a synthetic notice of the given kind about an applied
// message (an entry of the simulator's inspection): it names the action by
// the reference the hub sent (RH-<action id>) and the record id the
// simulator gave, the registration body bodyCode, and the person by the
// message's person key (УНЗР, else РНОКПП). A cancel_invalid_document
// names the person's document when the entry carries it (in process),
// else a synthetic passport; a cancel_annulled_civil_record a synthetic
// birth record. The notice id follows from the record id and the kind, so
// building it again gives the same notice.
func NoticeOf(kind wsdl.NoticeKind, a upstream.AppliedEntry, bodyCode string, issuedAt time.Time) *wsdl.Notice {
	k := kind
	n := &wsdl.Notice{
		NoticeId: fmt.Sprintf("DMS-N-%s-%s", noticePrefix[kind], a.RecordID),
		Kind:     &k,
		Action:   &wsdl.ActionConcerned{HubActionId: a.Reference, UpstreamReference: a.RecordID, RegistrationBodyCode: bodyCode},
		IssuedAt: soap.CreateXsdDateTime(issuedAt, true),
	}
	if strings.Contains(a.PersonKey, "-") {
		n.Person = &wsdl.Person{Unzr: a.PersonKey}
	} else if a.PersonKey != "" {
		n.Person = &wsdl.Person{Rnokpp: a.PersonKey}
	}
	switch kind {
	case wsdl.NoticeKindRecheck_action:
		n.Reason = "Під час перевірки виявлено порушення вимог Закону при здійсненні реєстраційної дії (синтетичні дані)"
	case wsdl.NoticeKindCancel_invalid_document:
		t, number := wsdl.DocumentTypePassport, "SIM"+digits(a.RecordID, 6)
		if a.Person != nil && a.Person.Document != nil {
			t, number = wsdl.DocumentType(a.Person.Document.Type), a.Person.Document.Number
		}
		n.Document = &wsdl.Document{Type_: &t, Number: number}
		n.Reason = "Паспортний документ визнано недійсним: оформлений з порушенням вимог законодавства (синтетичні дані)"
	case wsdl.NoticeKindCancel_annulled_civil_record:
		n.CivilRecord = &wsdl.CivilRecord{
			Number: "SIM-" + digits(a.RecordID, 6),
			Date:   soap.CreateXsdDate(issuedAt.AddDate(-1, 0, 0), false),
			Office: "Відділ державної реєстрації актів цивільного стану (вигаданий)",
		}
		n.Reason = "Актовий запис цивільного стану анульовано Міністерством юстиції (синтетичні дані)"
	}
	return n
}

var noticePrefix = map[wsdl.NoticeKind]string{
	wsdl.NoticeKindRecheck_action:               "RC",
	wsdl.NoticeKindCancel_invalid_document:      "DOC",
	wsdl.NoticeKindCancel_annulled_civil_record: "CIV",
}

// digits returns the last n digits of s, zero-padded.
func digits(s string, n int) string {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) > n {
		d = d[len(d)-n:]
	}
	return strings.Repeat("0", n-len(d)) + string(d)
}

// NoticeFor is NoticeOf for the applied message of record id recordID,
// taken from the simulator's own state (so a document notice names the
// person's real document). An unknown record id is an error.
func (s *Server) NoticeFor(kind wsdl.NoticeKind, recordID, bodyCode string, issuedAt time.Time) (*wsdl.Notice, error) {
	for _, a := range s.engine.Inspect().Applied {
		if a.RecordID == recordID {
			return NoticeOf(kind, a, bodyCode, issuedAt), nil
		}
	}
	return nil, fmt.Errorf("no applied message with record id %q", recordID)
}
