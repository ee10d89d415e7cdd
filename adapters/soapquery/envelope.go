package soapquery

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/schemas/xroad"
)

// Namespaces of the messages the endpoint reads.
const (
	nsEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"
	nsQuery    = "urn:reghub:query:v1"
)

// Limits of the parser, far above any real query (a body is at most
// access.MaxQueryBytes*4 anyway): they bound the work an abusive document
// can cause.
const (
	maxDepth = 32
	maxNodes = 4096
)

// node is one element of a parsed document: its name, its attributes
// (namespace declarations left out), the character data directly inside it
// and its child elements.
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	text     []byte
	children []*node
}

// parseXML reads one XML document into a tree. It refuses what a SOAP
// message has no use for and a parser should not be asked to do: a DTD
// (entity expansion), processing instructions other than the XML
// declaration, encodings other than UTF-8, a second root element, text
// outside the root, and documents deeper or larger than the limits.
func parseXML(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var (
		root  *node
		stack []*node
		count int
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %s", syntaxText(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("more than one root element")
			}
			if count++; count > maxNodes {
				return nil, fmt.Errorf("more than %d elements", maxNodes)
			}
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("elements nested deeper than %d", maxDepth)
			}
			n := &node{name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.attrs = append(n.attrs, a)
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, errors.New("text outside the root element")
				}
				continue
			}
			top := stack[len(stack)-1]
			top.text = append(top.text, t...)
		case xml.ProcInst:
			if t.Target != "xml" || root != nil {
				return nil, errors.New("processing instructions are not allowed")
			}
		case xml.Directive:
			return nil, errors.New("DTDs and other directives are not allowed")
		case xml.Comment:
		}
	}
	if root == nil {
		return nil, errors.New("empty document")
	}
	return root, nil
}

// syntaxText is a decoding error's text without the input it quotes.
func syntaxText(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("line %d: %s", se.Line, truncate(se.Msg, 120))
	}
	return truncate(err.Error(), 120)
}

// blank reports text that is only white space.
func blank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// textOf returns the text of an element that may hold text only.
func textOf(n *node, where string) (string, error) {
	if len(n.children) > 0 {
		return "", fmt.Errorf("%s: text expected, not elements", where)
	}
	if len(n.attrs) > 0 {
		return "", fmt.Errorf("%s: attributes are not allowed", where)
	}
	return string(n.text), nil
}

// envelope is a parsed SOAP 1.1 request: its X-Road headers (nil without a
// SOAP Header) and the one element of its Body.
type envelope struct {
	header *xroadHeader
	body   *node
}

// xroadHeader is the X-Road headers of a request, and which were present.
type xroadHeader struct {
	headers xroad.Headers
	present map[string]bool
}

// parseEnvelope reads a SOAP 1.1 envelope: an Envelope holding an optional
// Header and one Body with exactly one element. Every error is a
// request_malformed fault.
func parseEnvelope(data []byte) (*envelope, *fault) {
	root, err := parseXML(data)
	if err != nil {
		return nil, malformed("%v", err)
	}
	if root.name != (xml.Name{Space: nsEnvelope, Local: "Envelope"}) {
		return nil, malformed("the root element must be a SOAP 1.1 Envelope (%s)", nsEnvelope)
	}
	if !blank(root.text) {
		return nil, malformed("Envelope: text is not allowed")
	}
	env := &envelope{}
	var bodies int
	for i, c := range root.children {
		switch {
		case c.name == xml.Name{Space: nsEnvelope, Local: "Header"} && i == 0:
			h, f := parseHeader(c)
			if f != nil {
				return nil, f
			}
			env.header = h
		case c.name == xml.Name{Space: nsEnvelope, Local: "Body"}:
			if bodies++; bodies > 1 {
				return nil, malformed("more than one SOAP Body")
			}
			if !blank(c.text) {
				return nil, malformed("Body: text is not allowed")
			}
			if len(c.children) != 1 {
				return nil, malformed("the SOAP Body must hold exactly one element, not %d", len(c.children))
			}
			env.body = c.children[0]
		default:
			return nil, malformed("Envelope holds an optional Header, then the Body; not %s", elementName(c))
		}
	}
	if env.body == nil {
		return nil, malformed("no SOAP Body")
	}
	return env, nil
}

// parseHeader reads the X-Road headers. Other headers are ignored, unless
// they must be understood.
func parseHeader(h *node) (*xroadHeader, *fault) {
	if !blank(h.text) {
		return nil, malformed("Header: text is not allowed")
	}
	out := &xroadHeader{present: map[string]bool{}}
	for _, c := range h.children {
		if c.name.Space != xroad.NS {
			for _, a := range c.attrs {
				if a.Name == (xml.Name{Space: nsEnvelope, Local: "mustUnderstand"}) && (a.Value == "1" || a.Value == "true") {
					return nil, malformed("header %s must be understood, and the hub does not know it", elementName(c))
				}
			}
			continue
		}
		name := c.name.Local
		var dst *string
		switch name {
		case "client", "service":
		case "id":
			dst = &out.headers.ID
		case "userId":
			dst = &out.headers.UserID
		case "issue":
			dst = &out.headers.Issue
		case "protocolVersion":
			dst = &out.headers.ProtocolVersion
		default:
			continue // another X-Road header (requestHash, representedParty...)
		}
		if out.present[name] {
			return nil, malformed("X-Road header %s given twice", name)
		}
		out.present[name] = true
		if dst == nil {
			id, err := parseIdentifier(c)
			if err != nil {
				return nil, malformed("X-Road header %s: %v", name, err)
			}
			if name == "client" {
				out.headers.Client = id
			} else {
				out.headers.Service = id
			}
			continue
		}
		v, err := textOf(c, "X-Road header "+name)
		if err != nil {
			return nil, malformed("%v", err)
		}
		*dst = v
	}
	return out, nil
}

// parseIdentifier reads an X-Road identifier (identifiers.xsd).
func parseIdentifier(n *node) (xroad.Identifier, error) {
	var id xroad.Identifier
	if !blank(n.text) {
		return id, errors.New("text is not allowed")
	}
	for _, a := range n.attrs {
		if a.Name != (xml.Name{Space: xroad.NSIdentifiers, Local: "objectType"}) {
			return id, fmt.Errorf("unknown attribute %s", quoteShort(a.Name.Local))
		}
		id.ObjectType = a.Value
	}
	seen := map[string]bool{}
	for _, c := range n.children {
		if c.name.Space != xroad.NSIdentifiers {
			return id, fmt.Errorf("unknown element %s", elementName(c))
		}
		var dst *string
		switch c.name.Local {
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
			return id, fmt.Errorf("unknown element %s", elementName(c))
		}
		if seen[c.name.Local] {
			return id, fmt.Errorf("%s given twice", c.name.Local)
		}
		seen[c.name.Local] = true
		v, err := textOf(c, c.name.Local)
		if err != nil {
			return id, err
		}
		*dst = v
	}
	return id, nil
}

// elementName names an element in an error: its local name, quoted and cut
// short, since it is the sender's text.
func elementName(n *node) string { return quoteShort(n.name.Local) }

// quoteShort quotes a sender's text cut to a few characters: enough to
// recognise a typo, too little to carry much personal data into a log.
func quoteShort(s string) string {
	const max = 32
	if utf8.RuneCountInString(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q…", string(r[:max]))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "") + "…"
}

// maxBody is the largest request body read: the JSON query's limit, with
// room for the envelope, the X-Road headers and XML's verbosity.
const maxBody = access.MaxQueryBytes * 4
