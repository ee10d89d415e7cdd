package notice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reghub/reghub/action"
)

// Store keeps notices and relays them to the registry.
type Store interface {
	// ReceiveNotice stores m and, only when it is new, relays it to its
	// recipients (Received.Recipients) through the event feed, both in one
	// transaction: once it returns without error the notice is durable and
	// will reach the registry. A message whose X-Road id or notice id was
	// received before, with the same notice, is a duplicate: the stored
	// notice is returned with duplicate true and nothing is relayed. If
	// either id was received with a different notice, the error wraps
	// ErrConflict and nothing is stored.
	ReceiveNotice(ctx context.Context, m Message) (stored Received, duplicate bool, err error)
}

// Service receives notices: it checks them, then stores and relays them.
type Service struct {
	Store Store
	// RegistrationBodyCode is the registration body the hub speaks for: a
	// notice addressed to another is refused. Empty: not checked.
	RegistrationBodyCode string
	// Now is the clock that decides what "future" means; time.Now when nil.
	Now func() time.Time
}

// Receive checks m's notice (Check, and its registration body) and stores
// it (Store.ReceiveNotice). A notice that does not pass is refused with a
// *ValidationError and nothing is stored.
func (s *Service) Receive(ctx context.Context, m Message) (Received, bool, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	n, err := Check(m.Notice, now())
	if want := s.RegistrationBodyCode; want != "" && n.Action.RegistrationBodyCode != "" && n.Action.RegistrationBodyCode != want {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			ve = &ValidationError{}
		}
		ve.Fields = append(ve.Fields, FieldError{Field: "action.registration_body_code", Code: action.CodeMismatch,
			Detail: "not the registration body this hub speaks for"})
		err = ve
	}
	if err != nil {
		return Received{}, false, err
	}
	m.Notice = n
	r, dup, err := s.Store.ReceiveNotice(ctx, m)
	if err != nil {
		return Received{}, false, fmt.Errorf("receive notice: %w", err)
	}
	return r, dup, nil
}
