package soapenv

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// NSEnvelope is the SOAP 1.1 envelope namespace.
const NSEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"

// Limits of the parser, far above any real request: they bound the work an
// abusive document can cause.
const (
	MaxDepth = 32
	MaxNodes = 4096
)

// Node is one element of a parsed document: its name, its attributes
// (namespace declarations left out), the character data directly inside it
// and its child elements.
type Node struct {
	Name     xml.Name
	Attrs    []xml.Attr
	Text     []byte
	Children []*Node
}

// ParseXML reads one XML document into a tree. It refuses what a SOAP
// message has no use for and a parser should not be asked to do: a DTD
// (entity expansion), processing instructions other than the XML
// declaration, encodings other than UTF-8, a second root element, text
// outside the root, and documents deeper or larger than the limits.
func ParseXML(data []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var (
		root  *Node
		stack []*Node
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
			if count++; count > MaxNodes {
				return nil, fmt.Errorf("more than %d elements", MaxNodes)
			}
			if len(stack) >= MaxDepth {
				return nil, fmt.Errorf("elements nested deeper than %d", MaxDepth)
			}
			n := &Node{Name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.Attrs = append(n.Attrs, a)
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, n)
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
			top.Text = append(top.Text, t...)
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
		return fmt.Sprintf("line %d: %s", se.Line, Truncate(se.Msg, 120))
	}
	return Truncate(err.Error(), 120)
}

// Blank reports text that is only white space.
func Blank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// TextOf returns the text of an element that may hold text only; where
// names it in the error.
func TextOf(n *Node, where string) (string, error) {
	if len(n.Children) > 0 {
		return "", fmt.Errorf("%s: text expected, not elements", where)
	}
	if len(n.Attrs) > 0 {
		return "", fmt.Errorf("%s: attributes are not allowed", where)
	}
	return string(n.Text), nil
}

// ElementName names an element in an error: its local name, quoted and cut
// short, since it is the sender's text.
func ElementName(n *Node) string { return QuoteShort(n.Name.Local) }

// QuoteShort quotes a sender's text cut to a few characters: enough to
// recognise a typo, too little to carry much personal data into a log.
func QuoteShort(s string) string {
	const max = 32
	if utf8.RuneCountInString(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q…", string(r[:max]))
}

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "") + "…"
}
