package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/guard"
	"github.com/reghub/reghub/ops"
)

// The register's guards (001 §2.5.16–2.5.18) on the API: court injunctions
// under /v1/ops/injunctions (operators and admins keep them, auditors read
// them), the refusal of an action at an enjoined address, and the warnings
// an action carries (view.go).

func (a *api) injunctionRoutes() []route {
	read := func(h http.HandlerFunc) http.HandlerFunc { return a.requireRole(a.withInjunctions(h), opsReaders...) }
	act := func(h http.HandlerFunc) http.HandlerFunc { return a.requireRole(a.withInjunctions(h), opsActors...) }
	return []route{
		{"GET /v1/ops/injunctions", read(a.injunctionList)},
		{"POST /v1/ops/injunctions", act(a.injunctionAdd)},
		{"POST /v1/ops/injunctions/{id}/lift", act(a.injunctionLift)},
	}
}

// withInjunctions answers 503 when the hub was built without injunctions.
func (a *api) withInjunctions(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Injunctions == nil {
			writeProblem(w, r, http.StatusServiceUnavailable, "ops-unavailable", "Service Unavailable",
				"this hub keeps no court injunctions")
			return
		}
		h(w, r)
	}
}

// injunctionBody is an injunction an operator records (schema NewInjunction).
type injunctionBody struct {
	Court      string         `json:"court"`
	Reference  string         `json:"reference"`
	DecidedOn  string         `json:"decided_on"`
	Address    action.Address `json:"address"`
	ValidFrom  string         `json:"valid_from"`
	ValidUntil string         `json:"valid_until"`
	Note       string         `json:"note"`
	Reason     string         `json:"reason"`
}

// injunctionView is an injunction as the API shows it (schema Injunction).
type injunctionView struct {
	ID         string         `json:"id"`
	Court      string         `json:"court"`
	Reference  string         `json:"reference"`
	DecidedOn  string         `json:"decided_on"`
	Address    action.Address `json:"address"`
	ValidFrom  string         `json:"valid_from"`
	ValidUntil string         `json:"valid_until,omitempty"`
	Note       string         `json:"note,omitempty"`
	// Active: in force today (Europe/Kyiv), so it blocks actions now.
	Active     bool       `json:"active"`
	Lifted     bool       `json:"lifted"`
	LiftedAt   *time.Time `json:"lifted_at,omitempty"`
	LiftedBy   string     `json:"lifted_by,omitempty"`
	LiftReason string     `json:"lift_reason,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
}

type injunctionList struct {
	Items []injunctionView `json:"items"`
}

func toInjunction(in *guard.Injunction, today string) injunctionView {
	return injunctionView{
		ID: in.ID.String(), Court: in.Court, Reference: in.Reference, DecidedOn: in.DecidedOn, Address: in.Address,
		ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, Note: in.Note, Active: in.ActiveOn(today),
		Lifted: in.LiftedAt != nil, LiftedAt: utc(in.LiftedAt), LiftedBy: in.LiftedBy, LiftReason: in.LiftReason,
		CreatedAt: in.CreatedAt.UTC(), CreatedBy: in.CreatedBy,
	}
}

func (a *api) injunctionList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !checkQuery(w, r, q, "katottg", "lifted", "limit") {
		return
	}
	f := ops.InjunctionFilter{KATOTTG: q.Get("katottg")}
	switch q.Get("lifted") {
	case "", "false":
	case "true":
		f.Lifted = true
	default:
		badParameter(w, r, "lifted must be true or false")
		return
	}
	if f.KATOTTG != "" && !action.ValidKATOTTG(f.KATOTTG) {
		badParameter(w, r, "katottg must be UA followed by 17 digits")
		return
	}
	var ok bool
	if f.Limit, ok = limitParam(w, r, q, 200, 1000); !ok {
		return
	}
	items, err := a.Injunctions.List(r.Context(), f)
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	today := a.Injunctions.Today()
	out := injunctionList{Items: make([]injunctionView, 0, len(items))}
	for i := range items {
		out.Items = append(out.Items, toInjunction(&items[i], today))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) injunctionAdd(w http.ResponseWriter, r *http.Request) {
	var b injunctionBody
	if !decodeBody(w, r, &b) {
		return
	}
	in, err := a.Injunctions.Add(r.Context(), actor(r), guard.Injunction{
		Court: b.Court, Reference: b.Reference, DecidedOn: b.DecidedOn, Address: b.Address,
		ValidFrom: b.ValidFrom, ValidUntil: b.ValidUntil, Note: b.Note,
	}, b.Reason)
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	opsSteps.WithLabelValues(ops.OpInjunctionAdd).Inc()
	writeJSON(w, http.StatusCreated, toInjunction(in, a.Injunctions.Today()))
}

func (a *api) injunctionLift(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "injunction")
	if !ok {
		return
	}
	var b reasonBody
	if !decodeBody(w, r, &b) {
		return
	}
	in, err := a.Injunctions.Lift(r.Context(), actor(r), id, b.Reason)
	if err != nil {
		a.opsError(w, r, err)
		return
	}
	opsSteps.WithLabelValues(ops.OpInjunctionLift).Inc()
	writeJSON(w, http.StatusOK, toInjunction(in, a.Injunctions.Today()))
}

// injunctionRef is the injunction a refusal names (schema InjunctionRef).
type injunctionRef struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Court     string `json:"court"`
	DecidedOn string `json:"decided_on"`
}

// refusedByInjunction answers a submission an injunction refused, if err is
// that refusal (001 §2.5.17).
func refusedByInjunction(w http.ResponseWriter, r *http.Request, err error) bool {
	var in *action.InjunctionError
	if !errors.As(err, &in) {
		return false
	}
	actionsRefused.WithLabelValues("injunction").Inc()
	writeProblemValue(w, Problem{
		Type: problemType("address-under-injunction"), Title: "Address under court injunction", Status: http.StatusConflict,
		Detail: "a court injunction (" + in.Reference + ", " + in.Court + ", " + in.DecidedOn +
			") forbids registration actions at the address this action concerns (001 §2.5.17); nothing was stored",
		Instance:   r.URL.Path,
		Injunction: &injunctionRef{ID: in.ID, Reference: in.Reference, Court: in.Court, DecidedOn: in.DecidedOn},
	})
	return true
}
