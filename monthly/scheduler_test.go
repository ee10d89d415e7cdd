package monthly

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Kyiv must resolve in minimal containers too

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
)

// fakeSource is the Source port: canned answers, calls recorded.
type fakeSource struct {
	scheduled    map[string]bool  // a live set, by idempotency key
	revisions    map[string]int   // sets stored (cancelled or not), by idempotency key
	scheduledErr map[string]error // by idempotency key
	completed    []Completed
	completedErr error
	turning      []action.Registration
	turningErr   error

	scheduledCalls []scheduledCall
	betweenCalls   [][2]time.Time
	bornInCalls    []bornInCall
}

type scheduledCall struct{ client, key string }

type bornInCall struct {
	year  int
	month time.Month
}

func (f *fakeSource) CompletedBetween(_ context.Context, from, to time.Time) ([]Completed, error) {
	f.betweenCalls = append(f.betweenCalls, [2]time.Time{from, to})
	return f.completed, f.completedErr
}

func (f *fakeSource) RegisteredBornIn(_ context.Context, year int, month time.Month) ([]action.Registration, error) {
	f.bornInCalls = append(f.bornInCalls, bornInCall{year, month})
	return f.turning, f.turningErr
}

func (f *fakeSource) Revisions(_ context.Context, clientID, key string) (bool, int, error) {
	f.scheduledCalls = append(f.scheduledCalls, scheduledCall{clientID, key})
	n := f.revisions[key]
	if f.scheduled[key] && n == 0 {
		n = 1
	}
	return f.scheduled[key], n, f.scheduledErr[key]
}

// fakeInserter is the Inserter port: it records what it is given and
// answers created (or, when lost is set, that another replica stored the
// key first).
type fakeInserter struct {
	lost bool
	err  error
	got  []action.NewAction
}

var otherReplicasAction = uuid.MustParse("0199a0c4-0000-7000-8000-00000000beef")

func (f *fakeInserter) Insert(_ context.Context, a action.NewAction) (*action.Action, []byte, bool, error) {
	f.got = append(f.got, a)
	if f.err != nil {
		return nil, nil, false, f.err
	}
	if f.lost {
		return &action.Action{ID: otherReplicasAction, ClientID: a.ClientID, IdempotencyKey: a.IdempotencyKey, Kind: a.Kind}, []byte("other hash"), false, nil
	}
	return nil, nil, true, nil
}

type harness struct {
	src    *fakeSource
	store  *fakeInserter
	stored int
	s      *Scheduler
}

func newHarness(t *testing.T, now time.Time) *harness {
	t.Helper()
	h := &harness{src: &fakeSource{}, store: &fakeInserter{}}
	h.s = &Scheduler{
		Source: h.src, Store: h.store, Location: mustKyiv(t),
		Now:    func() time.Time { return now },
		Stored: func() { h.stored++ },
		Log:    slog.New(slog.DiscardHandler),
	}
	return h
}

