// Package ops is how operators resolve failed deliveries: see the backlog and
// what is stuck and why, retry, cancel, acknowledge by hand, pause a
// destination. Every step that changes something is recorded with who, when,
// what and why, in the same transaction as the change.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
)

// Errors the service returns; the HTTP adapter maps each to one status.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: the target is not in a state the operation applies to.
	ErrConflict = errors.New("operation does not apply in the current state")
	// ErrInvalid: the request lacks what the operation needs.
	ErrInvalid = errors.New("invalid operation request")
)

// Actor is who performs a step.
type Actor struct {
	ID   string
	Role string
}

// System is the actor of steps the hub takes by itself (the circuit breaker).
var System = Actor{ID: "reghub", Role: "system"}

// Step is one recorded operator step.
type Step struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	Role      string          `json:"role"`
	Operation string          `json:"operation"`
	Target    string          `json:"target"`
	Reason    string          `json:"reason,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
}

// Operations recorded in the step log.
const (
	OpRetry       = "retry"
	OpBulkRetry   = "bulk_retry"
	OpCancel      = "cancel"
	OpAcknowledge = "acknowledge"
	OpPause       = "pause"
	OpResume      = "resume"
	OpCircuitOpen = "circuit_open"
	OpCircuitShut = "circuit_close"
)

// Filter selects deliveries.
type Filter struct {
	Statuses    []action.DeliveryStatus
	Destination action.Destination
	ErrorClass  string
	Kind        action.Kind
	// OlderThan keeps deliveries created at least this long ago.
	OlderThan time.Duration
	Cursor    string
	Limit     int
}

// Empty reports whether the filter selects everything (bulk operations
// refuse that: an operator must say what they mean).
func (f Filter) Empty() bool {
	return len(f.Statuses) == 0 && f.Destination == "" && f.ErrorClass == "" && f.Kind == "" && f.OlderThan == 0
}

// Delivery is one outbox message as operators see it.
type Delivery struct {
	MessageID     uuid.UUID             `json:"message_id"`
	ActionID      uuid.UUID             `json:"action_id"`
	ActionRef     string                `json:"action_reference"`
	Kind          action.Kind           `json:"kind"`
	Destination   action.Destination    `json:"destination"`
	Status        action.DeliveryStatus `json:"status"`
	ActionStatus  action.Status         `json:"action_status"`
	Attempts      int                   `json:"attempts"`
	LastError     string                `json:"last_error,omitempty"`
	ErrorClass    string                `json:"error_class,omitempty"`
	UpstreamRef   string                `json:"upstream_reference,omitempty"`
	Receipt       string                `json:"receipt,omitempty"`
	CreatedAt     time.Time             `json:"created_at"`
	UpdatedAt     time.Time             `json:"updated_at"`
	NextAttemptAt *time.Time            `json:"next_attempt_at,omitempty"`
	Body          []byte                `json:"-"`
}

// Attempt is one recorded exchange with an upstream.
type Attempt struct {
	Number     int           `json:"number"`
	Stage      string        `json:"stage"`
	StartedAt  time.Time     `json:"started_at"`
	Duration   time.Duration `json:"duration_ns"`
	Outcome    string        `json:"outcome"`
	ErrorClass string        `json:"error_class,omitempty"`
	Detail     string        `json:"detail,omitempty"`
}

// DeliveryDetail is one delivery with the message sent and its attempts.
type DeliveryDetail struct {
	Delivery
	Message  string     `json:"message"`
	History  []Attempt  `json:"attempts_log"`
	Steps    []Step     `json:"operator_steps"`
	Blocking *uuid.UUID `json:"blocked_by,omitempty"`
}

// DestinationState is a destination's backlog and switches.
type DestinationState struct {
	Name             action.Destination `json:"destination"`
	Paused           bool               `json:"paused"`
	PausedReason     string             `json:"paused_reason,omitempty"`
	Circuit          string             `json:"circuit"`
	CircuitOpenUntil *time.Time         `json:"circuit_open_until,omitempty"`
	Counts           map[string]int     `json:"counts"`
	OldestPending    *time.Time         `json:"oldest_pending_at,omitempty"`
}

// Store is the persistence port of operations. Each mutating method records
// the step in the same transaction as the change.
type Store interface {
	ListDeliveries(ctx context.Context, f Filter) ([]Delivery, string, error)
	Delivery(ctx context.Context, id uuid.UUID) (*Delivery, []Attempt, error)
	Destinations(ctx context.Context) ([]DestinationState, error)
	// Retry makes dead, rejected or pending deliveries due now with a fresh
	// attempt budget; ids or a filter select them. It returns how many.
	Retry(ctx context.Context, step Step, ids []uuid.UUID, f *Filter) (int, error)
	// CountRetryable counts the deliveries Retry with filter f would retry
	// now; it changes nothing.
	CountRetryable(ctx context.Context, f Filter) (int, error)
	CancelAction(ctx context.Context, step Step, actionID uuid.UUID) error
	Acknowledge(ctx context.Context, step Step, messageID uuid.UUID, reference string) error
	SetPaused(ctx context.Context, step Step, dest action.Destination, paused bool) error
	Steps(ctx context.Context, target string, limit int) ([]Step, error)
}

// Service performs operator steps.
type Service struct {
	store  Store
	render func(Delivery) ([]byte, error)
	// changed is told after a step that may have made deliveries due.
	changed func()
	now     func() time.Time
}

// NewService wires the service. render shows the message a delivery sends;
// changed, told after steps that make deliveries due, may be nil.
func NewService(store Store, render func(Delivery) ([]byte, error), changed func()) *Service {
	if changed == nil {
		changed = func() {}
	}
	return &Service{store: store, render: render, changed: changed, now: time.Now}
}

// RenderWith returns a render function that asks each destination's Sender
// to render the message, where the Sender can.
func RenderWith(senders map[action.Destination]outbox.Sender) func(Delivery) ([]byte, error) {
	return func(d Delivery) ([]byte, error) {
		r, ok := senders[d.Destination].(outbox.Renderer)
		if !ok {
			return nil, fmt.Errorf("destination %q cannot render its messages", d.Destination)
		}
		return r.Render(outbox.Message{
			ID: d.MessageID, ActionID: d.ActionID, ActionRef: d.ActionRef, Destination: d.Destination,
			Kind: d.Kind, Body: d.Body, Stage: outbox.StageSend, CreatedAt: d.CreatedAt,
		})
	}
}

func (s *Service) step(a Actor, op, target, reason string, details any) (Step, error) {
	var raw json.RawMessage
	if details != nil {
		b, err := json.Marshal(details)
		if err != nil {
			return Step{}, fmt.Errorf("encode step details: %w", err)
		}
		raw = b
	}
	return Step{At: s.now(), Actor: a.ID, Role: a.Role, Operation: op, Target: target, Reason: strings.TrimSpace(reason), Details: raw}, nil
}

// Deliveries lists deliveries matching f.
func (s *Service) Deliveries(ctx context.Context, f Filter) ([]Delivery, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	return s.store.ListDeliveries(ctx, f)
}

// Show returns one delivery with the SOAP message it sends (rendered as the
// relay renders it), every attempt and every operator step on it.
func (s *Service) Show(ctx context.Context, id uuid.UUID) (*DeliveryDetail, error) {
	d, attempts, err := s.store.Delivery(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &DeliveryDetail{Delivery: *d, History: attempts}
	msg, err := s.render(*d)
	out.Message = string(msg)
	if err != nil {
		out.Message = "message cannot be rendered: " + err.Error()
	}
	out.Steps, err = s.store.Steps(ctx, "delivery:"+id.String(), 100)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Destinations returns each destination's backlog, pause and circuit state.
func (s *Service) Destinations(ctx context.Context) ([]DestinationState, error) {
	return s.store.Destinations(ctx)
}

// Retry makes one delivery due again.
func (s *Service) Retry(ctx context.Context, a Actor, id uuid.UUID, reason string) error {
	st, err := s.step(a, OpRetry, "delivery:"+id.String(), reason, nil)
	if err != nil {
		return err
	}
	n, err := s.store.Retry(ctx, st, []uuid.UUID{id}, nil)
	if err != nil {
		return err
	}
	if n == 0 {
		if _, _, err := s.store.Delivery(ctx, id); err != nil {
			return err // ErrNotFound: no such delivery
		}
		return fmt.Errorf("%w: delivery %s is neither dead nor waiting to be sent (or a relay is sending it now)", ErrConflict, id)
	}
	s.changed()
	return nil
}

// BulkRetry retries every dead (or otherwise selected) delivery matching f;
// an empty filter is refused.
func (s *Service) BulkRetry(ctx context.Context, a Actor, f Filter, reason string) (int, error) {
	f, err := bulkFilter(f)
	if err != nil {
		return 0, err
	}
	st, err := s.step(a, OpBulkRetry, "deliveries", reason, filterDetails(f))
	if err != nil {
		return 0, err
	}
	n, err := s.store.Retry(ctx, st, nil, &f)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.changed()
	}
	return n, nil
}

// CountMatching says how many deliveries BulkRetry with f would retry now,
// and changes nothing: the confirmation an operator sees before a bulk retry.
func (s *Service) CountMatching(ctx context.Context, f Filter) (int, error) {
	f, err := bulkFilter(f)
	if err != nil {
		return 0, err
	}
	return s.store.CountRetryable(ctx, f)
}

// bulkFilter is the filter a bulk retry applies: an empty one is refused,
// and without a status it selects the dead deliveries.
func bulkFilter(f Filter) (Filter, error) {
	if f.Empty() {
		return f, fmt.Errorf("%w: a bulk retry needs a filter (status, destination, error class, kind or age)", ErrInvalid)
	}
	if len(f.Statuses) == 0 {
		f.Statuses = []action.DeliveryStatus{action.DeliveryDead}
	}
	return f, nil
}

func filterDetails(f Filter) map[string]any {
	d := map[string]any{}
	if len(f.Statuses) > 0 {
		d["status"] = f.Statuses
	}
	if f.Destination != "" {
		d["destination"] = f.Destination
	}
	if f.ErrorClass != "" {
		d["error_class"] = f.ErrorClass
	}
	if f.Kind != "" {
		d["kind"] = f.Kind
	}
	if f.OlderThan > 0 {
		d["older_than"] = f.OlderThan.String()
	}
	return d
}

// Cancel cancels an action: its unresolved deliveries are not sent, and the
// local registry hears of it through the action's status.
func (s *Service) Cancel(ctx context.Context, a Actor, actionID uuid.UUID, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: a cancellation needs a reason", ErrInvalid)
	}
	st, err := s.step(a, OpCancel, "action:"+actionID.String(), reason, nil)
	if err != nil {
		return err
	}
	return s.store.CancelAction(ctx, st, actionID)
}

// Acknowledge records by hand that an upstream applied a delivery, confirmed
// out of band with its reference.
func (s *Service) Acknowledge(ctx context.Context, a Actor, id uuid.UUID, reference, justification string) error {
	if strings.TrimSpace(reference) == "" || strings.TrimSpace(justification) == "" {
		return fmt.Errorf("%w: acknowledging by hand needs the upstream's reference and a justification", ErrInvalid)
	}
	st, err := s.step(a, OpAcknowledge, "delivery:"+id.String(), justification, map[string]string{"reference": reference})
	if err != nil {
		return err
	}
	if err := s.store.Acknowledge(ctx, st, id, strings.TrimSpace(reference)); err != nil {
		return err
	}
	s.changed()
	return nil
}

// Pause stops deliveries to a destination: they wait instead of failing.
func (s *Service) Pause(ctx context.Context, a Actor, dest action.Destination, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: pausing a destination needs a reason", ErrInvalid)
	}
	st, err := s.step(a, OpPause, "destination:"+string(dest), reason, nil)
	if err != nil {
		return err
	}
	return s.store.SetPaused(ctx, st, dest, true)
}

// Resume lets deliveries to a destination flow again.
func (s *Service) Resume(ctx context.Context, a Actor, dest action.Destination, reason string) error {
	st, err := s.step(a, OpResume, "destination:"+string(dest), reason, nil)
	if err != nil {
		return err
	}
	if err := s.store.SetPaused(ctx, st, dest, false); err != nil {
		return err
	}
	s.changed()
	return nil
}

// Steps lists recorded steps, newest first; target "" lists all.
func (s *Service) Steps(ctx context.Context, target string, limit int) ([]Step, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	return s.store.Steps(ctx, target, limit)
}

// ActivityBucket counts the attempts one destination's deliveries made in
// one time bucket: those the upstream (or an operator) acknowledged and
// those that failed or were rejected.
type ActivityBucket struct {
	Start        time.Time
	Destination  string
	Acknowledged int
	Failed       int
}
