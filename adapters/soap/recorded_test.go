package soapclient_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	sim "github.com/reghub/reghub/simulators/upstream"
)

// recordedSim is a simulator over HTTP that keeps the raw SOAP requests it
// was sent; I is its inspection.
type recordedSim[I any] struct {
	url     string
	inspect func(context.Context, string) (I, error)
	mu      sync.Mutex
	raw     [][]byte
}

func startRecordedSim[I any](t *testing.T, h http.Handler, inspect func(context.Context, string) (I, error)) *recordedSim[I] {
	t.Helper()
	s := &recordedSim[I]{inspect: inspect}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/soap" {
			b, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			s.raw = append(s.raw, b)
			s.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *recordedSim[I]) requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.raw...)
}

func (s *recordedSim[I]) inspection(t *testing.T) I {
	t.Helper()
	in, err := s.inspect(t.Context(), s.url)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (s *recordedSim[I]) configure(t *testing.T, cfg sim.Config) {
	t.Helper()
	if err := sim.SetConfig(t.Context(), s.url, cfg); err != nil {
		t.Fatal(err)
	}
}
