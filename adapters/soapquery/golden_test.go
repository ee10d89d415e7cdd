package soapquery_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/test/xmltest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldens renders each message the endpoint exchanges: the request an
// authority sends, and the endpoint's answers to it.
func goldens(t *testing.T) map[string][]byte {
	t.Helper()
	req := envelope(t, xheaders(), queryRequest(t))
	answer := func(f func(access.Query) (access.Answer, error), edit func(r *http.Request)) []byte {
		return post(handler(&fakeAsker{answer: f}), req, edit).Body.Bytes()
	}
	return map[string][]byte{
		"request.xml":           append(req, '\n'),
		"response.answered.xml": answer(nil, nil),
		"response.pending.xml":  answer(func(access.Query) (access.Answer, error) { return pending(), nil }, nil),
		"fault.field_not_authorised.xml": answer(func(access.Query) (access.Answer, error) {
			return access.Answer{ID: queryID, Status: access.StatusRefused, Decision: access.Decision{
				Reason: access.ReasonFieldNotAuthorised, Detail: `basis "military.registration" does not grant contacts`}}, nil
		}, nil),
		"fault.failed.xml": answer(func(access.Query) (access.Answer, error) {
			return access.Answer{ID: queryID, Status: access.StatusFailed, Decision: granted(), Error: "a source could not answer"}, nil
		}, nil),
		"fault.request_malformed.xml": answer(nil, func(r *http.Request) { r.Header.Set("SOAPAction", "urn:x/Other") }),
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
				t.Fatalf("%v (go test ./adapters/soapquery -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (go test ./adapters/soapquery -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

// TestGoldenRequestAccepted: the golden request, as an authority's client
// sends it, is the query it says.
func TestGoldenRequestAccepted(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAsker{}
	if r := decode(post(handler(a), raw, nil)); r.status != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", r.status, r.raw)
	}
	q := a.called()[0].query
	if q.Official.ID != "SYN-OFF-0042" || q.Case != "SYN-2026/0001" || q.Purpose.ID != purposeID ||
		q.Basis.Code != "military.registration" || q.Search.UNZR != "19880412-07347" || !reflect.DeepEqual(q.Fields, grantedFields) {
		t.Fatalf("query %+v", q)
	}
}

// TestGoldenSchemaValid validates each golden's query element (request,
// response or fault detail) against schemas/query/query.xsd and each
// X-Road header against schemas/xroad/xroad.xsd, with xmllint.
func TestGoldenSchemaValid(t *testing.T) {
	xmltest.RequireXmllint(t)
	queryXSD := filepath.Join("..", "..", "schemas", "query", "query.xsd")
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
			for _, el := range []string{"QueryRequest", "QueryResponse", "QueryFault"} {
				for _, doc := range xmltest.Elements(t, raw, xml.Name{Space: "urn:reghub:query:v1", Local: el}) {
					xmltest.Lint(t, queryXSD, doc)
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d query elements, want 1", n)
			}
			for _, el := range []string{"client", "service", "id", "userId", "issue", "protocolVersion"} {
				for _, doc := range xmltest.Elements(t, raw, xml.Name{Space: xroad.NS, Local: el}) {
					xmltest.Lint(t, xroadXSD, doc)
				}
			}
		})
	}
}
