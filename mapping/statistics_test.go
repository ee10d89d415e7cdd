package mapping_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/test/openapitest"
)

// statisticsReportID is the outbox message id of the goldens' reports.
const statisticsReportID = "0195a3c1-7a2b-7c3d-8e4f-000000000201"

// statisticsFixtures are the sets with a golden
// testdata/statistics.<name>.json.
var statisticsFixtures = map[string]monthly.StatisticsSet{
	"typical": {
		Period: "2025-02", BuiltAt: time.Date(2025, 3, 1, 0, 5, 0, 0, time.UTC), Threshold: monthly.DefaultThreshold,
		Cells: []monthly.Cell{
			{Flow: monthly.FlowArrival, Sex: action.SexFemale, AgeGroup: "18-34", Area: "UA1206", Count: 12},
			{Flow: monthly.FlowArrival, Sex: action.SexMale, AgeGroup: "0-14", Area: "UA4608", Suppressed: true},
			{Flow: monthly.FlowArrival, Sex: action.SexMale, AgeGroup: "60+", Area: monthly.AreaNotStated, Count: 5},
			{Flow: monthly.FlowDeparture, Sex: action.SexFemale, AgeGroup: "15-17", Area: monthly.AreaNotStated, Suppressed: true},
			{Flow: monthly.FlowDeparture, Sex: action.SexMale, AgeGroup: "35-59", Area: monthly.AreaNotStated, Count: 7},
		},
	},
	"empty": {Period: "2025-01", BuiltAt: time.Date(2025, 2, 1, 0, 5, 0, 0, time.UTC), Threshold: monthly.DefaultThreshold},
}

func statisticsGolden(name string) string {
	return filepath.Join("testdata", "statistics."+name+".json")
}

// TestStatisticsGolden renders each fixture's report, compares it with its
// golden, decodes the golden back (strictly) into the very report, and
// reads the set back from it.
func TestStatisticsGolden(t *testing.T) {
	for name, set := range statisticsFixtures {
		t.Run(name, func(t *testing.T) {
			r, err := mapping.ToStatistics(set, fixedMeta.RegistrationBody, statisticsReportID)
			if err != nil {
				t.Fatalf("ToStatistics: %v", err)
			}
			got, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, statisticsGolden(name), got)

			raw, err := os.ReadFile(statisticsGolden(name))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			var back mapping.StatisticsReport
			if err := dec.Decode(&back); err != nil {
				t.Fatalf("decode golden: %v", err)
			}
			if !reflect.DeepEqual(back, r) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", back, r)
			}
			gotSet, body, id := mapping.FromStatistics(back)
			wantSet := set
			wantSet.BuiltAt = time.Time{} // not on the wire
			if wantSet.Cells == nil {
				wantSet.Cells = []monthly.Cell{}
			}
			if !reflect.DeepEqual(gotSet, wantSet) || body != fixedMeta.RegistrationBody || id != statisticsReportID {
				t.Errorf("FromStatistics: %+v, %+v, %q; want %+v, %+v, %q", gotSet, body, id, wantSet, fixedMeta.RegistrationBody, statisticsReportID)
			}
			// An empty set is an empty list, not null: the contract requires it.
			if !bytes.Contains(raw, []byte(`"cells": [`)) {
				t.Errorf("the golden has no cells list:\n%s", raw)
			}
		})
	}
	files, err := filepath.Glob(filepath.Join("testdata", "statistics.*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "statistics."), ".json")
		if _, ok := statisticsFixtures[name]; !ok {
			t.Errorf("%s is not a statistics fixture's golden", f)
		}
	}
}

// TestStatisticsRoundTrip: every set BuildStatistics can make maps and
// reads back unchanged (but for BuiltAt).
func TestStatisticsRoundTrip(t *testing.T) {
	set := monthly.BuildStatistics(statisticsPeriod, privacyPopulation().completed, 0, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	r, err := mapping.ToStatistics(set, fixedMeta.RegistrationBody, statisticsReportID)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back mapping.StatisticsReport
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	got, _, _ := mapping.FromStatistics(back)
	set.BuiltAt = time.Time{}
	if !reflect.DeepEqual(got, set) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, set)
	}
}

