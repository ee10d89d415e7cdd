package soapquery_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/adapters/soapquery"
)

// maxFaultText bounds what a fault says about a request the service was
// not asked about: element names and XML errors are quoted cut short.
const maxFaultText = 512

// FuzzQueryEnvelope feeds arbitrary bodies, SOAPActions and purpose
// headers through the endpoint, as an authority's system would send them.
// Whatever arrives, the endpoint never panics, and answers a SOAP envelope:
// HTTP 200 with a QueryResponse (the service was asked once, with a body
// ParseQuery reads), or HTTP 500 with a fault whose text stays short
// unless the service wrote it.
func FuzzQueryEnvelope(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "request.xml"))
	if err != nil {
		f.Fatal(err)
	}
	g := string(golden)
	for _, s := range []string{
		g,
		strings.Replace(g, "<unzr>19880412-07347</unzr>", "<rnokpp>3224401240</rnokpp><unzr>x</unzr>", 1),
		strings.Replace(g, "</fields>", "</fields><consent>c</consent><applicant><unzr>19880412-07347</unzr></applicant>", 1),
		strings.Replace(g, "<purpose>", `<purpose xmlns="urn:other">`, 1),
		strings.Replace(g, "<search>", "<search><search>", 1),
		`<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`,
		`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><x:client xmlns:x="http://x-road.eu/xsd/xroad.xsd"><y/></x:client></Header><Body><a/></Body></Envelope>`,
		strings.Repeat("<a>", 100),
		"",
		"\x00\xff<",
	} {
		f.Add([]byte(s), soapquery.SOAPAction, purposeID)
	}
	f.Add(golden, "urn:other", "a,b")
	f.Add(golden, "", "")

	f.Fuzz(func(t *testing.T, body []byte, soapAction, purpose string) {
		a := &fakeAsker{}
		w := post(handler(a), body, func(r *http.Request) {
			r.Header.Set("SOAPAction", soapAction)
			r.Header.Set(soapquery.PurposeHeader, purpose)
		})
		r := decode(w)
		if r.err != nil {
			t.Fatalf("HTTP %d: the answer is not a SOAP envelope (%v):\n%s", r.status, r.err, r.raw)
		}
		calls := a.called()
		switch r.status {
		case http.StatusOK:
			if r.resp == nil || len(calls) != 1 {
				t.Fatalf("HTTP 200 without a response (%d calls):\n%s", len(calls), r.raw)
			}
			if _, err := access.ParseQuery(calls[0].body); err != nil {
				t.Fatalf("answered a query ParseQuery refuses: %v", err)
			}
		case http.StatusInternalServerError:
			if r.fault == nil || r.fault.Detail.Fault == nil {
				t.Fatalf("HTTP 500 without a fault:\n%s", r.raw)
			}
			if len(calls) > 1 {
				t.Fatalf("the service was asked %d times", len(calls))
			}
			if len(calls) == 0 && len(r.fault.String) > maxFaultText {
				t.Fatalf("fault text of %d bytes: %.200s…", len(r.fault.String), r.fault.String)
			}
		default:
			t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
		}
	})
}
