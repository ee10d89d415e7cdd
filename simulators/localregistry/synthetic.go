// Package localregistry plays the municipal population register (the local
// registry) that pushes registration actions to the hub.
package localregistry

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/reghub/reghub/action"
)

// All data made here is synthetic: names are drawn from small lists and put
// together at random, identifiers are generated so that they pass the checks
// of DOMAIN.md, and the KATOTTG codes and streets are invented.

// Generator produces a deterministic stream of submissions for a given seed,
// as a register would: mostly registrations and declarations, deregistrations
// of people registered earlier, and a few cancellations of a person's latest
// action. People come back, so the order of a person's actions matters.
// A Generator is not safe for concurrent use.
type Generator struct {
	rng     *rand.Rand
	today   time.Time // a calendar day, at midnight UTC
	persons []*person
	rnokpp  map[string]bool
	unzr    map[string]bool
}

// person is what the register remembers of someone it has acted for.
type person struct {
	data     action.Person
	addr     *action.Address // current registered or declared address
	prevAddr *action.Address // addr before the last action, restored by a cancel
	lastKind action.Kind
	last     time.Time // effective date of the last action (birth date at first)
	// cancellable: the last action may still be cancelled.
	cancellable bool
	dead        bool
}

// maxPersons bounds the pool of people the generator remembers; beyond it a
// new person takes a random old one's place.
const maxPersons = 500

// NewGenerator returns a generator for seed. Effective dates never pass today,
// taken as the earlier of its own calendar day and that day in Europe/Kyiv,
// so that the hub, which judges "future" in Kyiv, never sees one from tomorrow.
func NewGenerator(seed int64, today time.Time) *Generator {
	day := calendarDay(today)
	if k := calendarDay(today.In(kyiv())); k.Before(day) {
		day = k
	}
	return &Generator{
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x7265676875622d6c)),
		today:  day,
		rnokpp: map[string]bool{},
		unzr:   map[string]bool{},
	}
}

func kyiv() *time.Location {
	if loc, err := time.LoadLocation("Europe/Kyiv"); err == nil {
		return loc
	}
	return time.FixedZone("EET", 2*60*60)
}

func calendarDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// NextJSON returns the next submission as a request body.
func (g *Generator) NextJSON() []byte {
	b, err := json.Marshal(g.Next())
	if err != nil {
		panic(fmt.Sprintf("localregistry: marshal submission: %v", err)) // cannot happen: strings only
	}
	return b
}

// Next returns the next submission.
func (g *Generator) Next() action.Submission {
	r := g.rng.IntN(100)
	switch {
	case r < 6:
		if s, ok := g.cancel(); ok {
			return s
		}
	case r < 26:
		if s, ok := g.deregister(); ok {
			return s
		}
	}
	if g.rng.IntN(100) < 35 {
		return g.settle(action.KindDeclare)
	}
	return g.settle(action.KindRegister)
}

// settle declares or registers a person at a new address: a new person, or
// one who moves (then the old address is the previous one).
func (g *Generator) settle(kind action.Kind) action.Submission {
	p := g.pick(func(p *person) bool { return true })
	if p == nil || g.rng.IntN(100) >= 30 {
		p = g.newPerson()
	}
	addr := g.address()
	for p.addr != nil && sameAddress(*p.addr, addr) {
		addr = g.address()
	}
	eff := g.effectiveDate(p)
	s := g.submission(kind, p, eff)
	s.Address = &addr
	if p.addr != nil {
		prev := *p.addr
		s.PreviousAddress = &prev
	}
	if g.rng.IntN(2) == 0 {
		s.BasisDocument = &action.BasisDocument{Type: "заява", Number: g.basisNumber(eff), Date: day(eff)}
	}
	p.prevAddr, p.addr = p.addr, &addr
	p.lastKind, p.last, p.cancellable = kind, eff, true
	return s
}

var deregistrationReasons = []struct {
	reason string
	weight int
	basis  string
}{
	{action.DeregistrationMoved, 60, "заява"},
	{action.DeregistrationOwnerRequest, 12, "заява власника житла"},
	{action.DeregistrationCourtDecision, 10, "рішення суду"},
	{action.DeregistrationDeath, 8, "витяг з Державного реєстру актів цивільного стану"},
	{action.DeregistrationOther, 10, "заява"},
}

