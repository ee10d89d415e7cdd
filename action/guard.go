package action

import (
	"context"
	"fmt"
	"time"
)

// Guard is the port of the register's guards (001 §2.5.16–2.5.18), which
// package guard implements: before an action is stored it names the
// addresses a court injunction must not cover and the warnings the action
// carries. The injunctions themselves are checked by the Store, in the
// transaction that stores the action, so that an injunction recorded while
// the action is being accepted is never missed.
type Guard interface {
	Inspect(ctx context.Context, s *Submission, now time.Time) (Guarded, error)
}

// Guarded is what the guards ask of the store for one action.
type Guarded struct {
	// Addresses are the addresses the action concerns, as injunctions are
	// matched (guard.Key). The store refuses the action with an
	// *InjunctionError when an injunction in force on On covers one.
	Addresses []AddressKey
	// On is the day (YYYY-MM-DD, Europe/Kyiv) the action is entered.
	On string
	// Warnings are stored with the action; they never block it.
	Warnings []Warning
}

// AddressKey is an address as injunctions are matched: each part trimmed,
// its inner white space collapsed and lower-cased. An empty Apartment is
// the building itself.
type AddressKey struct {
	KATOTTG, Street, Building, Block, Apartment string
}

// Warning is something the registration body's official must be told about
// an accepted action (001 §2.5.16, §2.5.18). Detail never names a person.
type Warning struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// InjunctionError refuses an action whose address is under a court
// injunction in force (001 §2.5.17); nothing was stored.
type InjunctionError struct {
	ID        string // the injunction's id in the hub
	Reference string // the court's case or decision number
	Court     string
	DecidedOn string // YYYY-MM-DD
}

func (e *InjunctionError) Error() string {
	return fmt.Sprintf("the address is under court injunction %s of %s (%s)", e.Reference, e.DecidedOn, e.Court)
}
