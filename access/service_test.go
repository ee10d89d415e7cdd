package access_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/access"
)

// The ports of Service, kept in memory: this test is about the service's
// own logic (routing, merging, minimising, recording, waiting); the
// PostgreSQL adapters have their own tests on a real database.
type recorder struct{ recs []access.Access }

func (r *recorder) RecordAccess(_ context.Context, a access.Access) error {
	r.recs = append(r.recs, a)
	return nil
}

type pendingStore struct {
	pending map[uuid.UUID]access.Pending
	answers map[uuid.UUID]access.Answer
}

func (p *pendingStore) SavePending(_ context.Context, q access.Pending) error {
	p.pending[q.ID] = q
	return nil
}
func (p *pendingStore) DuePending(context.Context, int) ([]access.Pending, error) {
	var out []access.Pending
	for _, q := range p.pending {
		out = append(out, q)
	}
	return out, nil
}
func (p *pendingStore) Resolve(_ context.Context, id uuid.UUID, a access.Answer) error {
	delete(p.pending, id)
	p.answers[id] = a
	return nil
}
func (p *pendingStore) Postpone(context.Context, uuid.UUID, time.Time, string) error { return nil }
func (p *pendingStore) Answer(_ context.Context, _ string, id uuid.UUID) (access.Answer, error) {
	if a, ok := p.answers[id]; ok {
		return a, nil
	}
	return access.Answer{}, access.ErrNoQuery
}
func (p *pendingStore) OverdueQueries(context.Context, int) ([]access.Overdue, error) {
	return nil, nil
}

type finder struct {
	found []access.Found
	err   error
	calls int
}

func (f *finder) Find(context.Context, access.FindRequest) ([]access.Found, error) {
	f.calls++
	return f.found, f.err
}

const militaryQuery = `{
  "official": {"id": "SYN-OFF-0007", "name": "Синтетичний С. С."},
  "case": "SYN-TCC/2026/17",
  "basis": {"code": "military.registration",
            "law": "Порядок організації та ведення військового обліку призовників, військовозобов'язаних та резервістів, затверджений постановою Кабінету Міністрів України від 30 грудня 2022 р. № 1487",
            "article": "пункт 54"},
  "purpose": {"id": "military-registration", "text": "уточнення облікових даних"},
  "search": {"rnokpp": "3300612300"},
  "fields": %s
}`

