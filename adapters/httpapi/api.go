// Package httpapi is the hub's REST adapter: the local registry submits
// actions and follows their status here; health, readiness and metrics are
// served beside. The contract is schemas/openapi.yaml; a test checks that
// every route and answer agrees with it. Every error is RFC 9457
// problem+json.
package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/ops"
)

// Deps are what the API needs from the core.
type Deps struct {
	Actions *action.Service
	// Ops serves the operations API under /v1/ops; nil answers it with 503.
	Ops *ops.Service
	// Injunctions serves /v1/ops/injunctions (guards.go); nil answers it
	// with 503.
	Injunctions *ops.Injunctions
	// Feed serves GET /v1/events; nil answers it with 503.
	Feed *action.Feed
	// Queries serves authorities' queries under /v1/queries; nil answers
	// them with 503.
	Queries *access.Service
	Clients auth.Store
	// Ready reports whether the hub can serve: database reachable and
	// migrations applied.
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
}

var (
	requestDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "reghub_http_request_duration_seconds",
		Help:    "HTTP request duration by route and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"route", "code"})
	actionsAccepted = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "reghub_actions_accepted_total",
		Help: "Actions accepted into the outbox, by kind.",
	}, []string{"kind"})
	actionsRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "reghub_actions_refused_total",
		Help: "Submissions refused, by reason.",
	}, []string{"reason"})
)

type api struct {
	Deps
}

// Handler returns the API's routes.
func Handler(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	a := &api{Deps: d}
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.Handle(rt.pattern, a.instrument(rt.pattern, rt.handler))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not Found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

type route struct {
	pattern string
	handler http.Handler
}

func (a *api) routes() []route {
	readers := []auth.Role{auth.RoleRegistry, auth.RoleOperator, auth.RoleAuditor, auth.RoleAdmin}
	return append([]route{
		{"POST /v1/actions", a.requireRole(a.submit, auth.RoleRegistry, auth.RoleAdmin)},
		{"GET /v1/actions/{id}", a.requireRole(a.get, readers...)},
		{"GET /v1/actions", a.requireRole(a.list, readers...)},
		{"GET /v1/events", a.requireRole(a.events, eventReaders...)},
		{"GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		})},
		{"GET /readyz", http.HandlerFunc(a.ready)},
		{"GET /metrics", promhttp.Handler()},
	}, append(append(a.queryRoutes(), a.opsRoutes()...), a.injunctionRoutes()...)...)
}

// Routes lists the API's route patterns ("METHOD /path"), for the test that
// holds them to schemas/openapi.yaml.
func Routes() []string {
	var out []string
	for _, r := range (&api{}).routes() {
		out = append(out, r.pattern)
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (a *api) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		requestDuration.WithLabelValues(route, strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
	})
}

type ctxKey struct{}

func clientFrom(ctx context.Context) *auth.Client {
	c, _ := ctx.Value(ctxKey{}).(*auth.Client)
	return c
}

// requireRole authenticates the bearer token and checks the client's role.
func (a *api) requireRole(h http.HandlerFunc, roles ...auth.Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 9110 §11.1).
		authz := r.Header.Get("Authorization")
		ok := len(authz) > 7 && strings.EqualFold(authz[:7], "bearer ")
		tok := ""
		if ok {
			tok = authz[7:]
		}
		if !ok || strings.TrimSpace(tok) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="reghub"`)
			writeProblem(w, r, http.StatusUnauthorized, "unauthenticated", "Unauthorized", "a bearer token is required")
			return
		}
		c, err := auth.Authenticate(r.Context(), a.Clients, strings.TrimSpace(tok))
		if err != nil {
			if errors.Is(err, auth.ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="reghub", error="invalid_token"`)
				writeProblem(w, r, http.StatusUnauthorized, "unauthenticated", "Unauthorized", "the bearer token is unknown or revoked")
				return
			}
			a.internal(w, r, err)
			return
		}
		for _, role := range roles {
			if c.Role == role {
				h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
				return
			}
		}
		writeProblem(w, r, http.StatusForbidden, "forbidden", "Forbidden", "role "+string(c.Role)+" may not do this")
	}
}

