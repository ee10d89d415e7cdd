package monthly

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
)

// Source reads what the sets are built from.
type Source interface {
	// CompletedBetween returns the registration actions completed in
	// [from, to), in completion order (not the sets themselves).
	CompletedBetween(ctx context.Context, from, to time.Time) ([]Completed, error)
	// RegisteredBornIn returns the current registrations of persons born
	// in the given month.
	RegisteredBornIn(ctx context.Context, year int, month time.Month) ([]action.Registration, error)
	// Scheduled reports whether the client already stored an action under
	// the idempotency key: the set was built, here or by another replica.
	Scheduled(ctx context.Context, clientID, idempotencyKey string) (bool, error)
}

// Inserter stores an action with its outbox messages (action.Store).
type Inserter interface {
	Insert(ctx context.Context, a action.NewAction) (existing *action.Action, bodyHash []byte, created bool, err error)
}

// Scheduler builds each month's sets once, on the first tick of the month.
type Scheduler struct {
	Source Source
	Store  Inserter
	// Location is the register's time zone: months begin at its midnight.
	Location *time.Location
	// Threshold is the statistics' suppression threshold (0: DefaultThreshold).
	Threshold int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Stored is told after a set was stored, so that the relay starts at once.
	Stored func()
	Log    *slog.Logger
}

// Key is the idempotency key of a recipient's set for a period: one per
// recipient and month, which is what makes a set exactly once.
func Key(d action.Destination, p Period) string { return string(d) + ":" + p.String() }

// Tick builds and stores the sets of the month before now that are not
// stored yet, and returns the ones it stored. A set another replica
// stored first is not stored again: the insert finds the key taken.
func (s *Scheduler) Tick(ctx context.Context) ([]*action.Action, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	t := now().In(loc)
	p := PeriodOf(t).Prev()
	var out []*action.Action
	for _, d := range []action.Destination{DestVoterRegister, DestStatistics} {
		a, err := s.build(ctx, d, p, t, loc)
		if err != nil {
			return out, fmt.Errorf("monthly %s set of %s: %w", d, p, err)
		}
		if a != nil {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *Scheduler) build(ctx context.Context, d action.Destination, p Period, now time.Time, loc *time.Location) (*action.Action, error) {
	key := Key(d, p)
	done, err := s.Source.Scheduled(ctx, SystemClient, key)
	if err != nil || done {
		return nil, err
	}
	completed, err := s.Source.CompletedBetween(ctx, p.Start(loc), p.Next().Start(loc))
	if err != nil {
		return nil, err
	}
	var (
		kind action.Kind
		set  any
	)
	switch d {
	case DestVoterRegister:
		adult := p.Next().Next()
		turning, err := s.Source.RegisteredBornIn(ctx, adult.Year-18, adult.Month)
		if err != nil {
			return nil, err
		}
		kind, set = KindVoterRegister, BuildVoterSet(p, completed, turning, now)
	case DestStatistics:
		kind, set = KindStatistics, BuildStatistics(p, completed, s.Threshold, now)
	default:
		return nil, fmt.Errorf("no monthly set for %s", d)
	}
	body, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	sum := sha256.Sum256(body)
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	mid, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	na := action.NewAction{
		ID: id, Reference: "RH-" + id.String(), ClientID: SystemClient, IdempotencyKey: key, BodyHash: sum[:],
		Kind: kind, PersonKey: "monthly:" + string(d), Body: body, CreatedAt: now,
		Messages: []action.NewMessage{{ID: mid, Destination: d}},
	}
	existing, _, created, err := s.Store.Insert(ctx, na)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !created {
		s.logger().Info("monthly set already stored by another replica", "recipient", d, "period", p.String(), "action", existing.ID)
		return nil, nil
	}
	if s.Stored != nil {
		s.Stored()
	}
	s.logger().Info("monthly set stored", "recipient", d, "period", p.String(), "action", id, "bytes", len(body))
	return na.Accepted(), nil
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Run ticks at start and then every interval until ctx ends. A failed
// tick is logged and tried again on the next.
func (s *Scheduler) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.logger().Error("monthly sets", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
