package upstream

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
)

// Problem codes of the REST simulators' refusals, the code of the JSON
// body {code, detail} of every answer but an acknowledgement.
const (
	// ProblemConflict: the Idempotency-Key came before with another body
	// (409).
	ProblemConflict = "IDEMPOTENCY_CONFLICT"
	// ProblemInvalid: the request's form is wrong (400).
	ProblemInvalid = "INVALID_REQUEST"
	// ProblemKeyMismatch: the Idempotency-Key is missing or not the body's
	// own id (400).
	ProblemKeyMismatch = "IDEMPOTENCY_KEY_MISMATCH"
	// ProblemUnsupportedMedia: the body is not application/json (415).
	ProblemUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	// ProblemTooLarge: the body exceeds the service's bound (413).
	ProblemTooLarge = "REQUEST_TOO_LARGE"
	// ProblemUnavailable: an outage or an injected 503.
	ProblemUnavailable = "UNAVAILABLE"
	// ProblemInternal: an injected Server fault (500).
	ProblemInternal = "INTERNAL_ERROR"
	// ProblemInjectedClient: an injected Client fault (400).
	ProblemInjectedClient = "INJECTED_CLIENT_FAULT"
)

// Keyed is a decoded request of a REST simulator: it names its
// Idempotency-Key (the body's own id, which the service's Decode checked
// the header against).
type Keyed interface {
	IdempotencyKey() string
}

// RESTAnswers keeps, for a REST simulator, the first answer to every
// Idempotency-Key: a resend of the key with the same body (compared as
// canonical JSON) is counted as a duplicate and gets that answer — 200 for
// a first 201, the same status otherwise — and body verbatim; one with
// another body is counted as a conflict and answered 409
// ProblemConflict. Its owner guards it as Dedup says.
type RESTAnswers struct {
	Dedup[restAnswer]
}

// restAnswer is the first answer to an Idempotency-Key: 201 (a resend
// hears 200) or a business refusal, and its body.
type restAnswer struct {
	status int
	body   []byte
}

// answer answers a well-formed request under key whose body has digest d,
// with its owner's lock held: the key's earlier answer, a conflict, or
// decide's new answer, kept for the key's resends. keyAttr names the key
// in logs.
func (a *RESTAnswers) answer(key string, d Digest, logger *slog.Logger, keyAttr string, decide func() (int, []byte)) (int, []byte) {
	prev, resend := a.Check(key, d)
	switch resend {
	case ResendConflict:
		logger.Debug("conflict", keyAttr, key)
		return http.StatusConflict, ProblemJSON(ProblemConflict, "the Idempotency-Key was used before with a different body")
	case ResendDuplicate:
		logger.Debug("duplicate", keyAttr, key, "count", a.byKey[key])
		if prev.status == http.StatusCreated {
			return http.StatusOK, prev.body
		}
		return prev.status, prev.body
	}
	status, body := decide()
	a.Keep(key, d, restAnswer{status: status, body: body})
	return status, body
}

// IdempotentPost serves the one POST operation of a simulated REST/JSON
// service under the Idempotency-Key protocol. It checks, in this order:
// the body is read (413 ProblemTooLarge beyond MaxBody, 400 ProblemInvalid
// if unreadable; a protocol error either way); the Engine admits the
// request (an outage — 503 ProblemUnavailable with Retry-After, or the
// connection dropped —, latency, an injected 503, Server fault as 500
// ProblemInternal, Client fault as 400 ProblemInjectedClient, or a
// malformed answer as 200 with JSON cut short); Decode, the service's
// form; the key's earlier answer in Answers (a duplicate or a conflict);
// then Decide, the service's decision. A malformed answer after deciding
// (the first half of the real answer) and a slow answer come last. Every
// answer is JSON.
type IdempotentPost[R Keyed] struct {
	Engine *Engine
	Logger *slog.Logger
	// Mu is the owner's lock: it guards Answers and what Decide changes,
	// and is held from the key's lookup to its answer being kept.
	Mu      *sync.Mutex
	Answers *RESTAnswers
	// MaxBody bounds a request's body.
	MaxBody int64
	// RefPrefix starts the service's references ("STAT-"): a malformed
	// answer with nothing decided is `{"reference": "` and RefPrefix.
	RefPrefix string
	// KeyAttr names the key in logs ("report_id").
	KeyAttr string
	// Decode reads and checks a request's form; a non-zero status refuses
	// it with a problem of code and detail, and nothing is kept.
	Decode func(r *http.Request, data []byte) (req R, status int, code, detail string)
	// Refuse counts a request Decode refused; nil counts every one as a
	// protocol error (Engine.ProtocolError).
	Refuse func(status int, code string)
	// Decide answers a request whose key is new, with Mu held and cfg the
	// Engine's configuration: 201 with ReferenceJSON, or a business
	// refusal (422 with ProblemJSON). The answer is kept for the key.
	Decide func(req R, cfg Config) (status int, body []byte)
}

