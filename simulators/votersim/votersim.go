// Package votersim simulates the State Voter Register receiving the
// register's monthly sets (schemas/voter/voter.wsdl, 002 §4.2.19.2) for
// tests and the demo: one real HTTP server over the generated types of
// schemas/voter.
//
// SubmitVoterSet answers synchronously: accepted with a reference
// ("DRV-00000001"), or rejected with a rejectionCode: INVALID_REQUEST when
// a value the schema requires is missing or out of its form (a business
// answer, kept and repeated like any other; it names each value by list
// and position, never by content), SIMULATED_REJECTION for the share of
// message ids Config.RejectionRate picks (by a hash of the seed and the
// id, so every resend gets the same decision). A set sent again under the
// same X-Road id gets the first answer verbatim and is counted as a
// duplicate, never recorded twice. A Client fault is kept for a request
// whose form is wrong: setId not the X-Road id (and, from
// upstream.NewHandler, a bad envelope, X-Road id or protocolVersion,
// unknown operation or SOAPAction).
//
// The answers kept per X-Road id, the fault knobs, their order and the
// control endpoints are those of simulators/upstream (SOAPAnswers,
// ControlMux): an upstream.Engine admits each request (outage,
// latency, 503, Server and Client faults, malformed and slow answers) and
// keeps the configuration; GET/PUT /config, GET /healthz are the engine's.
// Its per-person state machine does not fit monthly sets, so the sets are
// kept here: GET /inspect answers this package's Inspection (the sets
// received, counted per period and list, and the latest accepted set's
// content; the engine's counters of requests and faults included) and
// POST /reset forgets both. The service is synchronous: Config.Mode,
// AsyncDelay and AckTwice are ignored.
package votersim

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/schemas/voter"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/upstream"
)

// Namespace and SOAPAction of the service (voter.wsdl).
const (
	Namespace    = "urn:reghub:voter:v1"
	ActionSubmit = Namespace + "/SubmitVoterSet"
)

// Rejection codes.
const (
	// ReasonInvalidRequest: a value the schema requires is missing.
	ReasonInvalidRequest = upstream.ReasonInvalidRequest
	// ReasonSimulated: rejected by Config.RejectionRate.
	ReasonSimulated = upstream.ReasonSimulated
)

// maxMissing bounds the values an INVALID_REQUEST names.
const maxMissing = 20

// Server is the simulated voter register.
type Server struct {
	engine  *upstream.Engine
	handler http.Handler
	logger  *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	seq      uint64
	sets     []Entry
	rejected []Entry
	latest   *Latest
	// answers keeps the first answer to every message id.
	answers upstream.SOAPAnswers
}

// New returns the simulated voter register with the given knobs. It panics
// on an invalid config (see upstream.Config.Validate). A nil logger
// discards.
func New(cfg upstream.Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{engine: upstream.NewEngine("DRV", cfg, logger), logger: logger.With("simulator", "voter"), now: time.Now}
	s.reset()
	inner := upstream.NewHandler(s.engine, upstream.Service{
		Name:  "voter",
		Paths: []string{"/voter"},
		Operations: []upstream.Operation{{
			Name:    "SubmitVoterSet",
			Action:  ActionSubmit,
			Element: xml.Name{Space: Namespace, Local: "SubmitVoterSetRequest"},
			New:     func() any { return new(voter.SubmitVoterSetRequest) },
			Serve:   s.submit,
		}},
	}, logger)
	mux := upstream.ControlMux(inner, s.Inspect, s.Reset, s.logger)
	mux.Handle("/", inner)
	s.handler = mux
	return s
}

// Handler serves SOAP on /soap, / and /voter, GET /inspect (Inspection),
// POST /reset, and the engine's GET/PUT /config and GET /healthz.
func (s *Server) Handler() http.Handler { return s.handler }

// Engine holds the fault knobs; tests should prefer the HTTP surface.
func (s *Server) Engine() *upstream.Engine { return s.engine }

