package upstream

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzPutConfig: PUT /config decodes whatever a test harness or an operator
// sends. It never panics and answers 200 or 400. A 400 leaves the
// configuration as it was. A 200 means the body was one JSON document and
// the configuration it set is valid; the answer is that configuration, and
// PUT back it sets the same again (the JSON form round-trips).
func FuzzPutConfig(f *testing.F) {
	from := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	full, err := json.Marshal(Config{Mode: ModeAsync, AsyncDelay: 250 * time.Millisecond, Latency: time.Second,
		LatencyJitter: 10 * time.Millisecond, ErrorRate: 0.1, ServerFaultRate: 0.2, ClientFaultRate: 0.3,
		MalformedRate: 0.4, MalformedApplies: true, RejectionRate: 0.5, SlowRate: 0.6, SlowDelay: 3 * time.Second,
		Outage: true, OutageFrom: from, OutageUntil: from.Add(time.Hour), OutageClose: true, AckTwice: true, Seed: 42})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(full),
		`{}`,
		`{"mode":"sync"}`,
		`{"mode":"async","async_delay":"1m30s"}`,
		`{"latency":250000000}`,
		`{"latency":"-1s"}`,
		`{"latency":-1}`,
		`{"latency":9223372036854775807}`,
		`{"latency":"2562047h47m16.854775807s"}`,
		`{"latency":1.5}`,
		`{"error_rate":1}`,
		`{"error_rate":1.0000001}`,
		`{"error_rate":-0}`,
		`{"error_rate":1e400}`,
		`{"outage_from":"2025-03-01T10:00:00+02:00","outage_until":null}`,
		`{"outage_from":"0000-01-01T00:00:00+01:00"}`,
		`{"outage_until":"9999-12-31T23:59:59.999999999-23:59"}`,
		`{"seed":-9223372036854775808}`,
		`{"unknown":1}`,
		`{"mode":"sync"} {"mode":"async"}`,
		`{"mode":"sync"} trailing`,
		`[]`, `null`, ``, `"`, `{"mode":`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		e := NewEngine("fuzz", Config{Mode: ModeAsync, Seed: 7}, nil)
		h := NewHandler(e, Service{Name: "fuzz"}, nil)
		before := mustMarshal(t, e.Config())

		code, answer := put(h, body)
		switch code {
		case http.StatusBadRequest:
			if after := mustMarshal(t, e.Config()); !bytes.Equal(after, before) {
				t.Fatalf("rejected PUT %q changed the configuration:\n%s\nto\n%s", body, before, after)
			}
			return
		case http.StatusOK:
		default:
			t.Fatalf("PUT %q: HTTP %d %s", body, code, answer)
		}

		if !json.Valid(body) {
			t.Fatalf("PUT %q accepted, but it is not one JSON document", body)
		}
		cfg := e.Config()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("PUT %q set an invalid configuration: %v", body, err)
		}
		set := mustMarshal(t, cfg)
		var got Config
		if err := json.Unmarshal(answer, &got); err != nil {
			t.Fatalf("PUT %q answered %q: %v", body, answer, err)
		}
		if b := mustMarshal(t, got); !bytes.Equal(b, set) {
			t.Fatalf("PUT %q answered\n%s\nbut set\n%s", body, b, set)
		}

		// What was set, sent back, sets the same again.
		if code, again := put(h, set); code != http.StatusOK {
			t.Fatalf("PUT of %s (what PUT %q set): HTTP %d %s", set, body, code, again)
		}
		if b := mustMarshal(t, e.Config()); !bytes.Equal(b, set) {
			t.Fatalf("PUT of %s set %s", set, b)
		}
	})
}

func put(h http.Handler, body []byte) (int, []byte) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/config", bytes.NewReader(body)))
	return rec.Code, rec.Body.Bytes()
}

func mustMarshal(t *testing.T, c Config) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("marshal %+v: %v", c, err)
	}
	return b
}