// decodeStrict decodes a set's body, refusing fields the type does not have.
func decodeStrict(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func checkNewAction(t *testing.T, na action.NewAction, kind action.Kind, dest action.Destination, key string, now time.Time) {
	t.Helper()
	if na.ClientID != "reghub" {
		t.Errorf("client = %q, want reghub", na.ClientID)
	}
	if na.IdempotencyKey != key {
		t.Errorf("idempotency key = %q, want %q", na.IdempotencyKey, key)
	}
	if na.Kind != kind {
		t.Errorf("kind = %q, want %q", na.Kind, kind)
	}
	if want := "monthly:" + key; na.PersonKey != want {
		t.Errorf("person key = %q, want %q", na.PersonKey, want)
	}
	if len(na.Messages) != 1 || na.Messages[0].Destination != dest {
		t.Fatalf("messages = %+v, want one to %s", na.Messages, dest)
	}
	if na.ID == uuid.Nil || na.Messages[0].ID == uuid.Nil || na.Messages[0].ID == na.ID {
		t.Errorf("action id %v, message id %v: want two distinct ids", na.ID, na.Messages[0].ID)
	}
	if na.Reference != "RH-"+na.ID.String() {
		t.Errorf("reference = %q, want RH-%s", na.Reference, na.ID)
	}
	if sum := sha256.Sum256(na.Body); !bytes.Equal(na.BodyHash, sum[:]) {
		t.Errorf("body hash is not the SHA-256 of the body")
	}
	if !na.CreatedAt.Equal(now) {
		t.Errorf("created at %v, want %v", na.CreatedAt, now)
	}
}

func checkAccepted(t *testing.T, a *action.Action, na action.NewAction) {
	t.Helper()
	if a.ID != na.ID || a.Kind != na.Kind || a.ClientID != "reghub" || a.IdempotencyKey != na.IdempotencyKey ||
		a.Status != action.StatusPending || !bytes.Equal(a.Body, na.Body) {
		t.Errorf("returned action %+v does not match the stored %+v", a, na)
	}
	if len(a.Deliveries) != 1 || a.Deliveries[0].Destination != na.Messages[0].Destination ||
		a.Deliveries[0].MessageID != na.Messages[0].ID || a.Deliveries[0].Status != action.DeliveryPending {
		t.Errorf("deliveries = %+v, want one pending to %s", a.Deliveries, na.Messages[0].Destination)
	}
}

func TestTickBuildsLastMonthsSets(t *testing.T) {
	kyiv := mustKyiv(t)
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, kyiv) // 08:00 UTC: winter time since 25 October
	h := newHarness(t, now)
	andriienko := action.Person{UNZR: "20081207-06558", RNOKPP: "3978826558", Surname: "Андрієнко", GivenNames: "Ярослав",
		BirthDate: "2008-12-07", Sex: action.SexMale, Citizenship: "UKR"}
	h.src.completed = []Completed{
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c31", CompletedAt: time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC),
			Submission: submission(action.KindRegister, levchenko(), "2026-10-19", withPrevious(prevLviv))},
		{ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c32", CompletedAt: time.Date(2026, 10, 28, 9, 0, 0, 0, time.UTC),
			Submission: submission(action.KindDeregister, prykhodko(), "2026-10-27", withDeregistration(action.DeregistrationMoved),
				func(s *action.Submission) { s.Address = flatMt })},
	}
	h.src.turning = []action.Registration{registration(andriienko, flatKR, true)}

	out, err := h.s.Tick(context.Background())
	if err != nil {
		t.Fatalf("Tick: %v", err)
	}

	// The Source was asked the right things.
	wantScheduled := []scheduledCall{{"reghub", "voter_register:2026-10"}, {"reghub", "statistics:2026-10"}}
	if !reflect.DeepEqual(h.src.scheduledCalls, wantScheduled) {
		t.Errorf("Scheduled calls = %+v, want %+v", h.src.scheduledCalls, wantScheduled)
	}
	from, to := time.Date(2026, 9, 30, 21, 0, 0, 0, time.UTC), time.Date(2026, 10, 31, 22, 0, 0, 0, time.UTC)
	if len(h.src.betweenCalls) == 0 {
		t.Fatal("CompletedBetween never called")
	}
	for _, c := range h.src.betweenCalls {
		if !c[0].Equal(from) || !c[1].Equal(to) {
			t.Errorf("CompletedBetween(%v, %v), want [%v, %v): October in Kyiv", c[0], c[1], from, to)
		}
	}
	if want := []bornInCall{{2008, time.December}}; !reflect.DeepEqual(h.src.bornInCalls, want) {
		t.Errorf("RegisteredBornIn calls = %+v, want %+v", h.src.bornInCalls, want)
	}

	// One action per recipient, stored and returned.
	if len(h.store.got) != 2 {
		t.Fatalf("Insert called %d times, want 2", len(h.store.got))
	}
	if len(out) != 2 {
		t.Fatalf("Tick returned %d actions, want 2", len(out))
	}
	if h.stored != 2 {
		t.Errorf("Stored called %d times, want 2", h.stored)
	}
	voter, stats := h.store.got[0], h.store.got[1]
	checkNewAction(t, voter, "monthly.voter_register", "voter_register", "voter_register:2026-10", now)
	checkNewAction(t, stats, "monthly.statistics", "statistics", "statistics:2026-10", now)
	checkAccepted(t, out[0], voter)
	checkAccepted(t, out[1], stats)

	var gotVoter VoterSet
	decodeStrict(t, voter.Body, &gotVoter)
	wantVoter := VoterSet{
		Period: "2026-10", TurningAdultMonth: "2026-12", BuiltAt: time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC),
		TurningAdult: []Voter{{UNZR: "20081207-06558", RNOKPP: "3978826558", Surname: "Андрієнко", GivenNames: "Ярослав",
			BirthDate: "2008-12-07", Sex: "M", Address: flatKR, Date: "2026-12-07"}},
		Registered: []Voter{{UNZR: "19720709-05440", RNOKPP: "2648823226", Surname: "Левченко", GivenNames: "Галина",
			Patronymic: "Петрівна", BirthDate: "1972-07-09", Sex: "F", Address: flatKR, Date: "2026-10-19",
			ActionID: "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c31"}},
		Deregistered: []Voter{voterPrykhodko(flatMt, "2026-10-27", "moved", "0199a0c4-7e21-7c3d-8f10-5b2e9a4d6c32")},
	}
	if !gotVoter.BuiltAt.Equal(wantVoter.BuiltAt) {
		t.Errorf("voter set built_at = %v, want %v", gotVoter.BuiltAt, wantVoter.BuiltAt)
	}
	gotVoter.BuiltAt, wantVoter.BuiltAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(gotVoter, wantVoter) {
		t.Errorf("voter set = %+v\nwant %+v", gotVoter, wantVoter)
	}

	var gotStats StatisticsSet
	decodeStrict(t, stats.Body, &gotStats)
	wantStats := StatisticsSet{
		Period: "2026-10", BuiltAt: time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC), Threshold: 5,
		Cells: []Cell{
			{Flow: "arrival", Sex: "F", AgeGroup: "35-59", Area: "UA4606", Suppressed: true},
			{Flow: "departure", Sex: "M", AgeGroup: "35-59", Area: "not_stated", Suppressed: true},
		},
	}
	if !gotStats.BuiltAt.Equal(wantStats.BuiltAt) {
		t.Errorf("statistics built_at = %v, want %v", gotStats.BuiltAt, wantStats.BuiltAt)
	}
	gotStats.BuiltAt, wantStats.BuiltAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(gotStats, wantStats) {
		t.Errorf("statistics set = %+v\nwant %+v", gotStats, wantStats)
	}
}

