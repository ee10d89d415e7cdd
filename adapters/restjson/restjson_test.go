package restjson

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/outbox"
)

// wantError checks err's class and permanence.
func wantError(t *testing.T, err error, class outbox.ErrorClass, permanent bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s (permanent %v)", class, permanent)
	}
	gotClass, gotPermanent := outbox.Classify(err)
	if gotClass != class || gotPermanent != permanent {
		t.Fatalf("classified %s (permanent %v), want %s (permanent %v): %v", gotClass, gotPermanent, class, permanent, err)
	}
}

type document struct {
	ID    string `json:"id"`
	Count int    `json:"count"`
}

// answering is a server that answers every request with status and body,
// and counts the requests.
func answering(t *testing.T, status int, body string, seen func(*http.Request, []byte)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if seen != nil {
			b, _ := io.ReadAll(r.Body)
			seen(r, b)
		}
		if status == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestAnswersClassified: every row of the package's table, each in exactly
// one request.
func TestAnswersClassified(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		reply     outbox.Reply
		class     outbox.ErrorClass
		permanent bool
	}{
		{"created", 201, `{"reference": "REF-7"}`, outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: "REF-7"}, "", false},
		{"repeat", 200, `{"reference": " REF-7 ", "extra": 1}`, outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: "REF-7"}, "", false},
		{"reference of 128", 201, `{"reference": "` + strings.Repeat("R", 128) + `"}`,
			outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: strings.Repeat("R", 128)}, "", false},
		{"no reference", 201, `{}`, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"blank reference", 201, `{"reference": "  "}`, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"reference too long", 201, `{"reference": "` + strings.Repeat("R", 129) + `"}`, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"not JSON", 200, `<html>ok</html>`, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"empty", 200, ``, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"no content", 204, ``, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"accepted", 202, `{"reference": "REF-7"}`, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"redirect, not followed", 302, ``, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"refused", 422, `{"code": "PERSON_UNKNOWN", "detail": "not on the register"}`,
			outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: "PERSON_UNKNOWN", Reason: "not on the register"}, "", false},
		{"small cell", 422, `{"code": "SMALL_CELL", "detail": "cells[0].count is below the suppression threshold"}`,
			outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: "SMALL_CELL", Reason: "cells[0].count is below the suppression threshold"}, "", false},
		{"refused without a detail", 422, `{"code": "PERSONAL_DATA_OR_UNKNOWN_FIELD"}`,
			outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: "PERSONAL_DATA_OR_UNKNOWN_FIELD"}, "", false},
		{"refused without a code", 422, `{"detail": "no"}`, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"refused with a blank code", 422, `{"code": " ", "detail": "no"}`, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"refused, not JSON", 422, `nope`, outbox.Reply{}, outbox.ClassMalformedReply, false},
		{"conflict", 409, `{"code": "IDEMPOTENCY_CONFLICT"}`, outbox.Reply{}, outbox.ClassHTTP4xx, true},
		{"bad request", 400, `{"code": "INVALID_REQUEST"}`, outbox.Reply{}, outbox.ClassHTTP4xx, true},
		{"unauthorised", 401, ``, outbox.Reply{}, outbox.ClassHTTP4xx, true},
		{"not found", 404, `not found`, outbox.Reply{}, outbox.ClassHTTP4xx, true},
		{"unsupported media", 415, `{"code": "UNSUPPORTED_MEDIA_TYPE"}`, outbox.Reply{}, outbox.ClassHTTP4xx, true},
		{"request timeout", 408, ``, outbox.Reply{}, outbox.ClassHTTP4xx, false},
		{"too many requests", 429, ``, outbox.Reply{}, outbox.ClassHTTP4xx, false},
		{"internal error", 500, `{"code": "X"}`, outbox.Reply{}, outbox.ClassHTTP5xx, false},
		{"bad gateway", 502, `<html>proxy</html>`, outbox.Reply{}, outbox.ClassHTTP5xx, false},
		{"unavailable", 503, ``, outbox.Reply{}, outbox.ClassHTTP5xx, false},
		{"too large", 200, `{"reference": "` + strings.Repeat("R", maxAnswer) + `"}`, outbox.Reply{}, outbox.ClassMalformedReply, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := answering(t, tc.status, tc.body, nil)
			reply, err := Post(context.Background(), NewClient(time.Second, "reghub-test"), srv.URL, "key-1", document{ID: "key-1"}, "test")
			if tc.class == "" {
				if err != nil || reply != tc.reply {
					t.Fatalf("got %+v, %v; want %+v", reply, err, tc.reply)
				}
			} else {
				wantError(t, err, tc.class, tc.permanent)
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("%d requests, want exactly 1: the relay owns retries", n)
			}
		})
	}
}

