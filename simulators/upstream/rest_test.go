package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRequest is the request of a fake REST service: {"id", "n"}.
type fakeRequest struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}

func (f *fakeRequest) IdempotencyKey() string { return f.ID }

// fakeREST is a REST service on IdempotentPost: a negative n is refused
// by its form (422 NEGATIVE, nothing kept), 13 by business (422 UNLUCKY,
// kept), any other n applied (201 FAKE-0000000n).
type fakeREST struct {
	engine  *Engine
	url     string
	mu      sync.Mutex
	answers RESTAnswers
	applied []fakeRequest
	refused map[int]int
}

// startREST serves a fakeREST; with countRefusals, the form's refusals
// are counted by status, else as protocol errors.
func startREST(t *testing.T, cfg Config, countRefusals bool) *fakeREST {
	t.Helper()
	f := &fakeREST{engine: NewEngine("FAKE", cfg, nil), refused: map[int]int{}}
	post := &IdempotentPost[*fakeRequest]{
		Engine: f.engine, Logger: slog.New(slog.DiscardHandler), Mu: &f.mu, Answers: &f.answers,
		MaxBody: 64, RefPrefix: "FAKE-", KeyAttr: "id",
		Decode: func(r *http.Request, data []byte) (*fakeRequest, int, string, string) {
			var req fakeRequest
			switch {
			case json.Unmarshal(data, &req) != nil:
				return nil, http.StatusBadRequest, ProblemInvalid, "not JSON"
			case r.Header.Get("Idempotency-Key") != req.ID:
				return nil, http.StatusBadRequest, ProblemKeyMismatch, "the key is not the id"
			case req.N < 0:
				return nil, http.StatusUnprocessableEntity, "NEGATIVE", "n is negative"
			}
			return &req, 0, "", ""
		},
		Decide: func(req *fakeRequest, _ Config) (int, []byte) {
			if req.N == 13 {
				return http.StatusUnprocessableEntity, ProblemJSON("UNLUCKY", "")
			}
			f.applied = append(f.applied, *req)
			return http.StatusCreated, ReferenceJSON(fmt.Sprintf("FAKE-%08d", len(f.applied)))
		},
	}
	if countRefusals {
		post.Refuse = func(status int, _ string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.refused[status]++
		}
	}
	srv := httptest.NewServer(post)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

type restAnswerSeen struct {
	status     int
	body       string
	retryAfter string
	err        error
}

func (f *fakeREST) post(t *testing.T, key, body string) restAnswerSeen {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return restAnswerSeen{err: err}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return restAnswerSeen{status: res.StatusCode, body: string(b), retryAfter: res.Header.Get("Retry-After")}
}

// state returns what the service applied and counted.
func (f *fakeREST) state() (applied, duplicates, conflicts int, byKey map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.applied), f.answers.Duplicates(), f.answers.Conflicts(), f.answers.DuplicatesByKey()
}

// TestIdempotentPostAnswersOnce: a key is decided once; a resend of the
// same body (as canonical JSON) is a duplicate answered 200 with the first
// reference, or with the kept refusal; another body is a conflict.
func TestIdempotentPostAnswersOnce(t *testing.T) {
	f := startREST(t, Config{}, false)
	for _, c := range []struct {
		key, body string
		status    int
		answer    string
	}{
		{"a", `{"id":"a","n":1}`, 201, `{"reference":"FAKE-00000001"}`},
		{"a", "{ \"n\": 1,\n  \"id\": \"a\" }", 200, `{"reference":"FAKE-00000001"}`},
		{"a", `{"id":"a","n":2}`, 409, `{"code":"IDEMPOTENCY_CONFLICT","detail":"the Idempotency-Key was used before with a different body"}`},
		{"u", `{"id":"u","n":13}`, 422, `{"code":"UNLUCKY"}`},
		{"u", `{"id":"u","n":13}`, 422, `{"code":"UNLUCKY"}`},
		{"b", `{"id":"b","n":2}`, 201, `{"reference":"FAKE-00000002"}`},
		{"a", `{"id":"a","n":1}`, 200, `{"reference":"FAKE-00000001"}`},
	} {
		if a := f.post(t, c.key, c.body); a.status != c.status || a.body != c.answer {
			t.Fatalf("%s %s: %d %s, want %d %s", c.key, c.body, a.status, a.body, c.status, c.answer)
		}
	}
	applied, duplicates, conflicts, byKey := f.state()
	if applied != 2 || duplicates != 3 || conflicts != 1 || byKey["a"] != 2 || byKey["u"] != 1 {
		t.Fatalf("applied %d, duplicates %d %v, conflicts %d; want 2, 3 {a: 2, u: 1}, 1", applied, duplicates, byKey, conflicts)
	}
	if in := f.engine.Inspect(); in.Requests != 7 || in.ProtocolErrors != 0 {
		t.Fatalf("requests %d, protocol errors %d", in.Requests, in.ProtocolErrors)
	}
}

