package upstream

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reghub/reghub/schemas/xroad"
)

type fakeInspection struct {
	Service string `json:"service"`
	Resets  int64  `json:"resets"`
}

// TestControlMux: /inspect and /reset are the simulator's, /config and
// /healthz the engine's; nothing else is served.
func TestControlMux(t *testing.T) {
	e := NewEngine("FAKE", Config{Seed: 5}, nil)
	var resets atomic.Int64
	mux := ControlMux(NewHandler(e, Service{Name: "fake"}, nil),
		func() fakeInspection { return fakeInspection{Service: "fake", Resets: resets.Load()} },
		func() { e.Reset(); resets.Add(1) }, nil)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := t.Context()

	res, err := http.Get(srv.URL + "/inspect")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || string(b) != "{\n  \"service\": \"fake\",\n  \"resets\": 0\n}\n" {
		t.Fatalf("GET /inspect: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), b)
	}

	if err := SetConfig(ctx, srv.URL, Config{ErrorRate: 1, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if err := SetConfig(ctx, srv.URL, Config{ErrorRate: 2}); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("error rate 2: %v, want refused", err)
	}
	if _, err := e.Admit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Reset(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	in, err := FetchInspection[fakeInspection](ctx, srv.URL)
	if err != nil || in != (fakeInspection{Service: "fake", Resets: 1}) {
		t.Fatalf("after reset: %+v, %v", in, err)
	}
	cfg, err := GetConfig(ctx, srv.URL)
	if err != nil || cfg.ErrorRate != 1 || cfg.Seed != 7 || e.Inspect().Requests != 0 {
		t.Fatalf("after reset: config %+v, %v, requests %d; want the config kept, the counters reset", cfg, err, e.Inspect().Requests)
	}

	var h struct{ Status, Service string }
	if err := FetchJSON(ctx, srv.URL, "/healthz", &h); err != nil || h.Status != "ok" || h.Service != "fake" {
		t.Fatalf("healthz %+v, %v", h, err)
	}

	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/soap", 404}, {"POST", "/", 404}, {"POST", "/inspect", 405}, {"GET", "/reset", 405}, {"DELETE", "/config", 405},
	} {
		req, _ := http.NewRequestWithContext(ctx, c.method, srv.URL+c.path, strings.NewReader("<x/>"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, res.StatusCode, c.status)
		}
	}
	if resets.Load() != 1 {
		t.Fatalf("%d resets, want 1", resets.Load())
	}
}

// answerOf is a response type naming its element, as the generated ones do.
type answerOf struct {
	XMLName xml.Name `xml:"urn:fake Answer"`
	Value   string   `xml:"value"`
}

func TestDecodeAnswer(t *testing.T) {
	h := &xroad.Headers{ID: "m1", ProtocolVersion: xroad.ProtocolVersion}
	env := func(payload any) []byte {
		b, err := MarshalEnvelope(h, payload)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if a, err := DecodeAnswer[answerOf](env(answerOf{Value: "v"})); err != nil || a.Value != "v" {
		t.Fatalf("an answer: %+v, %v", a, err)
	}
	var f *Fault
	if _, err := DecodeAnswer[answerOf](env(ClientFault("no"))); !errors.As(err, &f) || !f.IsClient() || f.String != "no" {
		t.Fatalf("a fault: %v", err)
	}
	other := struct {
		XMLName xml.Name `xml:"urn:fake Other"`
	}{}
	if a, err := DecodeAnswer[answerOf](env(other)); err == nil {
		t.Fatalf("another element decoded as %+v", a)
	}
	if _, err := DecodeAnswer[answerOf]([]byte("<broken")); err == nil {
		t.Fatal("a broken envelope decoded")
	}
}
