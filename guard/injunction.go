package guard

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
)

// Injunction is a court's ruling, received by the registration body, that
// forbids registration actions at an address (001 §2.5.17): registering or
// deregistering anyone's place of residence or stay there.
type Injunction struct {
	ID uuid.UUID
	// Court that ruled, and Reference its case or decision number.
	Court     string
	Reference string
	DecidedOn string // YYYY-MM-DD
	// Address covered: KATOTTG, street, building (and block); with an
	// apartment, that apartment only, without one the whole building. It
	// stays as the court wrote it.
	Address action.Address
	// Matched is the address as it is matched now: Key(Address) moved on
	// by every address-directory change since (RenameKey), so that a
	// street renamed or a building renumbered stays covered under its new
	// name. Zero: Key(Address).
	Matched action.AddressKey
	// In force from ValidFrom to ValidUntil inclusive (YYYY-MM-DD; an empty
	// ValidUntil: until lifted).
	ValidFrom  string
	ValidUntil string
	Note       string
	CreatedAt  time.Time
	CreatedBy  string
	// LiftedAt is set once an operator lifted it; it then covers nothing.
	LiftedAt   *time.Time
	LiftedBy   string
	LiftReason string
}

// Key is an address as injunctions are matched: every part trimmed, inner
// white space collapsed, lower case, apostrophes unified (’ ʼ ` as ').
// Addresses are otherwise compared as written: the registry writes them from
// the address directory.
func Key(a action.Address) action.AddressKey {
	return action.AddressKey{
		KATOTTG:   strings.ToUpper(strings.TrimSpace(a.KATOTTG)),
		Street:    normal(a.Street),
		Building:  normal(a.Building),
		Block:     normal(a.Block),
		Apartment: normal(a.Apartment),
	}
}

var apostrophes = strings.NewReplacer("’", "'", "ʼ", "'", "`", "'", "‘", "'")

func normal(s string) string {
	return strings.ToLower(apostrophes.Replace(strings.Join(strings.Fields(s), " ")))
}

// MatchKey is the key the injunction is matched by: Matched, else
// Key(Address).
func (in *Injunction) MatchKey() action.AddressKey {
	if in.Matched != (action.AddressKey{}) {
		return in.Matched
	}
	return Key(in.Address)
}

// RenameKey moves a match key on by an address-directory change, as
// action.AddressChange.Rewrite moves an address: a street renaming renames
// the street, a renumbering renumbers the building (and block) in the
// street named; on keys, so spelling variants Key folds match too. It
// reports whether c covers k.
func RenameKey(c action.AddressChange, k action.AddressKey) (action.AddressKey, bool) {
	if c.Previous == nil || c.New == nil || strings.ToUpper(strings.TrimSpace(c.KATOTTG)) != k.KATOTTG {
		return k, false
	}
	p, n := c.Previous, c.New
	switch c.Type {
	case action.AddressStreetRenamed:
		if k.Street != normal(p.Street) {
			return k, false
		}
		k.Street = normal(n.Street)
	case action.AddressRenumbering:
		if k.Street != normal(p.Street) || k.Building != normal(p.Building) || (p.Block != "" && k.Block != normal(p.Block)) {
			return k, false
		}
		k.Building = normal(n.Building)
		if p.Block != "" || n.Block != "" {
			k.Block = normal(n.Block)
		}
	default:
		return k, false
	}
	return k, true
}

// Covers reports whether the injunction's address covers k: the same
// building, and the same apartment unless the injunction covers the whole
// building. It says nothing of dates (ActiveOn).
func (in *Injunction) Covers(k action.AddressKey) bool {
	c := in.MatchKey()
	return c.KATOTTG == k.KATOTTG && c.Street == k.Street && c.Building == k.Building && c.Block == k.Block &&
		(c.Apartment == "" || c.Apartment == k.Apartment)
}

// ActiveOn reports whether the injunction is in force on day (YYYY-MM-DD):
// not lifted, and day within its validity.
func (in *Injunction) ActiveOn(day string) bool {
	return in.LiftedAt == nil && in.ValidFrom <= day && (in.ValidUntil == "" || day <= in.ValidUntil)
}

// Blocking returns the first of injunctions in force on day that covers one
// of addrs, or nil. The store makes the same decision in SQL inside the
// accept transaction (adapters/postgres/guards.go); this is its reference.
func Blocking(injunctions []Injunction, addrs []action.AddressKey, day string) *Injunction {
	for i := range injunctions {
		in := &injunctions[i]
		if !in.ActiveOn(day) {
			continue
		}
		for _, k := range addrs {
			if in.Covers(k) {
				return in
			}
		}
	}
	return nil
}

// Field limits of an injunction, in runes.
const (
	maxName     = 200 // court, street
	maxRef      = 100 // reference
	maxPart     = 20  // building, block, apartment (as in a submission)
	maxNoteRune = 1000
)

// Check reports every problem of an injunction an operator records, today
// being the day in Europe/Kyiv; nil when there is none. It fills ValidFrom
// from DecidedOn when empty.
func (in *Injunction) Check(today string) error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	text := func(name, v string, required bool, max int) {
		switch {
		case strings.TrimSpace(v) == "":
			if required {
				bad("%s is required", name)
			}
		case utf8.RuneCountInString(v) > max:
			bad("%s is longer than %d characters", name, max)
		case strings.IndexFunc(v, unicode.IsControl) >= 0:
			bad("%s has control characters", name)
		}
	}
	date := func(name, v string) bool {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			bad("%s must be a date YYYY-MM-DD", name)
			return false
		}
		return true
	}
	text("court", in.Court, true, maxName)
	text("reference", in.Reference, true, maxRef)
	text("note", in.Note, false, maxNoteRune)
	if !action.ValidKATOTTG(strings.TrimSpace(in.Address.KATOTTG)) {
		bad("address.katottg must be a KATOTTG code: UA and 17 digits")
	}
	text("address.street", in.Address.Street, false, maxName)
	text("address.building", in.Address.Building, true, maxPart)
	text("address.block", in.Address.Block, false, maxPart)
	text("address.apartment", in.Address.Apartment, false, maxPart)
	if in.DecidedOn == "" {
		bad("decided_on is required")
	} else if date("decided_on", in.DecidedOn) && in.DecidedOn > today {
		bad("decided_on is after today")
	}
	if in.ValidFrom == "" {
		in.ValidFrom = in.DecidedOn
	} else {
		date("valid_from", in.ValidFrom)
	}
	if in.ValidUntil != "" && date("valid_until", in.ValidUntil) && in.ValidUntil < in.ValidFrom {
		bad("valid_until is before valid_from")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Day is the calendar day of t in Europe/Kyiv, as YYYY-MM-DD: the day an
// action is entered, and the day injunctions are judged in force on.
func Day(t time.Time) string { return t.In(kyiv()).Format(time.DateOnly) }

var kyiv = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Kyiv"); err == nil {
		return loc
	}
	return time.FixedZone("EET", 2*60*60)
})
