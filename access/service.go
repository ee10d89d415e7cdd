package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Found is one person a source found: the person's key (as action.Submission
// PersonKey gives it: "unzr:…", "rnokpp:…") and their record, keyed by the
// catalogue's field names. Absent fields are left out.
type Found struct {
	Person string         `json:"person"`
	Record map[string]any `json:"record"`
}

// Finder answers granted queries from one source.
type Finder interface {
	// Find returns the persons matching the search, with every field the
	// source knows (the service cuts them to the granted ones). An error
	// wrapping ErrSourceUnavailable means the system could not be reached:
	// the query waits and is tried again; any other error fails the query.
	Find(ctx context.Context, r FindRequest) ([]Found, error)
}

// FindRequest is what a source is asked: the search, and who asks and why,
// which the national systems log in turn (X-Road userId and issue, and the
// purpose as Uxp-Purpose-Ids).
type FindRequest struct {
	Search   Search
	Param    ParamSet
	Official string
	Case     string
	Purpose  string
}

// ErrSourceUnavailable marks a source that is down for now.
var ErrSourceUnavailable = errors.New("source unavailable")

// Access is what the audit log keeps of one query: who asked, on what
// basis and why, what was searched and asked for, what was delivered about
// whom, and the decision (002 §5.3; 000: every query logged).
type Access struct {
	QueryID   uuid.UUID
	At        time.Time
	Requester Requester
	// Query is the query as parsed (zero for a body that did not parse).
	Query    Query
	Decision Decision
	// Outcome is the answer's status: answered (delivered), refused,
	// pending (granted, waiting for a source) or failed (granted, but a
	// source failed for good); Error says why for the last two.
	Outcome string
	Error   string
	// FieldsDelivered and Persons (their keys, "unzr:…", "rnokpp:…") say
	// what left, about whom.
	FieldsDelivered []string
	Persons         []string
}

// Recorder appends access records durably: a query is answered only after
// its record is committed.
type Recorder interface {
	RecordAccess(ctx context.Context, a Access) error
}

// Pending is a granted query waiting for a source that was down.
type Pending struct {
	ID        uuid.UUID `json:"id"`
	Org       string    `json:"org"`
	Official  string    `json:"official"`
	Query     Query     `json:"query"`
	Decision  Decision  `json:"decision"`
	CreatedAt time.Time `json:"created_at"`
	// DueAt is the end of the third working day after the query (001 §5.5).
	DueAt time.Time `json:"due_at"`
}

// PendingStore keeps queries that wait for a source, and their answers.
type PendingStore interface {
	SavePending(ctx context.Context, p Pending) error
	// DuePending returns up to limit pending queries whose next try is due.
	DuePending(ctx context.Context, limit int) ([]Pending, error)
	// Resolve stores the answer (or the failure) of a pending query.
	Resolve(ctx context.Context, id uuid.UUID, a Answer) error
	// Postpone schedules the next try of a pending query.
	Postpone(ctx context.Context, id uuid.UUID, next time.Time, lastError string) error
	// Answer returns the stored answer to a query of org; ErrNoQuery if none.
	Answer(ctx context.Context, org string, id uuid.UUID) (Answer, error)
	// OverdueQueries lists pending queries past their due date, oldest first.
	OverdueQueries(ctx context.Context, limit int) ([]Overdue, error)
}

// ErrNoQuery: no such query of this requester.
var ErrNoQuery = errors.New("no such query")

// Answer is what a requester gets.
type Answer struct {
	ID       uuid.UUID `json:"query_id"`
	Status   string    `json:"status"` // answered, refused, pending, failed
	Decision Decision  `json:"decision"`
	// Records are the persons found, each cut to the granted fields.
	Records []map[string]any `json:"records,omitempty"`
	DueAt   *time.Time       `json:"due_at,omitempty"`
	Error   string           `json:"error,omitempty"`
	// persons are the keys of the persons behind Records, for the record.
	persons []string
}

// Answer statuses.
const (
	StatusAnswered = "answered"
	StatusRefused  = "refused"
	StatusPending  = "pending"
	StatusFailed   = "failed"
)