func (p *IdempotentPost[R]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.MaxBody))
	if err != nil {
		p.Engine.ProtocolError()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeProblem(w, http.StatusRequestEntityTooLarge, ProblemTooLarge, fmt.Sprintf("the body exceeds %d bytes", p.MaxBody))
			return
		}
		writeProblem(w, http.StatusBadRequest, ProblemInvalid, "the body could not be read")
		return
	}

	adm, err := p.Engine.Admit(ctx)
	if err != nil {
		p.Logger.Debug("client gone during latency; nothing applied", "err", err)
		return
	}
	switch adm.Fault {
	case FaultOutage:
		if adm.CloseConn {
			// The server closes the connection without an answer.
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, ProblemUnavailable, "simulated outage")
		return
	case FaultError:
		writeProblem(w, http.StatusServiceUnavailable, ProblemUnavailable, "injected")
		return
	case FaultServer:
		writeProblem(w, http.StatusInternalServerError, ProblemInternal, "injected server fault")
		return
	case FaultClient:
		writeProblem(w, http.StatusBadRequest, ProblemInjectedClient, "injected client fault")
		return
	case FaultMalformed:
		if !adm.Apply {
			writeMalformedJSON(w, p.RefPrefix, nil)
			return
		}
	}

	req, status, code, detail := p.Decode(r, data)
	if status != 0 {
		if p.Refuse != nil {
			p.Refuse(status, code)
		} else {
			p.Engine.ProtocolError()
		}
		p.Logger.Debug("request refused", "status", status, "code", code, "detail", detail)
		writeProblem(w, status, code, detail)
		return
	}

	key, cfg := req.IdempotencyKey(), p.Engine.Config()
	p.Mu.Lock()
	status, body := p.Answers.answer(key, jsonDigest(data), p.Logger, p.KeyAttr,
		func() (int, []byte) { return p.Decide(req, cfg) })
	p.Mu.Unlock()
	if adm.Fault == FaultMalformed {
		writeMalformedJSON(w, p.RefPrefix, body)
		return
	}
	if adm.Slow > 0 {
		if err := Sleep(ctx, adm.Slow); err != nil {
			p.Logger.Debug("client gone before the slow answer", p.KeyAttr, key)
			return
		}
	}
	writeJSONBody(w, status, body)
}

// problem is the body of every refusal.
type problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// ProblemJSON is the body of a refusal: {"code", "detail"} (no detail if
// empty).
func ProblemJSON(code, detail string) []byte {
	return mustJSON(problem{Code: code, Detail: detail})
}

// ReferenceJSON is the body of an acknowledgement: {"reference"}.
func ReferenceJSON(reference string) []byte {
	return mustJSON(struct {
		Reference string `json:"reference"`
	}{reference})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("upstream: encode %T: %v", v, err))
	}
	return b
}

// jsonDigest is the SHA-256 of a JSON body's canonical form (object keys
// sorted, no insignificant white space), so that a resend encoded
// differently is still the same body; of the bytes themselves if they are
// not JSON (Decode has accepted the body, so they are).
func jsonDigest(data []byte) Digest {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return sha256.Sum256(data)
	}
	return sha256.Sum256(mustJSON(v))
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	writeJSONBody(w, status, ProblemJSON(code, detail))
}

func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeMalformedJSON answers 200 with JSON cut short: the first half of
// the real answer if there is one, else the start of an acknowledgement.
func writeMalformedJSON(w http.ResponseWriter, refPrefix string, body []byte) {
	if len(body) == 0 {
		body = []byte(`{"reference": "` + refPrefix)
	} else {
		body = body[:len(body)/2]
	}
	writeJSONBody(w, http.StatusOK, body)
}
