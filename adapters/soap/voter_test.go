package soapclient_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/schemas/voter"
	"github.com/reghub/reghub/schemas/xroad"
	sim "github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/simulators/votersim"
)

// voterSim is the simulated voter register over HTTP, keeping the raw SOAP requests.
type voterSim = recordedSim[votersim.Inspection]

func startVoterSim(t *testing.T) *voterSim {
	t.Helper()
	return startRecordedSim(t, votersim.New(sim.Config{}, nil).Handler(), votersim.Inspect)
}

func voterSenderAt(url string, timeout time.Duration) outbox.Sender {
	return soapclient.NewVoterSender(soapclient.Config{Timeout: timeout, RegistrationBody: registrationBody}, url, nil)
}

// voterFixture reads one of mapping's synthetic monthly sets
// (mapping/testdata/voter/<name>.json), a body as the scheduler stores it.
func voterFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "mapping", "testdata", "voter", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func voterMessage(body []byte) outbox.Message {
	return outbox.Message{
		ID:          uuid.New(),
		ActionID:    uuid.MustParse("0195a3c1-7a2b-7c3d-8e4f-000000000300"),
		ActionRef:   "RH-0195a3c1-7a2b-7c3d-8e4f-000000000300",
		Destination: monthly.DestVoterRegister,
		Kind:        monthly.KindVoterRegister,
		PersonKey:   "monthly:" + string(monthly.DestVoterRegister),
		Body:        body,
		Stage:       outbox.StageSend,
		Attempt:     1,
		CreatedAt:   createdAt,
	}
}

// TestVoterSenderAgainstSimulator: an empty set and a full one are
// accepted by the simulator with its reference as the reply's, counted per
// list, and the full set arrives as it was stored.
func TestVoterSenderAgainstSimulator(t *testing.T) {
	s := startVoterSim(t)
	snd := voterSenderAt(s.url+"/soap", 0)
	var ids []string
	for i, name := range []string{"empty", "full"} {
		m := voterMessage(voterFixture(t, name))
		ids = append(ids, m.ID.String())
		r, err := snd.Send(t.Context(), m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := []string{"DRV-00000001", "DRV-00000002"}[i]; r != (outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: want}) {
			t.Errorf("%s: reply %+v, want acknowledged %s", name, r, want)
		}
	}
	in := s.inspection(t)
	if in.SetCount != 2 || in.RejectedCount != 0 || in.Duplicates != 0 {
		t.Fatalf("inspection: %d sets, %d rejected (%+v), %d duplicates", in.SetCount, in.RejectedCount, in.Rejected, in.Duplicates)
	}
	for i, e := range in.Sets {
		if e.MessageID != ids[i] || e.RegistrationBody != registrationBody.Code || e.UserID != monthly.SystemClient ||
			e.Issue != "RH-0195a3c1-7a2b-7c3d-8e4f-000000000300" || e.Period != "2026-09" || e.TurningAdultMonth != "2026-11" ||
			!strings.Contains(e.Service, "/00000004/DRV/SubmitVoterSet") {
			t.Errorf("set %d received as %+v", i, e)
		}
	}
	if c := in.ByPeriod["2026-09"]; c != (votersim.PeriodCounts{Sets: 2, TurningAdult: 2, Registered: 2, Deregistered: 3}) {
		t.Errorf("by period: %+v", in.ByPeriod)
	}
	var want monthly.VoterSet
	if err := json.Unmarshal(voterFixture(t, "full"), &want); err != nil {
		t.Fatal(err)
	}
	if in.Latest == nil || in.Latest.MessageID != ids[1] || !reflect.DeepEqual(in.Latest.Set, want) {
		t.Errorf("latest set %+v\nwant %+v", in.Latest, want)
	}
}

