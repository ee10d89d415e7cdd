// Package regbodysim simulates the registration bodies of other communities
// receiving the hub's notices (schemas/regbody/regbody.wsdl, 002 §4.2.4)
// for tests and the demo: one real HTTP server over the generated types of
// schemas/regbody plays every other body, whatever community a notice
// concerns; the body addressed is the X-Road service's member code.
//
// NotifyRegistrationBody answers synchronously: acknowledged with a
// recordReference ("RB-00000001"), or rejected with a rejectionCode:
// INVALID_REQUEST when a value the schema requires is missing (a business
// answer, kept and repeated like any other), SIMULATED_REJECTION for the
// share of message ids Config.RejectionRate picks (by a hash of the seed and
// the id, so every resend gets the same decision). A notice sent again under
// the same X-Road id gets the first answer verbatim and is counted as a
// duplicate, never recorded twice. Client faults are kept for a request
// whose form is wrong: noticeId not the X-Road id, recipientBody not the
// service's member code (and, from upstream.NewHandler, a bad envelope,
// X-Road id or protocolVersion, unknown operation or SOAPAction).
//
// The answers kept per X-Road id, the fault knobs, their order and the
// control endpoints are those of simulators/upstream (SOAPAnswers,
// ControlMux): an upstream.Engine admits each request (outage,
// latency, 503, Server and Client faults, malformed and slow answers) and
// keeps the configuration; GET/PUT /config, GET /healthz are the engine's.
// Its per-person state machine does not fit notices (a body is told of
// persons it may know nothing of, and a notice changes no state the hub
// reads back), so the notices are kept here: GET /inspect answers this
// package's Inspection (the engine's counters of requests and faults
// included) and POST /reset forgets both. The notice service is
// synchronous: Config.Mode, AsyncDelay and AckTwice are ignored.
package regbodysim

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/regbody"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/upstream"
)

// Namespace and SOAPAction of the service (regbody.wsdl).
const (
	Namespace    = "urn:reghub:regbody:v1"
	ActionNotify = Namespace + "/NotifyRegistrationBody"
)

// Rejection codes.
const (
	// ReasonInvalidRequest: a value the schema requires is missing.
	ReasonInvalidRequest = upstream.ReasonInvalidRequest
	// ReasonSimulated: rejected by Config.RejectionRate.
	ReasonSimulated = upstream.ReasonSimulated
)

// Server is the simulated registration bodies.
type Server struct {
	engine  *upstream.Engine
	handler http.Handler
	logger  *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	seq      uint64
	notices  []Entry
	rejected []Entry
	// answers keeps the first answer to every message id.
	answers upstream.SOAPAnswers
}

// New returns the simulated registration bodies with the given knobs. It
// panics on an invalid config (see upstream.Config.Validate). A nil logger
// discards.
func New(cfg upstream.Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{engine: upstream.NewEngine("RB", cfg, logger), logger: logger.With("simulator", "regbody"), now: time.Now}
	s.reset()
	inner := upstream.NewHandler(s.engine, upstream.Service{
		Name:  "regbody",
		Paths: []string{"/regbody"},
		Operations: []upstream.Operation{{
			Name:    "NotifyRegistrationBody",
			Action:  ActionNotify,
			Element: xml.Name{Space: Namespace, Local: "NotifyRequest"},
			New:     func() any { return new(regbody.NotifyRequest) },
			Serve:   s.notify,
		}},
	}, logger)
	mux := upstream.ControlMux(inner, s.Inspect, s.Reset, s.logger)
	mux.Handle("/", inner)
	s.handler = mux
	return s
}

// Handler serves SOAP on /soap, / and /regbody, GET /inspect (Inspection),
// POST /reset, and the engine's GET/PUT /config and GET /healthz.
func (s *Server) Handler() http.Handler { return s.handler }

// Engine holds the fault knobs; tests should prefer the HTTP surface.
func (s *Server) Engine() *upstream.Engine { return s.engine }

