package openapitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProxyBites: the proxy does catch a request of the sender and an
// answer that break the contract, so the tests using it are not vacuous;
// a lax proxy lets the answer through unchecked.
func TestProxyBites(t *testing.T) {
	_, router := Load(t, "../../schemas/military/military.yaml")
	const path = "/v1/registrations/notifications"
	for _, lax := range []bool{false, true} {
		p := &Proxy{Router: router, Path: path, Agent: "reghub-military", Next: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"ref": "MIL-1"}`)
		})}
		p.SetLax(lax)
		srv := httptest.NewServer(p)
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"message_id": "x"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "reghub-military")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		var request, answer bool
		for _, v := range p.violations {
			request = request || strings.Contains(v, "the sender's request does not match")
			answer = answer || strings.Contains(v, "answer 201 does not match")
		}
		if !request || answer == lax {
			t.Fatalf("lax %v: violations %q: want the request's, and the answer's unless lax", lax, p.violations)
		}
		if got := p.Seen(); len(got) != 1 || got[0] != http.StatusCreated {
			t.Fatalf("seen %v, want [201]", got)
		}
	}
}
