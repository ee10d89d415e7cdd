package military

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/simulators/militarysim"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/openapitest"
)

var testBody = mapping.RegistrationBody{Code: "99999901", Name: "Відділ реєстрації місця проживання (вигаданий)"}

// submission is a synthetic declaration of a conscript; change alters it.
func submission(change func(s *action.Submission)) []byte {
	s := action.Submission{
		Kind: action.KindDeclare,
		Person: action.Person{
			UNZR: "19880412-07347", RNOKPP: "3224401240",
			Surname: "Вигаденко", GivenNames: "Остап", Patronymic: "Тестович",
			BirthDate: "1988-04-12", Sex: action.SexMale,
			MilitaryStatus: action.MilitaryConscript, MilitaryRegNumber: "SYN-MIL-0000101",
		},
		Address:       &action.Address{KATOTTG: "UA12060190010000123", Street: "вул. Вигадана", Building: "17", Apartment: "42"},
		EffectiveDate: "2025-03-14",
		Official:      action.Official{ID: "reg-officer-0042", Name: "Зразкова Ганна Іванівна"},
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
	return outbox.Message{ID: id, ActionID: uuid.New(), ActionRef: "RH-" + id.String(), Destination: "military",
		Kind: action.KindDeclare, PersonKey: "unzr:19880412-07347", Body: body, Stage: outbox.StageSend, Attempt: 1}
}

// harness is the sender against the simulator over HTTP, with every
// notification and every answer checked against the contract on the way.
type harness struct {
	url    string
	sim    *militarysim.Server
	sender *Sender
	proxy  *openapitest.Proxy
}

func newHarness(t *testing.T, cfg upstream.Config, timeout time.Duration) *harness {
	t.Helper()
	_, router := openapitest.Load(t, "../../schemas/military/military.yaml")
	h := &harness{sim: militarysim.New(cfg, nil)}
	h.proxy = &openapitest.Proxy{Router: router, Path: Path, Agent: "reghub-military", Next: h.sim.Handler()}
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

func (h *harness) inspect(t *testing.T) militarysim.Inspection {
	t.Helper()
	in, err := militarysim.Inspect(context.Background(), h.url)
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
	m := message(submission(nil))
	reply, err := h.sender.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Kind != outbox.ReplyAcknowledged || reply.Reference != "MIL-00000001" {
		t.Fatalf("reply %+v, want acknowledged MIL-00000001", reply)
	}
	if got := h.seen(); len(got) != 1 || got[0] != http.StatusCreated {
		t.Fatalf("answers %v, want [201]", got)
	}
	in := h.inspect(t)
	if in.AppliedCount != 1 {
		t.Fatalf("applied %d, want 1", in.AppliedCount)
	}
	e := in.Applied[0]
	if e.MessageID != m.ID.String() || e.Person != "19880412-07347" || e.Kind != string(action.KindDeclare) ||
		e.ActionReference != m.ActionRef || e.RegistrationBody != testBody.Code || e.Reference != reply.Reference {
		t.Fatalf("applied entry %+v does not describe the message", e)
	}
	// /inspect names the person by key only.
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, personal := range []string{"Вигаденко", "Остап", "1988-04-12", "3224401240", "UA12060190010000123", "conscript", "SYN-MIL-0000101"} {
		if bytes.Contains(raw, []byte(personal)) {
			t.Errorf("/inspect shows %q", personal)
		}
	}
}

// TestResendAppliedOnce: a resend under the same key gets the same
// reference and is not applied again — also when the first answer was lost
// to a timeout after the centre applied the notification.
func TestResendAppliedOnce(t *testing.T) {
	h := newHarness(t, upstream.Config{}, 200*time.Millisecond)
	m := message(submission(nil))
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
	lost := message(submission(func(s *action.Submission) { s.Kind = action.KindRegister }))
	_, err = h.sender.Send(context.Background(), lost)
	wantError(t, err, outbox.ClassTimeout, false)
	h.configure(t, upstream.Config{})
	reply, err := h.sender.Send(context.Background(), lost)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Kind != outbox.ReplyAcknowledged || reply.Reference != "MIL-00000002" {
		t.Fatalf("resend after the timeout: %+v, want acknowledged MIL-00000002", reply)
	}
	in := h.inspect(t)
	if in.AppliedCount != 2 || in.Duplicates != 2 || in.DuplicatesByMessage[m.ID.String()] != 1 || in.DuplicatesByMessage[lost.ID.String()] != 1 {
		t.Fatalf("applied %d, duplicates %d %v; want 2 applied, each resent once", in.AppliedCount, in.Duplicates, in.DuplicatesByMessage)
	}
}

func TestConflictIsPermanent(t *testing.T) {
	h := newHarness(t, upstream.Config{}, time.Second)
	m := message(submission(nil))
	if _, err := h.sender.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	other := m
	other.Body = submission(func(s *action.Submission) { s.EffectiveDate = "2025-03-15" })
	_, err := h.sender.Send(context.Background(), other)
	wantError(t, err, outbox.ClassHTTP4xx, true)
	if !strings.Contains(err.Error(), "HTTP 409") || !strings.Contains(err.Error(), militarysim.CodeConflict) {
		t.Fatalf("error %q does not tell the conflict", err)
	}
	if in := h.inspect(t); in.AppliedCount != 1 || in.Conflicts != 1 {
		t.Fatalf("applied %d, conflicts %d; want 1 and 1", in.AppliedCount, in.Conflicts)
	}
}

func TestRejected(t *testing.T) {
	h := newHarness(t, upstream.Config{RejectionRate: 1}, time.Second)
	m := message(submission(nil))
	for range 2 {
		reply, err := h.sender.Send(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if reply.Kind != outbox.ReplyRejected || reply.ReasonCode != militarysim.CodeRejected || reply.Reason == "" {
			t.Fatalf("reply %+v, want rejected %s with a reason", reply, militarysim.CodeRejected)
		}
	}
	if got := h.seen(); len(got) != 2 || got[0] != 422 || got[1] != 422 {
		t.Fatalf("answers %v, want [422 422]", got)
	}
	if in := h.inspect(t); in.AppliedCount != 0 || in.RejectedCount != 1 || in.Duplicates != 1 {
		t.Fatalf("applied %d, rejected %d, duplicates %d; want 0, 1, 1", in.AppliedCount, in.RejectedCount, in.Duplicates)
	}
}

// TestFailuresClassified: what the centre's faults become, and that none
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
			_, err := h.sender.Send(context.Background(), message(submission(nil)))
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
	_, err := h.sender.Send(ctx, message(submission(nil)))
	wantError(t, err, outbox.ClassTimeout, false)
}

// TestMalformedReply: JSON cut short is a transient malformed_reply; when
// the centre had applied it, the resend hears the same reference.
func TestMalformedReply(t *testing.T) {
	h := newHarness(t, upstream.Config{MalformedRate: 1}, time.Second)
	h.proxy.SetLax(true) // the answers break the contract on purpose
	m := message(submission(nil))
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
	if err != nil || reply.Reference != "MIL-00000001" {
		t.Fatalf("resend: %+v, %v; want MIL-00000001", reply, err)
	}
	if in := h.inspect(t); in.AppliedCount != 1 || in.Duplicates != 1 {
		t.Fatalf("applied %d, duplicates %d; want 1 and 1", in.AppliedCount, in.Duplicates)
	}
}

// The answers the simulator does not give, and a refused connection, are
// classified in adapters/restjson's tests.

// TestUnmappableIsPermanent: a message that cannot become a notice is
// never sent.
func TestUnmappableIsPermanent(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()
	s := New(srv.URL, time.Second, testBody)
	for name, body := range map[string][]byte{
		"not JSON":            []byte(`{"kind": `),
		"not on the register": submission(func(s *action.Submission) { s.Person.MilitaryStatus = action.MilitaryNotLiable }),
		"a cancellation":      submission(func(s *action.Submission) { s.Kind = action.KindCancel }),
	} {
		_, err := s.Send(context.Background(), message(body))
		if err == nil {
			t.Fatalf("%s: sent", name)
		}
		wantError(t, err, outbox.ClassMapping, true)
		if strings.Contains(err.Error(), action.MilitaryNotLiable) {
			t.Errorf("%s: the error echoes the military status: %v", name, err)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d requests for unmappable messages", n)
	}
}

func TestRender(t *testing.T) {
	s := New("http://centre.invalid", time.Second, testBody)
	m := message(submission(nil))
	got, err := s.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	var sub action.Submission
	if err := json.Unmarshal(m.Body, &sub); err != nil {
		t.Fatal(err)
	}
	n, err := mapping.ToMilitary(sub, mapping.Meta{MessageID: m.ID.String(), ActionRef: m.ActionRef, RegistrationBody: testBody})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(n, "", "  ")
	if !bytes.Equal(got, want) {
		t.Fatalf("Render:\n%s\nwant\n%s", got, want)
	}
	if !bytes.Contains(got, []byte("\n  \"person\": {\n")) {
		t.Fatalf("Render is not indented:\n%s", got)
	}
	if _, err := s.Render(message([]byte(`[]`))); err == nil {
		t.Fatal("Render of an unmappable message succeeded")
	}
}

func TestPoll(t *testing.T) {
	s := New("http://centre.invalid", time.Second, testBody)
	m := message(submission(nil))
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
// the sender never makes agree with the contract too.
func TestSimulatorRefusalsMatchContract(t *testing.T) {
	h := newHarness(t, upstream.Config{}, time.Second)
	s := New(h.url, time.Second, testBody)
	m := message(submission(nil))
	notice, err := s.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		contentType string
		key         string
		body        []byte
		want        int
		code        string
	}{
		{"no key", "application/json", "", notice, 400, militarysim.CodeKeyMismatch},
		{"another key", "application/json", uuid.NewString(), notice, 400, militarysim.CodeKeyMismatch},
		{"not JSON", "application/json", m.ID.String(), []byte(`{"message_id": `), 400, militarysim.CodeInvalid},
		{"unknown field", "application/json", m.ID.String(), bytes.Replace(notice, []byte(`"kind"`), []byte(`"sort": 1, "kind"`), 1), 400, militarysim.CodeInvalid},
		{"not on the register", "application/json", m.ID.String(), bytes.Replace(notice, []byte(`"conscript"`), []byte(`"not_liable"`), 1), 400, militarysim.CodeInvalid},
		{"no person", "application/json", m.ID.String(), []byte(`{"message_id": "` + m.ID.String() + `"}`), 400, militarysim.CodeInvalid},
		{"not application/json", "text/plain", m.ID.String(), notice, 415, militarysim.CodeUnsupportedMedia},
		{"applied", "application/json", m.ID.String(), notice, 201, ""},
		{"again, indented otherwise", "application/json; charset=utf-8", m.ID.String(), compact(t, notice), 200, ""},
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
			if bytes.Contains(raw, []byte("not_liable")) {
				t.Fatalf("the answer echoes a value: %s", raw)
			}
		})
	}
	if in := h.inspect(t); in.AppliedCount != 1 || in.Duplicates != 1 || in.ProtocolErrors != 7 {
		t.Fatalf("applied %d, duplicates %d, refused forms %d; want 1, 1, 7", in.AppliedCount, in.Duplicates, in.ProtocolErrors)
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
	s := New("http://centre.invalid/base/", 0, testBody)
	if s.url != "http://centre.invalid/base"+Path {
		t.Errorf("url %q", s.url)
	}
	if s.http.GetClient().Timeout != DefaultTimeout {
		t.Errorf("timeout %v, want %v", s.http.GetClient().Timeout, DefaultTimeout)
	}
	if s.http.RetryCount != 0 {
		t.Errorf("retry count %d, want 0", s.http.RetryCount)
	}
}
