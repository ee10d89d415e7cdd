package soapclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/outbox"
)

// maxFuzzErrText bounds a failed call's error text whatever the upstream
// answered: the upstream's own words are cut to 512 bytes (maxErrText), and
// the operation, status, fault code and class around them stay short.
const maxFuzzErrText = 1024

// fuzzMessageID is the message id the fuzzed answers may echo, so that a
// well-formed answer can also be reached.
const fuzzMessageID = "0195a3c1-7a2b-7c3d-8e4f-0000000000f0"

// cannedAnswer is a RoundTripper that answers every request with one fixed
// response, without a network.
type cannedAnswer struct {
	status      int
	contentType string
	body        []byte
}

func (c *cannedAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := http.Header{}
	if c.contentType != "" {
		h.Set("Content-Type", c.contentType)
	}
	return &http.Response{
		Status:        http.StatusText(c.status),
		StatusCode:    c.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       req,
	}, nil
}

// FuzzClassifyAnswer feeds an upstream's answer (status, Content-Type, body)
// through a Sender, as the relay does, so that what classifies it is the
// real path: gowsdl's decoding, *soap.HTTPError and *soap.SOAPFault, and the
// fault body parsing of errors.go. Whatever the answer, the call never
// panics; it fails with an outbox.DeliveryError of a known class whose text
// stays bounded, or (2xx only) succeeds with a reply of a known kind.
func FuzzClassifyAnswer(f *testing.F) {
	const xmlType = "text/xml; charset=utf-8"
	k := kits[0]
	// sel picks the call: its low bit the destination (kits[sel%2]), its
	// high bit Poll instead of Send.
	seeds := []struct {
		sel         uint8
		status      int
		contentType string
		body        string
	}{
		{0, 500, xmlType, fault("soap:Server", "Сховище тимчасово недоступне")},
		{0, 500, xmlType, fault("SOAP-ENV:Client.Validation", "bad katottg")},
		{0, 500, xmlType, fault("VersionMismatch", "")},
		{0, 500, xmlType, fault("MustUnderstand", "x")},
		{0, 200, xmlType, fault("soap:Client", "unknown registration body")},
		{0, 400, xmlType, fault("soap:Client", "statusCode is not allowed")},
		{0, 503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>"},
		{0, 429, "text/plain", "slow down"},
		{0, 408, "", ""},
		{0, 404, "text/plain", strings.Repeat("Помилка сервера. ", 100)},
		{0, 500, xmlType, ""},
		{0, 500, xmlType, `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Fault>`},
		{0, 200, xmlType, ""},
		{0, 200, xmlType, "<not-xml"},
		{0, 200, xmlType, envelope("<Unexpected/>")},
		{0, 200, "multipart/related; boundary=", "--x\r\n"},
		{0, 200, `multipart/related; type="application/xop+xml"; boundary=b; start-info="text/xml"`, "--b\r\n\r\n--b--"},
		{0, 200, "text/xml; charset=koi8-r", envelope("")},
		{0, 200, xmlType, k.send(fuzzMessageID, k.ack, k.refEl, "DMS-1")},
		{0, 200, xmlType, k.send(fuzzMessageID, k.receipt)},
		{0, 200, xmlType, k.send(fuzzMessageID, "NO_SUCH_RESULT")},
		{0, 200, xmlType, k.send("someone-else", k.ack)},
		{0x81, 200, xmlType, kits[1].poll(fuzzMessageID, kits[1].pending)},
		{0x81, 200, xmlType, kits[1].poll(fuzzMessageID, strings.Repeat("\ue000", 600))},
		{1, 500, xmlType, fault("soap:Server", strings.Repeat("Помилка", 200))},
		{1, 500, xmlType, fault(strings.Repeat("Client", 200), "long code")},
	}
	for _, s := range seeds {
		f.Add(s.sel, uint16(s.status), s.contentType, []byte(s.body))
	}

	// One Sender per destination, each over an *http.Client whose transport
	// answers what the current input says. Fuzz inputs of one process run
	// one at a time, so the shared answer needs no lock.
	answer := &cannedAnswer{}
	hc := &http.Client{Transport: answer}
	senders := soapclient.NewSenders(soapclient.Config{
		DMSURL:           "http://dms.upstream.invalid/otg",
		EDDRURL:          "http://eddr.upstream.invalid/residence",
		Timeout:          5 * time.Second,
		RegistrationBody: registrationBody,
	}, hc)

	f.Fuzz(func(t *testing.T, sel uint8, status uint16, contentType string, body []byte) {
		// Statuses an upstream can send in a final answer; 3xx without a
		// Location header comes back to the caller as is.
		code := int(status)
		if code < 200 || code > 599 {
			code = 200 + code%400
		}
		*answer = cannedAnswer{status: code, contentType: contentType, body: body}

		k := kits[int(sel)%len(kits)]
		m := message(k.dest, outbox.StageSend, "")
		m.ID = uuid.MustParse(fuzzMessageID)
		call := senders[k.dest].Send
		if sel&0x80 != 0 {
			m.Stage, m.Receipt = outbox.StagePoll, "RCPT-000777"
			call = senders[k.dest].Poll
		}

		reply, err := call(context.Background(), m)
		if err == nil {
			if code >= 300 {
				t.Fatalf("HTTP %d answer accepted as %+v", code, reply)
			}
			switch reply.Kind {
			case outbox.ReplyAcknowledged, outbox.ReplyReceipt, outbox.ReplyPending, outbox.ReplyRejected:
			default:
				t.Fatalf("success with reply kind %q: %+v", reply.Kind, reply)
			}
			return
		}
		var de *outbox.DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("HTTP %d answer: error %v (%T) is not an outbox.DeliveryError", code, err, err)
		}
		class, _ := outbox.Classify(err)
		switch class {
		case outbox.ClassTransport, outbox.ClassTimeout, outbox.ClassHTTP5xx, outbox.ClassHTTP4xx,
			outbox.ClassSOAPServerFault, outbox.ClassSOAPClientFault, outbox.ClassMalformedReply:
		default:
			t.Fatalf("HTTP %d answer classified %q: %v", code, class, err)
		}
		if code >= 400 && class != outbox.ClassHTTP4xx && class != outbox.ClassHTTP5xx &&
			class != outbox.ClassSOAPClientFault && class != outbox.ClassSOAPServerFault {
			t.Fatalf("HTTP %d answer classified %q: %v", code, class, err)
		}
		if n := len(err.Error()); n > maxFuzzErrText {
			t.Fatalf("error text is %d bytes (max %d): %.300s…", n, maxFuzzErrText, err)
		}
	})
}