func (a *api) internal(w http.ResponseWriter, r *http.Request, err error) {
	a.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeProblem(w, r, http.StatusInternalServerError, "internal", "Internal Server Error", "the hub could not complete the request; it is logged")
}

// ownerFilter is the client id whose actions a caller may see: a registry
// sees its own, everyone else all.
func ownerFilter(c *auth.Client) string {
	if c.Role == auth.RoleRegistry {
		return c.ID
	}
	return ""
}

const maxIdempotencyKey = 200

func (a *api) submit(w http.ResponseWriter, r *http.Request) {
	c := clientFrom(r.Context())
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > maxIdempotencyKey {
		actionsRefused.WithLabelValues("idempotency_key").Inc()
		writeProblem(w, r, http.StatusBadRequest, "idempotency-key-required", "Idempotency-Key required",
			"send an Idempotency-Key header of 1 to 200 characters, unique per action")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		actionsRefused.WithLabelValues("media_type").Inc()
		writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported Media Type", "send application/json")
		return
	}
	// One byte over the limit is enough for Parse to say it is too large.
	body, err := io.ReadAll(io.LimitReader(r.Body, action.MaxBodyBytes+1))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "unreadable-body", "Bad Request", "the request body could not be read")
		return
	}
	act, created, err := a.Actions.Submit(r.Context(), c.ID, key, body)
	var verr *action.ValidationError
	switch {
	case errors.As(err, &verr):
		actionsRefused.WithLabelValues("validation").Inc()
		writeProblemValue(w, Problem{
			Type: problemType("validation"), Title: "Unprocessable Content", Status: http.StatusUnprocessableEntity,
			Detail: "the submission has invalid fields; nothing was stored", Instance: r.URL.Path, Errors: verr.Fields,
		})
		return
	case refusedByInjunction(w, r, err):
		return
	case errors.Is(err, action.ErrIdempotencyConflict):
		actionsRefused.WithLabelValues("idempotency_conflict").Inc()
		writeProblemValue(w, Problem{
			Type: problemType("idempotency-conflict"), Title: "Conflict", Status: http.StatusConflict,
			Detail: "this Idempotency-Key was used before with a different body", Instance: r.URL.Path, ActionID: act.ID.String(),
		})
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/actions/"+act.ID.String())
	if created {
		actionsAccepted.WithLabelValues(string(act.Kind)).Inc()
		writeJSON(w, http.StatusAccepted, toView(act))
		return
	}
	writeJSON(w, http.StatusOK, toView(act))
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not Found", "no action with that id")
		return
	}
	act, err := a.Actions.Get(r.Context(), ownerFilter(clientFrom(r.Context())), id)
	if errors.Is(err, action.ErrNotFound) {
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not Found", "no action with that id")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toView(act))
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := action.ListFilter{ClientID: ownerFilter(clientFrom(r.Context())), Cursor: q.Get("cursor"), Status: action.Status(q.Get("status"))}
	if f.Status != "" && !f.Status.Valid() {
		writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request",
			"status must be one of pending, completed, rejected, dead, cancelled")
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", "limit must be a whole number from 1 to 500")
			return
		}
		f.Limit = n
	}
	page, err := a.Actions.List(r.Context(), f)
	if errors.Is(err, action.ErrBadCursor) {
		writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", "cursor is not one this API issued")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := listView{Items: make([]actionView, 0, len(page.Actions)), NextCursor: page.NextCursor}
	for i := range page.Actions {
		out.Items = append(out.Items, toView(&page.Actions[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) ready(w http.ResponseWriter, r *http.Request) {
	if a.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Ready(ctx); err != nil {
			writeProblem(w, r, http.StatusServiceUnavailable, "not-ready", "Service Unavailable", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
