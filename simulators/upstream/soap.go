package upstream

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/reghub/reghub/schemas/xroad"
)

// NSEnvelope is the SOAP 1.1 envelope namespace.
const NSEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"

// SOAP 1.1 fault codes as written on the wire.
const (
	FaultCodeClient = "SOAP-ENV:Client"
	FaultCodeServer = "SOAP-ENV:Server"
)

// Envelope is a decoded SOAP 1.1 message.
type Envelope struct {
	// Header is nil when the envelope has no SOAP Header.
	Header *xroad.Header
	// BodyName is the name of the Body's element.
	BodyName xml.Name
	// Body is the value pick returned for BodyName, decoded; nil when pick
	// returned nil (an element the caller does not know).
	Body any
}

type envelopeIn struct {
	XMLName xml.Name      `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  *xroad.Header `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body    *bodyIn       `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type bodyIn struct {
	pick    func(xml.Name) any
	name    xml.Name
	content any
	seen    bool
}

func (b *bodyIn) UnmarshalXML(d *xml.Decoder, _ xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if b.seen {
				return errors.New("more than one element in the SOAP Body")
			}
			b.seen, b.name = true, t.Name
			if b.pick != nil {
				b.content = b.pick(t.Name)
			}
			if b.content == nil {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			if err := d.DecodeElement(b.content, &t); err != nil {
				return fmt.Errorf("body element %s: %w", t.Name.Local, err)
			}
		case xml.EndElement:
			return nil
		}
	}
}

// DecodeEnvelope parses a SOAP 1.1 envelope. pick is called with the name
// of the Body's one element and returns a pointer to decode it into (one
// of the generated request or response types, or *Fault), or nil to leave
// it undecoded. It never panics on any input.
func DecodeEnvelope(data []byte, pick func(xml.Name) any) (*Envelope, error) {
	in := envelopeIn{Body: &bodyIn{pick: pick}}
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&in); err != nil {
		return nil, fmt.Errorf("SOAP envelope: %w", err)
	}
	if !in.Body.seen {
		return nil, errors.New("SOAP envelope: empty or missing Body")
	}
	return &Envelope{Header: in.Header, BodyName: in.Body.name, Body: in.Body.content}, nil
}

type envelopeOut struct {
	XMLName xml.Name   `xml:"SOAP-ENV:Envelope"`
	NS      string     `xml:"xmlns:SOAP-ENV,attr"`
	Header  *headerOut `xml:",omitempty"`
	Body    bodyOut
}

type headerOut struct {
	XMLName  xml.Name `xml:"SOAP-ENV:Header"`
	Elements []any
}

type bodyOut struct {
	XMLName xml.Name `xml:"SOAP-ENV:Body"`
	Content any
}

// MarshalEnvelope renders a SOAP 1.1 envelope with the X-Road headers h
// (none if nil) and payload as the Body's element — a generated request or
// response type, or a *Fault.
func MarshalEnvelope(h *xroad.Headers, payload any) ([]byte, error) {
	env := envelopeOut{NS: NSEnvelope, Body: bodyOut{Content: payload}}
	if f, ok := payload.(*Fault); ok {
		env.Body.Content = f.out()
	}
	if h != nil {
		env.Header = &headerOut{Elements: h.Elements()}
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(env); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Fault is a SOAP 1.1 fault: the error a handler returns, and the decoding
// form of a fault Body.
type Fault struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
	// Code is FaultCodeClient or FaultCodeServer (a decoded fault keeps the
	// sender's prefix).
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
}

// ClientFault is a SOAP-ENV:Client fault: the request is at fault.
func ClientFault(format string, args ...any) *Fault {
	return &Fault{Code: FaultCodeClient, String: fmt.Sprintf(format, args...)}
}

// ServerFault is a SOAP-ENV:Server fault: the service is at fault.
func ServerFault(format string, args ...any) *Fault {
	return &Fault{Code: FaultCodeServer, String: fmt.Sprintf(format, args...)}
}

func (f *Fault) Error() string { return f.Code + ": " + f.String }

// IsClient reports a Client fault, whatever prefix the sender used.
func (f *Fault) IsClient() bool { return localPart(f.Code) == "Client" }

// IsServer reports a Server fault, whatever prefix the sender used.
func (f *Fault) IsServer() bool { return localPart(f.Code) == "Server" }

func localPart(qname string) string {
	if i := strings.LastIndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

// faultOut writes <SOAP-ENV:Fault> with unqualified children, as SOAP 1.1
// wants.
type faultOut struct {
	XMLName xml.Name `xml:"SOAP-ENV:Fault"`
	Code    string   `xml:"faultcode"`
	String  string   `xml:"faultstring"`
}

func (f *Fault) out() faultOut { return faultOut{Code: f.Code, String: f.String} }

// writeFault answers HTTP 500 with the fault, echoing the headers if known.
func writeFault(w http.ResponseWriter, h *xroad.Headers, f *Fault) {
	body, err := MarshalEnvelope(h, f)
	if err != nil {
		http.Error(w, f.Error(), http.StatusInternalServerError)
		return
	}
	writeXML(w, http.StatusInternalServerError, body)
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
