// Package militarysim simulates a military enlistment centre receiving the
// hub's registration notifications (schemas/military/military.yaml, 002
// §4.2.19.1) for tests and the demo: a real HTTP server speaking the
// contract's REST/JSON.
//
// POST /v1/registrations/notifications applies a notification once per
// Idempotency-Key: 201 {reference} ("MIL-00000001") the first time, 200
// with the same reference for every resend of the key with the same body
// (compared as canonical JSON), 409 IDEMPOTENCY_CONFLICT for the key with
// another body. A business refusal is 422 {code, detail}, kept and repeated
// for every resend like an acknowledgement: SIMULATED_REJECTION for the
// share of keys Config.RejectionRate picks (by a hash of the seed and the
// key, as upstream.Config documents, so every resend gets the same
// decision; it stands for a person the centre does not know). A request
// whose form is wrong is 400 (415 if not JSON, 413 if too large) and
// applies nothing: an unreadable body, an unknown field, a value missing or
// invalid, an Idempotency-Key missing or not the body's message_id.
//
// The Idempotency-Key protocol, the fault knobs, their order and the
// control endpoints are those of simulators/upstream (IdempotentPost,
// ControlMux): an upstream.Engine admits each notification (outage
// — 503 or the connection dropped —, latency, 503, a Server fault as 500, a
// Client fault as 400, a malformed answer as 200 with JSON cut short, a slow
// answer after applying) and keeps the configuration; GET/PUT /config and
// GET /healthz are the engine's. Its per-person state machine does not fit
// a centre that knows persons from its own register, so the notifications
// are kept here: GET /inspect answers this package's Inspection (the
// engine's counters of requests, faults and refused forms included) and
// POST /reset forgets both. The centre answers synchronously:
// Config.Mode, AsyncDelay and AckTwice are ignored.
//
// Inspection lists what was applied and refused, in order, with the person
// key (УНЗР, else РНОКПП) and no other personal value.
package militarysim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
)

// Path is where notifications are posted.
const Path = "/v1/registrations/notifications"

// Problem codes of the answers.
const (
	// CodeRejected: the share of keys Config.RejectionRate refuses (422).
	CodeRejected = upstream.ReasonSimulated
	// CodeKeyMismatch: Idempotency-Key missing or not message_id (400).
	CodeKeyMismatch = upstream.ProblemKeyMismatch
	// The codes of upstream.IdempotentPost's answers: a conflict (409), a
	// form wrong (400), not JSON (415), a body over maxBody (413), an
	// outage or injected 503, injected Server (500) and Client (400)
	// faults.
	CodeConflict         = upstream.ProblemConflict
	CodeInvalid          = upstream.ProblemInvalid
	CodeUnsupportedMedia = upstream.ProblemUnsupportedMedia
	CodeTooLarge         = upstream.ProblemTooLarge
	CodeUnavailable      = upstream.ProblemUnavailable
	CodeInternal         = upstream.ProblemInternal
	CodeInjectedClient   = upstream.ProblemInjectedClient
)

// maxBody bounds a notification.
const maxBody = 1 << 20

// Server is the simulated military enlistment centre.
type Server struct {
	engine  *upstream.Engine
	handler http.Handler
	logger  *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	seq      uint64
	applied  []Entry
	rejected []Entry
	// answers keeps the first answer (201 or 422) to every
	// Idempotency-Key.
	answers upstream.RESTAnswers
}

// New returns a simulated centre with the given knobs. It panics on an
// invalid config (see upstream.Config.Validate). A nil logger discards.
func New(cfg upstream.Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{engine: upstream.NewEngine("MIL", cfg, logger), logger: logger.With("simulator", "military"), now: time.Now}
	s.reset()
	mux := upstream.ControlMux(upstream.NewHandler(s.engine, upstream.Service{Name: "military"}, logger), s.Inspect, s.Reset, s.logger)
	mux.Handle("POST "+Path, &upstream.IdempotentPost[*notice]{
		Engine: s.engine, Logger: s.logger, Mu: &s.mu, Answers: &s.answers, MaxBody: maxBody,
		RefPrefix: "MIL-", KeyAttr: "message_id", Decode: decode, Decide: s.decide,
	})
	s.handler = mux
	return s
}

// Handler serves POST /v1/registrations/notifications, GET /inspect
// (Inspection), POST /reset, and the engine's GET/PUT /config and
// GET /healthz.
func (s *Server) Handler() http.Handler { return s.handler }