// TestRequest: what Post sends.
func TestRequest(t *testing.T) {
	key := uuid.NewString()
	var got *http.Request
	var body []byte
	srv, _ := answering(t, 201, `{"reference": "REF-1"}`, func(r *http.Request, b []byte) { got, body = r, b })
	if _, err := Post(context.Background(), NewClient(time.Second, "reghub-test"), srv.URL+"/v1/things", key,
		document{ID: key, Count: 12}, "test"); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/v1/things" {
		t.Errorf("%s %s, want POST /v1/things", got.Method, got.URL.Path)
	}
	for header, want := range map[string]string{
		"Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": key, "User-Agent": "reghub-test",
	} {
		if v := got.Header.Get(header); v != want {
			t.Errorf("%s %q, want %q", header, v, want)
		}
	}
	if got.Header.Get("Cookie") != "" {
		t.Errorf("a cookie was sent: %q", got.Header.Get("Cookie"))
	}
	var doc document
	if err := json.Unmarshal(body, &doc); err != nil || doc != (document{ID: key, Count: 12}) {
		t.Errorf("body %s (%v), want the document", body, err)
	}
}

// TestErrorTexts: what an error tells operators — the operation, the
// status, the refusal's code and detail or the body, shortened.
func TestErrorTexts(t *testing.T) {
	long := strings.Repeat("ж", 2*maxText)
	cases := []struct {
		name, body string
		status     int
		want       []string
		not        []string
	}{
		{"conflict", `{"code": "IDEMPOTENCY_CONFLICT", "detail": "another body"}`, 409,
			[]string{"op 1: HTTP 409, the Idempotency-Key was used with another body: IDEMPOTENCY_CONFLICT: another body"}, nil},
		{"code only", `{"code": "INVALID_REQUEST"}`, 400, []string{"op 1: HTTP 400: INVALID_REQUEST"}, nil},
		{"empty body", ``, 503, []string{"op 1: HTTP 503: (empty body)"}, nil},
		{"white space collapsed", "<html>\n  <body>proxy</body>\n</html>", 502, []string{"HTTP 502: <html> <body>proxy</body> </html>"}, nil},
		{"long detail", `{"code": "X", "detail": "` + long + `"}`, 500,
			[]string{"X: " + strings.Repeat("ж", maxText-1) + "…"}, []string{strings.Repeat("ж", maxText)}},
		{"long body", long, 404, []string{strings.Repeat("ж", maxText-1) + "…"}, []string{strings.Repeat("ж", maxText)}},
		{"unexpected", `moved`, 302, []string{"op 1: unexpected HTTP 302: moved"}, nil},
		{"unreadable refusal", `{"detail": "no"}`, 422, []string{`op 1: HTTP 422 without a readable code: {"detail": "no"}`}, nil},
		{"no reference", `{}`, 201, []string{"op 1: HTTP 201 without a reference of 1 to 128 characters: {}"}, nil},
		{"undecodable", `<html>`, 200, []string{"op 1: HTTP 200, undecodable answer <html>: "}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := answering(t, tc.status, tc.body, nil)
			_, err := Post(context.Background(), NewClient(time.Second, "reghub-test"), srv.URL, "k", document{}, "op 1")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error quotes %d runes and more", len([]rune(n)))
				}
			}
		})
	}
}

