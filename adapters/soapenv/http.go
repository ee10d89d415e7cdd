package soapenv

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/schemas/xroad"
)

// Operation is what an endpoint serves: its SOAPAction, the other values
// of the SOAPAction header it takes for it (the bare operation name), a
// word naming it in errors ("query"), and the largest body it reads.
type Operation struct {
	Action  string
	Aliases []string
	Noun    string
	MaxBody int64
}

// ReadRequest checks a request's form — Content-Type text/xml (or
// application/xml) in UTF-8, the operation's SOAPAction if one is sent, at
// most op.MaxBody bytes — and returns its body.
func ReadRequest(w http.ResponseWriter, r *http.Request, op Operation) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		switch {
		case err != nil || (mt != "text/xml" && mt != "application/xml"):
			return nil, errors.New("Content-Type must be text/xml (SOAP 1.1)")
		case params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8"):
			return nil, errors.New("the charset must be UTF-8")
		}
	}
	if a := strings.Trim(r.Header.Get("SOAPAction"), `"`); a != "" && a != op.Action && !slices.Contains(op.Aliases, a) {
		return nil, fmt.Errorf("SOAPAction %s is not the %s operation (%s)", QuoteShort(a), op.Noun, op.Action)
	}
	if r.ContentLength > op.MaxBody {
		return nil, fmt.Errorf("the body exceeds %d bytes", op.MaxBody)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, op.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("the body exceeds %d bytes", op.MaxBody)
		}
		return nil, errors.New("the body could not be read")
	}
	return data, nil
}

// BearerToken is the request's bearer token, "" when it has none. The
// scheme is case-insensitive (RFC 9110 §11.1).
func BearerToken(r *http.Request) string {
	authz := r.Header.Get("Authorization")
	if len(authz) > 7 && strings.EqualFold(authz[:7], "bearer ") {
		return strings.TrimSpace(authz[7:])
	}
	return ""
}

// Fault is a SOAP 1.1 Fault. Its name is written with the prefix the
// envelope binds (as gowsdl writes soap:Envelope and soap:Body); its
// children are unqualified, as SOAP 1.1 wants.
type Fault struct {
	XMLName xml.Name     `xml:"soap:Fault"`
	Code    string       `xml:"faultcode"`
	String  string       `xml:"faultstring"`
	Detail  *FaultDetail `xml:"detail,omitempty"`
}

// FaultDetail holds the endpoint's own fault element (a generated type
// with its XMLName).
type FaultDetail struct {
	Content any
}

// Render renders a SOAP 1.1 envelope as gowsdl does (soap:Envelope,
// soap:Header, soap:Body), indented for reading, with the X-Road headers h
// (none if nil) and payload as the Body's element.
func Render(h *xroad.Headers, payload any) ([]byte, error) {
	env := soap.SOAPEnvelope{XmlNS: soap.XmlNsSoapEnv}
	if h != nil {
		env.Header = &soap.SOAPHeader{Headers: h.Elements()}
	}
	env.Body.Content = payload
	out, err := xml.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render soap envelope: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// Write answers with a rendered envelope. The answer is not cached: it
// may carry personal data.
func Write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
