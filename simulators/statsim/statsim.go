// Package statsim simulates the State Statistics Service receiving the
// hub's monthly depersonalised migration reports
// (schemas/statistics/statistics.yaml, 002 §4.2.12–13) for tests and the
// demo: a real HTTP server speaking the contract's REST/JSON.
//
// POST /v1/statistics/migration-reports applies a report once per
// Idempotency-Key: 201 {reference} ("STAT-00000001") the first time, 200
// with the same reference for every resend of the key with the same body
// (compared as canonical JSON), 409 IDEMPOTENCY_CONFLICT for the key with
// another body. A business refusal is 422 {code, detail}, kept and
// repeated for every resend like an acknowledgement: SIMULATED_REJECTION
// for the share of keys Config.RejectionRate picks (by a hash of the seed
// and the key, as upstream.Config documents, so every resend gets the same
// decision).
//
// It guards the depersonalisation as the real service would, reading
// strictly. A report naming any field the contract does not — at any
// depth, keys compared exactly, a personal field above all — is refused
// with 422 PERSONAL_DATA_OR_UNKNOWN_FIELD; one publishing a count below its
// suppressionThreshold, or with a threshold below MinThreshold, with 422
// SMALL_CELL. These refusals depend on the body alone: they are not kept
// under the key (nothing was applied) but counted by code in
// Inspection.Refused, and their details name fields, never values. A
// request whose form is otherwise wrong is 400 (415 if not JSON, 413 if too
// large) and applies nothing: an unreadable body, a key repeated in an
// object, a value missing or invalid, a cell both counted and suppressed
// or neither, a cell key (flow, sex, ageGroup, area) twice, an
// Idempotency-Key missing or not the body's reportId.
//
// The Idempotency-Key protocol, the fault knobs, their order and the
// control endpoints are those of simulators/upstream (IdempotentPost,
// ControlMux): an upstream.Engine admits each report (outage — 503
// or the connection dropped —, latency, 503, a Server fault as 500, a
// Client fault as 400, a malformed answer as 200 with JSON cut short, a
// slow answer after applying) and keeps the configuration; GET/PUT
// /config and GET /healthz are the engine's. The reports are kept here:
// GET /inspect answers this package's Inspection (the engine's counters of
// requests, faults and refused forms included), POST /reset forgets both.
// The service answers synchronously: Config.Mode, AsyncDelay and AckTwice
// are ignored.
package statsim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reghub/reghub/simulators/upstream"
)

// Path is where reports are posted.
const Path = "/v1/statistics/migration-reports"

// MinThreshold is the smallest suppression threshold accepted.
const MinThreshold = 5

