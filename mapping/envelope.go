package mapping

import (
	"encoding/xml"
	"fmt"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/schemas/xroad"
)

// Envelope renders the SOAP 1.1 envelope of a request as gowsdl's client
// builds it (the same soap.SOAPEnvelope, headers and body), indented for
// reading: the client sends the same elements without the indentation.
func Envelope(headers xroad.Headers, body any) ([]byte, error) {
	env := soap.SOAPEnvelope{
		XmlNS:  soap.XmlNsSoapEnv,
		Header: &soap.SOAPHeader{Headers: headers.Elements()},
	}
	env.Body.Content = body
	out, err := xml.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render soap envelope: %w", err)
	}
	return out, nil
}
