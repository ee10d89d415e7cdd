// Package localregistry plays the municipal population register (the local
// registry) that pushes registration actions to the hub.
package localregistry

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/reghub/reghub/action"
)

// All data made here is synthetic: names are drawn from small lists and put
// together at random, identifiers are generated so that they pass the checks
// of DOMAIN.md, and the KATOTTG codes and streets are invented.

// Generator produces a deterministic stream of submissions for a given seed,
// as a register would: mostly registrations and declarations; deregistrations
// (some on death) and changes of residence of people registered earlier;
// exclusions of declared residences; registrations of places of stay;
// corrections of personal data; a few cancellations of a person's latest
// action; and now and then an address-directory change (a street renamed, a
// building renumbered, a settlement or unit renamed) at an address people
// live at. People come back, so the order of a person's actions matters;
// every action is one the upstream simulators' rules allow in that order.
// A Generator is not safe for concurrent use.
type Generator struct {
	rng     *rand.Rand
	today   time.Time // a calendar day, at midnight UTC
	persons []*person
	rnokpp  map[string]bool
	unzr    map[string]bool
	// The directory as changed so far: current street names by community
	// and former name, and each community's settlement and unit names.
	streets     map[string]map[string]string
	settlements map[string]string
	units       map[string]string
}

// residence is where a person's residence stands, as the upstreams record it.
type residence struct {
	addr *action.Address // current declared or registered address; nil when none
	kind action.Kind     // KindDeclare or KindRegister while addr is set
}

// person is what the register remembers of someone it has acted for.
type person struct {
	data action.Person
	res  residence
	stay *action.Address // registered place of stay
	// before: the residence and stay before the last action, restored by a
	// cancellation of it; lastAddr the address that action named.
	before     residence
	stayBefore *action.Address
	lastAddr   *action.Address
	lastKind   action.Kind
	last       time.Time // effective date of the last action (birth date at first)
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
	g := &Generator{
		rng:         rand.New(rand.NewPCG(uint64(seed), 0x7265676875622d6c)),
		today:       day,
		rnokpp:      map[string]bool{},
		unzr:        map[string]bool{},
		streets:     map[string]map[string]string{},
		settlements: map[string]string{},
		units:       map[string]string{},
	}
	for i, k := range katottgCodes {
		g.settlements[k] = settlementNames[i%len(settlementNames)]
		g.units[k] = unitNames[i%len(unitNames)]
	}
	return g
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

// Next returns the next submission. Of a hundred, about: 5 cancellations,
// 15 deregistrations, 3 deregistrations on death, 4 changes of residence,
// 3 exclusions, 3 corrections, 4 registrations of stay, 2 address changes,
// and declarations and registrations for the rest (and whenever nobody
// fits the action drawn).
func (g *Generator) Next() action.Submission {
	var s action.Submission
	ok := false
	switch r := g.rng.IntN(100); {
	case r < 5:
		s, ok = g.cancel()
	case r < 20:
		s, ok = g.deregister()
	case r < 23:
		s, ok = g.deregisterDeath()
	case r < 27:
		s, ok = g.change()
	case r < 30:
		s, ok = g.exclude()
	case r < 33:
		s, ok = g.correct()
	case r < 37:
		s, ok = g.registerStay(), true
	case r < 39:
		s, ok = g.addressChange()
	}
	if ok {
		return s
	}
	if g.rng.IntN(100) < 35 {
		return g.settle(action.KindDeclare)
	}
	return g.settle(action.KindRegister)
}

// begin starts an action of kind for p on eff: what a cancellation of it
// would restore is remembered.
func (p *person) begin(kind action.Kind, eff time.Time, addr *action.Address, cancellable bool) {
	p.before, p.stayBefore = p.res, p.stay
	p.lastKind, p.last, p.lastAddr, p.cancellable = kind, eff, addr, cancellable
}

// settle declares or registers a person at a new address: a new person, or
// one who moves (then the old address is the previous one).
func (g *Generator) settle(kind action.Kind) action.Submission {
	p := g.pick(func(p *person) bool { return true })
	if p == nil || g.rng.IntN(100) >= 30 {
		p = g.newPerson()
	}
	addr := g.newAddress(p)
	eff := g.effectiveDate(p)
	s := g.submission(kind, p, eff)
	s.Address = &addr
	if p.res.addr != nil {
		prev := *p.res.addr
		s.PreviousAddress = &prev
	}
	if g.rng.IntN(2) == 0 {
		s.BasisDocument = &action.BasisDocument{Type: "заява", Number: g.basisNumber(eff), Date: day(eff)}
	}
	p.begin(kind, eff, &addr, true)
	p.res = residence{addr: &addr, kind: kind}
	return s
}

// newAddress is an address that is not p's current one.
func (g *Generator) newAddress(p *person) action.Address {
	addr := g.address()
	for p.res.addr != nil && sameAddress(*p.res.addr, addr) {
		addr = g.address()
	}
	return addr
}

var deregistrationReasons = []struct {
	reason string
	weight int
	basis  string
}{
	{action.DeregistrationMoved, 66, "заява"},
	{action.DeregistrationOwnerRequest, 13, "заява власника житла"},
	{action.DeregistrationCourtDecision, 10, "рішення суду"},
	{action.DeregistrationOther, 11, "заява"},
}

// deregister removes a person registered earlier from their address. A
// death is deregistered by deregisterDeath, on its certificate.
func (g *Generator) deregister() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return p.res.addr != nil })
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
	left := *p.res.addr
	s.Address = &left
	s.Deregistration = &action.Deregistration{Reason: reason.reason}
	s.BasisDocument = &action.BasisDocument{Type: reason.basis, Number: g.basisNumber(eff), Date: day(eff)}
	p.begin(action.KindDeregister, eff, &left, true)
	p.res = residence{}
	return s, true
}

