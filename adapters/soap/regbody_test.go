package soapclient_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/routing"
	"github.com/reghub/reghub/schemas/regbody"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/regbodysim"
	sim "github.com/reghub/reghub/simulators/upstream"
)

// regBodySim is the simulated registration bodies over HTTP, keeping the raw SOAP requests.
type regBodySim = recordedSim[regbodysim.Inspection]

func startRegBodySim(t *testing.T) *regBodySim {
	t.Helper()
	return startRecordedSim(t, regbodysim.New(sim.Config{}, nil).Handler(), regbodysim.Inspect)
}

// testRules routes the communities UA1202 and UA1204 to endpoint; the
// local community is UA12060170 (as in the built-in rules).
func testRules(endpoint string) *routing.Rules {
	return &routing.Rules{
		Version:        "test-1",
		LocalCommunity: "UA12060170",
		Directory: []routing.Body{
			{KATOTTGPrefix: "UA1202", Code: "SYN-RB-1202", Name: "Синтетичний орган 12-02", Endpoint: endpoint},
			{KATOTTGPrefix: "UA1204", Code: "SYN-RB-1204", Name: "Синтетичний орган 12-04", Endpoint: endpoint},
		},
	}
}

func regBodySender(endpoint string, timeout time.Duration) outbox.Sender {
	cfg := soapclient.Config{Timeout: timeout, RegistrationBody: registrationBody}
	return soapclient.NewRegBodySender(cfg, testRules(endpoint), nil)
}

// regBodyFixture reads one of mapping's synthetic submissions that route to
// the previous body (mapping/testdata/regbody.<name>.json).
func regBodyFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "mapping", "testdata", "regbody."+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func regBodyMessage(body []byte) outbox.Message {
	return outbox.Message{
		ID:          uuid.New(),
		ActionID:    uuid.MustParse("0195a3c1-7a2b-7c3d-8e4f-000000000200"),
		ActionRef:   "RH-0195a3c1-7a2b-7c3d-8e4f-000000000200",
		Destination: routing.DestPreviousBody,
		Kind:        action.KindDeregister,
		Body:        body,
		Stage:       outbox.StageSend,
		Attempt:     1,
		CreatedAt:   createdAt,
	}
}