// deregister removes a person registered earlier from their address.
func (g *Generator) deregister() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return p.addr != nil })
	if p == nil {
		return action.Submission{}, false
	}
	n := g.rng.IntN(100)
	reason := deregistrationReasons[0]
	for _, r := range deregistrationReasons {
		if n < r.weight {
			reason = r
			break
		}
		n -= r.weight
	}
	eff := g.effectiveDate(p)
	s := g.submission(action.KindDeregister, p, eff)
	left := *p.addr
	s.Address = &left
	s.Deregistration = &action.Deregistration{Reason: reason.reason}
	s.BasisDocument = &action.BasisDocument{Type: reason.basis, Number: g.basisNumber(eff), Date: day(eff)}
	p.prevAddr, p.addr = p.addr, nil
	p.lastKind, p.last, p.cancellable = action.KindDeregister, eff, true
	p.dead = reason.reason == action.DeregistrationDeath
	return s, true
}

var cancellationReasons = []string{
	"помилка у відомостях",
	"заява особи",
	"рішення суду",
	"недійсний документ, на підставі якого вчинено дію",
}

// cancel undoes a person's latest action, which restores their address.
func (g *Generator) cancel() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return p.cancellable })
	if p == nil {
		return action.Submission{}, false
	}
	eff := g.effectiveDate(p)
	s := g.submission(action.KindCancel, p, eff)
	s.Cancellation = &action.Cancellation{Of: p.lastKind, Reason: cancellationReasons[g.rng.IntN(len(cancellationReasons))]}
	// The address of the cancelled action, most of the time.
	of := p.addr // a declaration or registration: where the person went
	if p.lastKind == action.KindDeregister {
		of = p.prevAddr // the address left
	}
	if of != nil && g.rng.IntN(100) < 70 {
		a := *of
		s.Address = &a
	}
	p.addr, p.prevAddr = p.prevAddr, nil
	p.lastKind, p.last, p.cancellable = action.KindCancel, eff, false
	return s, true
}

// pick returns a random living person matching ok, or nil.
func (g *Generator) pick(ok func(*person) bool) *person {
	if len(g.persons) == 0 {
		return nil
	}
	for range 20 {
		p := g.persons[g.rng.IntN(len(g.persons))]
		if !p.dead && ok(p) {
			return p
		}
	}
	return nil
}

func (g *Generator) submission(kind action.Kind, p *person, eff time.Time) action.Submission {
	data := p.data
	if data.Document != nil {
		d := *data.Document
		data.Document = &d
	}
	return action.Submission{
		Kind:          kind,
		Person:        data,
		EffectiveDate: day(eff),
		Official:      officials[g.rng.IntN(len(officials))],
	}
}

// effectiveDate is a day in the last three months, not before the person's
// previous action (or birth), never after today.
func (g *Generator) effectiveDate(p *person) time.Time {
	lo := g.today.AddDate(0, 0, -90)
	if p.last.After(lo) {
		lo = p.last
	}
	if lo.After(g.today) {
		return g.today
	}
	return g.between(lo, g.today)
}

