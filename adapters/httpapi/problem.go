package httpapi

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem detail. Every error the API answers is one.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists every bad field of a rejected submission.
	Errors any `json:"errors,omitempty"`
	// ActionID points at the action an idempotency conflict concerns.
	ActionID string `json:"action_id,omitempty"`
	// Reason is a refused query's reason code; QueryID its id in the
	// access log.
	Reason  string `json:"reason,omitempty"`
	QueryID string `json:"query_id,omitempty"`
	// Injunction names the court injunction that refused an action.
	Injunction any `json:"injunction,omitempty"`
}

// problemType builds the type URI of a problem; the URN needs no server to
// resolve and says which catalogue the slug belongs to.
func problemType(slug string) string { return "urn:reghub:problem:" + slug }

func writeProblem(w http.ResponseWriter, r *http.Request, status int, slug, title, detail string) {
	writeProblemValue(w, Problem{Type: problemType(slug), Title: title, Status: status, Detail: detail, Instance: r.URL.Path})
}

func writeProblemValue(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
