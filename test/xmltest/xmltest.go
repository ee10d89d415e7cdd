// Package xmltest holds what the tests of every SOAP message share: cutting
// elements out of an envelope and validating them against their XSD with
// libxml2's xmllint (Debian's libxml2-utils), as the issues require.
package xmltest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
