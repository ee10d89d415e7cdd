// Package xmltest holds what the tests of every SOAP message share: cutting
// elements out of an envelope and validating them against their XSD with
// libxml2's xmllint (Debian's libxml2-utils), as the issues require.
package xmltest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// RequireXmllint skips the test when xmllint is missing, or fails it when
// CI is set (test/run.sh installs it).
func RequireXmllint(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint not on PATH (apt-get install -y libxml2-utils)")
		}
		t.Skip("xmllint not on PATH (apt-get install -y libxml2-utils)")
	}
}

// Lint validates doc against the schema xsd and reports every error.
func Lint(t *testing.T, xsd string, doc []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--schema", xsd, f).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint --schema %s: %v\n%s\ndocument:\n%s", filepath.Base(xsd), err, out, doc)
	}
}

// Elements returns the raw bytes of every element named name. Go's encoder
// declares each namespace on the element that uses it, so each is a
// document of its own.
func Elements(t *testing.T, raw []byte, name xml.Name) [][]byte {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var (
		out   [][]byte
		depth int
		start int64
		in    int // depth of the element being cut, 0 if none
	)
	for {
		begin := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if in == 0 && el.Name == name {
				in, start = depth, begin
			}
		case xml.EndElement:
			if in == depth {
				out = append(out, raw[start:dec.InputOffset()])
				in = 0
			}
			depth--
		}
	}
}

// ExtractSchema writes the xs:schema of a WSDL to a standalone .xsd, adding
// the namespace declarations it inherits from wsdl:definitions.
func ExtractSchema(t *testing.T, wsdl, dir string) string {
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

// EnvelopeChildren returns the raw bytes of each child element of the envelope's
// Header or Body. gowsdl declares every namespace on the element that uses
// it, so each slice is a document of its own.
func EnvelopeChildren(t *testing.T, raw []byte, parent string) [][]byte {
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

// LintAll validates every document against the schema xsd with one run of
// xmllint, and reports every error; label names the documents' origin.
func LintAll(t *testing.T, xsd, label string, docs [][]byte) {
	t.Helper()
	if len(docs) == 0 {
		return
	}
	dir := t.TempDir()
	args := []string{"--noout", "--schema", xsd}
	for i, d := range docs {
		f := filepath.Join(dir, fmt.Sprintf("%s-%04d.xml", label, i))
		if err := os.WriteFile(f, d, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, f)
	}
	if out, err := exec.Command("xmllint", args...).CombinedOutput(); err != nil {
		t.Errorf("xmllint --schema %s over %d %s documents: %v\n%s", filepath.Base(xsd), len(docs), label, err, out)
	}
}