func TestTickPassesTheThreshold(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 3, 10, 0, 0, 0, mustKyiv(t)))
	h.s.Threshold = 2
	c := Completed{ActionID: actionID1, Submission: submission(action.KindDeclare, levchenko(), "2026-10-19", withPrevious(prevLviv))}
	h.src.completed = []Completed{c, c}
	if _, err := h.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.store.got) != 2 {
		t.Fatalf("Insert called %d times, want 2", len(h.store.got))
	}
	var got StatisticsSet
	decodeStrict(t, h.store.got[1].Body, &got)
	want := []Cell{{Flow: "arrival", Sex: "F", AgeGroup: "35-59", Area: "UA4606", Count: 2}}
	if got.Threshold != 2 || !reflect.DeepEqual(got.Cells, want) {
		t.Errorf("threshold %d cells %+v, want 2 and %+v", got.Threshold, got.Cells, want)
	}
}

func TestTickSkipsSetsAlreadyScheduled(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 3, 10, 0, 0, 0, mustKyiv(t)))
	h.src.scheduled = map[string]bool{"voter_register:2026-10": true, "statistics:2026-10": true}
	out, err := h.s.Tick(context.Background())
	if err != nil || len(out) != 0 {
		t.Fatalf("Tick = %v, %v; want nothing", out, err)
	}
	if len(h.src.scheduledCalls) != 2 {
		t.Errorf("Scheduled calls = %+v, want one per recipient", h.src.scheduledCalls)
	}
	if len(h.src.betweenCalls) != 0 || len(h.src.bornInCalls) != 0 {
		t.Errorf("built although scheduled: CompletedBetween %v, RegisteredBornIn %v", h.src.betweenCalls, h.src.bornInCalls)
	}
	if len(h.store.got) != 0 || h.stored != 0 {
		t.Errorf("Insert called %d times, Stored %d times; want none", len(h.store.got), h.stored)
	}
}

