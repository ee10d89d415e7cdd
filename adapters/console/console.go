// Package console is the operators' web console, served by the hub itself
// under /console: server-rendered pages over the operations service. Sign
// in with an operator, auditor or admin token; an auditor sees everything
// and can change nothing.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/ops"
)

//go:embed templates/*.html static/*
var assets embed.FS

// ActivityBucket is one bar group of the activity chart.
type ActivityBucket = ops.ActivityBucket

// ActivitySource counts delivery attempts over time (the PostgreSQL store).
type ActivitySource interface {
	Activity(ctx context.Context, since time.Time, bucket time.Duration) ([]ActivityBucket, error)
}

// Deps is what the console needs.
type Deps struct {
	Ops      *ops.Service
	Clients  auth.Store
	Activity ActivitySource
	Logger   *slog.Logger
}

const (
	cookieName     = "reghub_console"
	sessionTTL     = 8 * time.Hour
	chartSpan      = 6 * time.Hour
	chartBucket    = 15 * time.Minute
	maxFormBytes   = 16 << 10
	lastErrorWidth = 120
)

var (
	deliveryStatuses = []action.DeliveryStatus{action.DeliveryDead, action.DeliveryPending, action.DeliveryAwaitingAck,
		action.DeliveryRejected, action.DeliveryCancelled, action.DeliveryAcknowledged}
	destinations = ops.Destinations
)

type session struct {
	id     string
	client auth.Client
	// tokenHash re-checks the client on every request, so a revoked token
	// ends its console sessions too.
	tokenHash []byte
	csrf      string
	expires   time.Time
}

func (s *session) canAct() bool {
	return s.client.Role == auth.RoleOperator || s.client.Role == auth.RoleAdmin
}

type console struct {
	d     Deps
	log   *slog.Logger
	pages map[string]*template.Template
	now   func() time.Time

	mu       sync.Mutex
	sessions map[string]*session
}

// Handler serves the console under /console/.
func Handler(d Deps) http.Handler {
	c := &console{d: d, log: d.Logger, pages: parsePages(), now: time.Now, sessions: map[string]*session{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /console/login", c.loginPage)
	mux.HandleFunc("POST /console/login", c.login)
	mux.HandleFunc("POST /console/logout", c.post(false, c.logout))
	mux.HandleFunc("GET /console/{$}", c.get(c.dashboard))
	mux.HandleFunc("GET /console/deliveries", c.get(c.deliveries))
	mux.HandleFunc("POST /console/deliveries/retry", c.post(true, c.bulkRetry))
	mux.HandleFunc("GET /console/deliveries/{id}", c.get(c.delivery))
	mux.HandleFunc("POST /console/deliveries/{id}/retry", c.post(true, c.retry))
	mux.HandleFunc("POST /console/deliveries/{id}/acknowledge", c.post(true, c.acknowledge))
	mux.HandleFunc("POST /console/actions/{id}/cancel", c.post(true, c.cancel))
	mux.HandleFunc("POST /console/destinations/{name}/pause", c.post(true, c.pause))
	mux.HandleFunc("POST /console/destinations/{name}/resume", c.post(true, c.resume))
	mux.HandleFunc("GET /console/steps", c.get(c.steps))
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", &view{Title: "Not found", S: c.session(r),
			Error: "There is no page at " + r.URL.Path + "."})
	})
	return securityHeaders(mux)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/console/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// ---- sessions ----

func randomID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("random session id: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (c *console) newSession(cl auth.Client, tokenHash []byte) *session {
	s := &session{id: randomID(), client: cl, tokenHash: tokenHash, csrf: randomID(), expires: c.now().Add(sessionTTL)}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for id, old := range c.sessions {
		if now.After(old.expires) {
			delete(c.sessions, id)
		}
	}
	c.sessions[s.id] = s
	return s
}

