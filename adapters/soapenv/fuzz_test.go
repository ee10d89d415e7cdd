package soapenv_test

import (
	"testing"

	"github.com/reghub/reghub/adapters/soapenv"
)

// FuzzParse: whatever arrives, Parse never panics; it returns an envelope
// with its one Body element, or an error short enough for a faultstring.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><id xmlns="http://x-road.eu/xsd/xroad.xsd">1</id></soap:Header><soap:Body><a xmlns="urn:x"/></soap:Body></soap:Envelope>`,
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><client xmlns="http://x-road.eu/xsd/xroad.xsd" xmlns:i="http://x-road.eu/xsd/identifiers" i:objectType="SUBSYSTEM"><i:memberCode>1</i:memberCode></client></soap:Header><soap:Body><a/></soap:Body></soap:Envelope>`,
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><h soap:mustUnderstand="1"/></soap:Header><soap:Body><a/></soap:Body></soap:Envelope>`,
		`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`,
		`<?pi x?><a/>`,
		`<a/><b/>`,
		"",
		"\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := soapenv.Parse(data)
		if err != nil {
			if env != nil {
				t.Fatalf("an envelope and an error")
			}
			if len(err.Error()) > 512 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		if env.Body == nil {
			t.Fatalf("no Body element")
		}
		if env.Header != nil && env.Header.Present == nil {
			t.Fatalf("a header without its presence map")
		}
	})
}