// withAddress returns the fixture with its address (or previous address)
// moved to katottg.
func withAddress(t *testing.T, body []byte, field, katottg string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m[field].(map[string]any)["katottg"] = katottg
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRegBodySenderAgainstSimulator: every kind that routes to the previous
// body is acknowledged by the simulator, addressed to the body of its
// community, with the record reference as the reply's.
func TestRegBodySenderAgainstSimulator(t *testing.T) {
	s := startRegBodySim(t)
	snd := regBodySender(s.url+"/soap", 0)
	cases := []struct {
		fixture, body, kind string
	}{
		{"residence.deregister", "SYN-RB-1202", "deregistration"},
		{"residence.deregister_death", "SYN-RB-1204", "deregistration"},
		{"residence.cancel.declare", "SYN-RB-1204", "cancellation"},
		{"residence.cancel.register", "SYN-RB-1202", "cancellation"},
		{"residence.cancel.deregister", "SYN-RB-1202", "cancellation"},
		{"residence.declare", "SYN-RB-1202", "deregistration"},
		{"residence.register", "SYN-RB-1204", "deregistration"},
		{"residence.change", "SYN-RB-1202", "deregistration"},
	}
	ids := map[string]uuid.UUID{}
	for _, c := range cases {
		m := regBodyMessage(regBodyFixture(t, c.fixture))
		ids[c.fixture] = m.ID
		r, err := snd.Send(t.Context(), m)
		if err != nil {
			t.Fatalf("%s: %v", c.fixture, err)
		}
		if r.Kind != outbox.ReplyAcknowledged || !strings.HasPrefix(r.Reference, "RB-") {
			t.Errorf("%s: reply %+v, want acknowledged with the body's record", c.fixture, r)
		}
	}
	in := s.inspection(t)
	if in.NoticeCount != len(cases) || in.RejectedCount != 0 || in.Duplicates != 0 {
		t.Fatalf("inspection: %d notices, %d rejected (%+v), %d duplicates", in.NoticeCount, in.RejectedCount, in.Rejected, in.Duplicates)
	}
	for i, c := range cases {
		n := in.Notices[i]
		if n.MessageID != ids[c.fixture].String() || n.Body != c.body || n.Kind != c.kind ||
			n.SendingBody != registrationBody.Code || n.UserID != "reg-officer-0042" ||
			n.Issue != "RH-0195a3c1-7a2b-7c3d-8e4f-000000000200" {
			t.Errorf("%s: received %+v", c.fixture, n)
		}
		if !strings.Contains(n.Service, "/"+c.body+"/REGBODY/NotifyRegistrationBody") {
			t.Errorf("%s: service %s does not name the body %s", c.fixture, n.Service, c.body)
		}
	}
	if in.ByBody["SYN-RB-1202"] != 5 || in.ByBody["SYN-RB-1204"] != 3 {
		t.Errorf("by body: %v", in.ByBody)
	}
}

// TestRegBodySenderResend: a resend of a message id is answered from
// memory with the first reference, and recorded once.
func TestRegBodySenderResend(t *testing.T) {
	s := startRegBodySim(t)
	snd := regBodySender(s.url+"/soap", 0)
	m := regBodyMessage(regBodyFixture(t, "residence.deregister"))
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
	if in.NoticeCount != 1 || in.Duplicates != 1 || in.DuplicatesByMessage[m.ID.String()] != 1 {
		t.Errorf("inspection: %d notices, %d duplicates %v", in.NoticeCount, in.Duplicates, in.DuplicatesByMessage)
	}
}

// TestRegBodySenderFaults: the simulator's faults are classified as for
// the national systems; nothing is recorded by a failed call, and the
// message goes through once the body recovers.
func TestRegBodySenderFaults(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     sim.Config
		timeout time.Duration
		want    wantErr
	}{
		{"outage", sim.Config{Outage: true}, 0, wantErr{outbox.ClassHTTP5xx, false, "HTTP 503"}},
		{"outage, connection dropped", sim.Config{Outage: true, OutageClose: true}, 0, wantErr{outbox.ClassTransport, false, "NotifyRegistrationBody (SYN-RB-1202)"}},
		{"503", sim.Config{ErrorRate: 1}, 0, wantErr{outbox.ClassHTTP5xx, false, "HTTP 503"}},
		{"timeout", sim.Config{Latency: 2 * time.Second}, 200 * time.Millisecond, wantErr{outbox.ClassTimeout, false, "timed out"}},
		{"server fault", sim.Config{ServerFaultRate: 1}, 0, wantErr{outbox.ClassSOAPServerFault, false, "injected server fault"}},
		{"client fault", sim.Config{ClientFaultRate: 1}, 0, wantErr{outbox.ClassSOAPClientFault, true, "injected client fault"}},
		{"malformed answer", sim.Config{MalformedRate: 1}, 0, wantErr{outbox.ClassMalformedReply, false, "undecodable answer"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startRegBodySim(t)
			s.configure(t, tt.cfg)
			snd := regBodySender(s.url+"/soap", tt.timeout)
			m := regBodyMessage(regBodyFixture(t, "residence.deregister"))
			_, err := snd.Send(t.Context(), m)
			checkErr(t, err, tt.want)
			if in := s.inspection(t); in.NoticeCount != 0 || in.RejectedCount != 0 {
				t.Errorf("a failed call recorded %d notices, %d rejections", in.NoticeCount, in.RejectedCount)
			}
			s.configure(t, sim.Config{})
			m.Attempt = 2
			r, err := snd.Send(t.Context(), m)
			if err != nil || r.Kind != outbox.ReplyAcknowledged {
				t.Fatalf("after recovery: %+v, %v", r, err)
			}
			if in := s.inspection(t); in.NoticeCount != 1 {
				t.Errorf("after recovery: %d notices", in.NoticeCount)
			}
		})
	}
}