// session returns the request's live session, or nil.
func (c *console) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return nil
	}
	c.mu.Lock()
	s, ok := c.sessions[ck.Value]
	if ok && c.now().After(s.expires) {
		delete(c.sessions, ck.Value)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	if s.tokenHash != nil {
		cl, err := c.d.Clients.ClientByTokenHash(r.Context(), s.tokenHash)
		if err != nil || cl.RevokedAt != nil {
			c.endSession(s.id)
			return nil
		}
	}
	return s
}

func (c *console) endSession(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, id)
}

func setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: "/console", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: maxAge,
	})
}

type pageHandler func(w http.ResponseWriter, r *http.Request, s *session)

// get requires a session; without one it sends the browser to sign in.
func (c *console) get(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		h(w, r, s)
	}
}

// post requires a session, the session's CSRF token and, when act is set,
// a role that may act.
func (c *console) post(act bool, h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			c.render(w, r, http.StatusBadRequest, "error", &view{Title: "Bad request", S: s, Error: "The form could not be read."})
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
			c.render(w, r, http.StatusForbidden, "error", &view{Title: "Forbidden", S: s,
				Error: "Forbidden: the form is stale or did not come from this console. Reload the page and try again."})
			return
		}
		if act && !s.canAct() {
			c.render(w, r, http.StatusForbidden, "error", &view{Title: "Forbidden", S: s,
				Error: fmt.Sprintf("Forbidden: the %s role may look but not act.", s.client.Role)})
			return
		}
		h(w, r, s)
	}
}

// ---- sign in / out ----

func (c *console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.session(r) != nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", &view{Title: "Sign in"})
}

func (c *console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.render(w, r, http.StatusBadRequest, "login", &view{Title: "Sign in", Error: "The form could not be read."})
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	cl, err := auth.Authenticate(r.Context(), c.d.Clients, token)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		c.render(w, r, http.StatusUnauthorized, "login", &view{Title: "Sign in", Error: "That token is unknown or was revoked."})
		return
	case err != nil:
		c.internal(w, r, nil, err)
		return
	}
	switch cl.Role {
	case auth.RoleOperator, auth.RoleAuditor, auth.RoleAdmin:
	default:
		c.render(w, r, http.StatusForbidden, "login", &view{Title: "Sign in",
			Error: fmt.Sprintf("The console is for operators, auditors and admins; client %s has the %s role.", cl.ID, cl.Role)})
		return
	}
	if old := c.session(r); old != nil {
		c.endSession(old.id)
	}
	s := c.newSession(*cl, auth.HashToken(token))
	setCookie(w, r, s.id, int(sessionTTL/time.Second))
	c.log.Info("console sign-in", "client", cl.ID, "role", cl.Role)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.endSession(s.id)
	setCookie(w, r, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// ---- rendering ----

// view is everything a page may show.
type view struct {
	Title  string
	Nav    string
	S      *session
	Flash  string
	Error  string
	Reason string

	Destinations []ops.DestinationState
	Chart        *chart

	Filter     filterForm
	Deliveries []ops.Delivery
	NextURL    string
	Count      int
	BackURL    string

	Detail *ops.DeliveryDetail
	XML    string

	Steps []ops.Step

	Statuses  []action.DeliveryStatus
	DestNames []action.Destination
	Kinds     []action.Kind
}

func (v *view) CanAct() bool { return v.S != nil && v.S.canAct() }

func (v *view) CSRF() string {
	if v.S == nil {
		return ""
	}
	return v.S.csrf
}

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"age": func(t time.Time) string { return humanDuration(time.Since(t)) },
		"agePtr": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return humanDuration(time.Since(*t))
		},
		"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"dur":      func(d time.Duration) string { return d.Round(time.Millisecond).String() },
		"truncate": truncate,
		"count":    func(m map[string]int, k string) int { return m[k] },
		"deref":    func(t *time.Time) time.Time { return *t },
		"deliveryID": func(target string) string {
			if id, ok := strings.CutPrefix(target, "delivery:"); ok {
				return id
			}
			return ""
		},
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "dashboard", "deliveries", "confirm", "delivery", "steps", "error"} {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

func (c *console) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	if v.Flash == "" {
		v.Flash = r.URL.Query().Get("flash")
	}
	if v.Error == "" && r.Method == http.MethodGet {
		v.Error = r.URL.Query().Get("error")
	}
	v.Statuses, v.DestNames, v.Kinds = deliveryStatuses, destinations, action.Kinds()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.pages[page].Execute(w, v); err != nil {
		c.log.Error("console: render page", "page", page, "err", err)
	}
}

