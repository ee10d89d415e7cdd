package upstream

import (
	"crypto/sha256"
	"log/slog"
	"maps"
	"strings"
)

// The simulators of the recipients that keep what they received themselves
// (statsim, militarysim, votersim, regbodysim) share with each other, not
// with the Engine's state machine, the way they answer a key once: Dedup
// and its two protocols, SOAPAnswers (by X-Road message id, with the SOAP
// simulators' Refusal) and RESTAnswers (by Idempotency-Key, served by
// IdempotentPost, rest.go); and their control endpoints (ControlMux,
// control.go).

// Digest identifies a request's body under its key: a resend with the same
// digest is the same request.
type Digest [sha256.Size]byte

// Resend is what a key's earlier answer makes of a request.
type Resend int

const (
	// ResendNone: the key has no answer yet; the request is to be decided.
	ResendNone Resend = iota
	// ResendDuplicate: a resend of the same body, answered as the first
	// time.
	ResendDuplicate
	// ResendConflict: the key came before with another body.
	ResendConflict
)

// Dedup remembers the first answer to each key — an Idempotency-Key, an
// X-Road message id — and counts what comes again under a key: a
// duplicate (the same Digest) or a conflict (another one). The zero value
// is ready to use.
//
// It is not safe for concurrent use: its owner keeps it under the lock
// that guards what the answers decided, and holds that lock from Check to
// Keep, so that every key is decided once.
type Dedup[T any] struct {
	kept       map[string]keptAnswer[T]
	duplicates int
	byKey      map[string]int
	conflicts  int
}

type keptAnswer[T any] struct {
	digest Digest
	answer T
}

// Check looks key up: ResendNone for a key with no answer yet;
// ResendDuplicate, counted, with the answer kept, for a key answered
// under digest; ResendConflict, counted, for a key answered under another
// digest.
func (d *Dedup[T]) Check(key string, digest Digest) (T, Resend) {
	k, ok := d.kept[key]
	switch {
	case !ok:
		var zero T
		return zero, ResendNone
	case k.digest != digest:
		d.conflicts++
		var zero T
		return zero, ResendConflict
	}
	d.duplicates++
	if d.byKey == nil {
		d.byKey = map[string]int{}
	}
	d.byKey[key]++
	return k.answer, ResendDuplicate
}

// Keep remembers answer as the first answer to key, sent with digest.
func (d *Dedup[T]) Keep(key string, digest Digest, answer T) {
	if d.kept == nil {
		d.kept = map[string]keptAnswer[T]{}
	}
	d.kept[key] = keptAnswer[T]{digest: digest, answer: answer}
}

// Duplicates counts the duplicates Check found.
func (d *Dedup[T]) Duplicates() int { return d.duplicates }

// DuplicatesByKey returns a copy of the duplicates counted per key; empty,
// never nil, before the first.
func (d *Dedup[T]) DuplicatesByKey() map[string]int {
	if d.byKey == nil {
		return map[string]int{}
	}
	return maps.Clone(d.byKey)
}

// Conflicts counts the conflicts Check found.
func (d *Dedup[T]) Conflicts() int { return d.conflicts }

// Reset forgets every answer and count.
func (d *Dedup[T]) Reset() { *d = Dedup[T]{} }

// SOAPAnswers keeps, for a SOAP simulator that keeps its own state, the
// first answer to every X-Road message id: as with the Engine, a resend of
// an id, whatever its body, is counted as a duplicate and gets that answer
// verbatim; it is never decided twice. Its owner guards it as Dedup says.
type SOAPAnswers struct {
	Dedup[*soapAnswer]
}

// soapAnswer is the first answer to a message id: the response payload,
// and its envelope once rendered.
type soapAnswer struct {
	res  any
	body []byte
}

// Answer answers call, with its owner's lock held: for an X-Road id
// answered before, with that answer; else with the response payload decide
// returns (deciding, and recording what it decided, is decide's part),
// kept before it is rendered, so that a resend is a duplicate even if
// rendering failed (the payload is rendered again for it then).
func (a *SOAPAnswers) Answer(call *Call, logger *slog.Logger, decide func() any) ([]byte, error) {
	id := call.Headers.ID
	if prev, resend := a.Check(id, Digest{}); resend == ResendDuplicate {
		logger.Debug("duplicate", "message_id", id, "count", a.byKey[id])
		if prev.body == nil {
			return call.Respond(prev.res)
		}
		return prev.body, nil
	}
	k := &soapAnswer{res: decide()}
	a.Keep(id, Digest{}, k)
	body, err := call.Respond(k.res)
	if err != nil {
		return nil, err
	}
	k.body = body
	return body, nil
}

// Refusal is the business refusal a SOAP simulator keeping its own state
// answers for message id: ReasonInvalidRequest naming the values missing
// or invalid, if any; else ReasonSimulated for the share of ids
// cfg.RejectionRate picks (RejectByHash); else none (code "").
func Refusal(cfg Config, id string, missing []string) (code, reason string) {
	switch {
	case len(missing) > 0:
		return ReasonInvalidRequest, "missing or invalid: " + strings.Join(missing, ", ")
	case RejectByHash(cfg.Seed, id, cfg.RejectionRate):
		return ReasonSimulated, "rejected by the simulator's rejection rate"
	}
	return "", ""
}
