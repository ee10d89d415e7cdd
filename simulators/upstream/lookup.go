package upstream

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PersonData is a person's identity as a submission carried it, in the
// engine's own terms (dates YYYY-MM-DD). The latest applied message about a
// person replaces what the engine holds.
type PersonData struct {
	UNZR        string    `json:"unzr,omitempty"`
	RNOKPP      string    `json:"rnokpp,omitempty"`
	Surname     string    `json:"surname"`
	GivenNames  string    `json:"given_names"`
	Patronymic  string    `json:"patronymic,omitempty"`
	BirthDate   string    `json:"birth_date"`
	BirthPlace  string    `json:"birth_place,omitempty"`
	Sex         string    `json:"sex"`
	Citizenship string    `json:"citizenship,omitempty"`
	Document    *Document `json:"document,omitempty"`
}

// Document is a person's identity document.
type Document struct {
	Type      string `json:"type"`
	Number    string `json:"number"`
	IssuedOn  string `json:"issued_on,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
	ExpiresOn string `json:"expires_on,omitempty"`
}

// Address is a place of residence.
type Address struct {
	Katottg   string `json:"katottg"`
	Street    string `json:"street,omitempty"`
	Building  string `json:"building,omitempty"`
	Block     string `json:"block,omitempty"`
	Apartment string `json:"apartment,omitempty"`
}

// Residence is where a person's residence stands after the messages
// applied: the address in force (or the last one, once deregistered), how
// the person came to it (KindDeclare or KindRegister), its dates, the
// address before it, the registration body of the declaration or
// registration, and the record of the latest change applied.
type Residence struct {
	Kind               Kind     `json:"kind,omitempty"`
	Address            *Address `json:"address,omitempty"`
	RegistrationDate   string   `json:"registration_date,omitempty"`
	DeregistrationDate string   `json:"deregistration_date,omitempty"`
	PreviousAddress    *Address `json:"previous_address,omitempty"`
	RegistrationBody   string   `json:"registration_body,omitempty"`
	RecordID           string   `json:"record_id,omitempty"`
	// ChangeDate is the date of the latest change of residence to Address.
	ChangeDate string `json:"change_date,omitempty"`
	// ExclusionDate is set once the declared residence was excluded.
	ExclusionDate string `json:"exclusion_date,omitempty"`
	// DeathDate is set once the person was deregistered on death.
	DeathDate string `json:"death_date,omitempty"`
}

// Stay is a registered place of stay.
type Stay struct {
	Address          *Address `json:"address,omitempty"`
	RegistrationDate string   `json:"registration_date,omitempty"`
}

// Search is what a lookup (DMS ExtractPerson, EDDR LookupPerson) asks for:
// exactly one of UNZR; RNOKPP; Surname, GivenNames and BirthDate
// (Patronymic, if given, must match too).
type Search struct {
	UNZR       string
	RNOKPP     string
	Surname    string
	GivenNames string
	Patronymic string
	BirthDate  string
}

// ErrBadSearch is returned by Lookup for a search that is not exactly one
// parameter set; front-ends answer it with a Client fault.
var ErrBadSearch = errors.New("invalid search")

// set names the search's one parameter set: unzr, rnokpp or
// name_birth_date.
func (s Search) set() (string, error) {
	var sets []string
	if s.UNZR != "" {
		sets = append(sets, "unzr")
	}
	if s.RNOKPP != "" {
		sets = append(sets, "rnokpp")
	}
	name := s.Surname != "" || s.GivenNames != "" || s.Patronymic != "" || s.BirthDate != ""
	if name {
		if s.Surname == "" || s.GivenNames == "" || s.BirthDate == "" {
			return "", fmt.Errorf("%w: a name search needs the surname, the given names and the birth date", ErrBadSearch)
		}
		sets = append(sets, "name_birth_date")
	}
	switch len(sets) {
	case 0:
		return "", fmt.Errorf("%w: give one of unzr, rnokpp, or name and birth date", ErrBadSearch)
	case 1:
		return sets[0], nil
	default:
		return "", fmt.Errorf("%w: give exactly one parameter set, got %s", ErrBadSearch, strings.Join(sets, ", "))
	}
}

func (s Search) matches(p *PersonData) bool {
	if p == nil {
		return false
	}
	switch {
	case s.UNZR != "":
		return p.UNZR == s.UNZR
	case s.RNOKPP != "":
		return p.RNOKPP == s.RNOKPP
	}
	return sameName(p.Surname, s.Surname) && sameName(p.GivenNames, s.GivenNames) && p.BirthDate == s.BirthDate &&
		(s.Patronymic == "" || sameName(p.Patronymic, s.Patronymic))
}

func sameName(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// LookupRequest is one lookup as a front-end decoded it.
type LookupRequest struct {
	// ID is the X-Road message id; Client, Service, UserID and Issue the
	// other X-Road headers, kept in the lookup log.
	ID      string
	Client  string
	Service string
	UserID  string
	Issue   string
	Search  Search
}

// FoundPerson is one person a lookup found.
type FoundPerson struct {
	// Key is the engine's person key (UNZR, else RNOKPP).
	Key    string
	Person PersonData
	// State is declared, registered, deregistered or cancelled.
	State     string
	Residence Residence
}

// LookupResult is the answer to a lookup: its id and time, and the persons
// found, ordered by key.
type LookupResult struct {
	ID      string
	At      time.Time
	Persons []FoundPerson
}

// LookupEntry is one lookup in the log GET /inspect shows. It names the
// parameter set searched by, never the values searched for.
type LookupEntry struct {
	Seq       uint64    `json:"seq"`
	ID        string    `json:"lookup_id"`
	MessageID string    `json:"message_id"`
	Client    string    `json:"client,omitempty"`
	Service   string    `json:"service,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	Issue     string    `json:"issue,omitempty"`
	Parameter string    `json:"parameter"`
	Found     []string  `json:"found"`
	At        time.Time `json:"at"`
}

