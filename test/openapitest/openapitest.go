// Package openapitest holds what the tests of the REST contracts share:
// loading an OpenAPI document (schemas/*.yaml), validating a request body
// against it, and a proxy that checks every exchange between a sender and
// a simulator against it on the way.
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Load reads and validates the OpenAPI document at path, and returns it
// with a router matching any host (a test server's port is random).
func Load(t *testing.T, path string) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", filepath.Base(path), err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", filepath.Base(path), err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router of %s: %v", filepath.Base(path), err)
	}
	return doc, router
}

// ValidatePost checks body as a JSON POST to url under an Idempotency-Key
// against the contract; a missing route fails the test.
func ValidatePost(t *testing.T, router routers.Router, url, key string, body []byte) error {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("the contract has no route for POST %s: %v", url, err)
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
	})
}

// Proxy serves a simulator and checks, at Path, each request of the
// sender (the User-Agent Agent) and each answer against the contract. The
// violations are reported by Report, once the server is closed.
type Proxy struct {
	Router routers.Router
	Path   string // the checked endpoint; the control endpoints pass through
	Agent  string // requests of other agents may break the contract on purpose
	Next   http.Handler

	mu         sync.Mutex
	lax        bool
	statuses   []int
	violations []string
}

// SetLax stops checking the answers: they are expected to break the
// contract (malformed on purpose).
func (p *Proxy) SetLax(lax bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lax = lax
}

// Seen returns the HTTP statuses answered at Path so far.
func (p *Proxy) Seen() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.statuses...)
}

// Report fails t with every violation seen; call it after the server is
// closed, which waits for the handlers and so for their checks.
func (p *Proxy) Report(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range p.violations {
		t.Error(v)
	}
}

func (p *Proxy) violate(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.violations = append(p.violations, fmt.Sprintf(format, args...))
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != p.Path {
		p.Next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		p.violate("read request: %v", err)
		return
	}
	// The route is found on a copy with an absolute URL.
	abs, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		p.violate("copy request: %v", err)
		return
	}
	abs.Header = r.Header.Clone()
	route, params, err := p.Router.FindRoute(abs)
	if err != nil {
		p.violate("the contract has no route for %s %s: %v", r.Method, r.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: abs, PathParams: params, Route: route}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && r.Header.Get("User-Agent") == p.Agent {
		p.violate("the sender's request does not match the contract: %v\n%s", reqErr, body)
	}

	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	p.Next.ServeHTTP(rec, r) // a dropped connection panics through here, as it should
	if r.Context().Err() != nil {
		return // the client is gone; nothing was answered
	}
	p.mu.Lock()
	p.statuses = append(p.statuses, rec.Code)
	lax := p.lax
	p.mu.Unlock()
	if !lax {
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		out.SetBodyBytes(rec.Body.Bytes())
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			p.violate("the simulator's answer %d does not match the contract: %v\n%s", rec.Code, err, rec.Body.Bytes())
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
