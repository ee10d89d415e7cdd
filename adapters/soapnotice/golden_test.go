package soapnotice_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/reghub/reghub/notice"
	wsdl "github.com/reghub/reghub/schemas/notice"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/test/xmltest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const messageID = "0195a3c1-7a2b-7c3d-8e4f-000000000801"

// goldens renders each message the endpoint exchanges: the migration
// service's notice of each kind, and the endpoint's answers.
func goldens(t *testing.T) map[string][]byte {
	t.Helper()
	h := xheaders(messageID)
	req := envelope(t, h, recheckNotice())
	answer := func(store *fakeStore, body []byte, edit func(r *http.Request)) []byte {
		return post(handler(service(store)), body, edit).Body.Bytes()
	}
	twice := &fakeStore{}
	answer(twice, req, nil)
	invalid := documentNotice()
	invalid.Document.Number = ""
	invalid.Person = nil
	return map[string][]byte{
		"request.recheck_action.xml":               append(req, '\n'),
		"request.cancel_invalid_document.xml":      append(envelope(t, h, documentNotice()), '\n'),
		"request.cancel_annulled_civil_record.xml": append(envelope(t, h, civilRecordNotice()), '\n'),
		"response.ack.xml":                         answer(&fakeStore{}, req, nil),
		"response.duplicate.xml":                   answer(twice, req, nil),
		"fault.invalid_notice.xml":                 answer(&fakeStore{}, envelope(t, h, invalid), nil),
		"fault.not_authorised.xml":                 answer(&fakeStore{}, req, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tokenAuthority) }),
		"fault.request_malformed.xml":              answer(&fakeStore{}, req, func(r *http.Request) { r.Header.Set("SOAPAction", "urn:x/Other") }),
		"fault.notice_conflict.xml": answer(&fakeStore{err: fmt.Errorf("%w: its notice id was received before with different content", notice.ErrConflict)},
			req, nil),
		"fault.internal.xml": answer(&fakeStore{err: errors.New("connection refused")}, req, nil),
	}
}

func TestGolden(t *testing.T) {
	for name, got := range goldens(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./adapters/soapnotice -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (go test ./adapters/soapnotice -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

// TestGoldenRequestsAccepted: each golden request, as the migration
// service sends it, is the notice it says, and is acknowledged.
func TestGoldenRequestsAccepted(t *testing.T) {
	want := map[string]*wsdl.Notice{
		"request.recheck_action.xml":               recheckNotice(),
		"request.cancel_invalid_document.xml":      documentNotice(),
		"request.cancel_annulled_civil_record.xml": civilRecordNotice(),
	}
	for name, n := range want {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			store := &fakeStore{}
			wantAck(t, decode(post(handler(service(store)), raw, nil)), xheaders(messageID), n.NoticeId, false)
			got := store.stored()
			if len(got) != 1 || got[0].MessageID != messageID || got[0].UserID != "DMS-OFF-0007" || got[0].Issue != "DMS-CASE/2026/0042" ||
				got[0].Sender != "SEVDEIR-TEST/GOV/00000001/DMS" || got[0].Notice.NoticeID != n.NoticeId || string(got[0].Notice.Kind) != string(*n.Kind) ||
				got[0].Notice.IssuedAt != "2026-11-20T09:30:00Z" {
				t.Fatalf("stored %+v", got)
			}
		})
	}
}

// TestGoldenSchemaValid validates each golden's notice element (request,
// acknowledgement or fault detail) against schemas/notice/notice.xsd and
// each X-Road header against schemas/xroad/xroad.xsd, with xmllint.
func TestGoldenSchemaValid(t *testing.T) {
	xmltest.RequireXmllint(t)
	noticeXSD := filepath.Join("..", "..", "schemas", "notice", "notice.xsd")
	xroadXSD := filepath.Join("..", "..", "schemas", "xroad", "xroad.xsd")
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for _, el := range []string{"Notice", "NoticeAck", "NoticeFault"} {
				for _, doc := range xmltest.Elements(t, raw, xml.Name{Space: "urn:reghub:notice:v1", Local: el}) {
					xmltest.Lint(t, noticeXSD, doc)
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d notice elements, want 1", n)
			}
			var headers int
			for _, el := range []string{"client", "service", "id", "userId", "issue", "protocolVersion"} {
				for _, doc := range xmltest.Elements(t, raw, xml.Name{Space: xroad.NS, Local: el}) {
					xmltest.Lint(t, xroadXSD, doc)
					headers++
				}
			}
			if headers == 0 && filepath.Base(f) != "fault.not_authorised.xml" && filepath.Base(f) != "fault.request_malformed.xml" {
				t.Fatalf("no X-Road headers: they are echoed once read")
			}
		})
	}
}