// TestIdempotentPostConcurrentResends: one key sent at once from many
// clients is applied once, and every client hears the same reference.
func TestIdempotentPostConcurrentResends(t *testing.T) {
	f := startREST(t, Config{}, false)
	var wg sync.WaitGroup
	answers := make([]restAnswerSeen, 16)
	for i := range answers {
		wg.Go(func() { answers[i] = f.post(t, "k", `{"id":"k","n":7}`) })
	}
	wg.Wait()
	created := 0
	for _, a := range answers {
		if a.body != `{"reference":"FAKE-00000001"}` || (a.status != 201 && a.status != 200) {
			t.Fatalf("answer %+v", a)
		}
		if a.status == 201 {
			created++
		}
	}
	if applied, duplicates, _, _ := f.state(); created != 1 || applied != 1 || duplicates != 15 {
		t.Fatalf("%d answers 201, applied %d, duplicates %d; want 1, 1, 15", created, applied, duplicates)
	}
}

// TestIdempotentPostRefusals: a request refused for its form or size is
// not kept under its key and counted by Refuse, else as a protocol error.
func TestIdempotentPostRefusals(t *testing.T) {
	for _, counted := range []bool{false, true} {
		f := startREST(t, Config{}, counted)
		for _, c := range []struct {
			key, body string
			status    int
			code      string
		}{
			{"a", `{"id":"a","n":-1}`, 422, "NEGATIVE"},
			{"a", `{"id":"a"`, 400, ProblemInvalid},
			{"b", `{"id":"a","n":1}`, 400, ProblemKeyMismatch},
			{"a", `{"id":"a","n":1}` + strings.Repeat(" ", 64), 413, ProblemTooLarge},
			{"a", `{"id":"a","n":1}`, 201, ""},
		} {
			a := f.post(t, c.key, c.body)
			var p problem
			_ = json.Unmarshal([]byte(a.body), &p)
			if a.status != c.status || p.Code != c.code || (c.code != "" && p.Detail == "") {
				t.Fatalf("%s: %d %s, want %d %s", c.body, a.status, a.body, c.status, c.code)
			}
		}
		in := f.engine.Inspect()
		f.mu.Lock()
		refused := f.refused
		f.mu.Unlock()
		switch {
		case !counted && (in.ProtocolErrors != 4 || len(refused) != 0):
			t.Fatalf("no Refuse: protocol errors %d, refused %v; want 4, none", in.ProtocolErrors, refused)
		case counted && (in.ProtocolErrors != 1 || refused[422] != 1 || refused[400] != 2):
			// The body too large is refused before Decode.
			t.Fatalf("Refuse: protocol errors %d, refused %v; want 1, {400: 2, 422: 1}", in.ProtocolErrors, refused)
		}
	}
}

// TestIdempotentPostFaults: the engine's faults, in the REST service's
// answers; only a malformed answer that follows applying, and a slow
// answer, apply anything.
func TestIdempotentPostFaults(t *testing.T) {
	const slow = 50 * time.Millisecond
	for _, c := range []struct {
		name       string
		cfg        Config
		status     int
		answer     string
		retryAfter string
		applied    int
	}{
		{"outage", Config{Outage: true}, 503, `{"code":"UNAVAILABLE","detail":"simulated outage"}`, "1", 0},
		{"outage dropping the connection", Config{Outage: true, OutageClose: true}, 0, "", "", 0},
		{"error", Config{ErrorRate: 1}, 503, `{"code":"UNAVAILABLE","detail":"injected"}`, "", 0},
		{"server fault", Config{ServerFaultRate: 1}, 500, `{"code":"INTERNAL_ERROR","detail":"injected server fault"}`, "", 0},
		{"client fault", Config{ClientFaultRate: 1}, 400, `{"code":"INJECTED_CLIENT_FAULT","detail":"injected client fault"}`, "", 0},
		{"malformed", Config{MalformedRate: 1}, 200, `{"reference": "FAKE-`, "", 0},
		{"malformed after applying", Config{MalformedRate: 1, MalformedApplies: true}, 200, `{"reference":"`, "", 1}, // the first half
		{"slow", Config{SlowRate: 1, SlowDelay: slow}, 201, `{"reference":"FAKE-00000001"}`, "", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := startREST(t, c.cfg, false)
			began := time.Now()
			a := f.post(t, "a", `{"id":"a","n":1}`)
			if c.status == 0 {
				if a.err == nil {
					t.Fatalf("answered %d %s, want the connection dropped", a.status, a.body)
				}
			} else if a.status != c.status || a.body != c.answer || a.retryAfter != c.retryAfter {
				t.Fatalf("answered %d %s (Retry-After %q), want %d %s (%q)", a.status, a.body, a.retryAfter, c.status, c.answer, c.retryAfter)
			}
			if c.cfg.SlowRate > 0 && time.Since(began) < slow {
				t.Fatalf("answered after %v, want %v", time.Since(began), slow)
			}
			if applied, _, _, _ := f.state(); applied != c.applied {
				t.Fatalf("applied %d, want %d", applied, c.applied)
			}
		})
	}
}

func TestProblemAndReferenceJSON(t *testing.T) {
	for _, c := range []struct{ got, want []byte }{
		{ProblemJSON("C", "d"), []byte(`{"code":"C","detail":"d"}`)},
		{ProblemJSON("C", ""), []byte(`{"code":"C"}`)},
		{ReferenceJSON("R-1"), []byte(`{"reference":"R-1"}`)},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s, want %s", c.got, c.want)
		}
	}
}