// TestRegBodySenderRejected: a body's refusal is a rejection, repeated for
// a resend.
func TestRegBodySenderRejected(t *testing.T) {
	s := startRegBodySim(t)
	s.configure(t, sim.Config{RejectionRate: 1})
	snd := regBodySender(s.url+"/soap", 0)
	m := regBodyMessage(regBodyFixture(t, "residence.cancel.register"))
	for attempt := 1; attempt <= 2; attempt++ {
		m.Attempt = attempt
		r, err := snd.Send(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != outbox.ReplyRejected || r.ReasonCode != regbodysim.ReasonSimulated || r.Reason == "" {
			t.Errorf("attempt %d: %+v, want rejected %s", attempt, r, regbodysim.ReasonSimulated)
		}
	}
	if in := s.inspection(t); in.RejectedCount != 1 || in.Duplicates != 1 || in.NoticeCount != 0 {
		t.Errorf("inspection: %d rejected, %d duplicates, %d notices", in.RejectedCount, in.Duplicates, in.NoticeCount)
	}
}

// TestRegBodySenderNoRoute: an address no body of the directory serves —
// or one in the local community — is a permanent no_route failure, found
// before any call; Render says the same.
func TestRegBodySenderNoRoute(t *testing.T) {
	var called atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		called.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	deregister := regBodyFixture(t, "residence.deregister")
	declare := regBodyFixture(t, "residence.declare")
	for _, tt := range []struct {
		name     string
		snd      outbox.Sender
		body     []byte
		contains string
	}{
		{"unknown community", regBodySender(srv.URL, 0), withAddress(t, deregister, "address", "UA12990010010000001"),
			"no registration body in the directory of routing rules test-1 serves community UA12990010010000001"},
		{"unknown community of a previous address", regBodySender(srv.URL, 0), withAddress(t, declare, "previous_address", "UA05010010010000001"),
			"serves community UA05010010010000001"},
		{"local community", regBodySender(srv.URL, 0), withAddress(t, deregister, "address", "UA12060170010000555"),
			"lies in the local community UA12060170"},
		{"no rules", soapclient.NewRegBodySender(soapclient.Config{RegistrationBody: registrationBody}, nil, nil), deregister,
			"no registration body in the directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := regBodyMessage(tt.body)
			_, err := tt.snd.Send(t.Context(), m)
			checkErr(t, err, wantErr{outbox.ClassNoRoute, true, tt.contains})
			_, err = tt.snd.(outbox.Renderer).Render(m)
			checkErr(t, err, wantErr{outbox.ClassNoRoute, true, tt.contains})
		})
	}
	if n := called.Load(); n != 0 {
		t.Errorf("%d HTTP calls made for messages without a route", n)
	}
}

// TestRegBodySenderMappingErrors: a body that does not decode, or an
// action that leaves no address, is a permanent mapping failure, without a
// call.
func TestRegBodySenderMappingErrors(t *testing.T) {
	var called atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called.Add(1) }))
	t.Cleanup(srv.Close)
	snd := regBodySender(srv.URL, 0)
	var noPrevious map[string]any
	if err := json.Unmarshal(regBodyFixture(t, "residence.declare"), &noPrevious); err != nil {
		t.Fatal(err)
	}
	delete(noPrevious, "previous_address")
	body, _ := json.Marshal(noPrevious)
	for name, b := range map[string][]byte{"not JSON": []byte("{"), "no address left": body} {
		t.Run(name, func(t *testing.T) {
			_, err := snd.Send(t.Context(), regBodyMessage(b))
			checkErr(t, err, wantErr{outbox.ClassMapping, true, ""})
		})
	}
	if n := called.Load(); n != 0 {
		t.Errorf("%d HTTP calls made for unmappable messages", n)
	}
}