// TestRejectionBounded: a rejection's code is trimmed and both are cut to
// the contracts' lengths.
func TestRejectionBounded(t *testing.T) {
	code, detail := strings.Repeat("C", 100), strings.Repeat("d", 1000)
	srv, _ := answering(t, 422, `{"code": " `+code+` ", "detail": "`+detail+"\xff"+`"}`, nil)
	reply, err := Post(context.Background(), NewClient(time.Second, "reghub-test"), srv.URL, "k", document{}, "op")
	if err != nil {
		t.Fatal(err)
	}
	if reply.Kind != outbox.ReplyRejected || reply.ReasonCode != strings.Repeat("C", maxCode-1)+"…" ||
		reply.Reason != strings.Repeat("d", maxText-1)+"…" {
		t.Fatalf("reply %+v", reply)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"жжж", 3, "жжж"},
		{"a\xffb", 3, "a\uFFFDb"},
	} {
		if got := truncate(tc.s, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

// TestNoAnswer: what a POST without an answer becomes.
func TestNoAnswer(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then a client gone ends the context
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	refused := gone.URL
	gone.Close() // nothing listens any more

	t.Run("refused", func(t *testing.T) {
		_, err := Post(context.Background(), NewClient(time.Second, "reghub-test"), refused, "k", document{}, "op")
		wantError(t, err, outbox.ClassTransport, false)
	})
	t.Run("client timeout", func(t *testing.T) {
		_, err := Post(context.Background(), NewClient(100*time.Millisecond, "reghub-test"), slow.URL, "k", document{}, "op")
		wantError(t, err, outbox.ClassTimeout, false)
		if !strings.Contains(err.Error(), "op: timed out") {
			t.Errorf("error %q", err)
		}
	})
	t.Run("relay deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := Post(ctx, NewClient(10*time.Second, "reghub-test"), slow.URL, "k", document{}, "op")
		wantError(t, err, outbox.ClassTimeout, false)
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := Post(ctx, NewClient(10*time.Second, "reghub-test"), slow.URL, "k", document{}, "op")
		wantError(t, err, outbox.ClassTransport, false)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not wrap the cancellation", err)
		}
	})
}

// TestUnencodable: a document that is not JSON is never sent.
func TestUnencodable(t *testing.T) {
	srv, calls := answering(t, 201, `{"reference": "REF-1"}`, nil)
	_, err := Post(context.Background(), NewClient(time.Second, "reghub-test"), srv.URL, "k", make(chan int), "op")
	wantError(t, err, outbox.ClassMapping, true)
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d requests for an unencodable document", n)
	}
}

func TestNewClient(t *testing.T) {
	c := NewClient(0, "reghub-test")
	if c.GetClient().Timeout != DefaultTimeout {
		t.Errorf("timeout %v, want %v", c.GetClient().Timeout, DefaultTimeout)
	}
	if c.RetryCount != 0 {
		t.Errorf("retry count %d, want 0", c.RetryCount)
	}
	if c.GetClient().Jar != nil {
		t.Error("the client keeps cookies")
	}
	if c := NewClient(-time.Second, "x"); c.GetClient().Timeout != DefaultTimeout {
		t.Errorf("negative timeout: %v, want %v", c.GetClient().Timeout, DefaultTimeout)
	}
	if c := NewClient(time.Second, "x"); c.GetClient().Timeout != time.Second {
		t.Errorf("timeout %v, want 1s", c.GetClient().Timeout)
	}
}

func TestPoll(t *testing.T) {
	m := outbox.Message{ID: uuid.New(), Stage: outbox.StagePoll, Receipt: "R-1"}
	_, err := Poll(m, "military", "centre")
	wantError(t, err, outbox.ClassMapping, true)
	if want := "military message " + m.ID.String() + ": the centre answers at once; there is no status to poll"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}

	deadline := time.Now().Add(time.Minute)
	m.AckDeadline = &deadline
	reply, err := Poll(m, "military", "centre")
	if err != nil || reply != (outbox.Reply{Kind: outbox.ReplyPending, Reference: "R-1"}) {
		t.Fatalf("Poll with a deadline: %+v, %v; want pending R-1", reply, err)
	}
}

func TestRender(t *testing.T) {
	got, err := Render(document{ID: "x", Count: 1}, nil)
	if err != nil || string(got) != "{\n  \"id\": \"x\",\n  \"count\": 1\n}" {
		t.Fatalf("Render: %s, %v", got, err)
	}
	fail := errors.New("does not map")
	if got, err := Render(document{}, fail); got != nil || err != fail {
		t.Fatalf("Render of a failed mapping: %s, %v", got, err)
	}
}