// deregisterDeath deregisters a person who died, on the death certificate
// (now and then a foreign authority's record).
func (g *Generator) deregisterDeath() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return p.res.addr != nil })
	if p == nil {
		return action.Submission{}, false
	}
	eff := g.effectiveDate(p)
	died := g.between(maxTime(p.last, eff.AddDate(0, 0, -14)), eff)
	issued := g.between(died, eff)
	cert := &action.DeathCertificate{
		Type: action.DeathCertificateDomestic, Number: birthCertSer[g.rng.IntN(len(birthCertSer))] + g.digits(6),
		IssuedOn: day(issued), Issuer: "відділ державної реєстрації актів цивільного стану (синтетичний)",
	}
	if g.rng.IntN(100) < 5 {
		cert.Type, cert.Number = action.DeathCertificateForeign, "DR"+g.digits(8)
		cert.Issuer = "компетентний орган іноземної держави (синтетичний)"
	}
	s := g.submission(action.KindDeregisterDeath, p, eff)
	left := *p.res.addr
	s.Address = &left
	s.Death = &action.Death{Date: day(died), Certificate: cert}
	p.begin(action.KindDeregisterDeath, eff, &left, true)
	p.res, p.stay, p.dead = residence{}, nil, true
	return s, true
}

// change moves a declared or registered person to a new address in one
// action; they stay declared or registered as they were.
func (g *Generator) change() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return p.res.addr != nil })
	if p == nil {
		return action.Submission{}, false
	}
	addr := g.newAddress(p)
	eff := g.effectiveDate(p)
	s := g.submission(action.KindChange, p, eff)
	prev := *p.res.addr
	s.Address, s.PreviousAddress = &addr, &prev
	if g.rng.IntN(2) == 0 {
		s.BasisDocument = &action.BasisDocument{Type: "заява", Number: g.basisNumber(eff), Date: day(eff)}
	}
	p.begin(action.KindChange, eff, &addr, true)
	p.res.addr = &addr
	return s, true
}