func (c *console) internal(w http.ResponseWriter, r *http.Request, s *session, err error) {
	c.log.Error("console: request failed", "path", r.URL.Path, "err", err)
	c.render(w, r, http.StatusInternalServerError, "error", &view{Title: "Error", S: s,
		Error: "Something went wrong on the hub; the error was logged."})
}

// opsMessage says what an operations error means to the operator, or
// false when the error is not one of the service's answers.
func opsMessage(err error) (string, int, bool) {
	switch {
	case errors.Is(err, ops.ErrNotFound):
		return err.Error(), http.StatusNotFound, true
	case errors.Is(err, ops.ErrConflict):
		return err.Error(), http.StatusConflict, true
	case errors.Is(err, ops.ErrInvalid):
		return err.Error(), http.StatusUnprocessableEntity, true
	case errors.Is(err, action.ErrBadCursor):
		return "The page link is not one this console made; start again from the first page.", http.StatusBadRequest, true
	}
	return "", 0, false
}

func humanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// redirect answers 303 to path with a flash message or an error.
func redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values, flash, errMsg string) {
	if q == nil {
		q = url.Values{}
	}
	if flash != "" {
		q.Set("flash", flash)
	}
	if errMsg != "" {
		q.Set("error", errMsg)
	}
	if enc := q.Encode(); enc != "" {
		path += "?" + enc
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// ---- dashboard ----

func (c *console) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	dests, err := c.d.Ops.Destinations(r.Context())
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	v := &view{Title: "Dashboard", Nav: "dashboard", S: s, Destinations: dests}
	if c.d.Activity != nil {
		end := c.now().Truncate(chartBucket).Add(chartBucket)
		since := end.Add(-chartSpan)
		buckets, err := c.d.Activity.Activity(r.Context(), since, chartBucket)
		if err != nil {
			c.internal(w, r, s, err)
			return
		}
		v.Chart = buildChart(buckets, since, chartBucket, int(chartSpan/chartBucket))
	}
	c.render(w, r, http.StatusOK, "dashboard", v)
}

// ---- deliveries ----

// filterForm is a filter as the form and links carry it.
type filterForm struct {
	Status, Destination, ErrorClass, Kind, OlderThan string
}

func (f filterForm) values() url.Values {
	q := url.Values{}
	q.Set("status", f.Status)
	q.Set("destination", f.Destination)
	q.Set("error_class", f.ErrorClass)
	q.Set("kind", f.Kind)
	q.Set("older_than", f.OlderThan)
	return q
}

// Query is the filter as a query string.
func (f filterForm) Query() string { return f.values().Encode() }

func readFilter(v url.Values) filterForm {
	f := filterForm{Status: string(action.DeliveryDead)}
	if _, ok := v["status"]; ok {
		f.Status = strings.TrimSpace(v.Get("status"))
	}
	f.Destination = strings.TrimSpace(v.Get("destination"))
	f.ErrorClass = strings.TrimSpace(v.Get("error_class"))
	f.Kind = strings.TrimSpace(v.Get("kind"))
	f.OlderThan = strings.TrimSpace(v.Get("older_than"))
	return f
}

// filter checks the form's fields; it returns what is wrong with the first
// bad one.
func (f filterForm) filter() (ops.Filter, string) {
	var out ops.Filter
	if f.Status != "" {
		st := action.DeliveryStatus(f.Status)
		if !slices.Contains(deliveryStatuses, st) {
			return out, fmt.Sprintf("Status %q is not a delivery status.", f.Status)
		}
		out.Statuses = []action.DeliveryStatus{st}
	}
	if f.Destination != "" {
		out.Destination = action.Destination(f.Destination)
		if !slices.Contains(destinations, out.Destination) {
			return out, fmt.Sprintf("Destination %q is not one of dms, eddr, webhook.", f.Destination)
		}
	}
	if f.Kind != "" {
		out.Kind = action.Kind(f.Kind)
		if _, ok := action.Spec(out.Kind); !ok {
			return out, fmt.Sprintf("Kind %q is not a known action kind.", f.Kind)
		}
	}
	out.ErrorClass = f.ErrorClass
	if f.OlderThan != "" {
		d, err := time.ParseDuration(f.OlderThan)
		if err != nil || d < time.Second {
			return out, fmt.Sprintf("Age %q must be a duration of at least 1s, such as 90s, 10m or 48h.", f.OlderThan)
		}
		out.OlderThan = d
	}
	return out, ""
}

const pageSize = 50

func (c *console) deliveries(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	ff := readFilter(q)
	v := &view{Title: "Deliveries", Nav: "deliveries", S: s, Filter: ff}
	f, bad := ff.filter()
	if bad != "" {
		v.Error = bad
		c.render(w, r, http.StatusBadRequest, "deliveries", v)
		return
	}
	f.Limit, f.Cursor = pageSize, q.Get("cursor")
	items, next, err := c.d.Ops.Deliveries(r.Context(), f)
	if err != nil {
		msg, status, ok := opsMessage(err)
		if !ok {
			c.internal(w, r, s, err)
			return
		}
		v.Error = msg
		c.render(w, r, status, "deliveries", v)
		return
	}
	v.Deliveries = items
	if next != "" {
		nq := ff.values()
		nq.Set("cursor", next)
		v.NextURL = "/console/deliveries?" + nq.Encode()
	}
	c.render(w, r, http.StatusOK, "deliveries", v)
}

func (c *console) bulkRetry(w http.ResponseWriter, r *http.Request, s *session) {
	ff := readFilter(r.PostForm)
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	back := "/console/deliveries?" + ff.Query()
	f, bad := ff.filter()
	if bad != "" {
		redirect(w, r, "/console/deliveries", ff.values(), "", bad)
		return
	}
	if r.PostForm.Get("confirm") != "1" {
		n, err := c.d.Ops.CountMatching(r.Context(), f)
		if err != nil {
			if msg, _, ok := opsMessage(err); ok {
				redirect(w, r, "/console/deliveries", ff.values(), "", msg)
				return
			}
			c.internal(w, r, s, err)
			return
		}
		c.render(w, r, http.StatusOK, "confirm", &view{Title: "Confirm bulk retry", Nav: "deliveries", S: s,
			Filter: ff, Count: n, Reason: reason, BackURL: back})
		return
	}
	n, err := c.d.Ops.BulkRetry(r.Context(), actor(s), f, reason)
	if err != nil {
		if msg, _, ok := opsMessage(err); ok {
			redirect(w, r, "/console/deliveries", ff.values(), "", msg)
			return
		}
		c.internal(w, r, s, err)
		return
	}
	redirect(w, r, "/console/deliveries", ff.values(), fmt.Sprintf("Retried %d deliveries", n), "")
}

func actor(s *session) ops.Actor { return ops.Actor{ID: s.client.ID, Role: string(s.client.Role)} }

// ---- one delivery ----

func (c *console) notFound(w http.ResponseWriter, r *http.Request, s *session, what string) {
	c.render(w, r, http.StatusNotFound, "error", &view{Title: "Not found", S: s, Error: "There is no " + what + "."})
}

func (c *console) delivery(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.notFound(w, r, s, "delivery with id "+strconv.Quote(r.PathValue("id")))
		return
	}
	d, err := c.d.Ops.Show(r.Context(), id)
	if errors.Is(err, ops.ErrNotFound) {
		c.notFound(w, r, s, "delivery with id "+id.String())
		return
	}
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "delivery", &view{Title: "Delivery " + d.ActionRef + " → " + string(d.Destination),
		Nav: "deliveries", S: s, Detail: d, XML: prettyXML(d.Message)})
}

