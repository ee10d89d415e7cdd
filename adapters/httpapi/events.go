package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/auth"
)

// maxWait bounds a long poll: under common proxies' idle timeouts.
const maxWait = 60 * time.Second

type eventsView struct {
	Items      []action.Event `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

// events is the pull feed of status changes and notices (GET /v1/events):
// a registry reads its own actions' changes and the notices relayed to it,
// operators and auditors everyone's.
func (a *api) events(w http.ResponseWriter, r *http.Request) {
	if a.Feed == nil {
		writeProblem(w, r, http.StatusServiceUnavailable, "unavailable", "Service Unavailable", "the event feed is not configured")
		return
	}
	q := r.URL.Query()
	for k := range q {
		if k != "after" && k != "limit" && k != "wait" {
			writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", "unknown query parameter "+strconv.Quote(k))
			return
		}
	}
	limit := 100
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", "limit must be a whole number from 1 to 1000")
			return
		}
		limit = n
	}
	var wait time.Duration
	if ws := q.Get("wait"); ws != "" {
		d, err := time.ParseDuration(ws)
		if err != nil || d < 0 || d > maxWait {
			writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", "wait must be a duration from 0s to 60s, e.g. 25s")
			return
		}
		wait = d
	}
	c := clientFrom(r.Context())
	evs, next, err := a.Feed.Read(r.Context(), ownerFilter(c), q.Get("after"), limit, wait)
	if errors.Is(err, action.ErrBadCursor) {
		writeProblem(w, r, http.StatusBadRequest, "invalid-parameter", "Bad Request", "after is not a cursor this feed issued")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if evs == nil {
		evs = []action.Event{}
	}
	writeJSON(w, http.StatusOK, eventsView{Items: evs, NextCursor: next})
}

var eventReaders = []auth.Role{auth.RoleRegistry, auth.RoleOperator, auth.RoleAuditor, auth.RoleAdmin}