var exclusionBases = []string{"заява власника житла", "заява особи", "рішення суду"}

// exclude excludes a declared residence from the register.
func (g *Generator) exclude() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return p.res.addr != nil && p.res.kind == action.KindDeclare })
	if p == nil {
		return action.Submission{}, false
	}
	eff := g.effectiveDate(p)
	s := g.submission(action.KindExclude, p, eff)
	left := *p.res.addr
	s.Address = &left
	s.BasisDocument = &action.BasisDocument{Type: exclusionBases[g.rng.IntN(len(exclusionBases))],
		Number: g.basisNumber(eff), Date: day(eff)}
	p.begin(action.KindExclude, eff, &left, false)
	p.res = residence{}
	return s, true
}

// registerStay registers a place of stay, of someone known or new.
func (g *Generator) registerStay() action.Submission {
	p := g.pick(func(p *person) bool { return true })
	if p == nil || g.rng.IntN(100) < 30 {
		p = g.newPerson()
	}
	addr := g.address()
	eff := g.effectiveDate(p)
	s := g.submission(action.KindStayRegister, p, eff)
	s.Address = &addr
	if g.rng.IntN(2) == 0 {
		s.BasisDocument = &action.BasisDocument{Type: "договір найму житла", Number: g.basisNumber(eff), Date: day(eff)}
	}
	p.begin(action.KindStayRegister, eff, &addr, true)
	p.stay = &addr
	return s
}

// correct corrects a person's data: the surname, the identity document, or
// the patronymic or birth place. Later actions carry the corrected data.
func (g *Generator) correct() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return true })
	if p == nil {
		return action.Submission{}, false
	}
	eff := g.effectiveDate(p)
	old := p.data
	prev := &action.PreviousPerson{}
	var fields []string
	basis := "заява особи"
	switch r := g.rng.IntN(100); {
	case r < 45:
		si := 1
		if p.data.Sex == action.SexMale {
			si = 0
		}
		for p.data.Surname == old.Surname {
			p.data.Surname = surnames[g.rng.IntN(len(surnames))][si]
		}
		fields, prev.Surname, basis = []string{"surname"}, old.Surname, "свідоцтво про шлюб"
	case r < 80:
		d := *old.Document
		for d.Number == old.Document.Number {
			d.Number = g.documentNumber(d.Type)
		}
		d.IssuedOn = day(eff)
		if d.Expires != "" {
			d.Expires = day(eff.AddDate(10, 0, 0))
		}
		prevDoc := *old.Document
		p.data.Document = &d
		fields, prev.Document, basis = []string{"document"}, &prevDoc, "паспортний документ"
	case old.Patronymic != "" && r < 90:
		gi := 2
		if p.data.Sex == action.SexMale {
			gi = 1
		}
		for p.data.Patronymic == old.Patronymic {
			p.data.Patronymic = fathers[g.rng.IntN(len(fathers))][gi]
		}
		fields, prev.Patronymic = []string{"patronymic"}, old.Patronymic
	default:
		for p.data.BirthPlace == old.BirthPlace {
			p.data.BirthPlace = birthPlaces[g.rng.IntN(len(birthPlaces))]
		}
		fields, prev.BirthPlace = []string{"birth_place"}, old.BirthPlace
	}
	s := g.submission(action.KindCorrect, p, eff)
	s.Correction = &action.Correction{Fields: fields, Previous: prev}
	s.BasisDocument = &action.BasisDocument{Type: basis, Number: g.basisNumber(eff), Date: day(eff)}
	p.begin(action.KindCorrect, eff, nil, false)
	return s, true
}