// between returns a random day in [lo, hi].
func (g *Generator) between(lo, hi time.Time) time.Time {
	if !hi.After(lo) {
		return lo
	}
	n := int(hi.Sub(lo).Hours()/24 + 0.5)
	return lo.AddDate(0, 0, g.rng.IntN(n+1))
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

// --- people ---

var (
	maleNames   = []string{"Андрій", "Богдан", "Василь", "Дмитро", "Олег", "Тарас", "Ярослав", "Максим", "Назар", "Остап", "Ілля", "Роман"}
	femaleNames = []string{"Олена", "Оксана", "Ірина", "Наталія", "Марія", "Софія", "Катерина", "Юлія", "Тетяна", "Соломія", "Дарина", "Ярина"}
	// fathers: a father's name with the patronymics it gives a son and a daughter.
	fathers = [][3]string{
		{"Андрій", "Андрійович", "Андріївна"},
		{"Богдан", "Богданович", "Богданівна"},
		{"Василь", "Васильович", "Василівна"},
		{"Дмитро", "Дмитрович", "Дмитрівна"},
		{"Олег", "Олегович", "Олегівна"},
		{"Тарас", "Тарасович", "Тарасівна"},
		{"Ярослав", "Ярославович", "Ярославівна"},
		{"Петро", "Петрович", "Петрівна"},
		{"Сергій", "Сергійович", "Сергіївна"},
		{"Іван", "Іванович", "Іванівна"},
	}
	// surnames: masculine and feminine forms (the same for most).
	surnames = [][2]string{
		{"Коваленко", "Коваленко"}, {"Бондаренко", "Бондаренко"}, {"Ткачук", "Ткачук"},
		{"Шевчук", "Шевчук"}, {"Мельник", "Мельник"}, {"Кравець", "Кравець"},
		{"Лисенко", "Лисенко"}, {"Гуменюк", "Гуменюк"}, {"Савчук", "Савчук"},
		{"Поліщук", "Поліщук"}, {"Руденко", "Руденко"}, {"Гончар", "Гончар"},
		{"Дем'яненко", "Дем'яненко"}, {"Озерський", "Озерська"}, {"Вербицький", "Вербицька"},
		{"Костюк", "Костюк"}, {"Приходько", "Приходько"}, {"Лук'янчук", "Лук'янчук"},
	}
	birthPlaces = []string{"м. Кривий Ріг", "м. Дніпро", "м. Харків", "м. Полтава", "с. Вербівка", "смт Зелений Гай", "с. Березове"}
	// foreign citizenships, for holders of residence permits.
	foreignCitizenships = []string{"POL", "MDA", "GEO", "AZE", "KAZ"}
	officials           = []action.Official{
		{ID: "KR-0017", Name: "Левченко О. В.", Position: "адміністратор ЦНАП"},
		{ID: "KR-0042", Name: "Гнатюк М. С.", Position: "головний спеціаліст"},
		{ID: "KR-0108", Name: "Остапчук Л. Р.", Position: "адміністратор"},
		{ID: "KR-0230", Name: "Мазур Д. А.", Position: "провідний спеціаліст"},
	}
	passportSeries = []string{"АМ", "ВК", "ЕН", "КВ", "МЮ", "АК"}
	birthCertSer   = []string{"ІКР", "ІДП", "ІАМ", "ІВК"}
	// idCardsSince: the first ID-card passports were issued in January 2016.
	idCardsSince = time.Date(2016, 1, 11, 0, 0, 0, 0, time.UTC)
	minBirth     = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (g *Generator) newPerson() *person {
	male := g.rng.IntN(2) == 0
	sex, given, gi, si := action.SexFemale, femaleNames, 2, 1
	if male {
		sex, given, gi, si = action.SexMale, maleNames, 1, 0
	}
	child := g.rng.IntN(100) < 15
	foreign := !child && g.rng.IntN(100) < 6
	var birth time.Time
	if child {
		birth = g.between(g.today.AddDate(-14, 0, 1), g.today)
	} else {
		birth = g.between(g.today.AddDate(-92, 0, 0), g.today.AddDate(-14, 0, 0))
	}
	if birth.Before(minBirth) {
		birth = minBirth
	}
	pd := action.Person{
		Surname:     surnames[g.rng.IntN(len(surnames))][si],
		GivenNames:  given[g.rng.IntN(len(given))],
		Patronymic:  fathers[g.rng.IntN(len(fathers))][gi],
		BirthDate:   day(birth),
		BirthPlace:  birthPlaces[g.rng.IntN(len(birthPlaces))],
		Sex:         sex,
		Citizenship: "UKR",
	}
	var withUNZR, withRNOKPP bool
	switch {
	case foreign:
		pd.Citizenship = foreignCitizenships[g.rng.IntN(len(foreignCitizenships))]
		pd.Patronymic = ""
		pd.BirthPlace = ""
		issued := g.between(minTime(maxTime(g.today.AddDate(-5, 0, 0), birth.AddDate(16, 0, 0)), g.today), g.today)
		pd.Document = &action.Document{
			Type: action.DocumentResidencePermit, Number: g.digits(9),
			IssuedOn: day(issued), Issuer: g.digits(4), Expires: day(issued.AddDate(5, 0, 0)),
		}
		withUNZR, withRNOKPP = true, g.rng.IntN(100) < 70
	case child:
		issued := g.between(birth, minTime(birth.AddDate(0, 0, 30), g.today))
		pd.Document = &action.Document{
			Type:     action.DocumentBirthCertificate,
			Number:   birthCertSer[g.rng.IntN(len(birthCertSer))] + g.digits(6),
			IssuedOn: day(issued), Issuer: "відділ державної реєстрації актів цивільного стану",
		}
		withUNZR, withRNOKPP = true, g.rng.IntN(100) < 60
	case birth.AddDate(16, 0, 0).Before(idCardsSince) && g.rng.IntN(100) < 40:
		// A booklet passport from before 2016: no УНЗР, so the РНОКПП is the key.
		issued := g.between(minTime(birth.AddDate(16, 0, 0), g.today), minTime(idCardsSince.AddDate(0, 0, -12), g.today))
		pd.Document = &action.Document{
			Type:     action.DocumentPassport,
			Number:   passportSeries[g.rng.IntN(len(passportSeries))] + g.digits(6),
			IssuedOn: day(issued), Issuer: "районний відділ УДМС",
		}
		withRNOKPP = true
	default:
		issued := g.between(minTime(maxTime(birth.AddDate(14, 0, 0), idCardsSince), g.today), g.today)
		pd.Document = &action.Document{
			Type: action.DocumentIDCard, Number: g.digits(9),
			IssuedOn: day(issued), Issuer: g.digits(4), Expires: day(issued.AddDate(10, 0, 0)),
		}
		// A few people refuse an РНОКПП on religious grounds; the УНЗР identifies them.
		withUNZR, withRNOKPP = true, g.rng.IntN(100) >= 4
	}
	if withUNZR {
		pd.UNZR = g.newUNZR(birth)
	}
	if withRNOKPP {
		pd.RNOKPP = g.newRNOKPP(birth, male)
	}
	p := &person{data: pd, last: birth}
	if len(g.persons) < maxPersons {
		g.persons = append(g.persons, p)
	} else {
		g.persons[g.rng.IntN(len(g.persons))] = p
	}
	return p
}

// rnokppEpoch: the first five digits of an РНОКПП count days from this date.
var rnokppEpoch = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)

// newRNOKPP makes an unused РНОКПП: days since 31.12.1899 to the birth date,
// three serial digits, a ninth digit odd for a man and even for a woman, and
// the check digit.
func (g *Generator) newRNOKPP(birth time.Time, male bool) string {
	days := int(birth.Sub(rnokppEpoch).Hours()/24 + 0.5)
	for {
		d9 := 2 * g.rng.IntN(5)
		if male {
			d9++
		}
		s := fmt.Sprintf("%05d%03d%d", days, g.rng.IntN(1000), d9)
		s += fmt.Sprint(action.RNOKPPCheckDigit(s))
		if !g.rnokpp[s] {
			g.rnokpp[s] = true
			return s
		}
	}
}

// newUNZR makes an unused УНЗР: birth date, serial 0001–9999 and the
// ICAO 9303 check digit.
func (g *Generator) newUNZR(birth time.Time) string {
	for {
		s := fmt.Sprintf("%s-%04d", birth.Format("20060102"), 1+g.rng.IntN(9999))
		s += fmt.Sprint(action.UNZRCheckDigit(s))
		if !g.unzr[s] {
			g.unzr[s] = true
			return s
		}
	}
}

func (g *Generator) digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + g.rng.IntN(10)))
	}
	return b.String()
}

