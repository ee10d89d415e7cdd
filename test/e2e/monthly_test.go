package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/simulators/statsim"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/simulators/votersim"
	"github.com/reghub/reghub/test/hubtest"
)

// kyivZone is the zone the hub's months begin in (--monthly-tz default).
func kyivZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Kyiv")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// skipNearMonthEnd skips a test that would straddle the start of a month in
// Kyiv: the scheduler's "last month" would change under it.
func skipNearMonthEnd(t *testing.T, loc *time.Location) {
	t.Helper()
	now := time.Now().In(loc)
	if next := monthly.PeriodOf(now).Next().Start(loc); next.Sub(now) < 3*time.Minute {
		t.Skipf("a month begins in Kyiv at %s, within the test's run", next)
	}
}

// monthlyPerson is a synthetic person with a valid УНЗР (birth date,
// serial, ICAO check digit) and РНОКПП (days since 31.12.1899, serial, a
// ninth digit odd for a man, the check digit).
func monthlyPerson(sex string, birth time.Time, serial int, surname, given, patronymic, citizenship string, issued time.Time) action.Person {
	base := birth.Format("20060102") + fmt.Sprintf("-%04d", serial)
	days := int(birth.Sub(time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)).Hours()/24 + 0.5)
	d9 := 2 * (serial % 5)
	if sex == action.SexMale {
		d9++
	}
	rn := fmt.Sprintf("%05d%03d%d", days, serial%1000, d9)
	rn += strconv.Itoa(action.RNOKPPCheckDigit(rn))
	doc := &action.Document{Type: action.DocumentIDCard, Number: fmt.Sprintf("%09d", 731000000+serial),
		IssuedOn: issued.Format(time.DateOnly), Issuer: "7111", Expires: issued.AddDate(10, 0, 0).Format(time.DateOnly)}
	if citizenship != monthly.Citizenship {
		doc = &action.Document{Type: action.DocumentResidencePermit, Number: fmt.Sprintf("%09d", 842000000+serial),
			IssuedOn: issued.Format(time.DateOnly), Issuer: "7112", Expires: issued.AddDate(5, 0, 0).Format(time.DateOnly)}
	}
	return action.Person{
		UNZR: base + strconv.Itoa(action.UNZRCheckDigit(base)), RNOKPP: rn,
		Surname: surname, GivenNames: given, Patronymic: patronymic, BirthDate: birth.Format(time.DateOnly),
		Sex: sex, Citizenship: citizenship, Document: doc,
	}
}

// monthlySubmission is a submission of kind for p at addr, effective on eff.
func monthlySubmission(t *testing.T, kind action.Kind, p action.Person, addr action.Address, prev *action.Address, eff time.Time) []byte {
	t.Helper()
	s := action.Submission{Kind: kind, Person: p, Address: &addr, PreviousAddress: prev, EffectiveDate: eff.Format(time.DateOnly),
		Official: action.Official{ID: "SYN-OFF-0011", Name: "Синтетична посадовиця"}}
	if kind == action.KindDeregister {
		s.Deregistration = &action.Deregistration{Reason: action.DeregistrationMoved}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// monthlyAction reads the hub's own action carrying a recipient's set of
// a period: its id, status and message id.
func monthlyAction(t *testing.T, e *hubtest.Env, dest action.Destination, p monthly.Period) (id, status, message string, ok bool) {
	t.Helper()
	err := e.Pool.QueryRow(context.Background(), `
		SELECT a.id::text, a.status, m.id::text FROM actions a JOIN outbox_messages m ON m.action_id = a.id
		WHERE a.client_id = $1 AND a.idempotency_key = $2`, monthly.SystemClient, monthly.Key(dest, p)).Scan(&id, &status, &message)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return "", "", "", false
		}
		t.Fatalf("read the %s set's action: %v", dest, err)
	}
	return id, status, message, true
}

func inspectVoter(t *testing.T, e *hubtest.Env) votersim.Inspection {
	t.Helper()
	in, err := votersim.Inspect(context.Background(), e.Voter.URL)
	if err != nil {
		t.Fatalf("inspect the voter register: %v", err)
	}
	return in
}