// TestVoterSenderResend: a resend of a message id is answered from memory
// with the first reference, and recorded once.
func TestVoterSenderResend(t *testing.T) {
	s := startVoterSim(t)
	snd := voterSenderAt(s.url+"/soap", 0)
	m := voterMessage(voterFixture(t, "full"))
	first, err := snd.Send(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	m.Attempt = 2
	again, err := snd.Send(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if again != first || first.Kind != outbox.ReplyAcknowledged {
		t.Errorf("resend answered %+v, first %+v", again, first)
	}
	in := s.inspection(t)
	if in.SetCount != 1 || in.Duplicates != 1 || in.DuplicatesByMessage[m.ID.String()] != 1 || in.ByPeriod["2026-09"].Sets != 1 {
		t.Errorf("inspection: %d sets, %d duplicates %v", in.SetCount, in.Duplicates, in.DuplicatesByMessage)
	}
}

// TestVoterSenderFaults: the simulator's faults are classified as for the
// national systems; nothing is recorded by a failed call, and the set goes
// through once the register recovers.
func TestVoterSenderFaults(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     sim.Config
		timeout time.Duration
		want    wantErr
	}{
		{"outage", sim.Config{Outage: true}, 0, wantErr{outbox.ClassHTTP5xx, false, "HTTP 503"}},
		{"outage, connection dropped", sim.Config{Outage: true, OutageClose: true}, 0, wantErr{outbox.ClassTransport, false, "voter_register SubmitVoterSet"}},
		{"503", sim.Config{ErrorRate: 1}, 0, wantErr{outbox.ClassHTTP5xx, false, "HTTP 503"}},
		{"timeout", sim.Config{Latency: 2 * time.Second}, 200 * time.Millisecond, wantErr{outbox.ClassTimeout, false, "timed out"}},
		{"server fault", sim.Config{ServerFaultRate: 1}, 0, wantErr{outbox.ClassSOAPServerFault, false, "injected server fault"}},
		{"client fault", sim.Config{ClientFaultRate: 1}, 0, wantErr{outbox.ClassSOAPClientFault, true, "injected client fault"}},
		{"malformed answer", sim.Config{MalformedRate: 1}, 0, wantErr{outbox.ClassMalformedReply, false, "undecodable answer"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startVoterSim(t)
			s.configure(t, tt.cfg)
			snd := voterSenderAt(s.url+"/soap", tt.timeout)
			m := voterMessage(voterFixture(t, "full"))
			_, err := snd.Send(t.Context(), m)
			checkErr(t, err, tt.want)
			if !strings.Contains(err.Error(), "(period 2026-09)") {
				t.Errorf("error %q does not name the period", err)
			}
			if in := s.inspection(t); in.SetCount != 0 || in.RejectedCount != 0 {
				t.Errorf("a failed call recorded %d sets, %d rejections", in.SetCount, in.RejectedCount)
			}
			s.configure(t, sim.Config{})
			m.Attempt = 2
			r, err := snd.Send(t.Context(), m)
			if err != nil || r.Kind != outbox.ReplyAcknowledged {
				t.Fatalf("after recovery: %+v, %v", r, err)
			}
			if in := s.inspection(t); in.SetCount != 1 {
				t.Errorf("after recovery: %d sets", in.SetCount)
			}
		})
	}
}

// TestVoterSenderRejected: the register's refusal is a rejection, repeated
// for a resend.
func TestVoterSenderRejected(t *testing.T) {
	s := startVoterSim(t)
	s.configure(t, sim.Config{RejectionRate: 1})
	snd := voterSenderAt(s.url+"/soap", 0)
	m := voterMessage(voterFixture(t, "full"))
	for attempt := 1; attempt <= 2; attempt++ {
		m.Attempt = attempt
		r, err := snd.Send(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != outbox.ReplyRejected || r.ReasonCode != votersim.ReasonSimulated || r.Reason == "" {
			t.Errorf("attempt %d: %+v, want rejected %s", attempt, r, votersim.ReasonSimulated)
		}
	}
	if in := s.inspection(t); in.RejectedCount != 1 || in.Duplicates != 1 || in.SetCount != 0 || in.Latest != nil {
		t.Errorf("inspection: %d rejected, %d duplicates, %d sets", in.RejectedCount, in.Duplicates, in.SetCount)
	}
}

// TestVoterSenderMappingErrors: a body that does not decode as a set, or a
// set that does not map, is a permanent mapping failure, without a call;
// Render says the same.
func TestVoterSenderMappingErrors(t *testing.T) {
	var called atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called.Add(1) }))
	t.Cleanup(srv.Close)
	snd := voterSenderAt(srv.URL, 0)
	var noSex map[string]any
	if err := json.Unmarshal(voterFixture(t, "full"), &noSex); err != nil {
		t.Fatal(err)
	}
	delete(noSex["registered"].([]any)[1].(map[string]any), "sex")
	body, _ := json.Marshal(noSex)
	for _, tt := range []struct {
		name, body, contains string
	}{
		{"not JSON", "{", "decode voter set"},
		{"a submission", submission, "period is required"},
		{"null", "null", "period is required"},
		{"a list of the wrong type", `{"period":"2026-09","registered":{}}`, "decode voter set"},
		{"a voter without sex", string(body), "registered[1].sex is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := voterMessage([]byte(tt.body))
			_, err := snd.Send(t.Context(), m)
			checkErr(t, err, wantErr{outbox.ClassMapping, true, tt.contains})
			_, err = snd.(outbox.Renderer).Render(m)
			checkErr(t, err, wantErr{outbox.ClassMapping, true, tt.contains})
		})
	}
	if n := called.Load(); n != 0 {
		t.Errorf("%d HTTP calls made for unmappable messages", n)
	}
}