// Service answers queries: decide, route to the sources the basis allows,
// merge, minimise, record, answer.
type Service struct {
	Catalogue *Catalogue
	Sources   map[Source]Finder
	Recorder  Recorder
	Pending   PendingStore
	Calendar  Calendar
	Now       func() time.Time
	Log       *slog.Logger
}

// Ask answers a query body from requester, whose official is the caller's
// employee asking. Refusals are answers (Status refused), not errors; an
// error means the query could not be handled or recorded, and nothing was
// answered.
func (s *Service) Ask(ctx context.Context, requester Requester, body []byte) (Answer, error) {
	now := s.now()
	id := uuid.Must(uuid.NewV7())
	q, perr := ParseQuery(body)
	var d Decision
	if perr != nil {
		var qe *QueryError
		if !errors.As(perr, &qe) {
			return Answer{}, fmt.Errorf("parse query: %w", perr)
		}
		d = Decision{Reason: qe.Reason, Detail: qe.detail()}
		if s.Catalogue != nil {
			d.CatalogueVersion = s.Catalogue.Version
		}
	} else {
		d = Decide(s.Catalogue, requester, q, now)
	}
	rec := Access{QueryID: id, At: now, Requester: requester, Query: q, Decision: d}
	if !d.Granted {
		rec.Outcome = StatusRefused
		if err := s.Recorder.RecordAccess(ctx, rec); err != nil {
			return Answer{}, fmt.Errorf("record refused query: %w", err)
		}
		return Answer{ID: id, Status: StatusRefused, Decision: d}, nil
	}
	ans, err := s.consult(ctx, id, q, d)
	if errors.Is(err, ErrSourceUnavailable) {
		p := Pending{ID: id, Org: requester.Org, Official: q.Official.ID, Query: q, Decision: d, CreatedAt: now,
			DueAt: s.Calendar.Due(now)}
		// Saved before it is recorded and answered: a pending query the
		// requester was told about is never forgotten.
		if err := s.Pending.SavePending(ctx, p); err != nil {
			return Answer{}, fmt.Errorf("save pending query: %w", err)
		}
		rec.Outcome, rec.Error = StatusPending, err.Error()
		if err := s.Recorder.RecordAccess(ctx, rec); err != nil {
			return Answer{}, fmt.Errorf("record pending query: %w", err)
		}
		due := p.DueAt
		return Answer{ID: id, Status: StatusPending, Decision: d, DueAt: &due}, nil
	}
	if err != nil {
		rec.Outcome, rec.Error = StatusFailed, err.Error()
		if rerr := s.Recorder.RecordAccess(ctx, rec); rerr != nil {
			return Answer{}, fmt.Errorf("record failed query: %w", rerr)
		}
		return Answer{ID: id, Status: StatusFailed, Decision: d, Error: "a source could not answer"}, nil
	}
	rec.Outcome = StatusAnswered
	rec.FieldsDelivered, rec.Persons = delivered(ans)
	if err := s.Recorder.RecordAccess(ctx, rec); err != nil {
		return Answer{}, fmt.Errorf("record granted query: %w", err)
	}
	return ans, nil
}

// Refuse records and answers a request refused before it could be read as a
// query — a SOAP envelope or X-Road headers that are wrong, or a caller
// that is not the client it names — so that it is in the access log like
// every other refusal.
func (s *Service) Refuse(ctx context.Context, requester Requester, reason Reason, detail string) (Answer, error) {
	id := uuid.Must(uuid.NewV7())
	d := Decision{Reason: reason, Detail: detail}
	if s.Catalogue != nil {
		d.CatalogueVersion = s.Catalogue.Version
	}
	rec := Access{QueryID: id, At: s.now(), Requester: requester, Decision: d, Outcome: StatusRefused}
	if err := s.Recorder.RecordAccess(ctx, rec); err != nil {
		return Answer{}, fmt.Errorf("record refused request: %w", err)
	}
	return Answer{ID: id, Status: StatusRefused, Decision: d}, nil
}