// Engine holds the fault knobs; tests should prefer the HTTP surface.
func (s *Server) Engine() *upstream.Engine { return s.engine }

// Entry is one notification applied or refused. It carries the person key
// and no other personal value.
type Entry struct {
	Seq uint64 `json:"seq,omitempty"`
	// MessageID is the Idempotency-Key (the body's message_id).
	MessageID string `json:"message_id"`
	// Person is the person's УНЗР, else РНОКПП.
	Person           string    `json:"person"`
	Kind             string    `json:"kind"`
	ActionReference  string    `json:"action_reference"`
	RegistrationBody string    `json:"registration_body"`
	Reference        string    `json:"reference,omitempty"`
	RejectionCode    string    `json:"rejection_code,omitempty"`
	RejectionDetail  string    `json:"rejection_detail,omitempty"`
	ReceivedAt       time.Time `json:"received_at"`
}

// Inspection is what GET /inspect answers.
type Inspection struct {
	Service string `json:"service"`
	// Applied lists the applied notifications in order of application.
	Applied      []Entry `json:"applied"`
	AppliedCount int     `json:"applied_count"`
	// Rejected lists business refusals (nothing applied), in order.
	Rejected      []Entry `json:"rejected"`
	RejectedCount int     `json:"rejected_count"`
	// Duplicates counts resends of an answered key with the same body.
	Duplicates          int            `json:"duplicates"`
	DuplicatesByMessage map[string]int `json:"duplicates_by_message"`
	// Conflicts counts keys sent again with another body (409).
	Conflicts int `json:"conflicts"`
	// Faults, Requests and Config are the engine's (see
	// upstream.Inspection); ProtocolErrors counts requests refused for
	// their form (400, 413, 415), injected faults aside.
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
	return Inspection{
		Service:             "military",
		Applied:             append([]Entry{}, s.applied...),
		AppliedCount:        len(s.applied),
		Rejected:            append([]Entry{}, s.rejected...),
		RejectedCount:       len(s.rejected),
		Duplicates:          s.answers.Duplicates(),
		DuplicatesByMessage: s.answers.DuplicatesByKey(),
		Conflicts:           s.answers.Conflicts(),
		Faults:              e.Faults,
		Requests:            e.Requests,
		ProtocolErrors:      e.ProtocolErrors,
		Config:              e.Config,
	}
}

// Reset forgets every notification and answer, and resets the engine's
// counters; the configuration stays.
func (s *Server) Reset() {
	s.engine.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Server) reset() {
	s.seq = 0
	s.applied, s.rejected = nil, nil
	s.answers.Reset()
}

// decide answers a notification whose Idempotency-Key is new, with s.mu
// held: refused by the rejection rate (422), or applied (201).
func (s *Server) decide(n *notice, cfg upstream.Config) (int, []byte) {
	e := Entry{MessageID: n.MessageID, Person: n.Person.key(), Kind: n.Kind, ActionReference: n.ActionReference,
		RegistrationBody: n.RegistrationBody.Code, ReceivedAt: s.now()}
	if upstream.RejectByHash(cfg.Seed, n.MessageID, cfg.RejectionRate) {
		e.RejectionCode = CodeRejected
		e.RejectionDetail = "rejected by the simulator's rejection rate (the person is unknown to the centre)"
		s.rejected = append(s.rejected, e)
		s.logger.Debug("rejected", "message_id", n.MessageID, "reason", e.RejectionCode)
		return http.StatusUnprocessableEntity, upstream.ProblemJSON(e.RejectionCode, e.RejectionDetail)
	}
	s.seq++
	e.Seq, e.Reference = s.seq, fmt.Sprintf("MIL-%08d", s.seq)
	s.applied = append(s.applied, e)
	s.logger.Debug("applied", "message_id", n.MessageID, "kind", n.Kind, "reference", e.Reference)
	return http.StatusCreated, upstream.ReferenceJSON(e.Reference)
}

// notice is the contract's request body as the centre reads it; unknown
// fields are refused.
type notice struct {
	MessageID        string            `json:"message_id"`
	ActionReference  string            `json:"action_reference"`
	Kind             string            `json:"kind"`
	EffectiveDate    string            `json:"effective_date"`
	Person           *person           `json:"person"`
	Address          *address          `json:"address"`
	PreviousAddress  *address          `json:"previous_address"`
	RegistrationBody *registrationBody `json:"registration_body"`
}