// Problem codes of the answers.
const (
	// CodeRejected: the share of keys Config.RejectionRate refuses (422).
	CodeRejected = upstream.ReasonSimulated
	// CodePersonalData: a field the contract does not name (422).
	CodePersonalData = "PERSONAL_DATA_OR_UNKNOWN_FIELD"
	// CodeSmallCell: a count below the threshold, or a threshold below
	// MinThreshold (422).
	CodeSmallCell = "SMALL_CELL"
	// CodeKeyMismatch: Idempotency-Key missing or not reportId (400).
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

// maxBody bounds a report.
const maxBody = 1 << 20

// Server is the simulated State Statistics Service.
type Server struct {
	engine  *upstream.Engine
	handler http.Handler
	logger  *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	seq      uint64
	applied  []Report
	rejected []Rejection
	refused  map[string]int
	// answers keeps the first answer (201 or 422) to every
	// Idempotency-Key.
	answers upstream.RESTAnswers
}

// New returns a simulated service with the given knobs. It panics on an
// invalid config (see upstream.Config.Validate). A nil logger discards.
func New(cfg upstream.Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{engine: upstream.NewEngine("STAT", cfg, logger), logger: logger.With("simulator", "statistics"), now: time.Now}
	s.reset()
	mux := upstream.ControlMux(upstream.NewHandler(s.engine, upstream.Service{Name: "statistics"}, logger), s.Inspect, s.Reset, s.logger)
	mux.Handle("POST "+Path, &upstream.IdempotentPost[*report]{
		Engine: s.engine, Logger: s.logger, Mu: &s.mu, Answers: &s.answers, MaxBody: maxBody,
		RefPrefix: "STAT-", KeyAttr: "report_id", Decode: decode, Refuse: s.refuse, Decide: s.decide,
	})
	s.handler = mux
	return s
}

// Handler serves POST /v1/statistics/migration-reports, GET /inspect
// (Inspection), POST /reset, and the engine's GET/PUT /config and
// GET /healthz.
func (s *Server) Handler() http.Handler { return s.handler }

// Engine holds the fault knobs; tests should prefer the HTTP surface.
func (s *Server) Engine() *upstream.Engine { return s.engine }

// Report is one report applied.
type Report struct {
	Seq uint64 `json:"seq"`
	// ReportID is the Idempotency-Key (the body's reportId).
	ReportID             string    `json:"report_id"`
	Period               string    `json:"period"`
	RegistrationBody     string    `json:"registration_body"`
	SuppressionThreshold int       `json:"suppression_threshold"`
	Cells                []Cell    `json:"cells"`
	Reference            string    `json:"reference"`
	ReceivedAt           time.Time `json:"received_at"`
}

// Cell is one cell of a report as received.
type Cell struct {
	Flow       string `json:"flow"`
	Sex        string `json:"sex"`
	AgeGroup   string `json:"age_group"`
	Area       string `json:"area"`
	Count      int    `json:"count,omitempty"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// Rejection is one report refused by the rejection rate (nothing applied).
type Rejection struct {
	ReportID         string    `json:"report_id"`
	Period           string    `json:"period"`
	RegistrationBody string    `json:"registration_body"`
	RejectionCode    string    `json:"rejection_code"`
	RejectionDetail  string    `json:"rejection_detail"`
	ReceivedAt       time.Time `json:"received_at"`
}

// Inspection is what GET /inspect answers.
type Inspection struct {
	Service string `json:"service"`
	// Periods are the applied reports by period, each list in order of
	// application (Report.Seq orders them across periods).
	Periods      map[string][]Report `json:"periods"`
	AppliedCount int                 `json:"applied_count"`
	// Rejected lists the rejection rate's refusals, in order.
	Rejected      []Rejection `json:"rejected"`
	RejectedCount int         `json:"rejected_count"`
	// Refused counts the depersonalisation refusals (422) by code:
	// CodePersonalData and CodeSmallCell.
	Refused map[string]int `json:"refused"`
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

// Reports lists the applied reports of every period in order of
// application.
func (in Inspection) Reports() []Report {
	var out []Report
	for _, rs := range in.Periods {
		out = append(out, rs...)
	}
	slices.SortFunc(out, func(a, b Report) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Inspect returns a copy of what the simulator received.
func (s *Server) Inspect() Inspection {
	e := s.engine.Inspect()
	s.mu.Lock()
	defer s.mu.Unlock()
	periods := map[string][]Report{}
	for _, r := range s.applied {
		r.Cells = slices.Clone(r.Cells)
		periods[r.Period] = append(periods[r.Period], r)
	}
	return Inspection{
		Service:             "statistics",
		Periods:             periods,
		AppliedCount:        len(s.applied),
		Rejected:            append([]Rejection{}, s.rejected...),
		RejectedCount:       len(s.rejected),
		Refused:             maps.Clone(s.refused),
		Duplicates:          s.answers.Duplicates(),
		DuplicatesByMessage: s.answers.DuplicatesByKey(),
		Conflicts:           s.answers.Conflicts(),
		Faults:              e.Faults,
		Requests:            e.Requests,
		ProtocolErrors:      e.ProtocolErrors,
		Config:              e.Config,
	}
}

// Reset forgets every report and answer, and resets the engine's
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
	s.refused = map[string]int{}
	s.answers.Reset()
}

// refuse counts a request refused before any decision: a
// depersonalisation refusal by its code, any other as a protocol error.
func (s *Server) refuse(status int, code string) {
	if status != http.StatusUnprocessableEntity {
		s.engine.ProtocolError()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[code]++
}

// decide answers a report whose Idempotency-Key is new, with s.mu held:
// refused by the rejection rate (422), or applied (201).
func (s *Server) decide(rep *report, cfg upstream.Config) (int, []byte) {
	now := s.now()
	if upstream.RejectByHash(cfg.Seed, rep.ReportID, cfg.RejectionRate) {
		e := Rejection{ReportID: rep.ReportID, Period: rep.Period, RegistrationBody: rep.RegistrationBody.Code,
			RejectionCode:   CodeRejected,
			RejectionDetail: "rejected by the simulator's rejection rate", ReceivedAt: now}
		s.rejected = append(s.rejected, e)
		s.logger.Debug("rejected", "report_id", rep.ReportID, "reason", e.RejectionCode)
		return http.StatusUnprocessableEntity, upstream.ProblemJSON(e.RejectionCode, e.RejectionDetail)
	}
	s.seq++
	e := Report{Seq: s.seq, ReportID: rep.ReportID, Period: rep.Period, RegistrationBody: rep.RegistrationBody.Code,
		SuppressionThreshold: *rep.SuppressionThreshold, Cells: make([]Cell, 0, len(rep.Cells)),
		Reference: fmt.Sprintf("STAT-%08d", s.seq), ReceivedAt: now}
	for _, c := range rep.Cells {
		e.Cells = append(e.Cells, Cell{Flow: c.Flow, Sex: c.Sex, AgeGroup: c.AgeGroup, Area: c.Area,
			Count: deref(c.Count), Suppressed: c.Suppressed != nil})
	}
	s.applied = append(s.applied, e)
	s.logger.Debug("applied", "report_id", rep.ReportID, "period", rep.Period, "cells", len(e.Cells), "reference", e.Reference)
	return http.StatusCreated, upstream.ReferenceJSON(e.Reference)
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// report is the contract's request body as the service reads it;
// pointers tell a value absent from one present and zero.
type report struct {
	ReportID             string            `json:"reportId"`
	RegistrationBody     *registrationBody `json:"registrationBody"`
	Period               string            `json:"period"`
	SuppressionThreshold *int              `json:"suppressionThreshold"`
	Cells                []cell            `json:"cells"`
}

// IdempotencyKey is the report's id, the Idempotency-Key decode checked.
func (rep *report) IdempotencyKey() string { return rep.ReportID }

type registrationBody struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type cell struct {
	Flow       string `json:"flow"`
	Sex        string `json:"sex"`
	AgeGroup   string `json:"ageGroup"`
	Area       string `json:"area"`
	Count      *int   `json:"count"`
	Suppressed *bool  `json:"suppressed"`
}

// shape is the set of keys an object of the contract may have, each with
// the shape of its value (nil: a scalar); item is an array's element.
type shape struct {
	keys map[string]*shape
	item *shape
}

// reportShape is the contract's request body, key by key.
var reportShape = &shape{keys: map[string]*shape{
	"reportId":             nil,
	"registrationBody":     {keys: map[string]*shape{"code": nil, "name": nil}},
	"period":               nil,
	"suppressionThreshold": nil,
	"cells": {item: &shape{keys: map[string]*shape{
		"flow": nil, "sex": nil, "ageGroup": nil, "area": nil, "count": nil, "suppressed": nil,
	}}},
}}

// The contract's enumerations and patterns.
var (
	flows         = []string{"arrival", "departure"}
	sexes         = []string{"M", "F"}
	ageGroups     = []string{"0-14", "15-17", "18-34", "35-59", "60+"}
	areaPattern   = regexp.MustCompile(`^(UA[0-9]{4}|not_stated)$`)
	periodPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)
	uuidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// decode reads and checks a report; a non-zero status refuses it with code
// and detail (which names fields by the contract's names, never a value
// nor a key the contract does not have).
func decode(r *http.Request, data []byte) (rep *report, status int, code, detail string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the body must be application/json"
	}
	if status, code, detail := checkKeys(data); status != 0 {
		return nil, status, code, detail
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	rep = new(report)
	if err := dec.Decode(rep); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			// checkKeys compares keys exactly and finds them first; this
			// is the second lock on the same door.
			return nil, http.StatusUnprocessableEntity, CodePersonalData, "a field the contract does not name"
		}
		return nil, http.StatusBadRequest, CodeInvalid, "the body is not the contract's JSON object: " + jsonProblem(err)
	}
	if status, code, detail := rep.smallCells(); status != 0 {
		return nil, status, code, detail
	}
	if missing := rep.problems(); len(missing) > 0 {
		return nil, http.StatusBadRequest, CodeInvalid, "missing or invalid: " + strings.Join(missing, ", ")
	}
	if key := r.Header.Get("Idempotency-Key"); key == "" || key != rep.ReportID {
		return nil, http.StatusBadRequest, CodeKeyMismatch, "the Idempotency-Key header must be the body's reportId"
	}
	return rep, 0, "", ""
}

// checkKeys walks the JSON text token by token: it must be one object, with
// no data after it, every key of every object (compared exactly, unlike
// encoding/json's field matching) one the contract names at that place,
// and no key twice in one object. An unknown key is CodePersonalData (422);
// anything else wrong, CodeInvalid (400). Values are not checked here.
func checkKeys(data []byte) (status int, code, detail string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return http.StatusBadRequest, CodeInvalid, "the body is not JSON: " + jsonProblem(err)
	}
	if tok != json.Delim('{') {
		return http.StatusBadRequest, CodeInvalid, "the body is not a JSON object"
	}
	if status, code, detail := walkObject(dec, reportShape, ""); status != 0 {
		return status, code, detail
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return http.StatusBadRequest, CodeInvalid, "data after the JSON object"
	}
	return 0, "", ""
}

// walkObject checks the rest of an object whose '{' was read; s nil means
// the contract has no object here, so any key is unknown.
func walkObject(dec *json.Decoder, s *shape, path string) (status int, code, detail string) {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return http.StatusBadRequest, CodeInvalid, "invalid JSON: " + jsonProblem(err)
		}
		key, _ := tok.(string)
		sub, known := (*shape)(nil), false
		if s != nil {
			sub, known = s.keys[key]
		}
		if !known {
			return http.StatusUnprocessableEntity, CodePersonalData, "a field the contract does not name, in " + where(path)
		}
		if seen[key] {
			return http.StatusBadRequest, CodeInvalid, "field " + join(path, key) + " given twice"
		}
		seen[key] = true
		if status, code, detail := walkValue(dec, sub, join(path, key)); status != 0 {
			return status, code, detail
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return http.StatusBadRequest, CodeInvalid, "invalid JSON: " + jsonProblem(err)
	}
	return 0, "", ""
}

// walkValue checks one value of shape s (nil: a scalar is expected).
func walkValue(dec *json.Decoder, s *shape, path string) (status int, code, detail string) {
	tok, err := dec.Token()
	if err != nil {
		return http.StatusBadRequest, CodeInvalid, "invalid JSON: " + jsonProblem(err)
	}
	switch tok {
	case json.Delim('{'):
		if s == nil || s.keys == nil {
			s = nil
		}
		return walkObject(dec, s, path)
	case json.Delim('['):
		var item *shape
		if s != nil {
			item = s.item
		}
		for i := 0; dec.More(); i++ {
			if status, code, detail := walkValue(dec, item, fmt.Sprintf("%s[%d]", path, i)); status != 0 {
				return status, code, detail
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return http.StatusBadRequest, CodeInvalid, "invalid JSON: " + jsonProblem(err)
		}
	}
	return 0, "", ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func where(path string) string {
	if path == "" {
		return "the report"
	}
	return path
}

// smallCells refuses a threshold below MinThreshold or a count below the
// report's threshold (also beside suppressed: a count given is published).
func (rep *report) smallCells() (status int, code, detail string) {
	if rep.SuppressionThreshold == nil {
		return 0, "", "" // missing: a form problem
	}
	if *rep.SuppressionThreshold < MinThreshold {
		return http.StatusUnprocessableEntity, CodeSmallCell, fmt.Sprintf("suppressionThreshold is below %d", MinThreshold)
	}
	for i, c := range rep.Cells {
		if c.Count != nil && *c.Count < *rep.SuppressionThreshold {
			return http.StatusUnprocessableEntity, CodeSmallCell, fmt.Sprintf("cells[%d].count is below the suppression threshold", i)
		}
	}
	return 0, "", ""
}

// problems lists the fields missing or invalid under the contract.
func (rep *report) problems() []string {
	var out []string
	need := func(ok bool, field string) {
		if !ok {
			out = append(out, field)
		}
	}
	need(uuidPattern.MatchString(rep.ReportID), "reportId")
	need(rep.RegistrationBody != nil && rep.RegistrationBody.Code != "", "registrationBody.code")
	need(rep.RegistrationBody != nil && rep.RegistrationBody.Name != "", "registrationBody.name")
	need(periodPattern.MatchString(rep.Period), "period")
	need(rep.SuppressionThreshold != nil, "suppressionThreshold")
	need(rep.Cells != nil, "cells")
	type key struct{ flow, sex, group, area string }
	seen := map[key]bool{}
	for i, c := range rep.Cells {
		name := fmt.Sprintf("cells[%d]", i)
		need(slices.Contains(flows, c.Flow), name+".flow")
		need(slices.Contains(sexes, c.Sex), name+".sex")
		need(slices.Contains(ageGroups, c.AgeGroup), name+".ageGroup")
		need(areaPattern.MatchString(c.Area), name+".area")
		need(c.Suppressed == nil || *c.Suppressed, name+".suppressed")
		need((c.Count == nil) != (c.Suppressed == nil), name+".count|suppressed")
		k := key{c.Flow, c.Sex, c.AgeGroup, c.Area}
		need(!seen[k], name+" (a cell repeated)")
		seen[k] = true
	}
	return out
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
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	}
	return "invalid JSON"
}

// Inspect fetches GET baseURL/inspect from a running simulator. The
// engine's clients upstream.SetConfig, upstream.GetConfig and
// upstream.Reset work on it as on the other simulators.
func Inspect(ctx context.Context, baseURL string) (Inspection, error) {
	return upstream.FetchInspection[Inspection](ctx, baseURL)
}