// TestToStatisticsRefuses: what must never be published is a mapping
// error naming the cell, never its count.
func TestToStatisticsRefuses(t *testing.T) {
	ok := func() monthly.StatisticsSet {
		s := statisticsFixtures["typical"]
		s.Cells = slices.Clone(s.Cells)
		return s
	}
	cases := []struct {
		name   string
		change func(s *monthly.StatisticsSet, body *mapping.RegistrationBody, id *string)
		want   string
	}{
		{"count and suppressed", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells[0].Suppressed = true
		}, "cells[0] has both a count and suppressed"},
		{"count under the threshold", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells[2].Count = 3
		}, "cells[2].count is below the suppression threshold"},
		{"count under a raised threshold", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Threshold = 6
		}, "cells[2].count is below"},
		{"negative count", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells[4].Count = -7
		}, "cells[4].count is below"},
		{"neither", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells[1].Suppressed = false
		}, "cells[1] has neither"},
		{"threshold below 5", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Threshold = 3
		}, "suppression_threshold is below 5"},
		{"a community, not a district", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells[0].Area = "UA12060190010000123"
		}, "cells[0].area is not a KATOTTG district"},
		{"unknown age group", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells[0].AgeGroup = "20-29"
		}, "cells[0].age_group"},
		{"unknown flow", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells[0].Flow = "transit"
		}, "cells[0].flow"},
		{"unknown sex", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells[0].Sex = "X"
		}, "cells[0].sex"},
		{"a cell twice", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Cells = append(s.Cells, s.Cells[0])
		}, "cells[5] repeats an earlier cell"},
		{"period not a month", func(s *monthly.StatisticsSet, _ *mapping.RegistrationBody, _ *string) {
			s.Period = "2025-2"
		}, "period is not a month"},
		{"no report id", func(_ *monthly.StatisticsSet, _ *mapping.RegistrationBody, id *string) { *id = "" }, "report id is required"},
		{"no registration body", func(_ *monthly.StatisticsSet, b *mapping.RegistrationBody, _ *string) {
			*b = mapping.RegistrationBody{}
		}, "registration body code is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, body, id := ok(), fixedMeta.RegistrationBody, statisticsReportID
			tc.change(&s, &body, &id)
			_, err := mapping.ToStatistics(s, body, id)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
			// Digits only in cell indexes and the threshold's floor.
			rest := regexp.MustCompile(`cells\[[0-9]+\]|below 5`).ReplaceAllString(err.Error(), "")
			if strings.ContainsAny(rest, "0123456789") {
				t.Errorf("the error echoes a value: %v", err)
			}
			if strings.Contains(err.Error(), "UA12060190010000123") {
				t.Errorf("the error echoes an address: %v", err)
			}
		})
	}
}

// The contract, and where a report is posted.
const (
	statisticsContractPath = "../schemas/statistics/statistics.yaml"
	statisticsURL          = "http://statistics.invalid/v1/statistics/migration-reports"
)

