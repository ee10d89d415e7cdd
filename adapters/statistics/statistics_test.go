package statistics

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/simulators/statsim"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/openapitest"
)

var testBody = mapping.RegistrationBody{Code: "99999901", Name: "Відділ реєстрації місця проживання (вигаданий)"}

// set is a synthetic month's set as the scheduler stores it; change alters
// it.
func set(change func(s *monthly.StatisticsSet)) []byte {
	s := monthly.StatisticsSet{
		Period: "2025-02", BuiltAt: time.Date(2025, 3, 1, 0, 5, 0, 0, time.UTC), Threshold: monthly.DefaultThreshold,
		Cells: []monthly.Cell{
			{Flow: monthly.FlowArrival, Sex: action.SexFemale, AgeGroup: "18-34", Area: "UA1206", Count: 12},
			{Flow: monthly.FlowArrival, Sex: action.SexMale, AgeGroup: "60+", Area: monthly.AreaNotStated, Suppressed: true},
			{Flow: monthly.FlowDeparture, Sex: action.SexMale, AgeGroup: "35-59", Area: monthly.AreaNotStated, Count: 7},
		},
	}
	if change != nil {
		change(&s)
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

func message(body []byte) outbox.Message {
	id := uuid.New()
	return outbox.Message{ID: id, ActionID: uuid.New(), ActionRef: "RH-" + id.String(), Destination: monthly.DestStatistics,
		Kind: monthly.KindStatistics, PersonKey: "monthly:statistics", Body: body, Stage: outbox.StageSend, Attempt: 1}
}

// harness is the sender against the simulator over HTTP, with every
// report and every answer checked against the contract on the way.
type harness struct {
	url    string
	sim    *statsim.Server
	sender *Sender
	proxy  *openapitest.Proxy
}

func newHarness(t *testing.T, cfg upstream.Config, timeout time.Duration) *harness {
	t.Helper()
	_, router := openapitest.Load(t, "../../schemas/statistics/statistics.yaml")
	h := &harness{sim: statsim.New(cfg, nil)}
	h.proxy = &openapitest.Proxy{Router: router, Path: Path, Agent: "reghub-statistics", Next: h.sim.Handler()}
	srv := httptest.NewServer(h.proxy)
	h.url = srv.URL
	h.sender = New(srv.URL, timeout, testBody)
	t.Cleanup(func() {
		srv.Close() // waits for the handlers, and so for their checks
		h.proxy.Report(t)
	})
	return h
}

// seen returns the HTTP statuses answered so far.
func (h *harness) seen() []int { return h.proxy.Seen() }

func (h *harness) inspect(t *testing.T) statsim.Inspection {
	t.Helper()
	in, err := statsim.Inspect(context.Background(), h.url)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (h *harness) configure(t *testing.T, cfg upstream.Config) {
	t.Helper()
	if err := upstream.SetConfig(context.Background(), h.url, cfg); err != nil {
		t.Fatal(err)
	}
}

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

func TestAcknowledged(t *testing.T) {
	h := newHarness(t, upstream.Config{}, time.Second)
	m := message(set(nil))
	reply, err := h.sender.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Kind != outbox.ReplyAcknowledged || reply.Reference != "STAT-00000001" {
		t.Fatalf("reply %+v, want acknowledged STAT-00000001", reply)
	}
	if got := h.seen(); len(got) != 1 || got[0] != http.StatusCreated {
		t.Fatalf("answers %v, want [201]", got)
	}
	in := h.inspect(t)
	if in.AppliedCount != 1 || len(in.Periods["2025-02"]) != 1 {
		t.Fatalf("applied %d, periods %v; want one report of 2025-02", in.AppliedCount, in.Periods)
	}
	r := in.Periods["2025-02"][0]
	if r.ReportID != m.ID.String() || r.RegistrationBody != testBody.Code || r.SuppressionThreshold != 5 || r.Reference != reply.Reference {
		t.Fatalf("report %+v does not describe the message", r)
	}
	want := []statsim.Cell{
		{Flow: "arrival", Sex: "F", AgeGroup: "18-34", Area: "UA1206", Count: 12},
		{Flow: "arrival", Sex: "M", AgeGroup: "60+", Area: "not_stated", Suppressed: true},
		{Flow: "departure", Sex: "M", AgeGroup: "35-59", Area: "not_stated", Count: 7},
	}
	if !slices.Equal(r.Cells, want) {
		t.Fatalf("cells %+v, want %+v", r.Cells, want)
	}
}

// TestEmptyMonth: a month without movements is sent too, with no cells.
func TestEmptyMonth(t *testing.T) {
	h := newHarness(t, upstream.Config{}, time.Second)
	reply, err := h.sender.Send(context.Background(), message(set(func(s *monthly.StatisticsSet) { s.Cells = nil })))
	if err != nil || reply.Kind != outbox.ReplyAcknowledged {
		t.Fatalf("reply %+v, %v", reply, err)
	}
	if in := h.inspect(t); in.AppliedCount != 1 || len(in.Periods["2025-02"][0].Cells) != 0 {
		t.Fatalf("inspection %+v", in.Periods)
	}
}

// TestResendAppliedOnce: a resend under the same key gets the same
// reference and is not applied again — also when the first answer was lost
// to a timeout after the service applied the report.
func TestResendAppliedOnce(t *testing.T) {
	h := newHarness(t, upstream.Config{}, 200*time.Millisecond)
	m := message(set(nil))
	first, err := h.sender.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.sender.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("resend answered %+v, first %+v", again, first)
	}
	if got := h.seen(); len(got) != 2 || got[0] != http.StatusCreated || got[1] != http.StatusOK {
		t.Fatalf("answers %v, want [201 200]", got)
	}

	// Applied, then answered after the sender gave up.
	h.configure(t, upstream.Config{SlowRate: 1, SlowDelay: 2 * time.Second})
	lost := message(set(func(s *monthly.StatisticsSet) { s.Period = "2025-03" }))
	_, err = h.sender.Send(context.Background(), lost)
	wantError(t, err, outbox.ClassTimeout, false)
	h.configure(t, upstream.Config{})
	reply, err := h.sender.Send(context.Background(), lost)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Kind != outbox.ReplyAcknowledged || reply.Reference != "STAT-00000002" {
		t.Fatalf("resend after the timeout: %+v, want acknowledged STAT-00000002", reply)
	}
	in := h.inspect(t)
	if in.AppliedCount != 2 || in.Duplicates != 2 || in.DuplicatesByMessage[m.ID.String()] != 1 || in.DuplicatesByMessage[lost.ID.String()] != 1 {
		t.Fatalf("applied %d, duplicates %d %v; want 2 applied, each resent once", in.AppliedCount, in.Duplicates, in.DuplicatesByMessage)
	}
}

func TestConflictIsPermanent(t *testing.T) {
	h := newHarness(t, upstream.Config{}, time.Second)
	m := message(set(nil))
	if _, err := h.sender.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	other := m
	other.Body = set(func(s *monthly.StatisticsSet) { s.Cells[0].Count = 13 })
	_, err := h.sender.Send(context.Background(), other)
	wantError(t, err, outbox.ClassHTTP4xx, true)
	if !strings.Contains(err.Error(), "HTTP 409") || !strings.Contains(err.Error(), statsim.CodeConflict) {
		t.Fatalf("error %q does not tell the conflict", err)
	}
	if in := h.inspect(t); in.AppliedCount != 1 || in.Conflicts != 1 {
		t.Fatalf("applied %d, conflicts %d; want 1 and 1", in.AppliedCount, in.Conflicts)
	}
}

func TestRejected(t *testing.T) {
	h := newHarness(t, upstream.Config{RejectionRate: 1}, time.Second)
	m := message(set(nil))
	for range 2 {
		reply, err := h.sender.Send(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if reply.Kind != outbox.ReplyRejected || reply.ReasonCode != statsim.CodeRejected || reply.Reason == "" {
			t.Fatalf("reply %+v, want rejected %s with a reason", reply, statsim.CodeRejected)
		}
	}
	if got := h.seen(); len(got) != 2 || got[0] != 422 || got[1] != 422 {
		t.Fatalf("answers %v, want [422 422]", got)
	}
	if in := h.inspect(t); in.AppliedCount != 0 || in.RejectedCount != 1 || in.Duplicates != 1 {
		t.Fatalf("applied %d, rejected %d, duplicates %d; want 0, 1, 1", in.AppliedCount, in.RejectedCount, in.Duplicates)
	}
}

// TestFailuresClassified: what the service's faults become, and that none
// of them applied anything.
func TestFailuresClassified(t *testing.T) {
	cases := []struct {
		name      string
		cfg       upstream.Config
		class     outbox.ErrorClass
		permanent bool
	}{
		{"503", upstream.Config{ErrorRate: 1}, outbox.ClassHTTP5xx, false},
		{"outage", upstream.Config{Outage: true}, outbox.ClassHTTP5xx, false},
		{"outage dropping the connection", upstream.Config{Outage: true, OutageClose: true}, outbox.ClassTransport, false},
		{"server fault", upstream.Config{ServerFaultRate: 1}, outbox.ClassHTTP5xx, false},
		{"timeout", upstream.Config{Latency: time.Second}, outbox.ClassTimeout, false},
		{"client fault", upstream.Config{ClientFaultRate: 1}, outbox.ClassHTTP4xx, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg, 100*time.Millisecond)
			_, err := h.sender.Send(context.Background(), message(set(nil)))
			wantError(t, err, tc.class, tc.permanent)
			if in := h.inspect(t); in.AppliedCount != 0 || in.RejectedCount != 0 {
				t.Fatalf("applied %d, rejected %d; want nothing", in.AppliedCount, in.RejectedCount)
			}
		})
	}
}

// TestRelayDeadline: the relay's own deadline is a timeout too.
func TestRelayDeadline(t *testing.T) {
	h := newHarness(t, upstream.Config{Latency: time.Second}, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := h.sender.Send(ctx, message(set(nil)))
	wantError(t, err, outbox.ClassTimeout, false)
}

// TestMalformedReply: JSON cut short is a transient malformed_reply; when
// the service had applied it, the resend hears the same reference.
func TestMalformedReply(t *testing.T) {
	h := newHarness(t, upstream.Config{MalformedRate: 1}, time.Second)
	h.proxy.SetLax(true) // the answers break the contract on purpose
	m := message(set(nil))
	_, err := h.sender.Send(context.Background(), m)
	wantError(t, err, outbox.ClassMalformedReply, false)
	if in := h.inspect(t); in.AppliedCount != 0 {
		t.Fatalf("applied %d, want 0", in.AppliedCount)
	}

	h.configure(t, upstream.Config{MalformedRate: 1, MalformedApplies: true})
	_, err = h.sender.Send(context.Background(), m)
	wantError(t, err, outbox.ClassMalformedReply, false)
	h.configure(t, upstream.Config{})
	reply, err := h.sender.Send(context.Background(), m)
	if err != nil || reply.Reference != "STAT-00000001" {
		t.Fatalf("resend: %+v, %v; want STAT-00000001", reply, err)
	}
	if in := h.inspect(t); in.AppliedCount != 1 || in.Duplicates != 1 {
		t.Fatalf("applied %d, duplicates %d; want 1 and 1", in.AppliedCount, in.Duplicates)
	}
}

// The answers the simulator does not give, and a refused connection, are
// classified in adapters/restjson's tests.

// TestUnmappableIsPermanent: a message that cannot become a report — not
// a set, another kind, a set that would publish a small cell — is never
// sent, and the error quotes nothing of the body.
func TestUnmappableIsPermanent(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()
	s := New(srv.URL, time.Second, testBody)
	voter := message([]byte(`{"period": "2025-02", "turning_adult": [{"surname": "Вигаденко", "unzr": "19880412-07347"}]}`))
	voter.Kind = monthly.KindVoterRegister
	for name, m := range map[string]outbox.Message{
		"not JSON":                  message([]byte(`{"period": "Вигаденко`)),
		"a list":                    message([]byte(`["Вигаденко"]`)),
		"a count of the wrong type": message([]byte(`{"period": "2025-02", "cells": [{"count": "Вигаденко"}]}`)),
		"the voter register's set":  voter,
		"no period":                 message([]byte(`{"surname": "Вигаденко"}`)),
		"a small count":             message(set(func(s *monthly.StatisticsSet) { s.Cells[0].Count = 2 })),
		"count and suppressed":      message(set(func(s *monthly.StatisticsSet) { s.Cells[0].Suppressed = true })),
		"a community":               message(set(func(s *monthly.StatisticsSet) { s.Cells[0].Area = "UA12060190010000123" })),
		"threshold under 5":         message(set(func(s *monthly.StatisticsSet) { s.Threshold = 2 })),
	} {
		_, err := s.Send(context.Background(), m)
		if err == nil {
			t.Fatalf("%s: sent", name)
		}
		wantError(t, err, outbox.ClassMapping, true)
		for _, personal := range []string{"Вигаденко", "19880412", "UA12060190010000123"} {
			if strings.Contains(err.Error(), personal) {
				t.Errorf("%s: the error echoes %q: %v", name, personal, err)
			}
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d requests for unmappable messages", n)
	}
}

func TestRender(t *testing.T) {
	s := New("http://statistics.invalid", time.Second, testBody)
	m := message(set(nil))
	got, err := s.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	var st monthly.StatisticsSet
	if err := json.Unmarshal(m.Body, &st); err != nil {
		t.Fatal(err)
	}
	r, err := mapping.ToStatistics(st, testBody, m.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(r, "", "  ")
	if !bytes.Equal(got, want) {
		t.Fatalf("Render:\n%s\nwant\n%s", got, want)
	}
	if !bytes.Contains(got, []byte("\n  \"cells\": [\n")) {
		t.Fatalf("Render is not indented:\n%s", got)
	}
	if _, err := s.Render(message([]byte(`[]`))); err == nil {
		t.Fatal("Render of an unmappable message succeeded")
	}
}

func TestPoll(t *testing.T) {
	s := New("http://statistics.invalid", time.Second, testBody)
	m := message(set(nil))
	m.Stage, m.Receipt = outbox.StagePoll, "R-1"
	_, err := s.Poll(context.Background(), m)
	wantError(t, err, outbox.ClassMapping, true)

	deadline := time.Now().Add(time.Minute)
	m.AckDeadline = &deadline
	reply, err := s.Poll(context.Background(), m)
	if err != nil || reply.Kind != outbox.ReplyPending {
		t.Fatalf("Poll with a deadline: %+v, %v; want pending", reply, err)
	}
}

// TestSimulatorRefusalsMatchContract: the simulator's answers to requests
// the sender never makes agree with the contract too — the
// depersonalisation refusals above all.
func TestSimulatorRefusalsMatchContract(t *testing.T) {
	h := newHarness(t, upstream.Config{}, time.Second)
	s := New(h.url, time.Second, testBody)
	m := message(set(nil))
	rendered, err := s.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	id := m.ID.String()
	cases := []struct {
		name        string
		contentType string
		key         string
		body        []byte
		want        int
		code        string
	}{
		{"no key", "application/json", "", rendered, 400, statsim.CodeKeyMismatch},
		{"another key", "application/json", uuid.NewString(), rendered, 400, statsim.CodeKeyMismatch},
		{"not JSON", "application/json", id, []byte(`{"reportId": `), 400, statsim.CodeInvalid},
		{"a personal field", "application/json", id, bytes.Replace(rendered, []byte(`"period"`), []byte(`"surname": "Вигаденко", "period"`), 1), 422, statsim.CodePersonalData},
		{"a small count", "application/json", id, bytes.Replace(rendered, []byte(`"count": 12`), []byte(`"count": 3`), 1), 422, statsim.CodeSmallCell},
		{"a low threshold", "application/json", id, bytes.Replace(rendered, []byte(`"suppressionThreshold": 5`), []byte(`"suppressionThreshold": 2`), 1), 422, statsim.CodeSmallCell},
		{"no cells", "application/json", id, []byte(`{"reportId": "` + id + `"}`), 400, statsim.CodeInvalid},
		{"not application/json", "text/plain", id, rendered, 415, statsim.CodeUnsupportedMedia},
		{"applied", "application/json", id, rendered, 201, ""},
		{"again, indented otherwise", "application/json; charset=utf-8", id, compact(t, rendered), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, h.url+Path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.Contains(string(raw), tc.code) {
				t.Fatalf("answered %d %s, want %d %s", resp.StatusCode, raw, tc.want, tc.code)
			}
			if bytes.Contains(raw, []byte("Вигаденко")) {
				t.Fatalf("the answer echoes a value: %s", raw)
			}
		})
	}
	in := h.inspect(t)
	if in.AppliedCount != 1 || in.Duplicates != 1 || in.ProtocolErrors != 5 ||
		in.Refused[statsim.CodePersonalData] != 1 || in.Refused[statsim.CodeSmallCell] != 2 {
		t.Fatalf("applied %d, duplicates %d, refused forms %d, refused %v; want 1, 1, 5, one personal and two small",
			in.AppliedCount, in.Duplicates, in.ProtocolErrors, in.Refused)
	}
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestNewDefaults(t *testing.T) {
	s := New("http://statistics.invalid/base/", 0, testBody)
	if s.url != "http://statistics.invalid/base"+Path {
		t.Errorf("url %q", s.url)
	}
	if s.http.GetClient().Timeout != DefaultTimeout {
		t.Errorf("timeout %v, want %v", s.http.GetClient().Timeout, DefaultTimeout)
	}
	if s.http.RetryCount != 0 {
		t.Errorf("retry count %d, want 0", s.http.RetryCount)
	}
}