func TestTickBuildsOnlyTheSetNotScheduled(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 3, 10, 0, 0, 0, mustKyiv(t)))
	h.src.scheduled = map[string]bool{"voter_register:2026-10": true}
	out, err := h.s.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Kind != KindStatistics || out[0].IdempotencyKey != "statistics:2026-10" {
		t.Fatalf("Tick returned %+v, want the statistics set only", out)
	}
	if len(h.src.bornInCalls) != 0 {
		t.Errorf("RegisteredBornIn called %v for a voter set already stored", h.src.bornInCalls)
	}
	if len(h.store.got) != 1 || h.stored != 1 {
		t.Errorf("Insert called %d times, Stored %d times; want once each", len(h.store.got), h.stored)
	}
}

func TestTickAnotherReplicaStoredFirst(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 3, 10, 0, 0, 0, mustKyiv(t)))
	h.store.lost = true
	out, err := h.s.Tick(context.Background())
	if err != nil {
		t.Fatalf("Tick: %v", err)
	}
	if len(out) != 0 {
		t.Errorf("Tick returned %+v, want no action", out)
	}
	if len(h.store.got) != 2 {
		t.Errorf("Insert called %d times, want 2", len(h.store.got))
	}
	if h.stored != 0 {
		t.Errorf("Stored called %d times, want none", h.stored)
	}
}

func TestTickErrors(t *testing.T) {
	boom := errors.New("connection reset (synthetic)")
	for _, tc := range []struct {
		name       string
		setup      func(*harness)
		wantIn     []string // in the message
		wantOut    int      // actions returned beside the error
		wantInsert int
	}{
		{"scheduled check", func(h *harness) { h.src.scheduledErr = map[string]error{"voter_register:2026-10": boom} },
			[]string{"voter_register", "2026-10"}, 1, 1},
		{"completed actions", func(h *harness) { h.src.completedErr = boom },
			[]string{"voter_register", "2026-10", "statistics"}, 0, 0},
		{"statistics after the voter set", func(h *harness) { h.src.scheduledErr = map[string]error{"statistics:2026-10": boom} },
			[]string{"statistics", "2026-10"}, 1, 1},
		// Each recipient on its own: the voter set failing holds no statistics.
		{"voter set before the statistics", func(h *harness) { h.src.turningErr = boom },
			[]string{"voter_register", "2026-10"}, 1, 1},
		{"insert", func(h *harness) { h.store.err = boom },
			[]string{"voter_register", "statistics", "2026-10", "store"}, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, time.Date(2026, 11, 3, 10, 0, 0, 0, mustKyiv(t)))
			tc.setup(h)
			out, err := h.s.Tick(context.Background())
			if !errors.Is(err, boom) {
				t.Fatalf("Tick error = %v, want it to wrap %v", err, boom)
			}
			for _, s := range tc.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if len(out) != tc.wantOut {
				t.Errorf("Tick returned %d actions, want %d", len(out), tc.wantOut)
			}
			if len(h.store.got) != tc.wantInsert || h.stored != tc.wantOut {
				t.Errorf("Insert called %d times, Stored %d; want %d and %d", len(h.store.got), h.stored, tc.wantInsert, tc.wantOut)
			}
		})
	}
}

