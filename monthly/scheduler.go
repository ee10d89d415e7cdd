package monthly

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
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
	// Revisions counts the client's actions stored under the idempotency
	// key or a revision of it (key#2, key#3…): revisions is how many, live
	// whether one of them is not cancelled — the set was built, here or by
	// another replica, and stands.
	Revisions(ctx context.Context, clientID, idempotencyKey string) (live bool, revisions int, err error)
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
	// Grace is how long after midnight on the first of a month the sets of
	// the month before wait (0: none), so that an action whose completing
	// transaction began before midnight and committed after it is counted.
	Grace time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Stored is told after a set was stored, so that the relay starts at once.
	Stored func()
	Log    *slog.Logger
}

// Key is the idempotency key of a recipient's set for a period: one per
// recipient and month, which is what makes a set exactly once.
func Key(d action.Destination, p Period) string { return string(d) + ":" + p.String() }

// revisionKey is the key of the n-th revision of a set (n ≥ 2): a set an
// operator cancelled is built again under it.
func revisionKey(key string, n int) string {
	if n <= 1 {
		return key
	}
	return fmt.Sprintf("%s#%d", key, n)
}

// Recipients are the recipients of the monthly sets, in the order built.
var Recipients = []action.Destination{DestVoterRegister, DestStatistics}

func (s *Scheduler) clock() (time.Time, *time.Location) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	return now().In(loc), loc
}

// Tick builds and stores the sets of the month before now that are not
// stored yet, and returns the ones it stored. A set another replica
// stored first is not stored again: the insert finds the key taken. Each
// recipient's set is built on its own: one failing does not hold the
// other.
func (s *Scheduler) Tick(ctx context.Context) ([]*action.Action, error) {
	t, loc := s.clock()
	if t.Before(PeriodOf(t).Start(loc).Add(s.Grace)) {
		return nil, nil
	}
	p := PeriodOf(t).Prev()
	var (
		out  []*action.Action
		errs []error
	)
	for _, d := range Recipients {
		a, err := s.Build(ctx, d, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if a != nil {
			out = append(out, a)
		}
	}
	return out, errors.Join(errs...)
}

// Build builds and stores a recipient's set of period p unless one stands
// (stored and not cancelled); it returns the action stored, or nil. A set
// an operator cancelled — undeliverable, say — is built again from what
// the register holds now, under the next revision of the key; so is a
// month the scheduler never reached (reghub monthly build). Concurrent
// builders of one revision store it once: the insert finds the key taken.
func (s *Scheduler) Build(ctx context.Context, d action.Destination, p Period) (*action.Action, error) {
	a, err := s.build(ctx, d, p)
	if err != nil {
		return nil, fmt.Errorf("monthly %s set of %s: %w", d, p, err)
	}
	return a, nil
}

func (s *Scheduler) build(ctx context.Context, d action.Destination, p Period) (*action.Action, error) {
	now, loc := s.clock()
	live, revisions, err := s.Source.Revisions(ctx, SystemClient, Key(d, p))
	if err != nil || live {
		return nil, err
	}
	key := revisionKey(Key(d, p), revisions+1)
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
		// A queue of its own per month: a set that is stuck holds no other.
		Kind: kind, PersonKey: "monthly:" + key, Body: body, CreatedAt: now,
		Messages: []action.NewMessage{{ID: mid, Destination: d}},
	}
	existing, _, created, err := s.Store.Insert(ctx, na)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !created {
		s.logger().Info("monthly set already stored by another replica", "recipient", d, "period", p.String(), "key", key, "action", existing.ID)
		return nil, nil
	}
	if s.Stored != nil {
		s.Stored()
	}
	s.logger().Info("monthly set stored", "recipient", d, "period", p.String(), "key", key, "action", id, "bytes", len(body))
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
