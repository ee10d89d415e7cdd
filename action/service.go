package action

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Errors the service returns; the HTTP adapter maps each to one status.
var (
	// ErrNotFound: no such action visible to the caller.
	ErrNotFound = errors.New("action not found")
	// ErrIdempotencyConflict: the key was used before with a different body.
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different body")
	// ErrBadCursor: a list cursor the store did not issue.
	ErrBadCursor = errors.New("invalid cursor")
)

// NewAction is a validated submission ready to be stored with its outbox
// messages, one per destination, in one transaction.
type NewAction struct {
	ID             uuid.UUID
	Reference      string
	ClientID       string
	IdempotencyKey string
	BodyHash       []byte
	Kind           Kind
	PersonKey      string
	Body           []byte
	Messages       []NewMessage
	CreatedAt      time.Time
	// Guarded: the addresses no injunction may cover, and the warnings
	// stored with the action (guard.go). Empty without a Guard.
	Guarded Guarded
	// RoutingVersion is the version of the rules that chose Messages'
	// destinations; empty when the kind table did.
	RoutingVersion string
}

// NewMessage is one outgoing message; its ID is the X-Road message id and the
// upstream's idempotency key, so a resend can never be applied twice.
type NewMessage struct {
	ID          uuid.UUID
	Destination Destination
}

// ListFilter selects actions for GET /v1/actions.
type ListFilter struct {
	ClientID string // empty: every client's
	Status   Status // empty: any
	Cursor   string // opaque, from the previous page
	Limit    int
}

// Page is one page of actions.
type Page struct {
	Actions    []Action
	NextCursor string
}

// Store is the persistence port of the action lifecycle.
type Store interface {
	// Insert stores the action and its messages atomically. When the client
	// already used the idempotency key it stores nothing and returns the
	// existing action with created=false; the caller compares body hashes.
	// Otherwise, when an injunction in force on a.Guarded.On covers one of
	// a.Guarded.Addresses, it stores nothing and returns an *InjunctionError,
	// deciding in the transaction that would have stored the action.
	Insert(ctx context.Context, a NewAction) (existing *Action, bodyHash []byte, created bool, err error)
	Get(ctx context.Context, id uuid.UUID) (*Action, error)
	List(ctx context.Context, f ListFilter) (Page, error)
}

// Service accepts submissions and answers status questions.
type Service struct {
	store Store
	now   func() time.Time
	// accepted is told after each commit so an in-process relay can start at
	// once instead of waiting for its next poll.
	accepted func()
	// guard, if set, inspects every submission before it is stored.
	guard Guard
	// router picks each action's recipients; nil: the kind table's.
	router Router
}

// NewService wires the service to its store. now may be nil (time.Now).
func NewService(store Store, now func() time.Time, accepted func()) *Service {
	if now == nil {
		now = time.Now
	}
	if accepted == nil {
		accepted = func() {}
	}
	return &Service{store: store, now: now, accepted: accepted}
}

// Router picks the recipients of a submission (package routing, from
// versioned rules).
type Router interface {
	Route(s *Submission) []Destination
	// RulesVersion is stored with every action routed, so that a change of
	// the rules can be traced in the actions it touched.
	RulesVersion() string
}

// SetRouter makes the router, not the kind table, choose each action's
// recipients. Call it before serving.
func (s *Service) SetRouter(r Router) { s.router = r }

// SetGuard makes every submission pass the register's guards (001
// §2.5.16–2.5.18) before it is stored. Call it before serving.
func (s *Service) SetGuard(g Guard) { s.guard = g }

// Submit validates and durably accepts a submission. created is false when the
// same key and body were accepted before (the original action is returned).
func (s *Service) Submit(ctx context.Context, clientID, idemKey string, body []byte) (*Action, bool, error) {
	now := s.now()
	sub, err := Parse(body, now)
	if err != nil {
		return nil, false, err
	}
	spec, _ := Spec(sub.Kind) // Parse rejected unknown kinds
	hash, err := bodyHash(body)
	if err != nil {
		return nil, false, fmt.Errorf("hash body: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, fmt.Errorf("new action id: %w", err)
	}
	na := NewAction{
		ID:             id,
		Reference:      "RH-" + id.String(),
		ClientID:       clientID,
		IdempotencyKey: idemKey,
		BodyHash:       hash,
		Kind:           sub.Kind,
		PersonKey:      sub.PersonKey(),
		Body:           body,
		CreatedAt:      now,
	}
	dests := spec.Destinations
	if s.router != nil {
		dests, na.RoutingVersion = s.router.Route(sub), s.router.RulesVersion()
	}
	for _, d := range dests {
		mid, err := uuid.NewV7()
		if err != nil {
			return nil, false, fmt.Errorf("new message id: %w", err)
		}
		na.Messages = append(na.Messages, NewMessage{ID: mid, Destination: d})
	}
	if s.guard != nil {
		if na.Guarded, err = s.guard.Inspect(ctx, sub, now); err != nil {
			return nil, false, fmt.Errorf("guard action: %w", err)
		}
	}
	existing, prevHash, created, err := s.store.Insert(ctx, na)
	if err != nil {
		return nil, false, fmt.Errorf("store action: %w", err)
	}
	if !created {
		if !bytes.Equal(prevHash, hash) {
			return existing, false, ErrIdempotencyConflict
		}
		return existing, false, nil
	}
	s.accepted()
	return na.Accepted(), true, nil
}

// Accepted is the action as just stored, so the answer needs no read-back.
func (na NewAction) Accepted() *Action {
	a := &Action{
		ID: na.ID, Reference: na.Reference, ClientID: na.ClientID, IdempotencyKey: na.IdempotencyKey,
		Kind: na.Kind, Status: StatusPending, Body: na.Body, CreatedAt: na.CreatedAt, UpdatedAt: na.CreatedAt,
		Warnings: na.Guarded.Warnings, RoutingVersion: na.RoutingVersion,
	}
	for _, m := range na.Messages {
		due := na.CreatedAt
		a.Deliveries = append(a.Deliveries, Delivery{
			MessageID: m.ID, Destination: m.Destination, Status: DeliveryPending,
			CreatedAt: na.CreatedAt, UpdatedAt: na.CreatedAt, NextAttemptAt: &due,
		})
	}
	return a
}

// Get returns an action the client may see. An empty clientID sees all.
func (s *Service) Get(ctx context.Context, clientID string, id uuid.UUID) (*Action, error) {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if clientID != "" && a.ClientID != clientID {
		return nil, ErrNotFound
	}
	return a, nil
}

// List pages through actions.
func (s *Service) List(ctx context.Context, f ListFilter) (Page, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	return s.store.List(ctx, f)
}

// bodyHash hashes the body's canonical JSON so that a resubmission differing
// only in key order or white space counts as the same body.
func bodyHash(body []byte) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	return sum[:], nil
}