func TestTickNewYearInKyiv(t *testing.T) {
	kyiv := mustKyiv(t)
	now := time.Date(2027, 1, 1, 0, 5, 0, 0, kyiv)
	if now.UTC().Day() != 31 || now.UTC().Month() != time.December {
		t.Fatalf("test clock %v is not still 31 December in UTC", now.UTC())
	}
	h := newHarness(t, now)
	out, err := h.s.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].IdempotencyKey != "voter_register:2026-12" || out[1].IdempotencyKey != "statistics:2026-12" {
		t.Fatalf("Tick returned %+v, want the 2026-12 sets", out)
	}
	from, to := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 22, 0, 0, 0, time.UTC)
	for _, c := range h.src.betweenCalls {
		if !c[0].Equal(from) || !c[1].Equal(to) {
			t.Errorf("CompletedBetween(%v, %v), want [%v, %v): December in Kyiv", c[0], c[1], from, to)
		}
	}
	if want := []bornInCall{{2009, time.February}}; !reflect.DeepEqual(h.src.bornInCalls, want) {
		t.Errorf("RegisteredBornIn calls = %+v, want %+v", h.src.bornInCalls, want)
	}
	var set VoterSet
	decodeStrict(t, out[0].Body, &set)
	if set.Period != "2026-12" || set.TurningAdultMonth != "2027-02" || !set.BuiltAt.Equal(time.Date(2026, 12, 31, 22, 5, 0, 0, time.UTC)) {
		t.Errorf("voter set period %q turning %q built %v, want 2026-12, 2027-02, 2026-12-31T22:05Z",
			set.Period, set.TurningAdultMonth, set.BuiltAt)
	}
	assertEmptyLists(t, set)
}

func TestTickWithoutLocationUsesUTC(t *testing.T) {
	h := newHarness(t, time.Date(2027, 1, 1, 0, 5, 0, 0, mustKyiv(t)))
	h.s.Location = nil
	out, err := h.s.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].IdempotencyKey != "voter_register:2026-11" {
		t.Fatalf("Tick returned %+v, want the 2026-11 sets (still December in UTC)", out)
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if len(h.src.betweenCalls) == 0 || !h.src.betweenCalls[0][0].Equal(from) {
		t.Errorf("CompletedBetween calls %v, want from %v", h.src.betweenCalls, from)
	}
}

// A set an operator cancelled is built again under the next revision of
// its key, in a queue of its own; a live revision stops it.
func TestTickRebuildsACancelledSet(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 3, 10, 0, 0, 0, mustKyiv(t)))
	h.src.revisions = map[string]int{"voter_register:2026-10": 1, "statistics:2026-10": 2}
	h.src.scheduled = map[string]bool{"statistics:2026-10": true}
	out, err := h.s.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].IdempotencyKey != "voter_register:2026-10#2" {
		t.Fatalf("Tick returned %+v, want the voter set's second revision only", out)
	}
	checkNewAction(t, h.store.got[0], KindVoterRegister, DestVoterRegister, "voter_register:2026-10#2", h.s.Now())
}

// Within the grace after midnight on the first, last month's sets wait:
// an action completing across midnight is still to be counted.
func TestTickWaitsOutTheGrace(t *testing.T) {
	kyiv := mustKyiv(t)
	h := newHarness(t, time.Date(2026, 11, 1, 0, 10, 0, 0, kyiv))
	h.s.Grace = 15 * time.Minute
	if out, err := h.s.Tick(context.Background()); err != nil || len(out) != 0 || len(h.src.scheduledCalls) != 0 {
		t.Fatalf("Tick at 00:10 = %v, %v (%d look-ups); want nothing yet", out, err, len(h.src.scheduledCalls))
	}
	h.s.Now = func() time.Time { return time.Date(2026, 11, 1, 0, 15, 0, 0, kyiv) }
	if out, err := h.s.Tick(context.Background()); err != nil || len(out) != 2 {
		t.Fatalf("Tick at 00:15 = %v, %v; want the two October sets", out, err)
	}
}