// addressChange renames a street or a settlement or unit, or renumbers a
// building, where someone lives; the people there move with the directory.
func (g *Generator) addressChange() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return p.res.addr != nil })
	if p == nil {
		return action.Submission{}, false
	}
	a := *p.res.addr
	eff := g.between(g.today.AddDate(0, 0, -90), g.today)
	c := action.AddressChange{KATOTTG: a.KATOTTG}
	basis := "рішення міської ради"
	// A street is renamed to a name no street of the community bears;
	// there are more names than streets, so one is always free.
	free := slices.DeleteFunc(slices.Clone(renamedStreets), func(n string) bool { return g.streetInUse(a.KATOTTG, n) })
	switch r := g.rng.IntN(100); {
	case r < 55:
		renamed := free[g.rng.IntN(len(free))]
		c.Type = action.AddressStreetRenamed
		c.Previous, c.New = &action.AddressNames{Street: a.Street}, &action.AddressNames{Street: renamed}
		names := g.streets[a.KATOTTG]
		if names == nil {
			names = map[string]string{}
			g.streets[a.KATOTTG] = names
		}
		base := a.Street // the name address() draws, before any renaming
		for from, to := range names {
			if to == a.Street {
				base = from
			}
		}
		names[base] = renamed
	case r < 85:
		// New numbers above the ones address() hands out.
		c.Type, basis = action.AddressRenumbering, "рішення виконавчого комітету"
		c.Previous = &action.AddressNames{Street: a.Street, Building: a.Building, Block: a.Block}
		c.New = &action.AddressNames{Building: fmt.Sprint(151 + g.rng.IntN(850)), Block: a.Block}
	case r < 93:
		c.Type, basis = action.AddressSettlementRenamed, "постанова Верховної Ради (синтетична)"
		old := g.settlements[a.KATOTTG]
		g.settlements[a.KATOTTG] = g.otherName(settlementNames, old)
		c.Previous, c.New = &action.AddressNames{Settlement: old}, &action.AddressNames{Settlement: g.settlements[a.KATOTTG]}
	default:
		c.Type, basis = action.AddressUnitRenamed, "постанова Верховної Ради (синтетична)"
		old := g.units[a.KATOTTG]
		g.units[a.KATOTTG] = g.otherName(unitNames, old)
		c.Previous, c.New = &action.AddressNames{Unit: old}, &action.AddressNames{Unit: g.units[a.KATOTTG]}
	}
	for _, q := range g.persons {
		q.rewrite(c)
	}
	return action.Submission{
		Kind:          action.KindAddressChange,
		EffectiveDate: day(eff),
		Official:      officials[g.rng.IntN(len(officials))],
		BasisDocument: &action.BasisDocument{Type: basis, Number: g.basisNumber(eff), Date: day(eff)},
		AddressChange: &c,
	}, true
}

// streetInUse: a street of the community bears that name now.
func (g *Generator) streetInUse(katottg, street string) bool {
	for _, to := range g.streets[katottg] {
		if to == street {
			return true
		}
	}
	return false
}

// otherName draws a name from names other than old.
func (g *Generator) otherName(names []string, old string) string {
	n := old
	for n == old {
		n = names[g.rng.IntN(len(names))]
	}
	return n
}

// rewrite moves every address the person's record holds along with the
// directory change, as the upstreams do.
func (p *person) rewrite(c action.AddressChange) {
	for _, a := range []**action.Address{&p.res.addr, &p.before.addr, &p.stay, &p.stayBefore, &p.lastAddr} {
		if n, ok := c.Rewrite(*a); ok {
			*a = n
		}
	}
}

