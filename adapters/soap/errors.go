package soapclient

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/outbox"
)

// maxErrText bounds how much of an upstream's answer goes into an error text;
// maxFaultCode bounds a faultcode there (a QName, short when well-formed).
const (
	maxErrText   = 512
	maxFaultCode = 64
)

// callError is a failed call's error: a short text for logs and operators
// over the full underlying error (a *soap.HTTPError keeps the whole body).
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// classify turns a failed gowsdl call into an outbox.DeliveryError. ctx is
// the call's context; op names the call ("dms OtgToDms, message <id>").
//
//	context deadline, net timeouts              → transient timeout
//	cancelled context, dial/connection errors   → transient transport
//	HTTP 4xx                                    → permanent http_4xx (408, 429: transient)
//	HTTP 5xx + SOAP fault Client / Server        → permanent soap_client_fault / transient soap_server_fault
//	HTTP 5xx otherwise                          → transient http_5xx
//	SOAP fault with HTTP 200                    → by faultcode, as with 5xx
//	an answer that does not decode              → transient malformed_reply
//	a request that does not encode              → permanent mapping
func classify(ctx context.Context, op string, err error) error {
	var (
		httpErr *soap.HTTPError
		fault   *soap.SOAPFault
		urlErr  *url.Error
		netErr  net.Error
	)
	switch {
	case errors.As(err, &httpErr):
		return classifyHTTP(op, httpErr)
	case errors.As(err, &fault):
		return classifyFault(op, 0, fault.Code, fault.String, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return outbox.Transient(outbox.ClassTimeout, wrap(err, "%s: timed out: %s", op, errText(err)))
	case errors.Is(err, context.Canceled):
		return outbox.Transient(outbox.ClassTransport, wrap(err, "%s: cancelled: %s", op, errText(err)))
	case errors.As(err, &urlErr), errors.As(err, &netErr):
		// The request did not get an answer: refused, reset, EOF before the
		// status line, DNS...
		return outbox.Transient(outbox.ClassTransport, wrap(err, "%s: %s", op, errText(err)))
	case isEncodeError(err):
		// The request could not be rendered: no retry will change that.
		return outbox.Permanent(outbox.ClassMapping, wrap(err, "%s: render request: %s", op, errText(err)))
	default:
		// What is left fails after the answer arrived: a body that is not a
		// SOAP envelope of the expected element (XML syntax, wrong element,
		// empty or cut short), or a Content-Type gowsdl cannot parse.
		return outbox.Transient(outbox.ClassMalformedReply, wrap(err, "%s: undecodable answer: %s", op, errText(err)))
	}
}

// isEncodeError tells the errors of marshalling the request envelope.
func isEncodeError(err error) bool {
	var unsupported *xml.UnsupportedTypeError
	return errors.As(err, &unsupported)
}

func classifyHTTP(op string, e *soap.HTTPError) error {
	code, text, isFault := parseFault(e.ResponseBody)
	switch {
	case isFault && e.StatusCode >= 500:
		return classifyFault(op, e.StatusCode, code, text, e)
	case e.StatusCode >= 500:
		return outbox.Transient(outbox.ClassHTTP5xx, wrap(e, "%s: HTTP %d: %s", op, e.StatusCode, snippet(e.ResponseBody)))
	}
	detail := snippet(e.ResponseBody)
	if isFault {
		detail = fmt.Sprintf("SOAP fault %s: %s", truncateTo(code, maxFaultCode), truncate(text))
	}
	err := wrap(e, "%s: HTTP %d: %s", op, e.StatusCode, detail)
	if e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests {
		return outbox.Transient(outbox.ClassHTTP4xx, err)
	}
	return outbox.Permanent(outbox.ClassHTTP4xx, err)
}

// classifyFault: a Client fault (the message is at fault; also VersionMismatch
// and MustUnderstand) is permanent; Server and any other code are transient.
func classifyFault(op string, status int, code, text string, cause error) error {
	where := "SOAP fault"
	if status != 0 {
		where = fmt.Sprintf("HTTP %d, SOAP fault", status)
	}
	err := wrap(cause, "%s: %s %s: %s", op, where, truncateTo(code, maxFaultCode), truncate(text))
	switch faultKind(code) {
	case "Client", "VersionMismatch", "MustUnderstand":
		return outbox.Permanent(outbox.ClassSOAPClientFault, err)
	default:
		return outbox.Transient(outbox.ClassSOAPServerFault, err)
	}
}

// faultKind reduces a SOAP 1.1 faultcode to its kind: any prefix is dropped
// ("soap:Client", "SOAP-ENV:Client", "Client"), and so is a dotted refinement
// ("Client.Authentication").
func faultKind(code string) string {
	code = strings.TrimSpace(code)
	if i := strings.LastIndexByte(code, ':'); i >= 0 {
		code = code[i+1:]
	}
	kind, _, _ := strings.Cut(code, ".")
	return kind
}

// faultEnvelope is the decoding form of a SOAP 1.1 fault answer.
type faultEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// parseFault reads the faultcode and faultstring of a SOAP fault body.
func parseFault(body []byte) (code, text string, ok bool) {
	if !bytes.Contains(body, []byte("Fault")) {
		return "", "", false
	}
	var env faultEnvelope
	if err := xml.Unmarshal(body, &env); err != nil || env.Body.Fault == nil {
		return "", "", false
	}
	return strings.TrimSpace(env.Body.Fault.Code), strings.TrimSpace(env.Body.Fault.String), true
}

// wrap builds a callError; the text is the formatted message, the chain the
// original error.
func wrap(err error, format string, args ...any) error {
	return &callError{msg: fmt.Sprintf(format, args...), err: err}
}

// snippet is a body for an error text: white space collapsed, truncated.
func snippet(b []byte) string {
	if len(b) == 0 {
		return "(empty body)"
	}
	return truncate(strings.Join(strings.Fields(string(b[:min(len(b), 4*maxErrText)])), " "))
}

// errText is err's text for an error text of ours, truncated: a decoding
// error quotes what the upstream sent (an element name, a media type).
func errText(err error) string {
	return truncate(err.Error())
}

// truncate cuts s to at most maxErrText bytes on a rune boundary.
func truncate(s string) string {
	return truncateTo(s, maxErrText)
}

// truncateTo cuts s to at most n bytes on a rune boundary, marking the cut.
func truncateTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