// Entry is one set received, accepted or rejected: who sent it and how
// many voters each list holds.
type Entry struct {
	Seq       uint64 `json:"seq,omitempty"`
	MessageID string `json:"message_id"`
	Client    string `json:"client,omitempty"`
	Service   string `json:"service,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	Issue     string `json:"issue,omitempty"`
	// RegistrationBody is the sending body's code.
	RegistrationBody  string    `json:"registration_body"`
	Period            string    `json:"period"`
	TurningAdultMonth string    `json:"turning_adult_month"`
	BuiltAt           time.Time `json:"built_at,omitzero"`
	TurningAdult      int       `json:"turning_adult"`
	Registered        int       `json:"registered"`
	Deregistered      int       `json:"deregistered"`
	Reference         string    `json:"reference,omitempty"`
	RejectionCode     string    `json:"rejection_code,omitempty"`
	RejectionReason   string    `json:"rejection_reason,omitempty"`
	ReceivedAt        time.Time `json:"received_at"`
}

// PeriodCounts sums the accepted sets of one period.
type PeriodCounts struct {
	Sets         int `json:"sets"`
	TurningAdult int `json:"turning_adult"`
	Registered   int `json:"registered"`
	Deregistered int `json:"deregistered"`
}

// Latest is the content of the latest accepted set, as mapping.FromVoter
// reads it.
type Latest struct {
	MessageID            string           `json:"message_id"`
	Reference            string           `json:"reference"`
	RegistrationBody     string           `json:"registration_body"`
	RegistrationBodyName string           `json:"registration_body_name,omitempty"`
	Set                  monthly.VoterSet `json:"set"`
}

// Inspection is what GET /inspect answers.
type Inspection struct {
	Service string `json:"service"`
	// Sets lists the accepted sets in order of receipt.
	Sets     []Entry `json:"sets"`
	SetCount int     `json:"set_count"`
	// ByPeriod sums the accepted sets per period (YYYY-MM): one a month
	// when the hub delivers exactly once.
	ByPeriod map[string]PeriodCounts `json:"by_period"`
	// Latest is the latest accepted set's content; nil before the first.
	Latest *Latest `json:"latest,omitempty"`
	// Rejected lists business rejections, in order.
	Rejected      []Entry `json:"rejected"`
	RejectedCount int     `json:"rejected_count"`
	// Duplicates counts sets sent again under an answered message id.
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
		Service:             "voter",
		Sets:                append([]Entry{}, s.sets...),
		SetCount:            len(s.sets),
		ByPeriod:            map[string]PeriodCounts{},
		Rejected:            append([]Entry{}, s.rejected...),
		RejectedCount:       len(s.rejected),
		Duplicates:          s.answers.Duplicates(),
		DuplicatesByMessage: s.answers.DuplicatesByKey(),
		Faults:              e.Faults,
		Requests:            e.Requests,
		ProtocolErrors:      e.ProtocolErrors,
		Config:              e.Config,
	}
	for _, n := range s.sets {
		c := in.ByPeriod[n.Period]
		c.Sets++
		c.TurningAdult += n.TurningAdult
		c.Registered += n.Registered
		c.Deregistered += n.Deregistered
		in.ByPeriod[n.Period] = c
	}
	if s.latest != nil {
		l := *s.latest // the set's slices are never changed once kept
		in.Latest = &l
	}
	return in
}

// Reset forgets every set and answer, and resets the engine's counters;
// the configuration stays.
func (s *Server) Reset() {
	s.engine.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Server) reset() {
	s.seq = 0
	s.sets, s.rejected, s.latest = nil, nil, nil
	s.answers.Reset()
}

func (s *Server) submit(_ context.Context, call *upstream.Call) ([]byte, error) {
	req := call.Request.(*voter.SubmitVoterSetRequest)
	h := call.Headers
	if req.SetId != "" && req.SetId != h.ID {
		return nil, upstream.ClientFault("setId %q differs from the X-Road id %q", req.SetId, h.ID)
	}
	cfg := s.engine.Config()

	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answers.Answer(call, s.logger, func() any { return s.decide(h, req, cfg) })
}

// decide answers a set whose message id is new, with s.mu held: rejected
// (INVALID_REQUEST, or by the rejection rate), or accepted.
func (s *Server) decide(h xroad.Headers, req *voter.SubmitVoterSetRequest, cfg upstream.Config) *voter.SubmitVoterSetResponse {
	set, body, _, _ := mapping.FromVoter(req)
	e := entry(h, req, set, body, s.now())
	missing := check(req)
	result := voter.ResultAccepted
	res := &voter.SubmitVoterSetResponse{SetId: h.ID, Result: &result}
	if n := len(missing); n > maxMissing {
		missing = append(missing[:maxMissing:maxMissing], fmt.Sprintf("and %d more", n-maxMissing))
	}
	e.RejectionCode, e.RejectionReason = upstream.Refusal(cfg, h.ID, missing)
	if e.RejectionCode != "" {
		result = voter.ResultRejected
		res.RejectionCode, res.RejectionReason = e.RejectionCode, e.RejectionReason
		s.rejected = append(s.rejected, e)
		s.logger.Debug("rejected", "message_id", h.ID, "reason", e.RejectionCode)
	} else {
		s.seq++
		e.Seq, e.Reference = s.seq, fmt.Sprintf("DRV-%08d", s.seq)
		res.Reference = e.Reference
		s.sets = append(s.sets, e)
		s.latest = &Latest{MessageID: h.ID, Reference: e.Reference, RegistrationBody: body.Code, RegistrationBodyName: body.Name, Set: set}
		s.logger.Debug("accepted", "message_id", h.ID, "period", e.Period, "reference", e.Reference,
			"turning_adult", e.TurningAdult, "registered", e.Registered, "deregistered", e.Deregistered)
	}
	return res
}

// entry records a set: who sent it and its lists' sizes.
func entry(h xroad.Headers, req *voter.SubmitVoterSetRequest, set monthly.VoterSet, body mapping.RegistrationBody, now time.Time) Entry {
	return Entry{
		MessageID: h.ID, Client: h.Client.String(), Service: h.Service.String(), UserID: h.UserID, Issue: h.Issue,
		RegistrationBody: body.Code, Period: set.Period, TurningAdultMonth: set.TurningAdultMonth, BuiltAt: set.BuiltAt,
		TurningAdult: count(req.TurningAdult), Registered: count(req.Registered), Deregistered: count(req.Deregistered),
		ReceivedAt: now,
	}
}

func count(l *voter.VoterList) int {
	if l == nil {
		return 0
	}
	return len(l.Voter)
}

// check lists the values the schema requires that req lacks, or has out of
// their form, by name and position only.
func check(req *voter.SubmitVoterSetRequest) []string {
	var missing []string
	need := func(ok bool, field string) {
		if !ok {
			missing = append(missing, field)
		}
	}
	need(req.SetId != "", "setId")
	need(req.RegistrationBody != nil && req.RegistrationBody.Code != "", "registrationBody.code")
	need(validMonth(req.Period), "period")
	need(validMonth(req.TurningAdultMonth), "turningAdultMonth")
	need(req.BuiltAt.ToGoTime().Year() > 1, "builtAt")
	for _, l := range []struct {
		name string
		list *voter.VoterList
	}{{"turningAdult", req.TurningAdult}, {"registered", req.Registered}, {"deregistered", req.Deregistered}} {
		if l.list == nil {
			need(false, l.name)
			continue
		}
		for i, v := range l.list.Voter {
			at := fmt.Sprintf("%s[%d]", l.name, i)
			if v == nil {
				need(false, at)
				continue
			}
			need(v.Unzr != "" || v.Rnokpp != "", at+".unzr|rnokpp")
			need(v.Surname != "", at+".surname")
			need(v.GivenNames != "", at+".givenNames")
			need(mapping.Day(v.BirthDate) != "", at+".birthDate")
			need(v.Sex != nil && (*v.Sex == voter.SexM || *v.Sex == voter.SexF), at+".sex")
			need(v.Address == nil || v.Address.Katottg != "", at+".address.katottg") // no address: known by number (a cancellation)
			need(mapping.Day(v.Date) != "", at+".date")
		}
	}
	return missing
}

// validMonth: YYYY-MM, as the schema's Month pattern.
func validMonth(m *voter.Month) bool {
	if m == nil {
		return false
	}
	p, err := monthly.ParsePeriod(string(*m))
	return err == nil && p.String() == string(*m)
}

// Inspect fetches GET baseURL/inspect from a running simulator. The
// engine's clients upstream.SetConfig, upstream.GetConfig and
// upstream.Reset work on it as on the other simulators.
func Inspect(ctx context.Context, baseURL string) (Inspection, error) {
	return upstream.FetchInspection[Inspection](ctx, baseURL)
}
