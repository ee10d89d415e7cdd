package mapping_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
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
		"dms":  extractSchema(t, filepath.Join("..", "schemas", "dms", "dms.wsdl"), dir),
		"eddr": extractSchema(t, filepath.Join("..", "schemas", "eddr", "eddr.wsdl"), dir),
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
			bodies := children(t, raw, "Body")
			if len(bodies) != 1 {
				t.Fatalf("want one body element, got %d", len(bodies))
			}
			xmltest.Lint(t, xsd, bodies[0])
			headers := children(t, raw, "Header")
			if len(headers) < 4 {
				t.Fatalf("want at least client, service, id, protocolVersion headers, got %d", len(headers))
			}
			for _, h := range headers {
				xmltest.Lint(t, xroadXSD, h)
			}
		})
	}
}

// extractSchema writes the xs:schema of a WSDL to a standalone .xsd, adding
// the namespace declarations it inherits from wsdl:definitions.
func extractSchema(t *testing.T, wsdl, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(wsdl)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	start := strings.Index(s, "<xs:schema")
	end := strings.Index(s, "</xs:schema>")
	if start < 0 || end < 0 {
		t.Fatalf("%s: no xs:schema", wsdl)
	}
	schema := s[start : end+len("</xs:schema>")]
	tns := regexp.MustCompile(`targetNamespace="([^"]+)"`).FindStringSubmatch(schema)
	if tns == nil {
		t.Fatalf("%s: schema has no targetNamespace", wsdl)
	}
	decl := ` xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="` + tns[1] + `"`
	schema = "<xs:schema" + decl + schema[len("<xs:schema"):]
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(wsdl), ".wsdl")+".xsd")
	if err := os.WriteFile(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+schema+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// children returns the raw bytes of each child element of the envelope's
// Header or Body. gowsdl declares every namespace on the element that uses
// it, so each slice is a document of its own.
func children(t *testing.T, raw []byte, parent string) [][]byte {
	t.Helper()
	const soapNS = "http://schemas.xmlsoap.org/soap/envelope/"
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var (
		out          [][]byte
		depth        int
		inParent     bool
		start, begin int64
	)
	for {
		begin = dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("scan envelope: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && el.Name.Space == soapNS && el.Name.Local == parent {
				inParent = true
			}
			if inParent && depth == 3 {
				start = begin
			}
		case xml.EndElement:
			if inParent && depth == 3 {
				out = append(out, raw[start:dec.InputOffset()])
			}
			if depth == 2 {
				inParent = false
			}
			depth--
		}
	}
}
