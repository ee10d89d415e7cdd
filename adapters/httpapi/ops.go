package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/ops"
)

// The operations API, under /v1/ops: operators see the backlog and what is
// stuck and why, and act on it; auditors see the same but cannot act. Each
// step an operator takes is recorded by the core with the authenticated
// client as its actor.

var opsSteps = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "reghub_operator_steps_total",
	Help: "Operator steps taken through the API, by operation.",
}, []string{"operation"})

// maxOpsBody bounds the body of an operations request: a reason, a
// reference, a filter.
const maxOpsBody = 16 << 10

var (
	opsReaders = []auth.Role{auth.RoleOperator, auth.RoleAuditor, auth.RoleAdmin}
	opsActors  = []auth.Role{auth.RoleOperator, auth.RoleAdmin}
)

func (a *api) opsRoutes() []route {
	read := func(h http.HandlerFunc) http.HandlerFunc { return a.requireRole(a.withOps(h), opsReaders...) }
	act := func(h http.HandlerFunc) http.HandlerFunc { return a.requireRole(a.withOps(h), opsActors...) }
	return []route{
		{"GET /v1/ops/deliveries", read(a.opsDeliveries)},
		{"GET /v1/ops/deliveries/{id}", read(a.opsShow)},
		{"POST /v1/ops/deliveries/{id}/retry", act(a.opsRetry)},
		{"POST /v1/ops/deliveries/retry", act(a.opsBulkRetry)},
		{"POST /v1/ops/deliveries/{id}/acknowledge", act(a.opsAcknowledge)},
		{"POST /v1/ops/actions/{id}/cancel", act(a.opsCancel)},
		{"GET /v1/ops/destinations", read(a.opsDestinations)},
		{"POST /v1/ops/destinations/{name}/pause", act(a.opsPause)},
		{"POST /v1/ops/destinations/{name}/resume", act(a.opsResume)},
		{"GET /v1/ops/steps", read(a.opsStepList)},
	}
}

// withOps answers 503 when the hub was built without the operations service.
func (a *api) withOps(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Ops == nil {
			writeProblem(w, r, http.StatusServiceUnavailable, "ops-unavailable", "Service Unavailable",
				"this hub serves no operations API")
			return
		}
		h(w, r)
	}
}

func actor(r *http.Request) ops.Actor {
	c := clientFrom(r.Context())
	return ops.Actor{ID: c.ID, Role: string(c.Role)}
}

// opsError answers the error of an operations call.
func (a *api) opsError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ops.ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not Found", err.Error())
	case errors.Is(err, ops.ErrConflict):
		writeProblem(w, r, http.StatusConflict, "conflict", "Conflict", err.Error())
	case errors.Is(err, ops.ErrInvalid):
		writeProblem(w, r, http.StatusUnprocessableEntity, "invalid-request", "Unprocessable Content", err.Error())
	case errors.Is(err, action.ErrBadCursor):
		writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", "cursor is not one this API issued")
	default:
		a.internal(w, r, err)
	}
}

func badParameter(w http.ResponseWriter, r *http.Request, detail string) {
	writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", detail)
}

// pathID parses the {id} of a path; a malformed one names nothing: 404.
func pathID(w http.ResponseWriter, r *http.Request, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not Found", "no "+what+" with id "+strconv.Quote(r.PathValue("id")))
		return uuid.UUID{}, false
	}
	return id, true
}

// decodeBody reads a JSON object of at most maxOpsBody bytes into v,
// refusing unknown fields; on failure it has answered.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported Media Type", "send application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOpsBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errTrailing
		}
	}
	if err == nil {
		return true
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		tooBig *http.MaxBytesError
		detail string
	)
	switch {
	case errors.As(err, &tooBig):
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "body-too-large", "Content Too Large",
			fmt.Sprintf("the body must be at most %d bytes", maxOpsBody))
		return false
	case errors.Is(err, io.EOF):
		detail = "the body is empty; send a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		detail = "the body ends in the middle of a JSON value"
	case errors.Is(err, errTrailing):
		detail = "the body must be exactly one JSON object"
	case errors.As(err, &syntax):
		detail = fmt.Sprintf("the body is not valid JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		if typ.Field == "" {
			detail = "the body must be a JSON object"
		} else {
			detail = fmt.Sprintf("field %q must be of type %s, not a JSON %s", typ.Field, jsonType(typ.Type.String()), typ.Value)
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		detail = "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		detail = "the body could not be read: " + err.Error()
	}
	writeProblem(w, r, http.StatusBadRequest, "invalid-body", "Bad Request", detail)
	return false
}

var errTrailing = errors.New("trailing data after the JSON object")

