// Package monthly builds the sets the register sends once a month: to the
// State Voter Register, the citizens turning 18 next month and the voters
// registered and deregistered last month (002 §4.2.19.2, 001 §2.5.14); to
// the State Statistics Service, depersonalised counts of arrivals and
// departures by sex, age group and origin or destination (002 §4.2.12–13,
// 001 §2.5.19).
//
// A set is stored as an internal action of the system client with a fixed
// idempotency key per recipient and month, and delivered through the
// outbox like any action: the unique key makes it exactly once whatever
// the number of replicas or restarts, and the outbox gives it the retries,
// the operator's tools and the audit every delivery has.
//
// It is core code: the read side is the Source port, the write side the
// action.Store's Insert.
package monthly

import (
	"fmt"
	"time"

	"github.com/reghub/reghub/action"
)

// The recipients of the monthly sets (outbox destinations).
const (
	DestVoterRegister action.Destination = "voter_register"
	DestStatistics    action.Destination = "statistics"
)

// The kinds of the internal actions carrying a set. They are not in the
// kind table, so no client can submit one; the read model ignores them.
const (
	KindVoterRegister action.Kind = "monthly.voter_register"
	KindStatistics    action.Kind = "monthly.statistics"
)

// KindPrefix starts the kind of every monthly set.
const KindPrefix = "monthly."

// SystemClient is the client that owns the sets' actions; migration 011
// creates it with a token nobody holds.
const SystemClient = "reghub"

// Period is a calendar month.
type Period struct {
	Year  int
	Month time.Month
}

// PeriodOf is the month t falls in, in t's location.
func PeriodOf(t time.Time) Period { return Period{t.Year(), t.Month()} }

// ParsePeriod reads "2026-10".
func ParsePeriod(s string) (Period, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Period{}, fmt.Errorf("period %q is not YYYY-MM: %w", s, err)
	}
	return PeriodOf(t), nil
}

func (p Period) String() string { return fmt.Sprintf("%04d-%02d", p.Year, int(p.Month)) }

// Start is the first instant of the month in loc.
func (p Period) Start(loc *time.Location) time.Time {
	return time.Date(p.Year, p.Month, 1, 0, 0, 0, 0, loc)
}

// Next is the month after p.
func (p Period) Next() Period { return PeriodOf(p.Start(time.UTC).AddDate(0, 1, 0)) }

// Prev is the month before p.
func (p Period) Prev() Period { return PeriodOf(p.Start(time.UTC).AddDate(0, -1, 0)) }

// VoterSet is one month's submission to the State Voter Register. Built in
// month M, it carries the registrations and deregistrations completed in
// M-1 (Period) and the citizens whose 18th birthday falls in M+1
// (TurningAdultMonth), all citizens of Ukraine.
type VoterSet struct {
	Period            string    `json:"period"`
	TurningAdultMonth string    `json:"turning_adult_month"`
	BuiltAt           time.Time `json:"built_at"`
	TurningAdult      []Voter   `json:"turning_adult"`
	Registered        []Voter   `json:"registered"`
	Deregistered      []Voter   `json:"deregistered"`
}

// Voter is one person of a VoterSet.
type Voter struct {
	UNZR       string          `json:"unzr,omitempty"`
	RNOKPP     string          `json:"rnokpp,omitempty"`
	Surname    string          `json:"surname"`
	GivenNames string          `json:"given_names"`
	Patronymic string          `json:"patronymic,omitempty"`
	BirthDate  string          `json:"birth_date"`
	Sex        string          `json:"sex,omitempty"`
	Address    *action.Address `json:"address,omitempty"`
	// Date is the 18th birthday, the registration's or the deregistration's
	// effective date.
	Date string `json:"date"`
	// Reason says why a voter left: the deregistration's reason, "death",
	// "exclusion" or "cancellation:<reason>"; for a registration restored
	// by cancelling a deregistration, "cancellation:<reason>" too.
	Reason string `json:"reason,omitempty"`
	// ActionID is the hub's action that made the change; empty for
	// TurningAdult.
	ActionID string `json:"action_id,omitempty"`
}

// StatisticsSet is one month's depersonalised submission to the State
// Statistics Service: counts only, no totals (a total beside a suppressed
// cell would give the cell away by subtraction), and every cell under
// Threshold suppressed.
type StatisticsSet struct {
	Period    string    `json:"period"`
	BuiltAt   time.Time `json:"built_at"`
	Threshold int       `json:"suppression_threshold"`
	Cells     []Cell    `json:"cells"`
}

// Cell is one count of a StatisticsSet.
type Cell struct {
	Flow     string `json:"flow"`      // FlowArrival or FlowDeparture
	Sex      string `json:"sex"`       // action.SexMale or action.SexFemale
	AgeGroup string `json:"age_group"` // one of AgeGroups
	// Area is the origin of an arrival or the destination of a departure:
	// a KATOTTG district prefix (UA and four digits), or AreaNotStated.
	Area       string `json:"area"`
	Count      int    `json:"count,omitempty"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// The flows of a StatisticsSet.
const (
	FlowArrival   = "arrival"
	FlowDeparture = "departure"
)

// AreaNotStated is the area of a movement whose other end is unknown: an
// arrival with no previous address, a departure (a deregistration names
// no destination).
const AreaNotStated = "not_stated"

// DefaultThreshold is the smallest count published: a cell of 1 to 4
// persons could identify them.
const DefaultThreshold = 5
