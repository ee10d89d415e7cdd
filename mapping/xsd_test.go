package mapping_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reghub/reghub/test/xmltest"
)

// TestGoldenSchemaValid validates every golden's body against the schema in
// its WSDL (the actions' and the monthly voter sets') and every X-Road
// header against schemas/xroad, with xmllint.
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
		// <fixture>.<dest>.xml
		dest := strings.TrimPrefix(filepath.Ext(strings.TrimSuffix(g, ".xml")), ".")
		xsd, ok := schemas[dest]
		if !ok {
			t.Errorf("%s: no schema for destination %q", g, dest)
			continue
		}
		t.Run(filepath.Base(g), func(t *testing.T) { lintGolden(t, g, xsd, xroadXSD) })
	}
	// The monthly sets' goldens (testdata/voter/<fixture>.xml).
	voterGoldens, err := filepath.Glob(filepath.Join("testdata", "voter", "*.xml"))
	if err != nil || len(voterGoldens) == 0 {
		t.Fatalf("no voter goldens (%v)", err)
	}
	for _, g := range voterGoldens {
		t.Run("voter/"+filepath.Base(g), func(t *testing.T) {
			lintGolden(t, g, filepath.Join("..", "schemas", "voter", "voter.xsd"), xroadXSD)
		})
	}
}

// lintGolden validates a golden envelope's one body element against xsd
// and its X-Road headers against xroadXSD.
func lintGolden(t *testing.T, golden, xsd, xroadXSD string) {
	t.Helper()
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
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
}