// afterStep answers a step on one delivery: back to its page with what
// happened.
func (c *console) afterStep(w http.ResponseWriter, r *http.Request, s *session, page, flash string, err error) {
	if err != nil {
		msg, _, ok := opsMessage(err)
		if !ok {
			c.internal(w, r, s, err)
			return
		}
		redirect(w, r, page, nil, "", msg)
		return
	}
	redirect(w, r, page, nil, flash, "")
}

func (c *console) retry(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.notFound(w, r, s, "delivery with id "+strconv.Quote(r.PathValue("id")))
		return
	}
	err = c.d.Ops.Retry(r.Context(), actor(s), id, r.PostForm.Get("reason"))
	c.afterStep(w, r, s, "/console/deliveries/"+id.String(), "Retry scheduled: the delivery is due now.", err)
}

func (c *console) acknowledge(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.notFound(w, r, s, "delivery with id "+strconv.Quote(r.PathValue("id")))
		return
	}
	err = c.d.Ops.Acknowledge(r.Context(), actor(s), id, r.PostForm.Get("reference"), r.PostForm.Get("justification"))
	c.afterStep(w, r, s, "/console/deliveries/"+id.String(), "Acknowledged by hand.", err)
}

func (c *console) cancel(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.notFound(w, r, s, "action with id "+strconv.Quote(r.PathValue("id")))
		return
	}
	page := "/console/deliveries"
	if del, err := uuid.Parse(r.PostForm.Get("delivery")); err == nil {
		page += "/" + del.String()
	}
	err = c.d.Ops.Cancel(r.Context(), actor(s), id, r.PostForm.Get("reason"))
	c.afterStep(w, r, s, page, "Action cancelled.", err)
}

