package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/auth"
)

var queriesAnswered = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "reghub_queries_total",
	Help: "Authorities' queries by status (answered, refused, pending, failed) and refusal reason.",
}, []string{"status", "reason"})

func (a *api) queryRoutes() []route {
	return []route{
		{"POST /v1/queries", a.requireRole(a.ask, auth.RoleAuthority)},
		{"GET /v1/queries/{id}", a.requireRole(a.getQuery, auth.RoleAuthority)},
		{"GET /v1/ops/queries/overdue", a.requireRole(a.overdue, auth.RoleOperator, auth.RoleAuditor, auth.RoleAdmin)},
	}
}

// refusalStatus: what is wrong with the request itself is 400; a request
// the requester is not entitled to is 403 (001 §5.6).
func refusalStatus(r access.Reason) int {
	if r == access.ReasonMalformed || r == access.ReasonIncomplete {
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

func (a *api) ask(w http.ResponseWriter, r *http.Request) {
	if a.Queries == nil {
		writeProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Service Unavailable", "queries are not served by this hub")
		return
	}
	c := clientFrom(r.Context())
	body, err := io.ReadAll(io.LimitReader(r.Body, access.MaxQueryBytes+1))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "unreadable-body", "Bad Request", "the request body could not be read")
		return
	}
	ans, err := a.Queries.Ask(r.Context(), access.Requester{Org: c.ID, Category: c.Category}, body)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	queriesAnswered.WithLabelValues(ans.Status, string(ans.Decision.Reason)).Inc()
	switch ans.Status {
	case access.StatusRefused:
		writeProblemValue(w, Problem{
			Type: problemType("query-" + string(ans.Decision.Reason)), Title: "Query refused",
			Status: refusalStatus(ans.Decision.Reason), Detail: ans.Decision.Detail, Instance: r.URL.Path,
			Reason: string(ans.Decision.Reason), QueryID: ans.ID.String(),
		})
	case access.StatusFailed:
		writeProblemValue(w, Problem{
			Type: problemType("query-source-failed"), Title: "Bad Gateway", Status: http.StatusBadGateway,
			Detail: "a source the basis reaches refused the search; the query is logged", Instance: r.URL.Path,
			QueryID: ans.ID.String(),
		})
	case access.StatusPending:
		w.Header().Set("Location", "/v1/queries/"+ans.ID.String())
		writeJSON(w, http.StatusAccepted, ans)
	default:
		writeJSON(w, http.StatusOK, ans)
	}
}

func (a *api) getQuery(w http.ResponseWriter, r *http.Request) {
	if a.Queries == nil {
		writeProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Service Unavailable", "queries are not served by this hub")
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not Found", "no query of yours with that id had to wait")
		return
	}
	ans, err := a.Queries.Get(r.Context(), clientFrom(r.Context()).ID, id)
	if errors.Is(err, access.ErrNoQuery) {
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not Found", "no query of yours with that id had to wait")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

func (a *api) overdue(w http.ResponseWriter, r *http.Request) {
	if a.Queries == nil {
		writeProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Service Unavailable", "queries are not served by this hub")
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", "limit must be 1 to 1000")
			return
		}
		limit = n
	}
	list, err := a.Queries.Overdue(r.Context(), limit)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if list == nil {
		list = []access.Overdue{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"overdue": list})
}
