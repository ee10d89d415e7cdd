package upstream

import (
	"context"
	"encoding/xml"
	"log/slog"
	"net/http"
)

// ControlMux returns the mux of a simulator that keeps what it received
// itself, beside its Engine, with the control endpoints:
//
//	GET  /inspect               inspect(), as indented JSON
//	POST /reset                 reset(), then 204 No Content
//	GET  /config, PUT /config   the engine's, served by engine
//	GET  /healthz               the engine's, served by engine
//
// where engine is NewHandler's handler over the simulator's Engine and
// reset forgets the simulator's state and the Engine's (Engine.Reset).
// The simulator adds its service's endpoints: a REST path, or "/" to
// engine for SOAP.
func ControlMux[I any](engine http.Handler, inspect func() I, reset func(), logger *slog.Logger) *http.ServeMux {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /inspect", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, inspect())
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		reset()
		logger.Info("reset")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("GET /config", engine)
	mux.Handle("PUT /config", engine)
	mux.Handle("GET /healthz", engine)
	return mux
}

// FetchInspection fetches GET baseURL/inspect from a running simulator
// that answers its own inspection, I (see ControlMux). The engine's
// clients SetConfig, GetConfig and Reset work on it as on the others.
func FetchInspection[I any](ctx context.Context, baseURL string) (I, error) {
	var in I
	err := FetchJSON(ctx, baseURL, "/inspect", &in)
	return in, err
}

// DecodeAnswer decodes a SOAP answer's Body element into a new T, a
// generated response type: the simulators' tests' way to read an answer.
// A SOAP fault is returned as the *Fault error; another element is an
// error if T names its element (the generated types' XMLName does).
func DecodeAnswer[T any](data []byte) (*T, error) {
	var fault *Fault
	env, err := DecodeEnvelope(data, func(name xml.Name) any {
		if name == (xml.Name{Space: NSEnvelope, Local: "Fault"}) {
			fault = new(Fault)
			return fault
		}
		return new(T)
	})
	switch {
	case err != nil:
		return nil, err
	case fault != nil:
		return nil, fault
	}
	return env.Body.(*T), nil
}