// ---- destinations ----

func (c *console) destination(w http.ResponseWriter, r *http.Request, s *session) (action.Destination, bool) {
	d := action.Destination(r.PathValue("name"))
	if !slices.Contains(destinations, d) {
		c.notFound(w, r, s, "destination "+strconv.Quote(string(d)))
		return "", false
	}
	return d, true
}

func (c *console) pause(w http.ResponseWriter, r *http.Request, s *session) {
	d, ok := c.destination(w, r, s)
	if !ok {
		return
	}
	err := c.d.Ops.Pause(r.Context(), actor(s), d, r.PostForm.Get("reason"))
	c.afterStep(w, r, s, "/console/", "Paused "+string(d)+".", err)
}

func (c *console) resume(w http.ResponseWriter, r *http.Request, s *session) {
	d, ok := c.destination(w, r, s)
	if !ok {
		return
	}
	err := c.d.Ops.Resume(r.Context(), actor(s), d, r.PostForm.Get("reason"))
	c.afterStep(w, r, s, "/console/", "Resumed "+string(d)+".", err)
}

// ---- audit trail ----

func (c *console) steps(w http.ResponseWriter, r *http.Request, s *session) {
	steps, err := c.d.Ops.Steps(r.Context(), "", 500)
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "steps", &view{Title: "Audit trail", Nav: "steps", S: s, Steps: steps})
}

// Whoami names the signed-in client and its role.
func (v *view) Whoami() string {
	if v.S == nil {
		return ""
	}
	return fmt.Sprintf("%s (%s)", v.S.client.ID, v.S.client.Role)
}
