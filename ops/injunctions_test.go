package ops

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/guard"
)

// injunctionLog is an InjunctionStore that keeps what it was given.
type injunctionLog struct {
	added []guard.Injunction
	steps []Step
}

func (l *injunctionLog) AddInjunction(_ context.Context, st Step, in guard.Injunction) error {
	l.added, l.steps = append(l.added, in), append(l.steps, st)
	return nil
}

func (l *injunctionLog) LiftInjunction(_ context.Context, st Step, id uuid.UUID) (*guard.Injunction, error) {
	l.steps = append(l.steps, st)
	return &guard.Injunction{ID: id, LiftedAt: &st.At, LiftedBy: st.Actor, LiftReason: st.Reason}, nil
}

func (l *injunctionLog) Injunctions(context.Context, InjunctionFilter) ([]guard.Injunction, error) {
	return l.added, nil
}

func TestInjunctionSteps(t *testing.T) {
	log := &injunctionLog{}
	s := NewInjunctions(log)
	s.now = func() time.Time { return time.Date(2025, 2, 1, 8, 0, 0, 0, time.UTC) }
	op := Actor{ID: "op-1", Role: "operator"}

	in, err := s.Add(t.Context(), op, guard.Injunction{
		Court: " Синтетичний районний суд ", Reference: "SYN-2/1/25 ", DecidedOn: "2025-01-10",
		Address: action.Address{KATOTTG: "UA12060170010076413", Street: " вул. Вигадана", Building: "7 "},
	}, " ухвала надійшла ")
	if err != nil {
		t.Fatal(err)
	}
	if in.Court != "Синтетичний районний суд" || in.Address.Building != "7" || in.ValidFrom != "2025-01-10" ||
		in.CreatedBy != "op-1" || in.ID == uuid.Nil || !in.CreatedAt.Equal(s.now()) {
		t.Fatalf("recorded %+v", in)
	}
	st := log.steps[0]
	if st.Operation != OpInjunctionAdd || st.Target != "injunction:"+in.ID.String() || st.Actor != "op-1" || st.Reason != "ухвала надійшла" {
		t.Fatalf("step %+v", st)
	}
	var details map[string]any
	if err := json.Unmarshal(st.Details, &details); err != nil || details["reference"] != "SYN-2/1/25" || details["valid_from"] != "2025-01-10" {
		t.Fatalf("step details %s (%v)", st.Details, err)
	}

	// Refused before the store is asked.
	_, err = s.Add(t.Context(), op, guard.Injunction{Court: "c", Reference: "r", DecidedOn: "2025-02-02",
		Address: action.Address{KATOTTG: "UA12060170010076413", Building: "1"}}, "")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "decided_on is after today") {
		t.Fatalf("a ruling dated tomorrow (in Kyiv): %v", err)
	}
	if _, err := s.Lift(t.Context(), op, in.ID, "  "); !errors.Is(err, ErrInvalid) {
		t.Fatalf("lift without a reason: %v", err)
	}
	if len(log.steps) != 1 {
		t.Fatalf("refused requests reached the store: %+v", log.steps)
	}

	lifted, err := s.Lift(t.Context(), op, in.ID, "скасовано")
	if err != nil || lifted.LiftedBy != "op-1" || log.steps[1].Operation != OpInjunctionLift || log.steps[1].Target != "injunction:"+in.ID.String() {
		t.Fatalf("lift: %+v %v (step %+v)", lifted, err, log.steps[1])
	}
	if s.Today() != "2025-02-01" {
		t.Fatalf("today is %s", s.Today())
	}
}
