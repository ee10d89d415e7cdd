package mapping

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/reghub/reghub/monthly"
)

// The State Statistics Service's monthly migration report (002
// §4.2.12–13): the JSON body of POST {base}/v1/statistics/migration-reports,
// whose contract is schemas/statistics/statistics.yaml. The types below
// are that contract's request body; their JSON tags are the wire names.
//
// The report is depersonalised by construction: it has no field that could
// hold a name, an identifier, a date or an address, only the cell keys of
// monthly.StatisticsSet and their counts. ToStatistics checks once more
// what monthly.BuildStatistics guarantees — no count under the threshold,
// no cell both counted and suppressed — so that a set built wrong, or
// stored by an older build, is never published.

// StatisticsReport is one month's migration report.
type StatisticsReport struct {
	// ReportID is the outbox message id, also sent as the Idempotency-Key.
	ReportID         string                     `json:"reportId"`
	RegistrationBody StatisticsRegistrationBody `json:"registrationBody"`
	// Period is the month counted, YYYY-MM.
	Period string `json:"period"`
	// SuppressionThreshold is the smallest count published (at least
	// monthly.DefaultThreshold).
	SuppressionThreshold int              `json:"suppressionThreshold"`
	Cells                []StatisticsCell `json:"cells"`
}

// StatisticsRegistrationBody is the registration body the hub speaks for.
type StatisticsRegistrationBody struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// StatisticsCell is one count: published (Count) or suppressed, never
// both.
type StatisticsCell struct {
	Flow     string `json:"flow"`
	Sex      string `json:"sex"`
	AgeGroup string `json:"ageGroup"`
	// Area is a KATOTTG district (UA and four digits) or
	// monthly.AreaNotStated.
	Area       string `json:"area"`
	Count      int    `json:"count,omitempty"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// The contract's enumerations and patterns of a cell.
var (
	statisticsFlows = []string{monthly.FlowArrival, monthly.FlowDeparture}
	statisticsSexes = []string{"M", "F"}
	// statisticsArea is a district, never a community: six characters.
	statisticsArea = regexp.MustCompile(`^UA[0-9]{4}$`)
)

// statisticsAgeGroup reports whether g is one of monthly.AgeGroups.
func statisticsAgeGroup(g string) bool {
	for _, a := range monthly.AgeGroups {
		if a.Name == g {
			return true
		}
	}
	return false
}

// ToStatistics maps a monthly statistics set to the report the service
// receives; reportID is the outbox message id. It refuses (naming the cell,
// never its count) a set whose period is not a month, whose threshold is
// below monthly.DefaultThreshold, or with a cell that is both counted and
// suppressed, neither, counted under the threshold, repeated, or outside
// the contract's enumerations — an area finer than a district above all.
// It is pure: a resend is the same report, byte for byte once encoded.
func ToStatistics(set monthly.StatisticsSet, body RegistrationBody, reportID string) (StatisticsReport, error) {
	var f fields
	r := StatisticsReport{
		ReportID: f.need("report id", reportID),
		RegistrationBody: StatisticsRegistrationBody{
			Code: f.need("registration body code", body.Code),
			Name: f.need("registration body name", body.Name),
		},
		Period:               set.Period,
		SuppressionThreshold: set.Threshold,
		Cells:                make([]StatisticsCell, 0, len(set.Cells)),
	}
	if p, err := monthly.ParsePeriod(set.Period); err != nil || p.String() != set.Period {
		f.add("period is not a month (YYYY-MM)")
	}
	if set.Threshold < monthly.DefaultThreshold {
		f.add("suppression_threshold is below %d", monthly.DefaultThreshold)
	}
	type key struct{ flow, sex, group, area string }
	seen := make(map[key]bool, len(set.Cells))
	for i, c := range set.Cells {
		name := fmt.Sprintf("cells[%d]", i)
		switch {
		case c.Suppressed && c.Count != 0:
			f.add("%s has both a count and suppressed", name)
		case !c.Suppressed && c.Count == 0:
			f.add("%s has neither a count nor suppressed", name)
		case !c.Suppressed && c.Count < set.Threshold:
			f.add("%s.count is below the suppression threshold", name)
		}
		if !slices.Contains(statisticsFlows, c.Flow) {
			f.add("%s.flow has no value at this destination", name)
		}
		if !slices.Contains(statisticsSexes, c.Sex) {
			f.add("%s.sex has no value at this destination", name)
		}
		if !statisticsAgeGroup(c.AgeGroup) {
			f.add("%s.age_group has no value at this destination", name)
		}
		if c.Area != monthly.AreaNotStated && !statisticsArea.MatchString(c.Area) {
			f.add("%s.area is not a KATOTTG district nor %s", name, monthly.AreaNotStated)
		}
		k := key{c.Flow, c.Sex, c.AgeGroup, c.Area}
		if seen[k] {
			f.add("%s repeats an earlier cell", name)
		}
		seen[k] = true
		r.Cells = append(r.Cells, StatisticsCell{
			Flow: c.Flow, Sex: c.Sex, AgeGroup: c.AgeGroup, Area: c.Area,
			Count: c.Count, Suppressed: c.Suppressed,
		})
	}
	if err := f.err("statistics"); err != nil {
		return StatisticsReport{}, err
	}
	return r, nil
}

// FromStatistics is ToStatistics read back: the set (without BuiltAt,
// which the report does not carry), the registration body and the report
// id.
func FromStatistics(r StatisticsReport) (set monthly.StatisticsSet, body RegistrationBody, reportID string) {
	set = monthly.StatisticsSet{Period: r.Period, Threshold: r.SuppressionThreshold, Cells: make([]monthly.Cell, 0, len(r.Cells))}
	for _, c := range r.Cells {
		set.Cells = append(set.Cells, monthly.Cell{
			Flow: c.Flow, Sex: c.Sex, AgeGroup: c.AgeGroup, Area: c.Area,
			Count: c.Count, Suppressed: c.Suppressed,
		})
	}
	return set, RegistrationBody{Code: r.RegistrationBody.Code, Name: r.RegistrationBody.Name}, r.ReportID
}