func inspectStatistics(t *testing.T, e *hubtest.Env) statsim.Inspection {
	t.Helper()
	in, err := statsim.Inspect(context.Background(), e.Statistics.URL)
	if err != nil {
		t.Fatalf("inspect the statistics service: %v", err)
	}
	return in
}

// The monthly sets through the real binary: a month of completed actions
// (moved into last month in the database) and a citizen turning 18 next
// month give one voter set and one depersonalised statistics report, each
// received once by its recipient with the right content, however many
// ticks, restarts and scheduling replicas follow.
func TestMonthlySetsReachTheirRecipientsOnce(t *testing.T) {
	loc := kyivZone(t)
	skipNearMonthEnd(t, loc)
	now := time.Now().In(loc)
	cur := monthly.PeriodOf(now)
	last := cur.Prev()
	adultMonth := cur.Next()
	day := func(d int) time.Time { return time.Date(last.Year, last.Month, d, 0, 0, 0, 0, time.UTC) }
	issued := day(1).AddDate(-2, 0, 0)

	e := hubtest.NewEnv(t, hubtest.Opts{}) // the scheduler is off (hubtest's --monthly-every 0)
	op := operatorToken(t, e, "op-monthly", auth.RoleOperator)

	here := action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Небувала", Building: "12", Apartment: "3"}
	herePlus := action.Address{KATOTTG: "UA12060170020011248", Street: "просп. Примарний", Building: "5"}
	from1208 := action.Address{KATOTTG: "UA12080130010093157", Street: "вул. Позавчорашня", Building: "8"}
	from1210 := action.Address{KATOTTG: "UA12100250010034602", Street: "пров. Тихоплинний", Building: "21"}
	from1214a := action.Address{KATOTTG: "UA12140190010067390", Street: "вул. Світанкова-Вигадана", Building: "4"}
	from1214b := action.Address{KATOTTG: "UA12140230010011265", Street: "вул. Колишня Мрійна", Building: "17"}
	from1204 := action.Address{KATOTTG: "UA12040110010042711", Street: "бульв. Уявних Каштанів", Building: "2"}
	born := func(age, daysBefore int) time.Time { return day(3).AddDate(-age, 0, -daysBefore) }

	// A: a citizen of 40 from district UA1208; B: a man of 62 from UA1210.
	a := monthlyPerson(action.SexFemale, born(40, 11), 101, "Вигаданюк", "Зореслава", "Тарасівна", "UKR", issued)
	b := monthlyPerson(action.SexMale, born(62, 37), 102, "Примарченко", "Світозар", "Іванович", "UKR", issued)
	// C1–C5: five women of 18–34 from district UA1214 (two communities of
	// it): one cell of five, published.
	var cs []action.Person
	for i, n := range []string{"Небувайло", "Мрійченко", "Химерук", "Казкаренко", "Видумська"} {
		cs = append(cs, monthlyPerson(action.SexFemale, born(21+2*i, 5+i), 110+i, n, "Ладомира", "Петрівна", "UKR", issued))
	}
	// D: a man of 45 registered with no previous address, then deregistered.
	d := monthlyPerson(action.SexMale, born(45, 60), 120, "Фантазюк", "Велимир", "Сергійович", "UKR", issued)
	// F: a foreign citizen, on a residence permit, from UA1204.
	f := monthlyPerson(action.SexMale, born(30, 90), 130, "Ностальський", "Мілош", "", "POL", issued)
	// T: a citizen whose 18th birthday falls in the month after this one.
	tBirth := time.Date(adultMonth.Year-18, adultMonth.Month, 15, 0, 0, 0, 0, time.UTC)
	tp := monthlyPerson(action.SexMale, tBirth, 140, "Вигадько", "Яромир", "Олегович", "UKR", issued)

	type sub struct {
		p    action.Person
		body []byte
	}
	subs := []sub{
		{a, monthlySubmission(t, action.KindRegister, a, here, &from1208, day(3))},
		{b, monthlySubmission(t, action.KindRegister, b, herePlus, &from1210, day(4))},
		{d, monthlySubmission(t, action.KindRegister, d, here, nil, day(4))},
		{f, monthlySubmission(t, action.KindRegister, f, herePlus, &from1204, day(5))},
		{tp, monthlySubmission(t, action.KindRegister, tp, here, nil, day(5))},
	}
	for i, c := range cs {
		prev := &from1214a
		if i%2 == 1 {
			prev = &from1214b
		}
		subs = append(subs, sub{c, monthlySubmission(t, action.KindDeclare, c, herePlus, prev, day(6+i))})
	}
	regAction := map[string]string{} // УНЗР → the registration's action id
	var ids []string
	for _, s := range subs {
		v := e.Submit(s.body)
		regAction[s.p.UNZR] = v.ID
		ids = append(ids, v.ID)
	}
	for id, v := range e.WaitResolved(ids, 30*time.Second) {
		if v.Status != "completed" {
			t.Fatalf("registration %s is %s (%s), want completed", id, v.Status, v.StatusReason)
		}
	}
	left := e.Submit(monthlySubmission(t, action.KindDeregister, d, here, nil, day(20)))
	if v := e.WaitResolved([]string{left.ID}, 30*time.Second)[left.ID]; v.Status != "completed" {
		t.Fatalf("the deregistration is %s (%s), want completed", v.Status, v.StatusReason)
	}
	ids = append(ids, left.ID)

	// Their completion moves into last month.
	completedAt := time.Date(last.Year, last.Month, 25, 12, 0, 0, 0, loc)
	tag, err := e.Pool.Exec(context.Background(),
		`UPDATE actions SET completed_at = $1 WHERE client_id <> $2`, completedAt, monthly.SystemClient)
	if err != nil || tag.RowsAffected() != int64(len(ids)) {
		t.Fatalf("move completion into %s: %v rows, %v; want %d", last, tag.RowsAffected(), err, len(ids))
	}

	// The scheduler on, in two processes at once.
	e.Hub.Kill()
	e.HubArgs = append(slices.Clone(e.HubArgs), "--monthly-every", "200ms", "--monthly-grace", "0s")
	e.Hub = e.StartHub()
	e.StartReplica()

	deadline := time.Now().Add(20 * time.Second)
	for {
		vin, sin := inspectVoter(t, e), inspectStatistics(t, e)
		if vin.ByPeriod[last.String()].Sets > 0 && len(sin.Periods[last.String()]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s the voter register holds %d sets of %s (rejected %d), the statistics service %d (refused %v, rejected %d)",
				vin.ByPeriod[last.String()].Sets, last, vin.RejectedCount, len(sin.Periods[last.String()]), sin.Refused, sin.RejectedCount)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The voter set: exactly the expected persons, by УНЗР.
	vin := inspectVoter(t, e)
	if vin.Latest == nil {
		t.Fatal("the voter register kept no set content")
	}
	set := vin.Latest.Set
	if set.Period != last.String() || set.TurningAdultMonth != adultMonth.String() {
		t.Errorf("voter set of period %q, turning adult in %q; want %s and %s", set.Period, set.TurningAdultMonth, last, adultMonth)
	}
	unzrs := func(vs []monthly.Voter) []string {
		out := []string{}
		for _, v := range vs {
			out = append(out, v.UNZR)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	wantRegistered := sorted(a.UNZR, b.UNZR, d.UNZR, cs[0].UNZR, cs[1].UNZR, cs[2].UNZR, cs[3].UNZR, cs[4].UNZR)
	if got := unzrs(set.Registered); !slices.Equal(got, wantRegistered) {
		t.Errorf("registered voters %v, want %v (adult citizens only: not the foreigner %s nor the minor %s)", got, wantRegistered, f.UNZR, tp.UNZR)
	}
	for _, v := range set.Registered {
		if want := regAction[v.UNZR]; v.ActionID != want {
			t.Errorf("registered voter %s names action %q, want %q", v.UNZR, v.ActionID, want)
		}
	}
	if got := unzrs(set.Deregistered); !slices.Equal(got, []string{d.UNZR}) {
		t.Errorf("deregistered voters %v, want [%s]", got, d.UNZR)
	} else if v := set.Deregistered[0]; v.Reason != action.DeregistrationMoved || v.Date != day(20).Format(time.DateOnly) || v.ActionID != left.ID {
		t.Errorf("deregistered voter: reason %q date %q action %q; want %q, %s, %s", v.Reason, v.Date, v.ActionID,
			action.DeregistrationMoved, day(20).Format(time.DateOnly), left.ID)
	}
	if got := unzrs(set.TurningAdult); !slices.Equal(got, []string{tp.UNZR}) {
		t.Errorf("voters turning adult %v, want [%s]", got, tp.UNZR)
	} else if v := set.TurningAdult[0]; v.Date != tBirth.AddDate(18, 0, 0).Format(time.DateOnly) || v.Address == nil || v.Address.KATOTTG != here.KATOTTG {
		t.Errorf("voter turning adult: date %q address %+v; want %s at %s", v.Date, v.Address, tBirth.AddDate(18, 0, 0).Format(time.DateOnly), here.KATOTTG)
	}
	for _, l := range [][]monthly.Voter{set.Registered, set.Deregistered, set.TurningAdult} {
		for _, v := range l {
			if v.UNZR == f.UNZR || v.RNOKPP == f.RNOKPP {
				t.Errorf("the foreign citizen %s is in the voter set", f.UNZR)
			}
		}
	}
	if c := vin.ByPeriod[last.String()]; c.Registered != 8 || c.Deregistered != 1 || c.TurningAdult != 1 {
		t.Errorf("voter register counted %+v for %s, want 8 registered, 1 deregistered, 1 turning adult", c, last)
	}

	// The statistics: the cell of five published, every other suppressed.
	sin := inspectStatistics(t, e)
	reports := sin.Periods[last.String()]
	if len(reports) != 1 {
		t.Fatalf("statistics reports of %s: %d, want 1", last, len(reports))
	}
	rep := reports[0]
	if rep.SuppressionThreshold != monthly.DefaultThreshold {
		t.Errorf("suppression threshold %d, want %d", rep.SuppressionThreshold, monthly.DefaultThreshold)
	}
	type cellKey struct{ flow, sex, group, area string }
	want := map[cellKey]int{ // count; 0: suppressed
		{monthly.FlowArrival, action.SexFemale, "18-34", "UA1214"}:              5,
		{monthly.FlowArrival, action.SexFemale, "35-59", "UA1208"}:              0,
		{monthly.FlowArrival, action.SexMale, "60+", "UA1210"}:                  0,
		{monthly.FlowArrival, action.SexMale, "35-59", monthly.AreaNotStated}:   0,
		{monthly.FlowArrival, action.SexMale, "18-34", "UA1204"}:                0,
		{monthly.FlowArrival, action.SexMale, "15-17", monthly.AreaNotStated}:   0,
		{monthly.FlowDeparture, action.SexMale, "35-59", monthly.AreaNotStated}: 0,
	}
	got := map[cellKey]statsim.Cell{}
	for _, c := range rep.Cells {
		got[cellKey{c.Flow, c.Sex, c.AgeGroup, c.Area}] = c
	}
	if len(got) != len(rep.Cells) {
		t.Errorf("a cell is repeated in %+v", rep.Cells)
	}
	for k, n := range want {
		c, ok := got[k]
		switch {
		case !ok:
			t.Errorf("no cell %+v in %+v", k, rep.Cells)
		case n == 0 && (!c.Suppressed || c.Count != 0):
			t.Errorf("cell %+v: count %d suppressed %v; want suppressed without a count", k, c.Count, c.Suppressed)
		case n > 0 && (c.Suppressed || c.Count != n):
			t.Errorf("cell %+v: count %d suppressed %v; want %d published", k, c.Count, c.Suppressed, n)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected cell %+v", got[k])
		}
	}

	// Nothing personal in what the statistics service kept, in the set the
	// hub stored, nor in the report the delivery posts.
	resp, err := http.Get(e.Statistics.URL + "/inspect")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	statID, _, statMsg, ok := monthlyAction(t, e, monthly.DestStatistics, last)
	if !ok {
		t.Fatal("no statistics action stored")
	}
	var stored string
	if err := e.Pool.QueryRow(context.Background(), `SELECT body::text FROM actions WHERE id = $1`, statID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if code, _, body := e.Call(http.MethodGet, "/v1/ops/deliveries/"+statMsg, op, nil, nil, &shown); code != http.StatusOK || shown.Message == "" {
		t.Fatalf("ops view of the statistics delivery: %d %s", code, body)
	}
	var personal []string
	for _, p := range append([]action.Person{a, b, d, f, tp}, cs...) {
		personal = append(personal, p.UNZR, p.RNOKPP, p.Surname, p.GivenNames, p.BirthDate, strings.ReplaceAll(p.BirthDate, "-", ""), p.Document.Number)
		if p.Patronymic != "" {
			personal = append(personal, p.Patronymic)
		}
	}
	for _, ad := range []action.Address{here, herePlus, from1208, from1210, from1214a, from1214b, from1204} {
		personal = append(personal, ad.Street, ad.KATOTTG)
	}
	for name, text := range map[string]string{"the statistics service's inspection": string(raw),
		"the stored statistics set": stored, "the statistics report the delivery posts": shown.Message} {
		for _, s := range personal {
			if strings.Contains(text, s) {
				t.Errorf("%s contains the personal value %q", name, s)
			}
		}
	}

	// Exactly once: more ticks, a restart, two schedulers at once.
	checkOnce := func(when string) {
		t.Helper()
		vin, sin := inspectVoter(t, e), inspectStatistics(t, e)
		if vin.SetCount != 1 || vin.ByPeriod[last.String()].Sets != 1 || vin.Duplicates != 0 || vin.RejectedCount != 0 {
			t.Errorf("%s: the voter register holds %d sets (%d of %s), %d duplicates, %d rejected; want one set, none else",
				when, vin.SetCount, vin.ByPeriod[last.String()].Sets, last, vin.Duplicates, vin.RejectedCount)
		}
		if sin.AppliedCount != 1 || len(sin.Periods[last.String()]) != 1 || sin.Duplicates != 0 || sin.Conflicts != 0 ||
			sin.RejectedCount != 0 || len(sin.Refused) != 0 {
			t.Errorf("%s: the statistics service applied %d reports (%d of %s), %d duplicates, %d conflicts, %d rejected, refused %v; want one, none else",
				when, sin.AppliedCount, len(sin.Periods[last.String()]), last, sin.Duplicates, sin.Conflicts, sin.RejectedCount, sin.Refused)
		}
		rows, err := e.Pool.Query(context.Background(),
			`SELECT idempotency_key, status FROM actions WHERE client_id = $1 ORDER BY idempotency_key`, monthly.SystemClient)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var key, status string
			if err := rows.Scan(&key, &status); err != nil {
				t.Fatal(err)
			}
			got = append(got, key+" "+status)
		}
		rows.Close()
		want := []string{monthly.Key(monthly.DestStatistics, last) + " completed", monthly.Key(monthly.DestVoterRegister, last) + " completed"}
		if !slices.Equal(got, want) {
			t.Errorf("%s: actions of client %s: %q, want %q", when, monthly.SystemClient, got, want)
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) { // both sets acknowledged: their actions complete
		_, vs, _, _ := monthlyAction(t, e, monthly.DestVoterRegister, last)
		_, ss, _, _ := monthlyAction(t, e, monthly.DestStatistics, last)
		if vs == "completed" && ss == "completed" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // five more ticks of each scheduler
	checkOnce("after more ticks of two schedulers")

	e.Hub.Kill()
	e.Hub = e.StartHub()
	time.Sleep(time.Second)
	checkOnce("after a restart, beside the replica")

	if logs := e.Logs(); !strings.Contains(logs, "monthly set stored") {
		t.Errorf("no process logged storing a monthly set")
	}
}

// The statistics service down: the set's action waits with its delivery
// retried (transient HTTP 5xx, attempts counted); up again, the report is
// applied once and the action completes. The voter set meanwhile goes out.
func TestMonthlySetSurvivesRecipientOutage(t *testing.T) {
	loc := kyivZone(t)
	skipNearMonthEnd(t, loc)
	last := monthly.PeriodOf(time.Now().In(loc)).Prev()
	e := hubtest.NewEnv(t, hubtest.Opts{
		Statistics: upstream.Config{Outage: true},
		HubArgs:    []string{"--monthly-every", "200ms", "--monthly-grace", "0s", "--max-attempts", "100"},
	})
	op := operatorToken(t, e, "op-monthly-outage", auth.RoleOperator)
	get := func(id string) hubtest.ActionView {
		t.Helper()
		var v hubtest.ActionView
		if code, _, raw := e.Call(http.MethodGet, "/v1/actions/"+id, op, nil, nil, &v); code != http.StatusOK {
			t.Fatalf("operator's view of action %s: %d %s", id, code, raw)
		}
		return v
	}

	var (
		statID string
		view   hubtest.ActionView
	)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if id, _, _, ok := monthlyAction(t, e, monthly.DestStatistics, last); ok {
			statID = id
			view = get(id)
			if len(view.Deliveries) == 1 && view.Deliveries[0].Attempts >= 3 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s the statistics set's action is %q: %+v", statID, view)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dl := view.Deliveries[0]
	if view.Status != "pending" || dl.Destination != string(monthly.DestStatistics) || dl.Status != "pending" ||
		dl.ErrorClass != "http_5xx" || !strings.Contains(dl.LastError, "503") {
		t.Fatalf("during the outage: action %s, delivery to %s %s after %d attempts, class %q, error %q; want both pending, a transient http_5xx (503)",
			view.Status, dl.Destination, dl.Status, dl.Attempts, dl.ErrorClass, dl.LastError)
	}
	if in := inspectStatistics(t, e); in.AppliedCount != 0 {
		t.Fatalf("the statistics service applied %d reports during its outage", in.AppliedCount)
	}
	// The voter register is up: its set goes out meanwhile.
	deadline = time.Now().Add(10 * time.Second)
	for inspectVoter(t, e).ByPeriod[last.String()].Sets == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the voter set of %s did not arrive during the statistics outage", last)
		}
		time.Sleep(50 * time.Millisecond)
	}

	e.SetConfig(e.Statistics, upstream.Config{})
	deadline = time.Now().Add(15 * time.Second)
	for view = get(statID); view.Status == "pending"; view = get(statID) {
		if time.Now().After(deadline) {
			t.Fatalf("the statistics set's action still pending 15s after the outage: %+v", view)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if view.Status != "completed" || len(view.Deliveries) != 1 || view.Deliveries[0].Status != "acknowledged" ||
		!strings.HasPrefix(view.Deliveries[0].UpstreamRef, "STAT-") || view.Deliveries[0].Attempts <= dl.Attempts {
		t.Fatalf("after the outage: %+v; want completed, acknowledged with a STAT- reference after more than %d attempts", view, dl.Attempts)
	}
	time.Sleep(600 * time.Millisecond) // a few more ticks
	in := inspectStatistics(t, e)
	if in.AppliedCount != 1 || len(in.Periods[last.String()]) != 1 || in.Duplicates != 0 || in.Conflicts != 0 {
		t.Errorf("the statistics service applied %d reports (%d of %s), %d duplicates, %d conflicts; want exactly one",
			in.AppliedCount, len(in.Periods[last.String()]), last, in.Duplicates, in.Conflicts)
	}
	if r := in.Periods[last.String()]; len(r) == 1 && r[0].Reference != view.Deliveries[0].UpstreamRef {
		t.Errorf("applied report %s, the delivery acknowledged by %s", r[0].Reference, view.Deliveries[0].UpstreamRef)
	}
	if v := inspectVoter(t, e); v.SetCount != 1 || v.Duplicates != 0 {
		t.Errorf("the voter register holds %d sets, %d duplicates; want one", v.SetCount, v.Duplicates)
	}
	var n, completed int
	if err := e.Pool.QueryRow(context.Background(),
		`SELECT count(*), count(*) FILTER (WHERE status = 'completed') FROM actions WHERE client_id = $1`, monthly.SystemClient).
		Scan(&n, &completed); err != nil || n != 2 || completed != 2 {
		t.Errorf("actions of client %s: %d, %d completed (%v); want 2 completed", monthly.SystemClient, n, completed, err)
	}
}