// IdempotencyKey is the notification's message_id, the Idempotency-Key
// decode checked.
func (n *notice) IdempotencyKey() string { return n.MessageID }

type person struct {
	UNZR                       string `json:"unzr"`
	RNOKPP                     string `json:"rnokpp"`
	Surname                    string `json:"surname"`
	GivenNames                 string `json:"given_names"`
	Patronymic                 string `json:"patronymic"`
	BirthDate                  string `json:"birth_date"`
	Sex                        string `json:"sex"`
	MilitaryStatus             string `json:"military_status"`
	MilitaryRegistrationNumber string `json:"military_registration_number"`
}

// key is the person's УНЗР, else РНОКПП.
func (p *person) key() string {
	if p.UNZR != "" {
		return p.UNZR
	}
	return p.RNOKPP
}

type address struct {
	KATOTTG   string `json:"katottg"`
	Street    string `json:"street"`
	Building  string `json:"building"`
	Block     string `json:"block"`
	Apartment string `json:"apartment"`
}

type registrationBody struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// The contract's enumerations and patterns.
var (
	kinds = []string{"residence.declare", "residence.register", "residence.change",
		"residence.deregister", "residence.deregister_death"}
	militaryStatuses = []string{"conscript", "liable", "reservist"}
	sexes            = []string{"M", "F"}
	unzrPattern      = regexp.MustCompile(`^[0-9]{8}-[0-9]{5}$`)
	rnokppPattern    = regexp.MustCompile(`^[0-9]{10}$`)
	katottgPattern   = regexp.MustCompile(`^UA[0-9]{17}$`)
)

// decode reads and checks a notification; a non-zero status refuses it
// with code and detail (which names fields, never their values).
func decode(r *http.Request, data []byte) (n *notice, status int, code, detail string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the body must be application/json"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	n = new(notice)
	if err := dec.Decode(n); err != nil {
		return nil, http.StatusBadRequest, CodeInvalid, "the body is not the contract's JSON object: " + jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, http.StatusBadRequest, CodeInvalid, "data after the JSON object"
	}
	if missing := n.problems(); len(missing) > 0 {
		return nil, http.StatusBadRequest, CodeInvalid, "missing or invalid: " + strings.Join(missing, ", ")
	}
	if key := r.Header.Get("Idempotency-Key"); key == "" || key != n.MessageID {
		return nil, http.StatusBadRequest, CodeKeyMismatch, "the Idempotency-Key header must be the body's message_id"
	}
	return n, 0, "", ""
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON near byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s has the wrong type", typ.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "invalid JSON"
}

// problems lists the fields missing or invalid under the contract.
func (n *notice) problems() []string {
	var out []string
	need := func(ok bool, field string) {
		if !ok {
			out = append(out, field)
		}
	}
	need(n.MessageID != "", "message_id")
	need(n.ActionReference != "", "action_reference")
	need(slices.Contains(kinds, n.Kind), "kind")
	need(isDate(n.EffectiveDate), "effective_date")
	if p := n.Person; p != nil {
		need(p.UNZR != "" || p.RNOKPP != "", "person.unzr|rnokpp")
		need(p.UNZR == "" || unzrPattern.MatchString(p.UNZR), "person.unzr")
		need(p.RNOKPP == "" || rnokppPattern.MatchString(p.RNOKPP), "person.rnokpp")
		need(p.Surname != "", "person.surname")
		need(p.GivenNames != "", "person.given_names")
		need(isDate(p.BirthDate), "person.birth_date")
		need(slices.Contains(sexes, p.Sex), "person.sex")
		need(slices.Contains(militaryStatuses, p.MilitaryStatus), "person.military_status")
	} else {
		need(false, "person")
	}
	need(n.Address != nil && katottgPattern.MatchString(n.Address.KATOTTG), "address.katottg")
	need(n.PreviousAddress == nil || katottgPattern.MatchString(n.PreviousAddress.KATOTTG), "previous_address.katottg")
	need(n.RegistrationBody != nil && n.RegistrationBody.Code != "", "registration_body.code")
	need(n.RegistrationBody != nil && n.RegistrationBody.Name != "", "registration_body.name")
	return out
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// Inspect fetches GET baseURL/inspect from a running simulator. The
// engine's clients upstream.SetConfig, upstream.GetConfig and
// upstream.Reset work on it as on the other simulators.
func Inspect(ctx context.Context, baseURL string) (Inspection, error) {
	return upstream.FetchInspection[Inspection](ctx, baseURL)
}
