// Package jetstream carries the outbox's exchanges through NATS JetStream, so
// that delivery workers on other machines talk to the upstreams while the hub
// keeps the outbox, the leases and the decisions in PostgreSQL.
//
// The hub side is an outbox.Sender: for each exchange the relay asks of it, it
// publishes a request through watermill to the stream REGHUB_OUTBOUND, on the
// subject reghub.outbound.<destination>.<person shard>, and waits for a
// worker's answer on the hub's own reply subject. The worker side consumes
// the stream in a durable queue group per destination, performs the exchange
// with the same SOAP senders the hub would use, and publishes the answer back.
//
// Per-person order holds because the hub forwards only the head of each
// (destination, person) queue and forwards the next message only once the
// previous one's result is durable; the person shard in the subject keeps one
// person's messages on one subject, for inspection and for pinning shards to
// workers. Nothing is lost: an answer that does not come back in time is a
// transient timeout, and the relay resends under the same message id, which
// the upstreams deduplicate.
package jetstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
)

// StreamName is the JetStream stream that holds forwarded exchanges.
const StreamName = "REGHUB_OUTBOUND"

// subjectPrefix is the root of the stream's subjects.
const subjectPrefix = "reghub.outbound."

// Shards is how many subjects a destination's traffic is spread over.
const Shards = 64

// Subject is where an exchange for the person to the destination is published.
func Subject(dest action.Destination, personKey string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(personKey))
	return fmt.Sprintf("%s%s.%d", subjectPrefix, dest, h.Sum32()%Shards)
}

// destinationSubjects matches every shard of one destination.
func destinationSubjects(dest action.Destination) string {
	return subjectPrefix + string(dest) + ".*"
}

// request is one exchange a worker performs on the hub's behalf.
type request struct {
	Message outbox.Message `json:"message"`
	// ReplyTo is the core NATS subject the asking hub listens on.
	ReplyTo string `json:"reply_to"`
	// Deadline: past it the hub has given up waiting and will resend, so a
	// worker that gets the request later drops it instead of sending.
	Deadline time.Time `json:"deadline"`
}

// response is a worker's account of one exchange.
type response struct {
	// Correlation is the request's watermill message UUID.
	Correlation string        `json:"correlation"`
	Reply       *outbox.Reply `json:"reply,omitempty"`
	Error       *wireError    `json:"error,omitempty"`
	Worker      string        `json:"worker"`
}

// wireError is a classified delivery error as it crosses the wire.
type wireError struct {
	Class     outbox.ErrorClass `json:"class"`
	Permanent bool              `json:"permanent"`
	Message   string            `json:"message"`
}

func toWire(err error) *wireError {
	class, permanent := outbox.Classify(err)
	return &wireError{Class: class, Permanent: permanent, Message: err.Error()}
}

func (w *wireError) err() error {
	return &outbox.DeliveryError{Class: w.Class, Permanent: w.Permanent, Err: errors.New(w.Message)}
}

// decodeRequest parses a request from the stream; a request that does not
// parse cannot be answered and is dropped by the worker.
func decodeRequest(b []byte) (request, error) {
	var r request
	if err := json.Unmarshal(b, &r); err != nil {
		return request{}, fmt.Errorf("decode forwarded exchange: %w", err)
	}
	if r.ReplyTo == "" {
		return request{}, errors.New("decode forwarded exchange: no reply subject")
	}
	if r.Message.Destination == "" {
		return request{}, errors.New("decode forwarded exchange: no destination")
	}
	return r, nil
}

// decodeResponse parses a worker's answer; exactly one of reply and error.
func decodeResponse(b []byte) (response, error) {
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		return response{}, fmt.Errorf("decode worker answer: %w", err)
	}
	if (r.Reply == nil) == (r.Error == nil) {
		return response{}, errors.New("decode worker answer: need exactly one of reply and error")
	}
	return r, nil
}
