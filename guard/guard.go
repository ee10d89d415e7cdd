package guard

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
)

// Store is what the guards read: the read model, and the stored actions a
// cancellation may name.
type Store interface {
	// PersonRegistration returns the person's registration in the read
	// model, nil when it has none.
	PersonRegistration(ctx context.Context, personKey string) (*action.Registration, error)
	// Residents lists the people the read model has registered at addr
	// now, but the one with personKey.
	Residents(ctx context.Context, addr action.Address, except string) ([]Resident, error)
	// ActionAddress returns the address of a stored action, nil when there
	// is no such action or it names none.
	ActionAddress(ctx context.Context, id uuid.UUID) (*action.Address, error)
}

// Checker implements action.Guard on a Store.
type Checker struct {
	store Store
}

// New returns the guards on store.
func New(store Store) *Checker { return &Checker{store: store} }

var _ action.Guard = (*Checker)(nil)

// Inspect names the addresses an injunction must not cover for s to be
// stored, on the day now falls on in Europe/Kyiv, and the warnings s carries.
// It reads the read model: at most three lookups, by key.
func (c *Checker) Inspect(ctx context.Context, s *action.Submission, now time.Time) (action.Guarded, error) {
	if Roles[s.Kind] == RoleNone {
		return action.Guarded{On: Day(now)}, nil
	}
	person := s.PersonKey()
	reg, err := c.store.PersonRegistration(ctx, person)
	if err != nil {
		return action.Guarded{}, fmt.Errorf("read the person's registration: %w", err)
	}
	var cancelled *action.Address
	if s.Kind == action.KindCancel && s.Address == nil && s.Cancellation != nil {
		if id, err := uuid.Parse(s.Cancellation.ActionID); err == nil {
			if cancelled, err = c.store.ActionAddress(ctx, id); err != nil {
				return action.Guarded{}, fmt.Errorf("read the cancelled action's address: %w", err)
			}
		}
	}
	var residents []Resident
	if v := Vacated(s, reg); v != nil {
		if residents, err = c.store.Residents(ctx, *v, person); err != nil {
			return action.Guarded{}, fmt.Errorf("read who lives at the vacated address: %w", err)
		}
	}
	return action.Guarded{
		Addresses: Concerned(s, reg, cancelled),
		On:        Day(now),
		Warnings:  Warnings(s, reg, residents),
	}, nil
}