func TestServiceRoutesMergesMinimisesAndRecords(t *testing.T) {
	cat, err := access.Default()
	if err != nil {
		t.Fatal(err)
	}
	tcc := access.Requester{Org: "SYN-TCC-0001", Category: "military_enlistment"}
	// Friday 2026-11-20, 10:00 Kyiv.
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	person := "rnokpp:3300612300"

	for _, tc := range []struct {
		name        string
		fields      string
		local, dms  *finder
		eddr        *finder
		wantStatus  string
		wantReason  access.Reason
		wantRecords []map[string]any
		wantCalls   [3]int // local, dms, eddr
	}{
		{
			name:        "merged in the basis's source order, cut to the fields asked",
			fields:      `["surname", "address", "military_registration_number"]`,
			local:       &finder{found: []access.Found{{Person: person, Record: map[string]any{"surname": "Local", "address": "A", "sex": "F"}}}},
			dms:         &finder{found: []access.Found{{Person: person, Record: map[string]any{"surname": "Dms", "military_registration_number": "M-1"}}}},
			eddr:        &finder{},
			wantStatus:  access.StatusAnswered,
			wantRecords: []map[string]any{{"surname": "Local", "address": "A", "military_registration_number": "M-1"}},
			wantCalls:   [3]int{1, 1, 1},
		},
		{
			name:   "a field the basis does not grant: refused, no source asked",
			fields: `["surname", "contacts"]`,
			local:  &finder{}, dms: &finder{}, eddr: &finder{},
			wantStatus: access.StatusRefused, wantReason: access.ReasonFieldNotAuthorised,
		},
		{
			name:       "a source down: pending, due in three working days",
			fields:     `["surname"]`,
			local:      &finder{found: []access.Found{{Person: person, Record: map[string]any{"surname": "Local"}}}},
			dms:        &finder{err: fmt.Errorf("dms: %w", access.ErrSourceUnavailable)},
			eddr:       &finder{},
			wantStatus: access.StatusPending,
			wantCalls:  [3]int{1, 1, 0},
		},
		{
			name:   "a source refusing for good: failed",
			fields: `["surname"]`,
			local:  &finder{}, dms: &finder{err: errors.New("client fault")}, eddr: &finder{},
			wantStatus: access.StatusFailed,
			wantCalls:  [3]int{1, 1, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			ps := &pendingStore{pending: map[uuid.UUID]access.Pending{}, answers: map[uuid.UUID]access.Answer{}}
			svc := &access.Service{
				Catalogue: cat, Recorder: rec, Pending: ps, Now: func() time.Time { return now },
				Sources: map[access.Source]access.Finder{access.SourceLocal: tc.local, access.SourceDMS: tc.dms, access.SourceEDDR: tc.eddr},
			}
			ans, err := svc.Ask(context.Background(), tcc, []byte(fmt.Sprintf(militaryQuery, tc.fields)))
			if err != nil {
				t.Fatal(err)
			}
			if ans.Status != tc.wantStatus || ans.Decision.Reason != tc.wantReason {
				t.Fatalf("status %s reason %q, want %s %q (%s)", ans.Status, ans.Decision.Reason, tc.wantStatus, tc.wantReason, ans.Decision.Detail)
			}
			if got := [3]int{tc.local.calls, tc.dms.calls, tc.eddr.calls}; got != tc.wantCalls {
				t.Errorf("source calls %v, want %v", got, tc.wantCalls)
			}
			if tc.wantRecords != nil && fmt.Sprint(ans.Records) != fmt.Sprint(tc.wantRecords) {
				t.Errorf("records %v, want %v", ans.Records, tc.wantRecords)
			}
			if len(rec.recs) != 1 {
				t.Fatalf("%d access records, want exactly 1", len(rec.recs))
			}
			r := rec.recs[0]
			if r.QueryID != ans.ID || r.Requester != tcc || r.Query.Official.ID != "SYN-OFF-0007" || r.Query.Case != "SYN-TCC/2026/17" ||
				r.Query.Basis.Code != "military.registration" || r.Query.Search.RNOKPP != "3300612300" || r.Outcome != ans.Status {
				t.Errorf("access record %+v does not say who asked what", r)
			}
			switch tc.wantStatus {
			case access.StatusAnswered:
				if !slices.Equal(r.Persons, []string{person}) ||
					!slices.Equal(r.FieldsDelivered, []string{"address", "military_registration_number", "surname"}) {
					t.Errorf("granted record: persons %v fields %v", r.Persons, r.FieldsDelivered)
				}
			case access.StatusRefused:
				if r.Decision.Reason != tc.wantReason || len(r.Persons) != 0 {
					t.Errorf("refused record: %+v", r)
				}
			case access.StatusPending:
				// Friday: Monday, Tuesday, Wednesday → due at the end of Wednesday.
				want := time.Date(2026, 11, 26, 0, 0, 0, 0, time.FixedZone("EET", 2*3600))
				if ans.DueAt == nil || !ans.DueAt.Equal(want) {
					t.Errorf("due %v, want %v", ans.DueAt, want)
				}
				if _, ok := ps.pending[ans.ID]; !ok || r.Error == "" || len(r.Persons) != 0 {
					t.Errorf("pending query not kept, or recorded as delivered: %+v", r)
				}
				// The source comes back: the answer is stored and recorded.
				tc.dms.err = nil
				tc.dms.found = []access.Found{{Person: person, Record: map[string]any{"surname": "Dms"}}}
				n, err := svc.Resolve(context.Background(), 10, time.Minute)
				if err != nil || n != 1 {
					t.Fatalf("resolve: %d, %v", n, err)
				}
				got, err := svc.Get(context.Background(), tcc.Org, ans.ID)
				if err != nil || got.Status != access.StatusAnswered || fmt.Sprint(got.Records) != "[map[surname:Local]]" {
					t.Errorf("answer after resolving: %+v, %v", got, err)
				}
				if len(rec.recs) != 2 || rec.recs[1].Outcome != access.StatusAnswered || !slices.Equal(rec.recs[1].Persons, []string{person}) {
					t.Errorf("resolution not recorded as a delivery: %+v", rec.recs)
				}
			case access.StatusFailed:
				if r.Error == "" || len(r.Persons) != 0 {
					t.Errorf("failed record: %+v", r)
				}
			}
		})
	}
}

func TestCalendarDue(t *testing.T) {
	kyiv, _ := time.LoadLocation("Europe/Kyiv")
	cal := access.Calendar{Holidays: map[string]bool{"2026-12-25": true}}
	for _, tc := range []struct{ at, due string }{
		{"2026-11-16 09:00", "2026-11-19"}, // Monday → end of Thursday
		{"2026-11-20 23:30", "2026-11-25"}, // Friday night → end of Wednesday
		{"2026-11-21 12:00", "2026-11-25"}, // Saturday counts from Monday
		{"2026-12-23 10:00", "2026-12-29"}, // Wednesday; Friday 25th is a holiday
	} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", tc.at, kyiv)
		want, _ := time.ParseInLocation("2006-01-02", tc.due, kyiv)
		want = want.AddDate(0, 0, 1)
		if got := cal.Due(at); !got.Equal(want) {
			t.Errorf("query at %s: due %s, want the end of %s", tc.at, got.In(kyiv), tc.due)
		}
	}
}

// TestRefuseRecords: a request refused before it became a query (a SOAP
// envelope that is wrong) is recorded and answered like any refusal.
func TestRefuseRecords(t *testing.T) {
	rec := &recorder{}
	svc := &access.Service{Recorder: rec}
	r := access.Requester{Org: "SYN-TCC-0001", Category: "military_enlistment"}
	ans, err := svc.Refuse(context.Background(), r, access.ReasonRequesterNotAuthorised, "the X-Road client is another member")
	if err != nil {
		t.Fatal(err)
	}
	if ans.Status != access.StatusRefused || ans.Decision.Reason != access.ReasonRequesterNotAuthorised || ans.ID == uuid.Nil {
		t.Fatalf("answer %+v", ans)
	}
	if len(rec.recs) != 1 || rec.recs[0].QueryID != ans.ID || rec.recs[0].Requester != r || rec.recs[0].Outcome != access.StatusRefused {
		t.Fatalf("records %+v", rec.recs)
	}
}
