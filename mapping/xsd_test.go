package mapping_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reghub/reghub/test/xmltest"
)

// TestGoldenSchemaValid validates every golden's body against the schema in
// its WSDL and every X-Road header against schemas/xroad, with xmllint.
func TestGoldenSchemaValid(t *testing.T) {
	xmltest.RequireXmllint(t)
	dir := t.TempDir()
	schemas := map[string]string{
		"dms":  xmltest.ExtractSchema(t, filepath.Join("..", "schemas", "dms", "dms.wsdl"), dir),
		"eddr": xmltest.ExtractSchema(t, filepath.Join("..", "schemas", "eddr", "eddr.wsdl"), dir),
		// The notices to other registration bodies (regbody.*.previous_body.xml).
		"previous_body": filepath.Join("..", "schemas", "regbody", "regbody.xsd"),
	}
	xroadXSD := filepath.Join("..", "schemas", "xroad", "xroad.xsd")

	goldens, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(goldens) == 0 {
		t.Fatal("no golden files")
	}
	for _, g := range goldens {
		t.Run(filepath.Base(g), func(t *testing.T) {
			raw, err := os.ReadFile(g)
			if err != nil {
				t.Fatal(err)
			}
			// <fixture>.<dest>.xml
			dest := strings.TrimPrefix(filepath.Ext(strings.TrimSuffix(g, ".xml")), ".")
			xsd, ok := schemas[dest]
			if !ok {
				t.Fatalf("no schema for destination %q", dest)
			}
			bodies := xmltest.EnvelopeChildren(t, raw, "Body")
			if len(bodies) != 1 {
				t.Fatalf("want one body element, got %d", len(bodies))
			}
			xmltest.Lint(t, xsd, bodies[0])
			headers := xmltest.EnvelopeChildren(t, raw, "Header")
			if len(headers) < 4 {
				t.Fatalf("want at least client, service, id, protocolVersion headers, got %d", len(headers))
			}
			for _, h := range headers {
				xmltest.Lint(t, xroadXSD, h)
			}
		})
	}
}
