package soapenv

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/reghub/reghub/schemas/xroad"
)

// Envelope is a parsed SOAP 1.1 request: its X-Road headers (nil without a
// SOAP Header) and the one element of its Body.
type Envelope struct {
	Header *Header
	Body   *Node
}

// Header is the X-Road headers of a request, and which of them were
// present (by local name: client, service, id, userId, issue,
// protocolVersion).
type Header struct {
	Headers xroad.Headers
	Present map[string]bool
}

// Missing lists the named headers that were not present, in the order
// given.
func (h *Header) Missing(names ...string) []string {
	var out []string
	for _, n := range names {
		if !h.Present[n] {
			out = append(out, n)
		}
	}
	return out
}

// Parse reads a SOAP 1.1 envelope: an Envelope holding an optional Header
// and one Body with exactly one element.
func Parse(data []byte) (*Envelope, error) {
	root, err := ParseXML(data)
	if err != nil {
		return nil, err
	}
	if root.Name != (xml.Name{Space: NSEnvelope, Local: "Envelope"}) {
		return nil, fmt.Errorf("the root element must be a SOAP 1.1 Envelope (%s)", NSEnvelope)
	}
	if !Blank(root.Text) {
		return nil, errors.New("text is not allowed in the Envelope")
	}
	env := &Envelope{}
	var bodies int
	for i, c := range root.Children {
		switch {
		case c.Name == xml.Name{Space: NSEnvelope, Local: "Header"} && i == 0:
			h, err := parseHeader(c)
			if err != nil {
				return nil, err
			}
			env.Header = h
		case c.Name == xml.Name{Space: NSEnvelope, Local: "Body"}:
			if bodies++; bodies > 1 {
				return nil, errors.New("more than one SOAP Body")
			}
			if !Blank(c.Text) {
				return nil, errors.New("text is not allowed in the Body")
			}
			if len(c.Children) != 1 {
				return nil, fmt.Errorf("the SOAP Body must hold exactly one element, not %d", len(c.Children))
			}
			env.Body = c.Children[0]
		default:
			return nil, fmt.Errorf("the Envelope holds an optional Header, then the Body; not %s", ElementName(c))
		}
	}
	if env.Body == nil {
		return nil, errors.New("no SOAP Body")
	}
	return env, nil
}

// parseHeader reads the X-Road headers. Other headers are ignored, unless
// they must be understood.
func parseHeader(h *Node) (*Header, error) {
	if !Blank(h.Text) {
		return nil, errors.New("text is not allowed in the Header")
	}
	out := &Header{Present: map[string]bool{}}
	for _, c := range h.Children {
		if c.Name.Space != xroad.NS {
			for _, a := range c.Attrs {
				if a.Name == (xml.Name{Space: NSEnvelope, Local: "mustUnderstand"}) && (a.Value == "1" || a.Value == "true") {
					return nil, fmt.Errorf("header %s must be understood, and the hub does not know it", ElementName(c))
				}
			}
			continue
		}
		name := c.Name.Local
		var dst *string
		switch name {
		case "client", "service":
		case "id":
			dst = &out.Headers.ID
		case "userId":
			dst = &out.Headers.UserID
		case "issue":
			dst = &out.Headers.Issue
		case "protocolVersion":
			dst = &out.Headers.ProtocolVersion
		default:
			continue // another X-Road header (requestHash, representedParty...)
		}
		if out.Present[name] {
			return nil, fmt.Errorf("X-Road header %s given twice", name)
		}
		out.Present[name] = true
		if dst == nil {
			id, err := ParseIdentifier(c)
			if err != nil {
				return nil, fmt.Errorf("X-Road header %s: %w", name, err)
			}
			if name == "client" {
				out.Headers.Client = id
			} else {
				out.Headers.Service = id
			}
			continue
		}
		v, err := TextOf(c, "X-Road header "+name)
		if err != nil {
			return nil, err
		}
		*dst = v
	}
	return out, nil
}

// ParseIdentifier reads an X-Road identifier (identifiers.xsd).
func ParseIdentifier(n *Node) (xroad.Identifier, error) {
	var id xroad.Identifier
	if !Blank(n.Text) {
		return id, errors.New("text is not allowed")
	}
	for _, a := range n.Attrs {
		if a.Name != (xml.Name{Space: xroad.NSIdentifiers, Local: "objectType"}) {
			return id, fmt.Errorf("unknown attribute %s", QuoteShort(a.Name.Local))
		}
		id.ObjectType = a.Value
	}
	seen := map[string]bool{}
	for _, c := range n.Children {
		if c.Name.Space != xroad.NSIdentifiers {
			return id, fmt.Errorf("unknown element %s", ElementName(c))
		}
		var dst *string
		switch c.Name.Local {
		case "xRoadInstance":
			dst = &id.XRoadInstance
		case "memberClass":
			dst = &id.MemberClass
		case "memberCode":
			dst = &id.MemberCode
		case "subsystemCode":
			dst = &id.SubsystemCode
		case "serviceCode":
			dst = &id.ServiceCode
		case "serviceVersion":
			dst = &id.ServiceVersion
		default:
			return id, fmt.Errorf("unknown element %s", ElementName(c))
		}
		if seen[c.Name.Local] {
			return id, fmt.Errorf("%s given twice", c.Name.Local)
		}
		seen[c.Name.Local] = true
		v, err := TextOf(c, c.Name.Local)
		if err != nil {
			return id, err
		}
		*dst = v
	}
	return id, nil
}

// HeaderFault is the kind of problem with a request's X-Road headers; each
// endpoint answers it with its own fault.
type HeaderFault int

// The kinds of header problem.
const (
	HeaderIncomplete HeaderFault = iota + 1 // a required header is missing or empty
	HeaderMalformed                         // a header has a wrong value
	HeaderNotCaller                         // client names another member than the caller
)

// HeaderProblem is what CheckHeaders found wrong.
type HeaderProblem struct {
	Kind   HeaderFault
	Detail string
}

// CheckHeaders requires the X-Road headers that identify a message and its
// sender (client, service, id, protocolVersion 4.0, an id of at most maxID
// bytes when maxID > 0) and that client's memberCode is caller, the
// authenticated client. nil means they are in order.
func CheckHeaders(x *Header, caller string, maxID int) *HeaderProblem {
	problem := func(k HeaderFault, format string, args ...any) *HeaderProblem {
		return &HeaderProblem{Kind: k, Detail: fmt.Sprintf(format, args...)}
	}
	if missing := x.Missing("client", "service", "id", "protocolVersion"); len(missing) > 0 {
		return problem(HeaderIncomplete, "X-Road header(s) %s required", strings.Join(missing, ", "))
	}
	hd := x.Headers
	switch {
	case strings.TrimSpace(hd.ID) == "":
		return problem(HeaderIncomplete, "the X-Road id must not be empty")
	case maxID > 0 && len(hd.ID) > maxID:
		return problem(HeaderMalformed, "the X-Road id exceeds %d bytes", maxID)
	case hd.ProtocolVersion != xroad.ProtocolVersion:
		return problem(HeaderMalformed, "X-Road protocolVersion %s, want %s", QuoteShort(hd.ProtocolVersion), xroad.ProtocolVersion)
	case hd.Client.MemberCode == "":
		return problem(HeaderIncomplete, "the X-Road client has no memberCode")
	case hd.Client.MemberCode != caller:
		return problem(HeaderNotCaller, "the X-Road client's memberCode %s is not the authenticated client", QuoteShort(hd.Client.MemberCode))
	}
	return nil
}