// cancel undoes a person's latest action, which restores their residence or
// place of stay; now and then it is a deregistration on death that is
// cancelled (the death record annulled).
func (g *Generator) cancel() (action.Submission, bool) {
	p := g.pick(func(p *person) bool { return p.cancellable })
	if g.rng.IntN(10) == 0 {
		if q := g.choose(func(p *person) bool { return p.dead && p.cancellable }); q != nil {
			p = q
		}
	}
	if p == nil {
		return action.Submission{}, false
	}
	eff := g.effectiveDate(p)
	s := g.submission(action.KindCancel, p, eff)
	spec, _ := action.Spec(p.lastKind)
	reasons := spec.CancelReasons
	s.Cancellation = &action.Cancellation{Of: p.lastKind, Reason: reasons[g.rng.IntN(len(reasons))]}
	// The address of the cancelled action, most of the time.
	if p.lastAddr != nil && g.rng.IntN(100) < 70 {
		a := *p.lastAddr
		s.Address = &a
	}
	switch p.lastKind {
	case action.KindStayRegister:
		p.stay = p.stayBefore
	case action.KindDeregisterDeath:
		p.res, p.stay = p.before, p.stayBefore // the death ended the stay too
	default:
		p.res = p.before
	}
	p.dead = false
	p.lastKind, p.last, p.cancellable = action.KindCancel, eff, false
	return s, true
}

// pick returns a random living person matching ok, or nil.
func (g *Generator) pick(ok func(*person) bool) *person {
	return g.choose(func(p *person) bool { return !p.dead && ok(p) })
}

// choose returns a random person matching ok, living or not, or nil.
func (g *Generator) choose(ok func(*person) bool) *person {
	if len(g.persons) == 0 {
		return nil
	}
	for range 20 {
		p := g.persons[g.rng.IntN(len(g.persons))]
		if ok(p) {
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
	pd.MilitaryStatus = militaryStatus(pd, birth, g.today)
	p := &person{data: pd, last: birth}
	if len(g.persons) < maxPersons {
		g.persons = append(g.persons, p)
	} else {
		g.persons[g.rng.IntN(len(g.persons))] = p
	}
	return p
}

// militaryStatus puts male citizens of 17 to 60 on the military register
// (002 §4.2.19.1): conscripts up to 25, then liable for service, one in
// five of them a reservist. It is a function of the person, not of the
// random stream, so the data of a seed stays what it was before statuses.
func militaryStatus(p action.Person, birth, today time.Time) string {
	if p.Sex != action.SexMale || p.Citizenship != "UKR" {
		return ""
	}
	age := today.Year() - birth.Year()
	if today.YearDay() < birth.YearDay() {
		age--
	}
	switch {
	case age < 17 || age > 60:
		return ""
	case age <= 25:
		return action.MilitaryConscript
	case birth.Day()%5 == 0:
		return action.MilitaryReservist
	}
	return action.MilitaryLiable
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

// documentNumber is a new number for an identity document of type t.
func (g *Generator) documentNumber(t string) string {
	switch t {
	case action.DocumentPassport:
		return passportSeries[g.rng.IntN(len(passportSeries))] + g.digits(6)
	case action.DocumentBirthCertificate:
		return birthCertSer[g.rng.IntN(len(birthCertSer))] + g.digits(6)
	}
	return g.digits(9)
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

// renamedStreets are the names streets are renamed to: more than there are
// streets, and none of them.
var renamedStreets = []string{
	"вул. Вишнева", "вул. Калинова", "вул. Зоряна", "вул. Ясенева", "вул. Джерельна", "вул. Березова",
	"вул. Ожинова", "вул. Сонячна", "вул. Паркова", "вул. Тополина", "вул. Горіхова", "вул. Світанкова",
}

// settlementNames and unitNames are invented names of the communities'
// settlements and administrative units, for their renamings.
var (
	settlementNames = []string{"м. Вигаданськ", "с. Тестове", "смт Синтетичне", "с. Зразкове"}
	unitNames       = []string{"Вигаданський район", "Тестовий район", "Синтетичний район"}
)

func (g *Generator) address() action.Address {
	k := katottgCodes[g.rng.IntN(len(katottgCodes))]
	street := streets[g.rng.IntN(len(streets))]
	if renamed, ok := g.streets[k][street]; ok {
		street = renamed // the directory's current name
	}
	a := action.Address{
		KATOTTG:  k,
		Street:   street,
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