// jsonType names a Go type of a request field in JSON's terms.
func jsonType(goType string) string {
	switch {
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.HasPrefix(goType, "httpapi."):
		return "object"
	}
	return goType
}

// Request bodies (schemas Reason, Acknowledgement, BulkRetry in openapi.yaml).
type (
	reasonBody struct {
		Reason string `json:"reason"`
	}
	ackBody struct {
		Reference     string `json:"reference"`
		Justification string `json:"justification"`
	}
	filterBody struct {
		Status      []string `json:"status"`
		Destination string   `json:"destination"`
		ErrorClass  string   `json:"error_class"`
		Kind        string   `json:"kind"`
		OlderThan   string   `json:"older_than"`
	}
	bulkRetryBody struct {
		Filter filterBody `json:"filter"`
		Reason string     `json:"reason"`
		DryRun bool       `json:"dry_run"`
	}
)

var (
	deliveryStatuses = []action.DeliveryStatus{action.DeliveryPending, action.DeliveryAwaitingAck, action.DeliveryAcknowledged,
		action.DeliveryRejected, action.DeliveryDead, action.DeliveryCancelled}
	destinations = ops.Destinations
)

// toFilter checks a filter's fields, from a query or a body; where names
// them in the problem's detail ("" for query parameters, "filter." for the
// body). It returns the detail of the first bad field.
func (fb filterBody) toFilter(where string) (ops.Filter, string) {
	var f ops.Filter
	for _, s := range fb.Status {
		st := action.DeliveryStatus(s)
		if !slices.Contains(deliveryStatuses, st) {
			return f, fmt.Sprintf("%sstatus %q is not one of %s", where, s, joinNames(deliveryStatuses))
		}
		if !slices.Contains(f.Statuses, st) {
			f.Statuses = append(f.Statuses, st)
		}
	}
	if fb.Destination != "" {
		f.Destination = action.Destination(fb.Destination)
		if !slices.Contains(destinations, f.Destination) {
			return f, fmt.Sprintf("%sdestination %q is not one of %s", where, fb.Destination, joinNames(destinations))
		}
	}
	if fb.Kind != "" {
		f.Kind = action.Kind(fb.Kind)
		if _, ok := action.Spec(f.Kind); !ok {
			return f, fmt.Sprintf("%skind %q is not a known action kind", where, fb.Kind)
		}
	}
	f.ErrorClass = fb.ErrorClass
	if fb.OlderThan != "" {
		d, err := time.ParseDuration(fb.OlderThan)
		if err != nil || d < time.Second {
			return f, fmt.Sprintf("%solder_than %q must be a duration of at least 1s, such as 90s, 10m or 48h", where, fb.OlderThan)
		}
		f.OlderThan = d
	}
	return f, ""
}

func joinNames[S ~string](names []S) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return strings.Join(out, ", ")
}

// checkQuery refuses parameters the endpoint does not know: a mistyped
// filter must not silently select everything.
func checkQuery(w http.ResponseWriter, r *http.Request, q url.Values, known ...string) bool {
	for k := range q {
		if !slices.Contains(known, k) {
			badParameter(w, r, fmt.Sprintf("unknown parameter %q; this endpoint takes %s", k, strings.Join(known, ", ")))
			return false
		}
	}
	return true
}

// limitParam reads the limit parameter: def when absent, else 1 to max.
func limitParam(w http.ResponseWriter, r *http.Request, q url.Values, def, max int) (int, bool) {
	l := q.Get("limit")
	if l == "" {
		return def, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > max {
		badParameter(w, r, fmt.Sprintf("limit must be a whole number from 1 to %d", max))
		return 0, false
	}
	return n, true
}

func (a *api) opsDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !checkQuery(w, r, q, "status", "destination", "error_class", "kind", "older_than", "cursor", "limit") {
		return
	}
	f, bad := filterBody{
		Status: q["status"], Destination: q.Get("destination"), ErrorClass: q.Get("error_class"),
		Kind: q.Get("kind"), OlderThan: q.Get("older_than"),
	}.toFilter("")
	if bad != "" {
		badParameter(w, r, bad)
		return
	}
	var ok bool
	if f.Limit, ok = limitParam(w, r, q, 100, 500); !ok {
		return
	}
	f.Cursor = q.Get("cursor")
	items, next, err := a.Ops.Deliveries(r.Context(), f)
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	out := opsDeliveryPage{Items: make([]opsDeliveryView, 0, len(items)), NextCursor: next}
	for _, d := range items {
		out.Items = append(out.Items, toOpsDelivery(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) opsShow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "delivery")
	if !ok {
		return
	}
	a.writeDelivery(w, r, id)
}

// writeDelivery answers one delivery in full, as it is now.
func (a *api) writeDelivery(w http.ResponseWriter, r *http.Request, id uuid.UUID) {
	d, err := a.Ops.Show(r.Context(), id)
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toOpsDetail(d))
}