// maxLookupLog bounds the lookups Inspect lists; LookupCount counts all.
const maxLookupLog = 1000

// Lookup answers a lookup from each person's current state: the persons
// whose latest applied identity matches the search. Lookups read and change
// nothing, so they are not deduplicated; each gets an id of its own ("DMS-
// E-00000001"). In async mode a message counts from its acceptance, when
// the engine decided and applied it.
func (e *Engine) Lookup(r LookupRequest) (LookupResult, error) {
	set, err := r.Search.set()
	if err != nil {
		return LookupResult{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lookupSeq++
	res := LookupResult{ID: fmt.Sprintf("%s-E-%08d", e.name, e.lookupSeq), At: e.now()}
	for key, p := range e.persons {
		if p.identity != nil && r.Search.matches(p.identity) {
			res.Persons = append(res.Persons, FoundPerson{Key: key, Person: *p.identity, State: p.state, Residence: p.res})
		}
	}
	slices.SortFunc(res.Persons, func(a, b FoundPerson) int { return strings.Compare(a.Key, b.Key) })
	entry := LookupEntry{Seq: e.lookupSeq, ID: res.ID, MessageID: r.ID, Client: r.Client, Service: r.Service,
		UserID: r.UserID, Issue: r.Issue, Parameter: set, Found: []string{}, At: res.At}
	for _, f := range res.Persons {
		entry.Found = append(entry.Found, f.Key)
	}
	if len(e.lookups) >= maxLookupLog {
		e.lookups = slices.Delete(e.lookups, 0, len(e.lookups)-maxLookupLog+1)
	}
	e.lookups = append(e.lookups, entry)
	e.logger.Debug("lookup", "lookup_id", res.ID, "message_id", r.ID, "parameter", set, "found", len(res.Persons))
	return res, nil
}

// applyResidence moves the person's residence on for an applied message m
// (the residence it replaces is kept in m's history entry, so that a
// cancellation can bring it back):
//
//   - declare / register: the message's address in force; its previous
//     address, or else the one in force until now, becomes the previous
//     address; the registration date is the effective date;
//   - deregister (also on death, with the date of death): the address
//     stays as the last one (the message's, if it names one), with the
//     deregistration date;
//   - exclude: likewise, with the exclusion date;
//   - change: the message's address in force, the one left (its previous
//     address, or else the one in force until now) the previous address;
//     the kind and registration date stay, the change date is the
//     effective date;
//   - cancel: nothing here; transition restores the residence from before
//     the cancelled change, with the state.
func (p *person) applyResidence(m Message) {
	switch m.Kind {
	case KindDeclare, KindRegister:
		prev := m.PreviousAddress
		if prev == nil {
			prev = p.res.Address
		}
		addr := m.Address
		if addr == nil && m.Katottg != "" {
			addr = &Address{Katottg: m.Katottg}
		}
		p.res = Residence{Kind: m.Kind, Address: addr, RegistrationDate: m.EffectiveDate,
			PreviousAddress: prev, RegistrationBody: m.RegistrationBody}
	case KindDeregister, KindDeregisterDeath:
		if m.Address != nil {
			p.res.Address = m.Address
		}
		p.res.DeregistrationDate = m.EffectiveDate
		if m.Kind == KindDeregisterDeath {
			p.res.DeathDate = m.DeathDate
		}
	case KindExclude:
		if m.Address != nil {
			p.res.Address = m.Address
		}
		p.res.ExclusionDate = m.EffectiveDate
	case KindChange:
		prev := m.PreviousAddress
		if prev == nil {
			prev = p.res.Address
		}
		addr := m.Address
		if addr == nil && m.Katottg != "" {
			addr = &Address{Katottg: m.Katottg}
		}
		p.res = Residence{Kind: p.res.Kind, Address: addr, RegistrationDate: p.res.RegistrationDate,
			ChangeDate: m.EffectiveDate, PreviousAddress: prev, RegistrationBody: m.RegistrationBody}
	}
}
