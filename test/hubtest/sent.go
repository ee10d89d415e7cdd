package hubtest

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/reghub/reghub/test/xmltest"
)

// maxRecorded bounds the requests a simulator keeps for LintSent: a load
// test sends thousands, and the first ones show the shapes.
const maxRecorded = 500

// sentRecorder keeps the SOAP requests a simulator received.
type sentRecorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

// recording wraps a simulator's handler so that the SOAP requests it gets
// are kept, as sent, for LintSent.
func recording(h http.Handler, r *sentRecorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.Contains(req.Header.Get("Content-Type"), "xml") {
			body, err := io.ReadAll(io.LimitReader(req.Body, 4<<20))
			if err != nil {
				http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
				return
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			r.mu.Lock()
			if len(r.bodies) < maxRecorded {
				r.bodies = append(r.bodies, body)
			}
			r.mu.Unlock()
		}
		h.ServeHTTP(w, req)
	})
}

// repoRoot is the module's root, found from this file's path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// LintSent validates every SOAP message the hub sent to the simulators so
// far — each body against its recipient's schema, each X-Road header
// against schemas/xroad — with xmllint, and returns how many it checked.
func (e *Env) LintSent(t *testing.T) int {
	t.Helper()
	xmltest.RequireXmllint(t)
	root, dir := repoRoot(), t.TempDir()
	schemas := map[string]string{
		"dms":            xmltest.ExtractSchema(t, filepath.Join(root, "schemas", "dms", "dms.wsdl"), dir),
		"eddr":           xmltest.ExtractSchema(t, filepath.Join(root, "schemas", "eddr", "eddr.wsdl"), dir),
		"previous_body":  filepath.Join(root, "schemas", "regbody", "regbody.xsd"),
		"voter_register": filepath.Join(root, "schemas", "voter", "voter.xsd"),
	}
	xroadXSD := filepath.Join(root, "schemas", "xroad", "xroad.xsd")
	n := 0
	for dest, rec := range e.sent {
		rec.mu.Lock()
		envelopes := append([][]byte(nil), rec.bodies...)
		rec.mu.Unlock()
		var bodies, headers [][]byte
		for _, env := range envelopes {
			b := xmltest.EnvelopeChildren(t, env, "Body")
			if len(b) != 1 {
				t.Errorf("a message to %s has %d body elements, want 1:\n%s", dest, len(b), env)
				continue
			}
			bodies = append(bodies, b[0])
			h := xmltest.EnvelopeChildren(t, env, "Header")
			if len(h) < 4 {
				t.Errorf("a message to %s has %d X-Road headers, want client, service, id and protocolVersion at least:\n%s", dest, len(h), env)
			}
			headers = append(headers, h...)
		}
		xmltest.LintAll(t, schemas[dest], dest, bodies)
		xmltest.LintAll(t, xroadXSD, dest+"-header", headers)
		n += len(envelopes)
	}
	return n
}
