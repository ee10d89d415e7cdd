// Package xroad holds the X-Road 4.0 message headers (xroad.xsd,
// identifiers.xsd) that every SOAP message of the national bus carries: who
// calls (client), which service, the unique message id, the official (userId)
// and the case reference (issue). The service echoes them in its answer.
//
// gowsdl does not generate headers, and its client shares one header slice
// between calls, so the hub builds a fresh set per message from here.
package xroad

import "encoding/xml"

// Namespaces of the two header schemas.
const (
	NS            = "http://x-road.eu/xsd/xroad.xsd"
	NSIdentifiers = "http://x-road.eu/xsd/identifiers"
	// ProtocolVersion is the X-Road message protocol the hub speaks.
	ProtocolVersion = "4.0"
)

// Identifier names a member, subsystem or service on the bus, written
// INSTANCE/CLASS/CODE/SUBSYSTEM[/SERVICE/VERSION].
type Identifier struct {
	ObjectType     string `xml:"http://x-road.eu/xsd/identifiers objectType,attr"`
	XRoadInstance  string `xml:"http://x-road.eu/xsd/identifiers xRoadInstance"`
	MemberClass    string `xml:"http://x-road.eu/xsd/identifiers memberClass"`
	MemberCode     string `xml:"http://x-road.eu/xsd/identifiers memberCode"`
	SubsystemCode  string `xml:"http://x-road.eu/xsd/identifiers subsystemCode,omitempty"`
	ServiceCode    string `xml:"http://x-road.eu/xsd/identifiers serviceCode,omitempty"`
	ServiceVersion string `xml:"http://x-road.eu/xsd/identifiers serviceVersion,omitempty"`
}

// String renders the identifier in the bus's slash form.
func (i Identifier) String() string {
	s := i.XRoadInstance + "/" + i.MemberClass + "/" + i.MemberCode
	if i.SubsystemCode != "" {
		s += "/" + i.SubsystemCode
	}
	if i.ServiceCode != "" {
		s += "/" + i.ServiceCode
	}
	if i.ServiceVersion != "" {
		s += "/" + i.ServiceVersion
	}
	return s
}

// Headers is the set of X-Road headers of one message.
type Headers struct {
	Client          Identifier
	Service         Identifier
	ID              string
	UserID          string
	Issue           string
	ProtocolVersion string
}

type clientEl struct {
	XMLName xml.Name `xml:"http://x-road.eu/xsd/xroad.xsd client"`
	Identifier
}

type serviceEl struct {
	XMLName xml.Name `xml:"http://x-road.eu/xsd/xroad.xsd service"`
	Identifier
}

type textEl struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func text(local, v string) textEl {
	return textEl{XMLName: xml.Name{Space: NS, Local: local}, Value: v}
}

// Elements returns the headers as the SOAP header elements, in schema order,
// ready for a SOAP envelope's Header.
func (h Headers) Elements() []any {
	h.Client.ObjectType = orDefault(h.Client.ObjectType, "SUBSYSTEM")
	h.Service.ObjectType = orDefault(h.Service.ObjectType, "SERVICE")
	els := []any{clientEl{Identifier: h.Client}, serviceEl{Identifier: h.Service}, text("id", h.ID)}
	if h.UserID != "" {
		els = append(els, text("userId", h.UserID))
	}
	if h.Issue != "" {
		els = append(els, text("issue", h.Issue))
	}
	return append(els, text("protocolVersion", orDefault(h.ProtocolVersion, ProtocolVersion)))
}

// Header is the decoding form of a SOAP Header holding X-Road headers.
type Header struct {
	Client          *Identifier `xml:"http://x-road.eu/xsd/xroad.xsd client"`
	Service         *Identifier `xml:"http://x-road.eu/xsd/xroad.xsd service"`
	ID              string      `xml:"http://x-road.eu/xsd/xroad.xsd id"`
	UserID          string      `xml:"http://x-road.eu/xsd/xroad.xsd userId"`
	Issue           string      `xml:"http://x-road.eu/xsd/xroad.xsd issue"`
	ProtocolVersion string      `xml:"http://x-road.eu/xsd/xroad.xsd protocolVersion"`
}

// Headers converts a decoded header into Headers.
func (h Header) Headers() Headers {
	out := Headers{ID: h.ID, UserID: h.UserID, Issue: h.Issue, ProtocolVersion: h.ProtocolVersion}
	if h.Client != nil {
		out.Client = *h.Client
	}
	if h.Service != nil {
		out.Service = *h.Service
	}
	return out
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
