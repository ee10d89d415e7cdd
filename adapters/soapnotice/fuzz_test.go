package soapnotice_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reghub/reghub/adapters/soapnotice"
	"github.com/reghub/reghub/notice"
)

// FuzzNoticeEnvelope feeds arbitrary bodies and SOAPActions through the
// endpoint, as the migration service's system would send them. Whatever
// arrives, the endpoint never panics and answers a SOAP envelope: HTTP 200
// with a NoticeAck for a notice stored once and valid, or HTTP 500 with a
// fault, nothing stored, whose text stays short.
func FuzzNoticeEnvelope(f *testing.F) {
	for _, name := range []string{"request.recheck_action.xml", "request.cancel_invalid_document.xml", "request.cancel_annulled_civil_record.xml"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, soapnotice.SOAPAction)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "request.recheck_action.xml"))
	if err != nil {
		f.Fatal(err)
	}
	g := string(golden)
	for _, s := range []string{
		strings.Replace(g, "<kind>recheck_action</kind>", "<kind>cancel_invalid_document</kind>", 1),
		strings.Replace(g, "</person>", "</person><document><type>passport</type><number>AB123456</number></document>", 1),
		strings.Replace(g, "</person>", "</person><civilRecord><number>1</number><date>2025-03-14+02:00</date><office>x</office></civilRecord>", 1),
		strings.Replace(g, "<reason>", `<reason xmlns="urn:other">`, 1),
		strings.Replace(g, "<action>", "<action><action>", 1),
		strings.Replace(g, "2026-11-20T09:30:00Z", "2026-11-20T09:30:00", 1),
		strings.Replace(g, "RH-0195a3c1", "RH-0195A3C1", 1),
		`<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`,
		`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><x:client xmlns:x="http://x-road.eu/xsd/xroad.xsd"><y/></x:client></Header><Body><a/></Body></Envelope>`,
		strings.Repeat("<a>", 100),
		"",
		"\x00\xff<",
	} {
		f.Add([]byte(s), soapnotice.SOAPAction)
	}
	f.Add(golden, "urn:other")
	f.Add(golden, "")

	f.Fuzz(func(t *testing.T, body []byte, soapAction string) {
		store := &fakeStore{}
		w := post(handler(service(store)), body, func(r *http.Request) { r.Header.Set("SOAPAction", soapAction) })
		r := decode(w)
		if r.err != nil {
			t.Fatalf("HTTP %d: the answer is not a SOAP envelope (%v):\n%s", r.status, r.err, r.raw)
		}
		stored := store.stored()
		switch r.status {
		case http.StatusOK:
			if r.ack == nil || len(stored) != 1 || r.ack.NoticeId != stored[0].Notice.NoticeID || r.ack.Duplicate {
				t.Fatalf("HTTP 200 (%d stored):\n%s", len(stored), r.raw)
			}
			if _, err := notice.Check(stored[0].Notice, received); err != nil {
				t.Fatalf("stored a notice Check refuses: %v", err)
			}
		case http.StatusInternalServerError:
			if r.fault == nil || r.fault.Detail.Fault == nil {
				t.Fatalf("HTTP 500 without a fault:\n%s", r.raw)
			}
			if len(stored) != 0 {
				t.Fatalf("a refused notice was stored")
			}
			limit := 512
			if r.fault.Detail.Fault.Reason == soapnotice.ReasonInvalid {
				limit = 4096 // every problem listed, each without its value
			}
			if len(r.fault.String) > limit {
				t.Fatalf("fault text of %d bytes: %.200s…", len(r.fault.String), r.fault.String)
			}
		default:
			t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
		}
	})
}