func (a *api) opsRetry(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "delivery")
	if !ok {
		return
	}
	var b reasonBody
	if !decodeBody(w, r, &b) {
		return
	}
	if err := a.Ops.Retry(r.Context(), actor(r), id, b.Reason); err != nil {
		a.opsError(w, r, err)
		return
	}
	opsSteps.WithLabelValues(ops.OpRetry).Inc()
	a.writeDelivery(w, r, id)
}

func (a *api) opsBulkRetry(w http.ResponseWriter, r *http.Request) {
	var b bulkRetryBody
	if !decodeBody(w, r, &b) {
		return
	}
	f, bad := b.Filter.toFilter("filter.")
	if bad != "" {
		writeProblem(w, r, http.StatusBadRequest, "invalid-body", "Bad Request", bad)
		return
	}
	if b.DryRun {
		n, err := a.Ops.CountMatching(r.Context(), f)
		if err != nil {
			a.opsError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, bulkRetryResult{Matching: &n})
		return
	}
	n, err := a.Ops.BulkRetry(r.Context(), actor(r), f, b.Reason)
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	opsSteps.WithLabelValues(ops.OpBulkRetry).Inc()
	writeJSON(w, http.StatusOK, bulkRetryResult{Retried: &n})
}

func (a *api) opsAcknowledge(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "delivery")
	if !ok {
		return
	}
	var b ackBody
	if !decodeBody(w, r, &b) {
		return
	}
	if err := a.Ops.Acknowledge(r.Context(), actor(r), id, b.Reference, b.Justification); err != nil {
		a.opsError(w, r, err)
		return
	}
	opsSteps.WithLabelValues(ops.OpAcknowledge).Inc()
	a.writeDelivery(w, r, id)
}

func (a *api) opsCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "action")
	if !ok {
		return
	}
	var b reasonBody
	if !decodeBody(w, r, &b) {
		return
	}
	if err := a.Ops.Cancel(r.Context(), actor(r), id, b.Reason); err != nil {
		a.opsError(w, r, err)
		return
	}
	opsSteps.WithLabelValues(ops.OpCancel).Inc()
	act, err := a.Actions.Get(r.Context(), "", id)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toView(act))
}

