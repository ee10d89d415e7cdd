// Package outbox delivers the messages that accepted actions left in the
// transactional outbox: a relay claims due messages in batches, hands each to
// its destination's Sender, and records the outcome, so that an action stays
// pending until every destination acknowledged it.
//
// The relay is the core's; it reaches the database through the Store port and
// the upstreams through the Sender port, both declared here and implemented by
// adapters (adapters/postgres, adapters/soap).
package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
)

// Stage says what the relay must do with a claimed message.
type Stage string

const (
	// StageSend: send (or resend, with the same message id) the message.
	StageSend Stage = "send"
	// StagePoll: the upstream gave a receipt; ask for its decision.
	StagePoll Stage = "poll"
)

// Message is one claimed outbox message.
type Message struct {
	ID          uuid.UUID
	ActionID    uuid.UUID
	ActionRef   string
	Destination action.Destination
	Kind        action.Kind
	// PersonKey names the person whose queue the message is in; messages
	// with one key to one destination are delivered in order.
	PersonKey string
	// Body is the submission as the local registry sent it.
	Body  []byte
	Stage Stage
	// Attempt is the number of this send attempt, from 1.
	Attempt     int
	Receipt     string
	AckDeadline *time.Time
	ClaimToken  uuid.UUID
	CreatedAt   time.Time
	// Probe: the one message sent to test a destination whose circuit is
	// open; its outcome closes or reopens the circuit.
	Probe bool
}

// Switches is a destination's pause and circuit-breaker state.
type Switches struct {
	Destination action.Destination
	Paused      bool
	Circuit     string // closed, open or half_open
	OpenUntil   *time.Time
	// ProbeDue: the circuit's cool-down is over and no relay is probing.
	ProbeDue bool
}

// ReplyKind is what an upstream said about a message.
type ReplyKind string

const (
	// ReplyAcknowledged: applied; Reference is the upstream's record reference.
	ReplyAcknowledged ReplyKind = "acknowledged"
	// ReplyReceipt: accepted for processing; Reference is the receipt to poll with.
	ReplyReceipt ReplyKind = "receipt"
	// ReplyPending: polled, still no decision.
	ReplyPending ReplyKind = "pending"
	// ReplyRejected: refused on business grounds; never retried.
	ReplyRejected ReplyKind = "rejected"
)

// Reply is an upstream's answer to a send or a poll.
type Reply struct {
	Kind       ReplyKind
	Reference  string
	ReasonCode string
	Reason     string
}

// Sender delivers messages to one destination.
type Sender interface {
	// Send delivers the message; resending the same message id must not be
	// applied twice upstream.
	Send(ctx context.Context, m Message) (Reply, error)
	// Poll asks for the decision on a message that got a receipt.
	Poll(ctx context.Context, m Message) (Reply, error)
}

// Renderer is implemented by Senders that can show the message they send,
// for operators.
type Renderer interface {
	Render(m Message) ([]byte, error)
}

// ErrorClass names why a delivery attempt failed, for operators and metrics.
type ErrorClass string

// The classes a Sender reports. Transport, timeout, 5xx and SOAP server faults
// are transient; client faults, other 4xx, unmappable messages are permanent;
// a malformed answer is transient (the resend is deduplicated upstream).
const (
	ClassTransport       ErrorClass = "transport"
	ClassTimeout         ErrorClass = "timeout"
	ClassHTTP5xx         ErrorClass = "http_5xx"
	ClassHTTP4xx         ErrorClass = "http_4xx"
	ClassSOAPServerFault ErrorClass = "soap_server_fault"
	ClassSOAPClientFault ErrorClass = "soap_client_fault"
	ClassMalformedReply  ErrorClass = "malformed_reply"
	ClassMapping         ErrorClass = "mapping"
	ClassAckTimeout      ErrorClass = "ack_timeout"
	ClassNoSender        ErrorClass = "no_sender"
	// ClassNoRoute: no recipient is known for the message (a community
	// missing from the routing directory); permanent, so the delivery ends
	// dead for operators to see.
	ClassNoRoute ErrorClass = "no_route"
)

// DeliveryError is a classified failure of one attempt.
type DeliveryError struct {
	Class     ErrorClass
	Permanent bool
	Err       error
}

func (e *DeliveryError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s (%s): %v", e.Class, kind, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Transient wraps err as a failure worth retrying.
func Transient(class ErrorClass, err error) error {
	return &DeliveryError{Class: class, Err: err}
}

// Permanent wraps err as a failure that retrying cannot fix.
func Permanent(class ErrorClass, err error) error {
	return &DeliveryError{Class: class, Permanent: true, Err: err}
}

// Classify returns the class and permanence of err; an unclassified error
// counts as a transient transport failure, since losing a message is worse
// than one more attempt.
func Classify(err error) (ErrorClass, bool) {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Class, de.Permanent
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ClassTimeout, false
	}
	return ClassTransport, false
}