func (g *Generator) basisNumber(t time.Time) string {
	return fmt.Sprintf("%d/%d", 1+g.rng.IntN(9999), t.Year())
}

// --- addresses ---

// katottgCodes are invented community codes of the KATOTTG shape.
var katottgCodes = []string{
	"UA12060170010076413",
	"UA12060170020011248",
	"UA12060170030054821",
	"UA12080130010093157",
	"UA12100250010034602",
	"UA12140190010067390",
}

var streets = []string{
	"вул. Каштанова", "вул. Липова", "просп. Металургів", "вул. Садова",
	"вул. Шкільна", "вул. Степова", "вул. Соборності", "пров. Тихий",
}

func (g *Generator) address() action.Address {
	a := action.Address{
		KATOTTG:  katottgCodes[g.rng.IntN(len(katottgCodes))],
		Street:   streets[g.rng.IntN(len(streets))],
		Building: fmt.Sprint(1 + g.rng.IntN(150)),
	}
	if g.rng.IntN(10) == 0 {
		a.Building += []string{"А", "Б", "В"}[g.rng.IntN(3)]
	}
	if g.rng.IntN(10) == 0 {
		a.Block = fmt.Sprint(1 + g.rng.IntN(4))
	}
	if g.rng.IntN(100) < 60 {
		a.Apartment = fmt.Sprint(1 + g.rng.IntN(200))
	}
	return a
}

func sameAddress(a, b action.Address) bool { return a == b }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
