package soapnotice

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/adapters/soapenv"
	"github.com/reghub/reghub/notice"
	wsdl "github.com/reghub/reghub/schemas/notice"
)

// Fault reasons (the faultcode is soap:Client.<reason> or
// soap:Server.<reason>).
const (
	// ReasonUnauthenticated: no bearer token, or an unknown or revoked one
	// (HTTP 401).
	ReasonUnauthenticated = "unauthenticated"
	// ReasonNotAuthorised: the caller is not the migration service.
	ReasonNotAuthorised = "not_authorised"
	// ReasonMalformed: not a SOAP request of the Notify operation.
	ReasonMalformed = "request_malformed"
	// ReasonIncomplete: an X-Road header is missing.
	ReasonIncomplete = "request_incomplete"
	// ReasonInvalid: the notice lacks what its kind requires, or holds an
	// invalid value.
	ReasonInvalid = "invalid_notice"
	// ReasonConflict: its X-Road id or its noticeId was received before
	// with a different notice.
	ReasonConflict = "notice_conflict"
	// ReasonInternal: the hub could not store the notice (a Server fault:
	// send it again).
	ReasonInternal = "internal"
)

// fault is a refused or failed request: a SOAP fault whose detail element
// is a NoticeFault.
type fault struct {
	status   int    // HTTP status: 500 unless set
	server   bool   // a Server fault; else Client
	reason   string // one of the Reason constants
	detail   string
	noticeID string // the sender's noticeId, once read
	err      error  // the cause of an internal fault, for the log
}

func clientFault(reason, format string, args ...any) *fault {
	return &fault{reason: reason, detail: fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) *fault {
	return clientFault(ReasonMalformed, format, args...)
}

func incomplete(format string, args ...any) *fault {
	return clientFault(ReasonIncomplete, format, args...)
}

func internalFault(err error, noticeID string) *fault {
	return &fault{server: true, reason: ReasonInternal, noticeID: noticeID,
		detail: "the hub could not store the notice; it is logged: send it again", err: err}
}

// faultOf answers an error of notice.Service.Receive: a refusal (Client)
// or a failure (Server).
func faultOf(err error, noticeID string) *fault {
	var ve *notice.ValidationError
	switch {
	case errors.As(err, &ve):
		f := clientFault(ReasonInvalid, "%s", invalidText(ve))
		f.noticeID = noticeID
		return f
	case errors.Is(err, notice.ErrConflict):
		text := err.Error()
		if i := strings.Index(text, notice.ErrConflict.Error()); i >= 0 {
			text = text[i:] // what the store said, without the wrapping
		}
		f := clientFault(ReasonConflict, "%s", text)
		f.noticeID = noticeID
		return f
	}
	return internalFault(err, noticeID)
}

// invalidText lists a notice's problems, each field by its element path
// in the Notice (document/number, issuedAt).
func invalidText(ve *notice.ValidationError) string {
	parts := make([]string, len(ve.Fields))
	for i, f := range ve.Fields {
		parts[i] = xmlPath(f.Field) + ": " + f.Code
		if f.Detail != "" {
			parts[i] += " (" + f.Detail + ")"
		}
	}
	return strings.Join(parts, "; ")
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
	return &soapenv.Fault{Code: f.code(), String: text, Detail: &soapenv.FaultDetail{Content: &wsdl.NoticeFault{
		Reason: f.reason, Detail: f.detail, NoticeId: soapenv.Truncate(f.noticeID, 100),
	}}}
}

// noticeAck is wsdl.NoticeAck as the endpoint writes it: gowsdl's type
// leaves a false duplicate out (omitempty), and notice.xsd requires it.
type noticeAck struct {
	XMLName    xml.Name         `xml:"urn:reghub:notice:v1 NoticeAck"`
	NoticeID   string           `xml:"noticeId"`
	ReceivedAt soap.XSDDateTime `xml:"receivedAt"`
	Duplicate  bool             `xml:"duplicate"`
}

// ack acknowledges a stored notice: its noticeId, when the hub first
// received it, and whether this message repeated it.
func ack(r notice.Received, duplicate bool) *noticeAck {
	return &noticeAck{
		NoticeID:   r.Notice.NoticeID,
		ReceivedAt: soap.CreateXsdDateTime(r.ReceivedAt.UTC(), true),
		Duplicate:  duplicate,
	}
}
