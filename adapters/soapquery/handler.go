package soapquery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/adapters/soapenv"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/schemas/xroad"
)

// SOAPAction is the query operation's SOAPAction (query.wsdl).
const SOAPAction = nsQuery + "/Query"

// PurposeHeader is the HTTP header naming the purpose of a personal-data
// transfer on Trembita; a query names exactly one.
const PurposeHeader = "Uxp-Purpose-Ids"

// Asker answers a query body from a requester: *access.Service.
type Asker interface {
	Ask(ctx context.Context, requester access.Requester, body []byte) (access.Answer, error)
	// Refuse records a request refused before it became a query.
	Refuse(ctx context.Context, requester access.Requester, reason access.Reason, detail string) (access.Answer, error)
}

// ClientLookup tells who calls: the client a bearer token belongs to, and
// the requester category the legal-basis catalogue knows it by. Clients
// gives the one over the hub's client store; tests use their own.
type ClientLookup interface {
	// Authenticate resolves a bearer token to its client; an error wrapping
	// auth.ErrUnauthenticated when the token is unknown or revoked.
	Authenticate(ctx context.Context, token string) (*auth.Client, error)
	// Category is the client's requester category ("" when it has none).
	Category(ctx context.Context, c *auth.Client) (string, error)
}

// Clients is the ClientLookup over the hub's client store, resolving tokens
// exactly as the REST API does (auth.Authenticate).
func Clients(s auth.Store) ClientLookup { return storeClients{s} }

type storeClients struct{ store auth.Store }

func (s storeClients) Authenticate(ctx context.Context, token string) (*auth.Client, error) {
	return auth.Authenticate(ctx, s.store, token)
}

// Category is the category kept with the client (auth.Client.Category),
// as the REST API takes it.
func (s storeClients) Category(_ context.Context, c *auth.Client) (string, error) {
	return c.Category, nil
}

// Handler serves the query operation of schemas/query/query.wsdl: SOAP 1.1
// over POST, with the X-Road 4.0 headers, from clients of role authority.
//
//	Authorization: Bearer <token>   the client (HTTP 401 otherwise)
//	X-Road client                   memberCode = the client's id
//	X-Road userId, issue            the official (official.id), the case
//	Uxp-Purpose-Ids                 the purpose id (purpose.id), exactly one
//
// The body becomes the JSON body of POST /v1/queries, and svc.Ask decides
// and answers it, so a SOAP query is validated and recorded exactly as a
// REST one. A granted query is answered (HTTP 200) with its id, its status
// (answered, or pending while a system is down), the decision and the
// records, the X-Road headers echoed; a refused one with a SOAP Client
// fault SOAP-ENV:Client.<reason>, a failed or unhandled one with a Server
// fault (HTTP 500, as SOAP 1.1 over HTTP wants). A nil log logs to
// slog.Default().
func Handler(svc Asker, clients ClientLookup, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return &handler{svc: svc, clients: clients, log: log}
}

type handler struct {
	svc     Asker
	clients ClientLookup
	log     *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.writeFault(w, r, nil, nil, &fault{status: http.StatusMethodNotAllowed, reason: string(access.ReasonMalformed),
			detail: "the query service takes SOAP requests by POST"})
		return
	}
	client, f := h.authenticate(r)
	if f != nil {
		h.writeFault(w, r, nil, nil, f)
		return
	}
	env, f := h.read(w, r)
	if f != nil {
		h.refuse(w, r, client, nil, f)
		return
	}
	echo := &env.Header.Headers
	if f := checkHeaders(env.Header, client); f != nil {
		h.refuse(w, r, client, echo, f)
		return
	}
	purpose, f := purposeID(r.Header)
	if f != nil {
		h.refuse(w, r, client, echo, f)
		return
	}
	body, f := queryJSON(env.Body, outside{official: echo.UserID, caseRef: echo.Issue, purposeID: purpose})
	if f != nil {
		h.refuse(w, r, client, echo, f)
		return
	}
	category, err := h.clients.Category(r.Context(), client)
	if err != nil {
		h.writeFault(w, r, client, echo, internalFault(fmt.Errorf("category of client %s: %w", client.ID, err)))
		return
	}
	ans, err := h.svc.Ask(r.Context(), access.Requester{Org: client.ID, Category: category}, body)
	if err != nil {
		h.writeFault(w, r, client, echo, internalFault(fmt.Errorf("ask: %w", err)))
		return
	}
	switch ans.Status {
	case access.StatusAnswered, access.StatusPending:
	case access.StatusRefused:
		h.writeFault(w, r, client, echo, &fault{reason: string(ans.Decision.Reason), detail: ans.Decision.Detail, queryID: ans.ID.String()})
		return
	case access.StatusFailed:
		h.writeFault(w, r, client, echo, &fault{server: true, reason: ReasonFailed, detail: ans.Error, queryID: ans.ID.String()})
		return
	default:
		h.writeFault(w, r, client, echo, internalFault(fmt.Errorf("answer of query %s has status %q", ans.ID, ans.Status)))
		return
	}
	out, err := soapenv.Render(echo, response(ans))
	if err != nil {
		h.writeFault(w, r, client, echo, internalFault(err))
		return
	}
	h.log.Info("query answered", "query_id", ans.ID, "client", client.ID, "status", ans.Status,
		"x_road_id", echo.ID, "records", len(ans.Records))
	soapenv.Write(w, http.StatusOK, out)
}

