package upstream

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/reghub/reghub/schemas/xroad"
)

// maxRequestBody bounds a SOAP request.
const maxRequestBody = 4 << 20

// Operation is one SOAP operation of a simulated service.
type Operation struct {
	// Name is the WSDL operation name, e.g. "OtgToDms".
	Name string
	// Action is the SOAPAction URI of the WSDL binding.
	Action string
	// Element is the request's Body element; the operation is chosen by it.
	Element xml.Name
	// New returns a fresh request value (a generated type) to decode into.
	New func() any
	// Serve handles a decoded request and returns the whole response
	// envelope (see Call.Respond). A *Fault error is answered as that
	// fault; any other error as a Server fault.
	Serve func(ctx context.Context, call *Call) ([]byte, error)
}

// Call is one decoded SOAP request.
type Call struct {
	Operation *Operation
	// Headers are the request's X-Road headers, echoed in the answer.
	Headers xroad.Headers
	// Request is the decoded Body element, as returned by Operation.New.
	Request any
}

// Respond renders the response envelope: the call's X-Road headers echoed
// and payload as the Body.
func (c *Call) Respond(payload any) ([]byte, error) {
	return MarshalEnvelope(&c.Headers, payload)
}

// Service describes a simulated SOAP service for NewHandler.
type Service struct {
	// Name is used in logs and /healthz.
	Name string
	// Paths are extra paths answering SOAP besides /soap and / (for
	// example the WSDL's address path, "/dms").
	Paths      []string
	Operations []Operation
}

// NewHandler serves a simulated service over its engine:
//
//	POST /soap, POST /, POST <Service.Paths>  SOAP 1.1 endpoint
//	GET  /inspect                             Inspection as JSON
//	GET  /config, PUT /config                 Config as JSON
//	POST /reset                               Engine.Reset
//	GET  /healthz                             liveness (also during an outage)
//
// A SOAP request is checked in this order: outage (503, or the connection
// dropped), latency, injected 503 / Server fault / Client fault / malformed
// answer, then its form (envelope, X-Road id, protocolVersion 4.0, known
// Body element, SOAPAction if sent — each a Client fault), then the
// operation; a slow answer is delayed after the operation.
func NewHandler(e *Engine, svc Service, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{engine: e, svc: svc, logger: logger.With("simulator", svc.Name), ops: map[xml.Name]*Operation{}}
	for i := range svc.Operations {
		op := &svc.Operations[i]
		h.ops[op.Element] = op
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /soap", h.soap)
	mux.HandleFunc("POST /{$}", h.soap)
	for _, p := range svc.Paths {
		mux.HandleFunc("POST "+p, h.soap)
	}
	mux.HandleFunc("GET /inspect", h.inspect)
	mux.HandleFunc("GET /config", h.getConfig)
	mux.HandleFunc("PUT /config", h.putConfig)
	mux.HandleFunc("POST /reset", h.reset)
	mux.HandleFunc("GET /healthz", h.healthz)
	return mux
}

type handler struct {
	engine *Engine
	svc    Service
	logger *slog.Logger
	ops    map[xml.Name]*Operation
}

func (h *handler) soap(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		h.engine.ProtocolError()
		writeFault(w, nil, ClientFault("reading request: %v", err))
		return
	}

	adm, err := h.engine.Admit(ctx)
	if err != nil {
		h.logger.Debug("client gone during latency; nothing applied", "err", err)
		return
	}
	switch adm.Fault {
	case FaultOutage:
		h.logger.Debug("outage: request refused", "close", adm.CloseConn)
		if adm.CloseConn {
			// The server closes the connection without an answer.
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, "service unavailable (simulated outage)", http.StatusServiceUnavailable)
		return
	case FaultError:
		http.Error(w, "service unavailable (injected)", http.StatusServiceUnavailable)
		return
	}

	call, fault := h.decode(r, data)
	var echo *xroad.Headers
	if call != nil {
		echo = &call.Headers
	}
	switch adm.Fault {
	case FaultServer:
		writeFault(w, echo, ServerFault("injected server fault"))
		return
	case FaultClient:
		writeFault(w, echo, ClientFault("injected client fault"))
		return
	case FaultMalformed:
		if !adm.Apply {
			writeMalformed(w, nil)
			return
		}
	}
	if fault != nil {
		h.engine.ProtocolError()
		h.logger.Debug("request refused", "fault", fault.String)
		writeFault(w, echo, fault)
		return
	}

	body, err := call.Operation.Serve(ctx, call)
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			h.logger.Error("operation failed", "operation", call.Operation.Name, "err", err)
			f = ServerFault("%s: %v", call.Operation.Name, err)
		}
		if f.IsClient() {
			h.engine.ProtocolError()
			h.logger.Debug("request refused", "operation", call.Operation.Name, "fault", f.String)
		}
		writeFault(w, &call.Headers, f)
		return
	}
	if adm.Fault == FaultMalformed {
		writeMalformed(w, body)
		return
	}
	if adm.Slow > 0 {
		if err := Sleep(ctx, adm.Slow); err != nil {
			h.logger.Debug("client gone before the slow answer", "message_id", call.Headers.ID)
			return
		}
	}
	writeXML(w, http.StatusOK, body)
}

