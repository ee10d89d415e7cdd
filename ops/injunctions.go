package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/guard"
)

// Operations on court injunctions (001 §2.5.17), recorded in the step log.
const (
	OpInjunctionAdd  = "injunction_add"
	OpInjunctionLift = "injunction_lift"
)

// InjunctionFilter selects injunctions.
type InjunctionFilter struct {
	KATOTTG string // "" for every community
	// Lifted lists lifted injunctions too.
	Lifted bool
	Limit  int
}

// InjunctionStore is the persistence port of injunctions. Each change is
// recorded as an operator step in the transaction that makes it.
type InjunctionStore interface {
	// AddInjunction stores a new injunction; ErrConflict when one with the
	// same reference, not lifted, covers the same address.
	AddInjunction(ctx context.Context, step Step, in guard.Injunction) error
	// LiftInjunction lifts an injunction as of step.At, by step.Actor, for
	// step.Reason, and returns it; ErrNotFound, or ErrConflict when it was
	// lifted before.
	LiftInjunction(ctx context.Context, step Step, id uuid.UUID) (*guard.Injunction, error)
	// Injunctions lists injunctions, newest first.
	Injunctions(ctx context.Context, f InjunctionFilter) ([]guard.Injunction, error)
}

// Injunctions is how operators keep the court injunctions that block
// registration actions at an address: list, add, lift. Auditors may list.
type Injunctions struct {
	store InjunctionStore
	now   func() time.Time
}

// NewInjunctions wires the injunctions' use cases to their store.
func NewInjunctions(store InjunctionStore) *Injunctions {
	return &Injunctions{store: store, now: time.Now}
}

// Today is the day injunctions are judged in force on now (Europe/Kyiv).
func (s *Injunctions) Today() string { return guard.Day(s.now()) }

// List lists injunctions matching f, newest first.
func (s *Injunctions) List(ctx context.Context, f InjunctionFilter) ([]guard.Injunction, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	f.KATOTTG = strings.ToUpper(strings.TrimSpace(f.KATOTTG))
	return s.store.Injunctions(ctx, f)
}

// Add records an injunction received from a court. From the moment it is
// stored, no action at its address is accepted while it is in force.
func (s *Injunctions) Add(ctx context.Context, a Actor, in guard.Injunction, reason string) (*guard.Injunction, error) {
	now := s.now()
	for _, f := range []*string{&in.Court, &in.Reference, &in.DecidedOn, &in.ValidFrom, &in.ValidUntil, &in.Note,
		&in.Address.KATOTTG, &in.Address.Street, &in.Address.Building, &in.Address.Block, &in.Address.Apartment} {
		*f = strings.TrimSpace(*f)
	}
	if err := in.Check(guard.Day(now)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new injunction id: %w", err)
	}
	in.ID, in.CreatedAt, in.CreatedBy, in.LiftedAt, in.LiftedBy, in.LiftReason = id, now, a.ID, nil, "", ""
	details := map[string]any{
		"court": in.Court, "reference": in.Reference, "decided_on": in.DecidedOn, "address": in.Address,
		"valid_from": in.ValidFrom,
	}
	if in.ValidUntil != "" {
		details["valid_until"] = in.ValidUntil
	}
	st, err := newStep(now, a, OpInjunctionAdd, "injunction:"+id.String(), reason, details)
	if err != nil {
		return nil, err
	}
	if err := s.store.AddInjunction(ctx, st, in); err != nil {
		return nil, err
	}
	return &in, nil
}

// Lift lifts an injunction (the court cancelled it, or the case ended): it
// no longer blocks anything. The reason is required.
func (s *Injunctions) Lift(ctx context.Context, a Actor, id uuid.UUID, reason string) (*guard.Injunction, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fmt.Errorf("%w: lifting an injunction needs a reason (the ruling that lifted it)", ErrInvalid)
	}
	st, err := newStep(s.now(), a, OpInjunctionLift, "injunction:"+id.String(), reason, nil)
	if err != nil {
		return nil, err
	}
	return s.store.LiftInjunction(ctx, st, id)
}

// newStep is a step taken at at; as Service.step, for the injunctions' use
// cases.
func newStep(at time.Time, a Actor, op, target, reason string, details any) (Step, error) {
	var raw json.RawMessage
	if details != nil {
		b, err := json.Marshal(details)
		if err != nil {
			return Step{}, fmt.Errorf("encode step details: %w", err)
		}
		raw = b
	}
	return Step{At: at, Actor: a.ID, Role: a.Role, Operation: op, Target: target, Reason: strings.TrimSpace(reason), Details: raw}, nil
}