// authenticate resolves the bearer token and requires the authority role.
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
		return nil, internalFault(fmt.Errorf("authenticate: %w", err))
	case c == nil:
		return nil, internalFault(errors.New("authenticate: no client and no error"))
	case c.Role != auth.RoleAuthority:
		return c, clientFault(access.ReasonRequesterNotAuthorised, "role %s may not query the register; role authority may", c.Role)
	}
	return c, nil
}

// read checks the request's form (Content-Type, SOAPAction, size) and
// parses its envelope, which must carry X-Road headers.
func (h *handler) read(w http.ResponseWriter, r *http.Request) (*soapenv.Envelope, *fault) {
	data, err := soapenv.ReadRequest(w, r, operation)
	if err != nil {
		return nil, malformed("%v", err)
	}
	env, f := parseEnvelope(data)
	if f != nil {
		return nil, f
	}
	if env.Header == nil {
		return nil, incomplete("a SOAP Header with the X-Road headers is required")
	}
	return env, nil
}

// checkHeaders requires the X-Road headers that identify the message and
// its caller, and that the caller is the authenticated client. userId and
// issue are left to the query's validation (official.id, case), which
// refuses them missing exactly as it would in a REST query, and records it.
func checkHeaders(x *soapenv.Header, c *auth.Client) *fault {
	p := soapenv.CheckHeaders(x, c.ID, 0)
	if p == nil {
		return nil
	}
	switch p.Kind {
	case soapenv.HeaderIncomplete:
		return incomplete("%s", p.Detail)
	case soapenv.HeaderMalformed:
		return malformed("%s", p.Detail)
	}
	return clientFault(access.ReasonRequesterNotAuthorised, "%s", p.Detail)
}

// purposeID reads the one purpose id of Uxp-Purpose-Ids (comma-separated
// ids, possibly over several header lines). None is left to the query's
// validation (purpose.id is required); several are refused: a query serves
// one purpose, which its basis must list.
func purposeID(hdr http.Header) (string, *fault) {
	var ids []string
	for _, line := range hdr.Values(PurposeHeader) {
		for _, id := range strings.Split(line, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		return ids[0], nil
	}
	return "", malformed("%s names %d purposes; a query serves exactly one", PurposeHeader, len(ids))
}

// refuse records a refusal of an authenticated client's request that never
// became a query, then answers it: every refusal is in the access log.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, c *auth.Client, echo *xroad.Headers, f *fault) {
	if f.server || f.err != nil {
		h.writeFault(w, r, c, echo, f)
		return
	}
	category, err := h.clients.Category(r.Context(), c)
	if err != nil {
		h.writeFault(w, r, c, echo, internalFault(fmt.Errorf("category of client %s: %w", c.ID, err)))
		return
	}
	ans, err := h.svc.Refuse(r.Context(), access.Requester{Org: c.ID, Category: category}, access.Reason(f.reason), f.detail)
	if err != nil {
		h.writeFault(w, r, c, echo, internalFault(fmt.Errorf("record refusal: %w", err)))
		return
	}
	f.queryID = ans.ID.String()
	h.writeFault(w, r, c, echo, f)
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
	if f.queryID != "" {
		attrs = append(attrs, "query_id", f.queryID)
	}
	switch {
	case f.err != nil:
		h.log.Error("query failed", append(attrs, "err", f.err)...)
	case f.server:
		h.log.Warn("query failed", attrs...)
	default:
		h.log.Info("query refused", append(attrs, "detail", f.detail)...)
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