// consult asks every source the basis allows and merges their answers.
func (s *Service) consult(ctx context.Context, id uuid.UUID, q Query, d Decision) (Answer, error) {
	param := q.Search.Sets()[0]
	var persons []string
	merged := map[string]map[string]any{}
	for _, src := range d.Sources {
		finder, ok := s.Sources[src]
		if !ok {
			return Answer{}, fmt.Errorf("source %s is not configured", src)
		}
		found, err := finder.Find(ctx, FindRequest{Search: q.Search, Param: param,
			Official: q.Official.ID, Case: q.Case, Purpose: q.Purpose.ID})
		if err != nil {
			return Answer{}, fmt.Errorf("source %s: %w", src, err)
		}
		// Sources are consulted in the basis's order; the first to give a
		// field wins, so the local register's own data comes first.
		for _, f := range found {
			rec, ok := merged[f.Person]
			if !ok {
				rec = map[string]any{}
				merged[f.Person] = rec
				persons = append(persons, f.Person)
			}
			for k, v := range f.Record {
				if _, has := rec[k]; !has {
					rec[k] = v
				}
			}
		}
	}
	ans := Answer{ID: id, Status: StatusAnswered, Decision: d, Records: []map[string]any{}}
	for _, p := range persons {
		ans.Records = append(ans.Records, Minimise(d.Fields, merged[p]))
	}
	ans.persons = persons
	return ans, nil
}

// delivered lists the fields that left, and about whom.
func delivered(a Answer) (fields, persons []string) {
	seen := map[string]bool{}
	for _, r := range a.Records {
		for k := range r {
			if !seen[k] {
				seen[k] = true
				fields = append(fields, k)
			}
		}
	}
	slices.Sort(fields)
	return fields, slices.Clone(a.persons)
}

// Resolve tries the pending queries that are due again; those whose sources
// answer are stored for the requester and recorded as delivered.
func (s *Service) Resolve(ctx context.Context, limit int, retryIn time.Duration) (int, error) {
	due, err := s.Pending.DuePending(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("pending queries: %w", err)
	}
	n := 0
	for _, p := range due {
		ans, err := s.consult(ctx, p.ID, p.Query, p.Decision)
		if errors.Is(err, ErrSourceUnavailable) {
			if perr := s.Pending.Postpone(ctx, p.ID, s.now().Add(retryIn), err.Error()); perr != nil {
				return n, perr
			}
			continue
		}
		rec := Access{QueryID: p.ID, At: s.now(), Requester: Requester{Org: p.Org}, Query: p.Query, Decision: p.Decision}
		if err != nil {
			ans = Answer{ID: p.ID, Status: StatusFailed, Decision: p.Decision, Error: "a source could not answer"}
			rec.Outcome, rec.Error = StatusFailed, err.Error()
		} else {
			rec.Outcome = StatusAnswered
			rec.FieldsDelivered, rec.Persons = delivered(ans)
		}
		// Recorded before the answer is stored: an answer a requester can
		// fetch always has its record.
		if err := s.Recorder.RecordAccess(ctx, rec); err != nil {
			return n, fmt.Errorf("record resolved query: %w", err)
		}
		if err := s.Pending.Resolve(ctx, p.ID, ans); err != nil {
			return n, fmt.Errorf("store answer of query %s: %w", p.ID, err)
		}
		n++
	}
	return n, nil
}

// Get returns one of org's queries that had to wait: pending, or its answer.
func (s *Service) Get(ctx context.Context, org string, id uuid.UUID) (Answer, error) {
	return s.Pending.Answer(ctx, org, id)
}

// Overdue lists the pending queries past their due date.
func (s *Service) Overdue(ctx context.Context, limit int) ([]Overdue, error) {
	return s.Pending.OverdueQueries(ctx, limit)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Overdue is a pending query past its due date, for operators.
type Overdue struct {
	ID        uuid.UUID `json:"id"`
	Org       string    `json:"org"`
	Official  string    `json:"official"`
	CreatedAt time.Time `json:"created_at"`
	DueAt     time.Time `json:"due_at"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
}