// TestRegBodySenderPoll: the service is synchronous; a poll makes no call
// and answers pending, so the relay resends at the acknowledgement deadline.
func TestRegBodySenderPoll(t *testing.T) {
	s := startRegBodySim(t)
	snd := regBodySender(s.url+"/soap", 0)
	m := regBodyMessage(regBodyFixture(t, "residence.deregister"))
	m.Stage, m.Receipt = outbox.StagePoll, "RB-R-1"
	r, err := snd.Poll(t.Context(), m)
	if err != nil || r.Kind != outbox.ReplyPending || r.Reference != "RB-R-1" {
		t.Errorf("poll: %+v, %v", r, err)
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("a poll made %d calls", n)
	}
}

// TestRegBodyRender: Render shows the very message Send posts, addressed
// to the body of the community left.
func TestRegBodyRender(t *testing.T) {
	s := startRegBodySim(t)
	snd := regBodySender(s.url+"/soap", 0)
	m := regBodyMessage(regBodyFixture(t, "residence.register"))
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
			Req regbody.NotifyRequest
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(rendered, &env); err != nil {
		t.Fatal(err)
	}
	h := env.Header.Headers()
	want := mapping.DefaultRegBodyService
	want.MemberCode = "SYN-RB-1204"
	if h.Service != want || h.ID != m.ID.String() || env.Body.Req.RecipientBody != "SYN-RB-1204" ||
		env.Body.Req.Address == nil || env.Body.Req.Address.Katottg != "UA12040150010000789" {
		t.Errorf("rendered headers %+v, recipient %q, address %+v", h, env.Body.Req.RecipientBody, env.Body.Req.Address)
	}
}

// TestRegBodySenderAnswers: answers that cannot be acted on are malformed
// (transient), as for the national systems.
func TestRegBodySenderAnswers(t *testing.T) {
	answer := func(fields string) func(w http.ResponseWriter, r *http.Request, got received) {
		return func(w http.ResponseWriter, _ *http.Request, got received) {
			writeXML(w, http.StatusOK, envelope(`<NotifyResponse xmlns="urn:reghub:regbody:v1">`+
				strings.ReplaceAll(fields, "{id}", got.headers.ID)+`</NotifyResponse>`))
		}
	}
	for _, tt := range []struct {
		name   string
		fields string
		want   *outbox.Reply
		err    *wantErr
	}{
		{"acknowledged", `<noticeId>{id}</noticeId><result>acknowledged</result><recordReference>RB-77</recordReference>`,
			&outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: "RB-77"}, nil},
		{"rejected", `<noticeId>{id}</noticeId><result>rejected</result><rejectionCode>PERSON_UNKNOWN</rejectionCode><rejectionReason>не зареєстрована</rejectionReason>`,
			&outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: "PERSON_UNKNOWN", Reason: "не зареєстрована"}, nil},
		{"another notice", `<noticeId>other</noticeId><result>acknowledged</result><recordReference>RB-77</recordReference>`,
			nil, &wantErr{outbox.ClassMalformedReply, false, "answer is for noticeId"}},
		{"no result", `<noticeId>{id}</noticeId>`, nil, &wantErr{outbox.ClassMalformedReply, false, "answer has no result"}},
		{"unknown result", `<noticeId>{id}</noticeId><result>maybe</result>`, nil, &wantErr{outbox.ClassMalformedReply, false, "unknown result"}},
		{"acknowledged without a reference", `<noticeId>{id}</noticeId><result>acknowledged</result>`,
			nil, &wantErr{outbox.ClassMalformedReply, false, "without a recordReference"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, answer(tt.fields))
			r, err := regBodySender(u.srv.URL, 0).Send(t.Context(), regBodyMessage(regBodyFixture(t, "residence.deregister")))
			if tt.err != nil {
				checkErr(t, err, *tt.err)
				return
			}
			if err != nil || r != *tt.want {
				t.Errorf("reply %+v, %v; want %+v", r, err, *tt.want)
			}
			if got := u.last(t); got.soapAction != `"urn:reghub:regbody:v1/NotifyRegistrationBody"` && got.soapAction != "urn:reghub:regbody:v1/NotifyRegistrationBody" {
				t.Errorf("SOAPAction %q", got.soapAction)
			}
		})
	}
}