// Entry is one notice received, acknowledged or rejected.
type Entry struct {
	Seq       uint64 `json:"seq,omitempty"`
	MessageID string `json:"message_id"`
	Client    string `json:"client,omitempty"`
	Service   string `json:"service,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	Issue     string `json:"issue,omitempty"`
	// Body is the receiving body's code: the X-Road service's member code.
	Body          string `json:"body"`
	Kind          string `json:"kind"`
	Cause         string `json:"cause,omitempty"`
	CancelledKind string `json:"cancelled_kind,omitempty"`
	// Person is the person's УНЗР, else РНОКПП.
	Person          string    `json:"person"`
	Katottg         string    `json:"katottg"`
	SendingBody     string    `json:"sending_body"`
	ActionReference string    `json:"action_reference"`
	EffectiveDate   string    `json:"effective_date"`
	ReasonCode      string    `json:"reason_code,omitempty"`
	RecordReference string    `json:"record_reference,omitempty"`
	RejectionCode   string    `json:"rejection_code,omitempty"`
	RejectionReason string    `json:"rejection_reason,omitempty"`
	ReceivedAt      time.Time `json:"received_at"`
}

// Inspection is what GET /inspect answers.
type Inspection struct {
	Service string `json:"service"`
	// Notices lists the acknowledged notices in order of receipt.
	Notices     []Entry `json:"notices"`
	NoticeCount int     `json:"notice_count"`
	// ByBody counts acknowledged notices per receiving body's code.
	ByBody map[string]int `json:"by_body"`
	// Rejected lists business rejections, in order.
	Rejected      []Entry `json:"rejected"`
	RejectedCount int     `json:"rejected_count"`
	// Duplicates counts notices sent again under an answered message id.
	Duplicates          int            `json:"duplicates"`
	DuplicatesByMessage map[string]int `json:"duplicates_by_message"`
	// Faults, Requests, ProtocolErrors and Config are the engine's (see
	// upstream.Inspection).
	Faults         map[string]int  `json:"faults"`
	Requests       int             `json:"requests"`
	ProtocolErrors int             `json:"protocol_errors"`
	Config         upstream.Config `json:"config"`
}

// Inspect returns a copy of what the simulator received.
func (s *Server) Inspect() Inspection {
	e := s.engine.Inspect()
	s.mu.Lock()
	defer s.mu.Unlock()
	in := Inspection{
		Service:             "regbody",
		Notices:             append([]Entry{}, s.notices...),
		NoticeCount:         len(s.notices),
		ByBody:              map[string]int{},
		Rejected:            append([]Entry{}, s.rejected...),
		RejectedCount:       len(s.rejected),
		Duplicates:          s.answers.Duplicates(),
		DuplicatesByMessage: s.answers.DuplicatesByKey(),
		Faults:              e.Faults,
		Requests:            e.Requests,
		ProtocolErrors:      e.ProtocolErrors,
		Config:              e.Config,
	}
	for _, n := range s.notices {
		in.ByBody[n.Body]++
	}
	return in
}

// Reset forgets every notice and answer, and resets the engine's counters;
// the configuration stays.
func (s *Server) Reset() {
	s.engine.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Server) reset() {
	s.seq = 0
	s.notices, s.rejected = nil, nil
	s.answers.Reset()
}

func (s *Server) notify(_ context.Context, call *upstream.Call) ([]byte, error) {
	req := call.Request.(*regbody.NotifyRequest)
	h := call.Headers
	if req.NoticeId != "" && req.NoticeId != h.ID {
		return nil, upstream.ClientFault("noticeId %q differs from the X-Road id %q", req.NoticeId, h.ID)
	}
	if req.RecipientBody != "" && req.RecipientBody != h.Service.MemberCode {
		return nil, upstream.ClientFault("recipientBody %q is not the X-Road service's member %q", req.RecipientBody, h.Service.MemberCode)
	}
	cfg := s.engine.Config()

	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answers.Answer(call, s.logger, func() any { return s.decide(h, req, cfg) })
}

// decide answers a notice whose message id is new, with s.mu held:
// rejected (INVALID_REQUEST, or by the rejection rate), or acknowledged.
func (s *Server) decide(h xroad.Headers, req *regbody.NotifyRequest, cfg upstream.Config) *regbody.NotifyResponse {
	e, missing := entry(h, req, s.now())
	result := regbody.ResultAcknowledged
	res := &regbody.NotifyResponse{NoticeId: h.ID, Result: &result}
	e.RejectionCode, e.RejectionReason = upstream.Refusal(cfg, h.ID, missing)
	if e.RejectionCode != "" {
		result = regbody.ResultRejected
		res.RejectionCode, res.RejectionReason = e.RejectionCode, e.RejectionReason
		s.rejected = append(s.rejected, e)
		s.logger.Debug("rejected", "message_id", h.ID, "reason", e.RejectionCode)
	} else {
		s.seq++
		e.Seq, e.RecordReference = s.seq, fmt.Sprintf("RB-%08d", s.seq)
		res.RecordReference = e.RecordReference
		s.notices = append(s.notices, e)
		s.logger.Debug("acknowledged", "message_id", h.ID, "body", e.Body, "kind", e.Kind, "record", e.RecordReference)
	}
	return res
}

// entry records a notice and lists the values the schema requires that it
// lacks.
func entry(h xroad.Headers, req *regbody.NotifyRequest, now time.Time) (Entry, []string) {
	e := Entry{
		MessageID: h.ID, Client: h.Client.String(), Service: h.Service.String(), UserID: h.UserID, Issue: h.Issue,
		Body: h.Service.MemberCode, Kind: str(req.NoticeKind), Cause: str(req.Cause), CancelledKind: str(req.CancelledKind),
		ActionReference: req.ActionReference, EffectiveDate: mapping.Day(req.EffectiveDate), ReasonCode: req.ReasonCode, ReceivedAt: now,
	}
	var missing []string
	need := func(ok bool, field string) {
		if !ok {
			missing = append(missing, field)
		}
	}
	need(req.NoticeId != "", "noticeId")
	switch e.Kind {
	case string(regbody.NoticeKindDeregistration):
		need(req.CancelledKind == nil, "cancelledKind (only of a cancellation)")
	case string(regbody.NoticeKindCancellation):
		need(req.CancelledKind != nil, "cancelledKind")
		need(req.Cause == nil, "cause (only of a deregistration)")
	default:
		need(false, "noticeKind")
	}
	if p := req.Person; p != nil {
		e.Person = p.Unzr
		if e.Person == "" {
			e.Person = p.Rnokpp
		}
		need(e.Person != "", "person.unzr|rnokpp")
		need(p.Surname != "", "person.surname")
		need(p.GivenNames != "", "person.givenNames")
		need(mapping.Day(p.BirthDate) != "", "person.birthDate")
	} else {
		need(false, "person")
	}
	if a := req.Address; a != nil {
		e.Katottg = a.Katottg
	}
	need(e.Katottg != "", "address.katottg")
	need(e.EffectiveDate != "", "effectiveDate")
	if b := req.SendingBody; b != nil {
		e.SendingBody = b.Code
	}
	need(e.SendingBody != "", "sendingBody.code")
	need(req.RecipientBody != "", "recipientBody")
	need(req.ActionReference != "", "actionReference")
	need(req.IssuedAt.ToGoTime().Year() > 1, "issuedAt")
	return e, missing
}

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// Inspect fetches GET baseURL/inspect from a running simulator. The
// engine's clients upstream.SetConfig, upstream.GetConfig and
// upstream.Reset work on it as on the other simulators.
func Inspect(ctx context.Context, baseURL string) (Inspection, error) {
	return upstream.FetchInspection[Inspection](ctx, baseURL)
}