// TestVoterSenderPoll: the service is synchronous; a poll makes no call
// and answers pending, so the relay resends at the acknowledgement
// deadline.
func TestVoterSenderPoll(t *testing.T) {
	s := startVoterSim(t)
	snd := voterSenderAt(s.url+"/soap", 0)
	m := voterMessage(voterFixture(t, "full"))
	m.Stage, m.Receipt = outbox.StagePoll, "DRV-R-1"
	r, err := snd.Poll(t.Context(), m)
	if err != nil || r.Kind != outbox.ReplyPending || r.Reference != "DRV-R-1" {
		t.Errorf("poll: %+v, %v", r, err)
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("a poll made %d calls", n)
	}
}

// TestVoterRender: Render shows the very message Send posts, with the
// configured service when there is one.
func TestVoterRender(t *testing.T) {
	s := startVoterSim(t)
	configured := xroad.Identifier{ObjectType: "SERVICE", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV",
		MemberCode: "43210987", SubsystemCode: "DRV", ServiceCode: "SubmitVoterSet", ServiceVersion: "v2"}
	cfg := soapclient.Config{RegistrationBody: registrationBody, Identity: mapping.Identity{
		Services: map[action.Destination]xroad.Identifier{monthly.DestVoterRegister: configured}}}
	snd := soapclient.NewVoterSender(cfg, s.url+"/soap", nil)
	m := voterMessage(voterFixture(t, "full"))
	rendered, err := snd.(outbox.Renderer).Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snd.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	sent := s.requests()
	if len(sent) != 1 {
		t.Fatalf("%d requests", len(sent))
	}
	if canonical(t, rendered) != canonical(t, sent[0]) {
		t.Errorf("rendered:\n%s\nsent:\n%s", rendered, sent[0])
	}
	var env struct {
		Header xroad.Header `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
		Body   struct {
			Req voter.SubmitVoterSetRequest
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(rendered, &env); err != nil {
		t.Fatal(err)
	}
	h := env.Header.Headers()
	if h.Service != configured || h.Client != mapping.DefaultClient || h.ID != m.ID.String() || h.UserID != monthly.SystemClient ||
		h.Issue != m.ActionRef || env.Body.Req.SetId != m.ID.String() || env.Body.Req.RegistrationBody.Code != registrationBody.Code {
		t.Errorf("rendered headers %+v, set id %q, body %+v", h, env.Body.Req.SetId, env.Body.Req.RegistrationBody)
	}
	if in := s.inspection(t); len(in.Sets) != 1 || !strings.Contains(in.Sets[0].Service, "/43210987/DRV/SubmitVoterSet/v2") {
		t.Errorf("received by %+v", in.Sets)
	}
}

// TestVoterSenderAnswers: answers that cannot be acted on are malformed
// (transient), as for the national systems.
func TestVoterSenderAnswers(t *testing.T) {
	answer := func(fields string) func(w http.ResponseWriter, r *http.Request, got received) {
		return func(w http.ResponseWriter, _ *http.Request, got received) {
			writeXML(w, http.StatusOK, envelope(`<SubmitVoterSetResponse xmlns="urn:reghub:voter:v1">`+
				strings.ReplaceAll(fields, "{id}", got.headers.ID)+`</SubmitVoterSetResponse>`))
		}
	}
	for _, tt := range []struct {
		name   string
		fields string
		want   *outbox.Reply
		err    *wantErr
	}{
		{"accepted", `<setId>{id}</setId><result>accepted</result><reference>DRV-77</reference>`,
			&outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: "DRV-77"}, nil},
		{"rejected", `<setId>{id}</setId><result>rejected</result><rejectionCode>PERIOD_CLOSED</rejectionCode><rejectionReason>період закрито</rejectionReason>`,
			&outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: "PERIOD_CLOSED", Reason: "період закрито"}, nil},
		{"another set", `<setId>other</setId><result>accepted</result><reference>DRV-77</reference>`,
			nil, &wantErr{outbox.ClassMalformedReply, false, "answer is for setId"}},
		{"no result", `<setId>{id}</setId>`, nil, &wantErr{outbox.ClassMalformedReply, false, "answer has no result"}},
		{"unknown result", `<setId>{id}</setId><result>maybe</result>`, nil, &wantErr{outbox.ClassMalformedReply, false, "unknown result"}},
		{"accepted without a reference", `<setId>{id}</setId><result>accepted</result>`,
			nil, &wantErr{outbox.ClassMalformedReply, false, "accepted without a reference"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, answer(tt.fields))
			r, err := voterSenderAt(u.srv.URL, 0).Send(t.Context(), voterMessage(voterFixture(t, "empty")))
			if tt.err != nil {
				checkErr(t, err, *tt.err)
				return
			}
			if err != nil || r != *tt.want {
				t.Errorf("reply %+v, %v; want %+v", r, err, *tt.want)
			}
			if got := u.last(t); strings.Trim(got.soapAction, `"`) != votersim.ActionSubmit {
				t.Errorf("SOAPAction %q", got.soapAction)
			}
		})
	}
}
