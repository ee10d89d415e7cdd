package soapnotice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/reghub/reghub/adapters/soapenv"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/notice"
	"github.com/reghub/reghub/schemas/xroad"
)

// Namespace and SOAPAction of the notice service (notice.wsdl).
const (
	Namespace  = "urn:reghub:notice:v1"
	SOAPAction = Namespace + "/Notify"
)

// MaxBody is the largest request read: a notice is a few hundred bytes of
// values, and the reason at most 2,000 characters.
const MaxBody = 64 << 10

var operation = soapenv.Operation{Action: SOAPAction, Aliases: []string{"Notify"}, Noun: "Notify", MaxBody: MaxBody}

// Receiver checks, stores and relays a notice: *notice.Service.
type Receiver interface {
	Receive(ctx context.Context, m notice.Message) (notice.Received, bool, error)
}

// Authenticator resolves a bearer token to its client; an error wrapping
// auth.ErrUnauthenticated when the token is unknown or revoked.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*auth.Client, error)
}

// Clients is the Authenticator over the hub's client store, resolving
// tokens exactly as the REST API does (auth.Authenticate).
func Clients(s auth.Store) Authenticator { return storeClients{s} }

type storeClients struct{ store auth.Store }

func (s storeClients) Authenticate(ctx context.Context, token string) (*auth.Client, error) {
	return auth.Authenticate(ctx, s.store, token)
}

// Config says who may send notices.
type Config struct {
	// DMSMemberCode is the migration service's X-Road member code: the id
	// of the one client (of role authority) that may send notices, and the
	// memberCode its X-Road client header must carry. Required: without it
	// every notice is refused.
	DMSMemberCode string
}

// Handler serves the Notify operation of schemas/notice/notice.wsdl: SOAP
// 1.1 over POST, with the X-Road 4.0 headers, from the migration service
// (see the package documentation for who may send and what is checked). A
// nil log logs to slog.Default().
func Handler(svc Receiver, clients Authenticator, cfg Config, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return &handler{svc: svc, clients: clients, cfg: cfg, log: log}
}

type handler struct {
	svc     Receiver
	clients Authenticator
	cfg     Config
	log     *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.writeFault(w, r, nil, nil, &fault{status: http.StatusMethodNotAllowed, reason: ReasonMalformed,
			detail: "the notice service takes SOAP requests by POST"})
		return
	}
	client, f := h.authenticate(r)
	if f != nil {
		h.writeFault(w, r, client, nil, f)
		return
	}
	env, f := read(w, r)
	if f != nil {
		h.writeFault(w, r, client, nil, f)
		return
	}
	echo := &env.Header.Headers
	if f := checkHeaders(env.Header, client); f != nil {
		h.writeFault(w, r, client, echo, f)
		return
	}
	n, f := noticeOf(env.Body)
	if f != nil {
		h.writeFault(w, r, client, echo, f)
		return
	}
	msg := notice.Message{MessageID: echo.ID, Sender: echo.Client.String(), UserID: echo.UserID, Issue: echo.Issue, Notice: n}
	got, dup, err := h.svc.Receive(r.Context(), msg)
	if err != nil {
		h.writeFault(w, r, client, echo, faultOf(err, n.NoticeID))
		return
	}
	out, err := soapenv.Render(echo, ack(got, dup))
	if err != nil {
		h.writeFault(w, r, client, echo, internalFault(err, n.NoticeID))
		return
	}
	h.log.Info("notice received", "notice", got.ID, "kind", got.Notice.Kind, "client", client.ID,
		"x_road_id", soapenv.Truncate(echo.ID, 100), "duplicate", dup, "action_id", got.ActionID, "recipients", len(got.Recipients))
	soapenv.Write(w, http.StatusOK, out)
}

// authenticate resolves the bearer token and requires the migration
// service's client.
func (h *handler) authenticate(r *http.Request) (*auth.Client, *fault) {
	tok := soapenv.BearerToken(r)
	if tok == "" {
		return nil, &fault{status: http.StatusUnauthorized, reason: ReasonUnauthenticated, detail: "a bearer token is required"}
	}
	c, err := h.clients.Authenticate(r.Context(), tok)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return nil, &fault{status: http.StatusUnauthorized, reason: ReasonUnauthenticated, detail: "the bearer token is unknown or revoked"}
	case err != nil:
		return nil, internalFault(fmt.Errorf("authenticate: %w", err), "")
	case c == nil:
		return nil, internalFault(errors.New("authenticate: no client and no error"), "")
	case h.cfg.DMSMemberCode == "" || c.ID != h.cfg.DMSMemberCode || c.Role != auth.RoleAuthority:
		return c, clientFault(ReasonNotAuthorised, "only the migration service (client %s, role authority) sends notices", soapenv.QuoteShort(h.cfg.DMSMemberCode))
	}
	return c, nil
}

// read checks the request's form (Content-Type, SOAPAction, size) and
// parses its envelope, which must carry X-Road headers.
func read(w http.ResponseWriter, r *http.Request) (*soapenv.Envelope, *fault) {
	data, err := soapenv.ReadRequest(w, r, operation)
	if err != nil {
		return nil, malformed("%v", err)
	}
	env, err := soapenv.Parse(data)
	if err != nil {
		return nil, malformed("%v", err)
	}
	if env.Header == nil {
		return nil, incomplete("a SOAP Header with the X-Road headers is required")
	}
	return env, nil
}

// checkHeaders requires the X-Road headers that identify the message and
// its sender, and that the sender is the authenticated client. userId and
// issue are optional: they are kept with the notice.
func checkHeaders(x *soapenv.Header, c *auth.Client) *fault {
	p := soapenv.CheckHeaders(x, c.ID, 200)
	if p == nil {
		return nil
	}
	switch p.Kind {
	case soapenv.HeaderIncomplete:
		return incomplete("%s", p.Detail)
	case soapenv.HeaderMalformed:
		return malformed("%s", p.Detail)
	}
	return clientFault(ReasonNotAuthorised, "%s", p.Detail)
}

// writeFault answers f, echoing the X-Road headers if they were read, and
// logs it without the request's values.
func (h *handler) writeFault(w http.ResponseWriter, r *http.Request, c *auth.Client, echo *xroad.Headers, f *fault) {
	attrs := []any{"reason", f.reason, "path", r.URL.Path}
	if c != nil {
		attrs = append(attrs, "client", c.ID)
	}
	if echo != nil && echo.ID != "" {
		attrs = append(attrs, "x_road_id", soapenv.Truncate(echo.ID, 100))
	}
	switch {
	case f.err != nil:
		h.log.Error("notice failed", append(attrs, "err", f.err)...)
	default:
		h.log.Info("notice refused", append(attrs, "detail", f.detail)...)
	}
	status := f.status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="reghub"`)
	}
	body, err := soapenv.Render(echo, f.out())
	if err != nil {
		h.log.Error("render fault", "err", err)
		http.Error(w, f.code()+": "+f.detail, status)
		return
	}
	soapenv.Write(w, status, body)
}