// decode parses the envelope and checks its form. It returns the call, if
// the envelope was readable enough to make one, and a Client fault if the
// request is refused.
func (h *handler) decode(r *http.Request, data []byte) (*Call, *Fault) {
	var op *Operation
	env, err := DecodeEnvelope(data, func(name xml.Name) any {
		if op = h.ops[name]; op == nil {
			return nil
		}
		return op.New()
	})
	if err != nil {
		return nil, ClientFault("malformed SOAP request: %v", err)
	}
	if env.Header == nil {
		return nil, ClientFault("missing SOAP Header with the X-Road headers")
	}
	call := &Call{Operation: op, Headers: env.Header.Headers(), Request: env.Body}
	switch {
	case call.Headers.ID == "":
		return call, ClientFault("missing X-Road header id")
	case call.Headers.ProtocolVersion != xroad.ProtocolVersion:
		return call, ClientFault("X-Road protocolVersion %q, want %q", call.Headers.ProtocolVersion, xroad.ProtocolVersion)
	case op == nil:
		return call, ClientFault("unknown operation: body element {%s}%s", env.BodyName.Space, env.BodyName.Local)
	}
	if a := strings.Trim(r.Header.Get("SOAPAction"), `"`); a != "" && a != op.Action && a != op.Name {
		return call, ClientFault("SOAPAction %q does not match body element %s (%s)", a, op.Element.Local, op.Action)
	}
	return call, nil
}

// writeMalformed answers 200 with a body that is not well-formed XML: the
// first half of the real answer if there is one.
func writeMalformed(w http.ResponseWriter, body []byte) {
	if len(body) == 0 {
		body = []byte(xml.Header + `<SOAP-ENV:Envelope xmlns:SOAP-ENV="` + NSEnvelope + `"><SOAP-ENV:Body><broken`)
	} else {
		body = body[:len(body)/2]
	}
	writeXML(w, http.StatusOK, body)
}

func (h *handler) inspect(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.engine.Inspect())
}

func (h *handler) getConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.engine.Config())
}

func (h *handler) putConfig(w http.ResponseWriter, r *http.Request) {
	var j configJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		http.Error(w, fmt.Sprintf("config: %v", err), http.StatusBadRequest)
		return
	}
	// One JSON document, nothing after it: a second document or stray text
	// is a mistake of the sender, not something to ignore.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		http.Error(w, "config: data after the JSON object", http.StatusBadRequest)
		return
	}
	if err := h.engine.SetConfig(j.config()); err != nil {
		http.Error(w, fmt.Sprintf("config: %v", err), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, h.engine.Config())
}

func (h *handler) reset(w http.ResponseWriter, _ *http.Request) {
	h.engine.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	// The control plane stays up during a simulated outage; it says so.
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "service": h.svc.Name,
		"outage": h.engine.Config().inOutage(h.engine.now())})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