func (a *api) opsDestinations(w http.ResponseWriter, r *http.Request) {
	states, err := a.Ops.Destinations(r.Context())
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	out := destinationList{Items: make([]destinationView, 0, len(states))}
	for _, d := range states {
		out.Items = append(out.Items, toDestination(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) opsPause(w http.ResponseWriter, r *http.Request)  { a.setPaused(w, r, true) }
func (a *api) opsResume(w http.ResponseWriter, r *http.Request) { a.setPaused(w, r, false) }

func (a *api) setPaused(w http.ResponseWriter, r *http.Request, paused bool) {
	dest := action.Destination(r.PathValue("name"))
	var b reasonBody
	if !decodeBody(w, r, &b) {
		return
	}
	set, op := a.Ops.Resume, ops.OpResume
	if paused {
		set, op = a.Ops.Pause, ops.OpPause
	}
	if err := set(r.Context(), actor(r), dest, b.Reason); err != nil {
		a.opsError(w, r, err)
		return
	}
	opsSteps.WithLabelValues(op).Inc()
	states, err := a.Ops.Destinations(r.Context())
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	for _, d := range states {
		if d.Name == dest {
			writeJSON(w, http.StatusOK, toDestination(d))
			return
		}
	}
	a.internal(w, r, fmt.Errorf("destination %q vanished after it was %s", dest, op))
}

func (a *api) opsStepList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !checkQuery(w, r, q, "target", "limit") {
		return
	}
	limit, ok := limitParam(w, r, q, 200, 1000)
	if !ok {
		return
	}
	steps, err := a.Ops.Steps(r.Context(), q.Get("target"), limit)
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	out := stepList{Items: make([]stepView, 0, len(steps))}
	for _, s := range steps {
		out.Items = append(out.Items, toStep(s))
	}
	writeJSON(w, http.StatusOK, out)
}

// Views (schemas OpsDelivery, OpsDeliveryDetail, Destination, OperatorStep,
// BulkRetryResult in openapi.yaml).

type opsDeliveryView struct {
	MessageID     string     `json:"message_id"`
	ActionID      string     `json:"action_id"`
	ActionRef     string     `json:"action_reference"`
	Kind          string     `json:"kind"`
	Destination   string     `json:"destination"`
	Status        string     `json:"status"`
	ActionStatus  string     `json:"action_status"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	ErrorClass    string     `json:"error_class,omitempty"`
	UpstreamRef   string     `json:"upstream_reference,omitempty"`
	Receipt       string     `json:"receipt,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

type opsDeliveryPage struct {
	Items      []opsDeliveryView `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

type attemptView struct {
	Number     int       `json:"number"`
	Stage      string    `json:"stage"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"`
	Outcome    string    `json:"outcome"`
	ErrorClass string    `json:"error_class,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

type opsDetailView struct {
	opsDeliveryView
	// Message is the SOAP envelope the delivery sends, X-Road headers included.
	Message   string        `json:"message"`
	History   []attemptView `json:"attempts_log"`
	Steps     []stepView    `json:"operator_steps"`
	BlockedBy string        `json:"blocked_by,omitempty"`
}

type destinationView struct {
	Destination      string         `json:"destination"`
	Paused           bool           `json:"paused"`
	PausedReason     string         `json:"paused_reason,omitempty"`
	Circuit          string         `json:"circuit"`
	CircuitOpenUntil *time.Time     `json:"circuit_open_until,omitempty"`
	Counts           map[string]int `json:"counts"`
	OldestPending    *time.Time     `json:"oldest_pending_at,omitempty"`
}

type destinationList struct {
	Items []destinationView `json:"items"`
}

type stepView struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	Role      string          `json:"role"`
	Operation string          `json:"operation"`
	Target    string          `json:"target"`
	Reason    string          `json:"reason,omitempty"`
	Details   json.RawMessage `json:"details"`
}

type stepList struct {
	Items []stepView `json:"items"`
}

type bulkRetryResult struct {
	// Matching: a dry run's count; nothing changed.
	Matching *int `json:"matching,omitempty"`
	Retried  *int `json:"retried,omitempty"`
}

func toOpsDelivery(d ops.Delivery) opsDeliveryView {
	return opsDeliveryView{
		MessageID: d.MessageID.String(), ActionID: d.ActionID.String(), ActionRef: d.ActionRef, Kind: string(d.Kind),
		Destination: string(d.Destination), Status: string(d.Status), ActionStatus: string(d.ActionStatus),
		Attempts: d.Attempts, LastError: d.LastError, ErrorClass: d.ErrorClass, UpstreamRef: d.UpstreamRef,
		Receipt: d.Receipt, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), NextAttemptAt: utc(d.NextAttemptAt),
	}
}

func toOpsDetail(d *ops.DeliveryDetail) opsDetailView {
	v := opsDetailView{
		opsDeliveryView: toOpsDelivery(d.Delivery), Message: d.Message,
		History: make([]attemptView, 0, len(d.History)), Steps: make([]stepView, 0, len(d.Steps)),
	}
	for _, at := range d.History {
		v.History = append(v.History, attemptView{
			Number: at.Number, Stage: at.Stage, StartedAt: at.StartedAt.UTC(),
			DurationMS: float64(at.Duration.Microseconds()) / 1000, Outcome: at.Outcome, ErrorClass: at.ErrorClass, Detail: at.Detail,
		})
	}
	for _, s := range d.Steps {
		v.Steps = append(v.Steps, toStep(s))
	}
	if d.Blocking != nil {
		v.BlockedBy = d.Blocking.String()
	}
	return v
}

// backlogStates are the counts every destination shows, zero or not.
var backlogStates = []action.DeliveryStatus{action.DeliveryPending, action.DeliveryAwaitingAck, action.DeliveryDead,
	action.DeliveryRejected, action.DeliveryCancelled}

func toDestination(d ops.DestinationState) destinationView {
	counts := make(map[string]int, len(backlogStates))
	for _, s := range backlogStates {
		counts[string(s)] = 0
	}
	for k, n := range d.Counts {
		counts[k] = n
	}
	return destinationView{
		Destination: string(d.Name), Paused: d.Paused, PausedReason: d.PausedReason, Circuit: d.Circuit,
		CircuitOpenUntil: utc(d.CircuitOpenUntil), Counts: counts, OldestPending: utc(d.OldestPending),
	}
}

func toStep(s ops.Step) stepView {
	details := s.Details
	if len(details) == 0 {
		details = json.RawMessage(`{}`)
	}
	return stepView{
		ID: s.ID, At: s.At.UTC(), Actor: s.Actor, Role: s.Role, Operation: s.Operation,
		Target: s.Target, Reason: s.Reason, Details: details,
	}
}