// TestStatisticsGoldenMatchesContract: every golden is a valid request
// body of the contract, and the contract refuses what must not be
// published.
func TestStatisticsGoldenMatchesContract(t *testing.T) {
	_, router := openapitest.Load(t, statisticsContractPath)
	for name := range statisticsFixtures {
		raw, err := os.ReadFile(statisticsGolden(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := openapitest.ValidatePost(t, router, statisticsURL, statisticsReportID, raw); err != nil {
			t.Errorf("%s does not match schemas/statistics/statistics.yaml: %v", statisticsGolden(name), err)
		}
	}
	r, err := mapping.ToStatistics(statisticsFixtures["typical"], fixedMeta.RegistrationBody, statisticsReportID)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(m map[string]any){
		"count and suppressed": func(m map[string]any) { cell(m, 0)["suppressed"] = true },
		"neither":              func(m map[string]any) { delete(cell(m, 1), "suppressed") },
		"suppressed false":     func(m map[string]any) { cell(m, 1)["suppressed"] = false },
		"count under 5":        func(m map[string]any) { cell(m, 0)["count"] = 3 },
		"a personal field":     func(m map[string]any) { cell(m, 0)["surname"] = "Вигаденко" },
		"a list of persons":    func(m map[string]any) { m["persons"] = []any{} },
		"a total":              func(m map[string]any) { m["total"] = 24 },
		"threshold under 5":    func(m map[string]any) { m["suppressionThreshold"] = 3 },
		"a community":          func(m map[string]any) { cell(m, 0)["area"] = "UA12060190010000123" },
		"another age group":    func(m map[string]any) { cell(m, 0)["ageGroup"] = "20-29" },
		"a day, not a month":   func(m map[string]any) { m["period"] = "2025-02-14" },
		"no cells":             func(m map[string]any) { delete(m, "cells") },
	} {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		body, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if openapitest.ValidatePost(t, router, statisticsURL, statisticsReportID, body) == nil {
			t.Errorf("%s: the contract accepts it", name)
		}
	}
}

func cell(m map[string]any, i int) map[string]any { return m["cells"].([]any)[i].(map[string]any) }

// statisticsPeriod is the month of the synthetic population.
var statisticsPeriod = monthly.Period{Year: 2025, Month: time.February}

// population is a synthetic month of completed actions and every
// personal string it holds.
type population struct {
	completed []monthly.Completed
	personal  []string
	n         int
}

// add appends n actions of kind by distinct persons of sex, aged age on
// the effective date, whose previous address (if prevDistrict is not
// empty) is a full KATOTTG code in that district. Every person has a name,
// identifiers, a birth date and place, a document and addresses of their
// own, all recorded as personal.
func (p *population) add(n int, kind action.Kind, sex string, age int, prevDistrict string) {
	for range n {
		p.n++
		i := p.n
		eff := time.Date(2025, time.February, 1+i%28, 0, 0, 0, 0, time.UTC)
		// Aged age on eff; one in five has the birthday that very day.
		born := eff.AddDate(-age, 0, -(i%5)*60)
		s := action.Submission{
			Kind: kind,
			Person: action.Person{
				UNZR:       fmt.Sprintf("%s-%05d", born.Format("20060102"), 40000+i),
				RNOKPP:     fmt.Sprintf("%010d", 2900000000+i*7919),
				Surname:    fmt.Sprintf("Приватенко-%03d", i),
				GivenNames: fmt.Sprintf("Таємниця-%03d", i),
				Patronymic: fmt.Sprintf("Прихованівна-%03d", i),
				BirthDate:  born.Format(time.DateOnly),
				BirthPlace: fmt.Sprintf("с. Вигадане-%03d", i),
				Sex:        sex,
				Document:   &action.Document{Type: "id_card", Number: fmt.Sprintf("%09d", 700000000+i), Issuer: fmt.Sprintf("ЦНАП-%04d", 9000+i)},
			},
			Address: &action.Address{
				KATOTTG:   fmt.Sprintf("UA80000000%09d", 100000000+i),
				Street:    fmt.Sprintf("вул. Потаємна-%03d", i),
				Building:  fmt.Sprintf("%dЖ", 300+i),
				Apartment: fmt.Sprintf("кв%dЩ", 600+i),
			},
			EffectiveDate: eff.Format(time.DateOnly),
			Official:      action.Official{ID: fmt.Sprintf("officer-%04d", 5000+i), Name: fmt.Sprintf("Службовець-%03d", i)},
		}
		if prevDistrict != "" {
			s.PreviousAddress = &action.Address{
				KATOTTG:   fmt.Sprintf("%s%013d", prevDistrict, 5000000000000+int64(i)*104729),
				Street:    fmt.Sprintf("просп. Колишній-%03d", i),
				Building:  fmt.Sprintf("%dЮ", 700+i),
				Apartment: fmt.Sprintf("кв%dЇ", 800+i),
			}
		}
		switch kind {
		case action.KindCancel:
			s.Cancellation = &action.Cancellation{Of: action.KindRegister, Reason: "error"}
		case action.KindDeregister:
			s.Deregistration = &action.Deregistration{}
		}
		p.completed = append(p.completed, monthly.Completed{
			ActionID:    fmt.Sprintf("act-%06d", 310000+i),
			CompletedAt: eff.Add(9 * time.Hour),
			Submission:  s,
		})
		doc := s.Person.Document
		p.personal = append(p.personal, s.Person.UNZR, s.Person.RNOKPP, s.Person.Surname, s.Person.GivenNames,
			s.Person.Patronymic, s.Person.BirthDate, s.Person.BirthPlace, doc.Number, doc.Issuer,
			s.EffectiveDate, s.Official.ID, s.Official.Name, p.completed[len(p.completed)-1].ActionID)
		for _, a := range []*action.Address{s.Address, s.PreviousAddress} {
			if a == nil {
				continue
			}
			// The full code, and any prefix of it finer than a district.
			p.personal = append(p.personal, a.KATOTTG, a.KATOTTG[:7], a.Street, a.Building, a.Apartment)
		}
	}
}

// privacyPopulation is a month in which some groups are large, some
// small, and many actions must not count at all; the groups of the
// non-counting kinds match counted groups, so counting them would show.
// privacyWant is its set's cells, in BuildStatistics's order.
func privacyPopulation() (p *population) {
	p = &population{}
	// arrival UA1206 M 18-34: 7 of three kinds.
	p.add(3, action.KindDeclare, action.SexMale, 25, "UA1206")
	p.add(2, action.KindRegister, action.SexMale, 19, "UA1206")
	p.add(2, action.KindChange, action.SexMale, 34, "UA1206")
	// arrival UA4608 F 35-59: 3, suppressed.
	p.add(3, action.KindRegister, action.SexFemale, 40, "UA4608")
	// arrival UA3210 F 0-14: 5, exactly the threshold.
	p.add(5, action.KindChange, action.SexFemale, 10, "UA3210")
	// arrival not_stated M 60+: 4, suppressed.
	p.add(4, action.KindDeclare, action.SexMale, 70, "")
	// departure not_stated F 15-17: 6.
	p.add(6, action.KindDeregister, action.SexFemale, 16, "")
	// departure not_stated M 18-34: 1, suppressed.
	p.add(1, action.KindExclude, action.SexMale, 30, "")
	// What must not count, in the groups above.
	p.add(6, action.KindCorrect, action.SexFemale, 40, "UA4608")
	p.add(6, action.KindDeregisterDeath, action.SexFemale, 16, "")
	p.add(5, action.KindDeregisterDeath, action.SexMale, 30, "")
	p.add(5, action.KindStayRegister, action.SexMale, 70, "")
	p.add(5, action.KindCancel, action.SexFemale, 40, "UA4608")
	return p
}

var privacyWant = []monthly.Cell{
	{Flow: monthly.FlowArrival, Sex: action.SexMale, AgeGroup: "18-34", Area: "UA1206", Count: 7},
	{Flow: monthly.FlowArrival, Sex: action.SexFemale, AgeGroup: "0-14", Area: "UA3210", Count: 5},
	{Flow: monthly.FlowArrival, Sex: action.SexFemale, AgeGroup: "35-59", Area: "UA4608", Suppressed: true},
	{Flow: monthly.FlowArrival, Sex: action.SexMale, AgeGroup: "60+", Area: monthly.AreaNotStated, Suppressed: true},
	{Flow: monthly.FlowDeparture, Sex: action.SexFemale, AgeGroup: "15-17", Area: monthly.AreaNotStated, Count: 6},
	{Flow: monthly.FlowDeparture, Sex: action.SexMale, AgeGroup: "18-34", Area: monthly.AreaNotStated, Suppressed: true},
}

// TestStatisticsPrivacy builds a set from a synthetic month with
// monthly.BuildStatistics, maps and encodes it as the sender does, and
// checks what leaves the hub: (a) no personal value of any person, (b) no
// key the contract does not name, (c) no count under the threshold and the
// small groups suppressed, and the cells as counted by hand.
func TestStatisticsPrivacy(t *testing.T) {
	pop := privacyPopulation()
	for i, c := range pop.completed {
		if c.Submission.Kind != action.KindCorrect && c.Submission.Person.Sex == "" {
			t.Fatalf("completed[%d] has no sex", i)
		}
	}
	set := monthly.BuildStatistics(statisticsPeriod, pop.completed, 0, time.Date(2025, 3, 1, 0, 5, 0, 0, time.UTC))
	r, err := mapping.ToStatistics(set, fixedMeta.RegistrationBody, statisticsReportID)
	if err != nil {
		t.Fatalf("ToStatistics: %v", err)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("no personal value", func(t *testing.T) {
		if len(pop.personal) < 500 {
			t.Fatalf("only %d personal values: the population is too small to mean anything", len(pop.personal))
		}
		for _, v := range pop.personal {
			if len(v) < 4 {
				t.Fatalf("personal value %q is too short to search for", v)
			}
			if bytes.Contains(raw, []byte(v)) {
				t.Errorf("the report contains the personal value %q", v)
			}
		}
		// Nor any other value than the report's own and the contract's
		// enumerations: no date, identifier or address, whatever its source.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		own := []string{statisticsReportID, "2025-02", fixedMeta.RegistrationBody.Code, fixedMeta.RegistrationBody.Name,
			monthly.FlowArrival, monthly.FlowDeparture, action.SexMale, action.SexFemale, monthly.AreaNotStated}
		for _, g := range monthly.AgeGroups {
			own = append(own, g.Name)
		}
		district := regexp.MustCompile(`^UA[0-9]{4}$`)
		for _, s := range stringValues(v) {
			if !slices.Contains(own, s) && !district.MatchString(s) {
				t.Errorf("the report has the value %q", s)
			}
		}
	})

	t.Run("only the contract's keys", func(t *testing.T) {
		doc, router := openapitest.Load(t, statisticsContractPath)
		if err := openapitest.ValidatePost(t, router, statisticsURL, statisticsReportID, raw); err != nil {
			t.Fatalf("the report does not match the contract: %v", err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		walkKeys(t, "", v, doc.Components.Schemas["MigrationReport"].Value, seen)
		allowed := map[string]bool{}
		for _, name := range []string{"MigrationReport", "RegistrationBody", "Cell"} {
			for k := range doc.Components.Schemas[name].Value.Properties {
				allowed[k] = true
			}
		}
		if !reflect.DeepEqual(seen, allowed) {
			t.Errorf("the report's keys %v are not exactly the contract's %v", keys(seen), keys(allowed))
		}
		want := []string{"ageGroup", "area", "cells", "code", "count", "flow", "name", "period", "registrationBody",
			"reportId", "sex", "suppressed", "suppressionThreshold"}
		if got := keys(seen); !slices.Equal(got, want) {
			t.Errorf("keys %v, want %v", got, want)
		}
	})

	t.Run("small cells suppressed", func(t *testing.T) {
		if r.SuppressionThreshold != monthly.DefaultThreshold {
			t.Fatalf("threshold %d, want %d", r.SuppressionThreshold, monthly.DefaultThreshold)
		}
		for i, c := range r.Cells {
			if c.Suppressed == (c.Count != 0) {
				t.Errorf("cells[%d] %+v is not either counted or suppressed", i, c)
			}
			if !c.Suppressed && c.Count < r.SuppressionThreshold {
				t.Errorf("cells[%d] publishes %d, under the threshold %d", i, c.Count, r.SuppressionThreshold)
			}
		}
		if !reflect.DeepEqual(set.Cells, privacyWant) {
			t.Errorf("cells:\n got %+v\nwant %+v", set.Cells, privacyWant)
		}
	})
}

// walkKeys checks that every object in v has only keys its schema names,
// and the schema's required keys, recording the keys seen.
func walkKeys(t *testing.T, path string, v any, s *openapi3.Schema, seen map[string]bool) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if s.Type == nil || !s.Type.Is(openapi3.TypeObject) {
			t.Errorf("%s: an object where the contract has no object", path)
			return
		}
		for _, k := range s.Required {
			if _, ok := v[k]; !ok {
				t.Errorf("%s: no %s", path, k)
			}
		}
		for k, val := range v {
			seen[k] = true
			p, ok := s.Properties[k]
			if !ok {
				t.Errorf("%s.%s: a key the contract does not name", path, k)
				continue
			}
			walkKeys(t, path+"."+k, val, p.Value, seen)
		}
	case []any:
		if s.Items == nil {
			t.Errorf("%s: a list where the contract has none", path)
			return
		}
		for i, e := range v {
			walkKeys(t, fmt.Sprintf("%s[%d]", path, i), e, s.Items.Value, seen)
		}
	}
}

// stringValues lists every string value in v, keys aside.
func stringValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		var out []string
		for _, e := range v {
			out = append(out, stringValues(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, stringValues(e)...)
		}
		return out
	}
	return nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestStatisticsCountsByHand: small months counted by hand, through
// BuildStatistics and ToStatistics, as the service receives them.
func TestStatisticsCountsByHand(t *testing.T) {
	type group struct {
		n    int
		kind action.Kind
		sex  string
		age  int
		prev string
	}
	cases := []struct {
		name      string
		threshold int
		groups    []group
		want      []mapping.StatisticsCell
	}{
		{"nothing", 0, nil, []mapping.StatisticsCell{}},
		{"only what does not count", 0, []group{
			{9, action.KindDeregisterDeath, action.SexMale, 50, ""},
			{9, action.KindCorrect, action.SexMale, 50, "UA1206"},
			{9, action.KindStayRegister, action.SexFemale, 20, ""},
			{9, action.KindCancel, action.SexFemale, 20, "UA1206"},
		}, []mapping.StatisticsCell{}},
		{"five alike, published", 0, []group{{5, action.KindDeclare, action.SexFemale, 20, "UA0502"}},
			[]mapping.StatisticsCell{{Flow: "arrival", Sex: "F", AgeGroup: "18-34", Area: "UA0502", Count: 5}}},
		{"four alike, suppressed", 0, []group{{4, action.KindDeclare, action.SexFemale, 20, "UA0502"}},
			[]mapping.StatisticsCell{{Flow: "arrival", Sex: "F", AgeGroup: "18-34", Area: "UA0502", Suppressed: true}}},
		{"a raised threshold", 6, []group{
			{5, action.KindRegister, action.SexMale, 40, "UA0502"},
			{6, action.KindRegister, action.SexMale, 40, "UA0504"},
		}, []mapping.StatisticsCell{
			{Flow: "arrival", Sex: "M", AgeGroup: "35-59", Area: "UA0502", Suppressed: true},
			{Flow: "arrival", Sex: "M", AgeGroup: "35-59", Area: "UA0504", Count: 6},
		}},
		{"the age groups' edges", 0, []group{
			{5, action.KindDeregister, action.SexMale, 14, ""},
			{5, action.KindDeregister, action.SexMale, 15, ""},
			{5, action.KindDeregister, action.SexMale, 17, ""},
			{5, action.KindDeregister, action.SexMale, 18, ""},
			{5, action.KindExclude, action.SexMale, 59, ""},
			{5, action.KindExclude, action.SexMale, 60, ""},
		}, []mapping.StatisticsCell{
			{Flow: "departure", Sex: "M", AgeGroup: "0-14", Area: "not_stated", Count: 5},
			{Flow: "departure", Sex: "M", AgeGroup: "15-17", Area: "not_stated", Count: 10},
			{Flow: "departure", Sex: "M", AgeGroup: "18-34", Area: "not_stated", Count: 5},
			{Flow: "departure", Sex: "M", AgeGroup: "35-59", Area: "not_stated", Count: 5},
			{Flow: "departure", Sex: "M", AgeGroup: "60+", Area: "not_stated", Count: 5},
		}},
		{"arrivals and departures of one group apart", 0, []group{
			{3, action.KindChange, action.SexFemale, 70, "UA7104"},
			{3, action.KindChange, action.SexFemale, 70, ""},
			{5, action.KindDeregister, action.SexFemale, 70, ""},
		}, []mapping.StatisticsCell{
			{Flow: "arrival", Sex: "F", AgeGroup: "60+", Area: "UA7104", Suppressed: true},
			{Flow: "arrival", Sex: "F", AgeGroup: "60+", Area: "not_stated", Suppressed: true},
			{Flow: "departure", Sex: "F", AgeGroup: "60+", Area: "not_stated", Count: 5},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &population{}
			for _, g := range tc.groups {
				p.add(g.n, g.kind, g.sex, g.age, g.prev)
			}
			set := monthly.BuildStatistics(statisticsPeriod, p.completed, tc.threshold, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
			r, err := mapping.ToStatistics(set, fixedMeta.RegistrationBody, statisticsReportID)
			if err != nil {
				t.Fatal(err)
			}
			wantThreshold := max(tc.threshold, monthly.DefaultThreshold)
			if r.Period != "2025-02" || r.SuppressionThreshold != wantThreshold {
				t.Errorf("period %s, threshold %d; want 2025-02, %d", r.Period, r.SuppressionThreshold, wantThreshold)
			}
			if !reflect.DeepEqual(r.Cells, tc.want) {
				t.Errorf("cells:\n got %+v\nwant %+v", r.Cells, tc.want)
			}
		})
	}
}
