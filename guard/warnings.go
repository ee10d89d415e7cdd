package guard

import (
	"fmt"
	"slices"
	"time"

	"github.com/reghub/reghub/action"
)

// Warning codes an accepted action may carry.
const (
	// WarningDeadlineMissed: the person registers (or declares) a new
	// residence later than the law allows after deregistering the previous
	// one (001 §2.5.16).
	WarningDeadlineMissed = "registration_deadline_missed"
	// WarningMinorRemains: a child stays registered at the address the
	// person leaves (001 §2.5.18).
	WarningMinorRemains = "minor_remains_at_vacated_address"
)

// RegistrationDeadlineDays is the number of calendar days a person has to
// register a new place of residence after deregistering the previous one.
// 001 §2.5.16 requires the warning but refers to "the term established by
// the Law" without stating it; 30 days is that term in Article 6 of Law No.
// 1382-IV "On freedom of movement and free choice of place of residence in
// Ukraine" (from the text of the Law, not from the seed documents: check it
// against the edition in force).
const RegistrationDeadlineDays = 30

// MinorAge is the age below which a person counts as a child for the warning
// of 001 §2.5.18. The paragraph says "малолітньої дитини", which in Ukrainian
// civil law (Civil Code, Art. 31) is a child under 14; the hub warns for
// every minor under 18, which includes them (a wider, never blocking warning).
const MinorAge = 18

// Resident is a person the read model has registered at an address.
type Resident struct {
	PersonKey string
	BirthDate string // YYYY-MM-DD
}

// Role is what an action does at an address, as far as the guards are
// concerned. Every kind has one (a test holds the table to action.Kinds);
// a kind added without one is guarded as RoleNone.
type Role int

// The roles of the kinds.
const (
	// RoleNone: no address is registered or left (a correction of personal
	// data, an address-directory change).
	RoleNone Role = iota
	// RoleSettles: a new place of residence at address (declaration,
	// registration, change of residence); the one before is vacated.
	RoleSettles
	// RoleStays: a place of stay at address; no residence is vacated.
	RoleStays
	// RoleLeaves: the person leaves address (deregistration, also on
	// death, exclusion of a declared residence).
	RoleLeaves
	// RoleCancels: an earlier action is undone.
	RoleCancels
)

// Roles are the roles of the kinds the hub knows.
var Roles = map[action.Kind]Role{
	action.KindDeclare:         RoleSettles,
	action.KindRegister:        RoleSettles,
	action.KindChange:          RoleSettles,
	action.KindStayRegister:    RoleStays,
	action.KindDeregister:      RoleLeaves,
	action.KindDeregisterDeath: RoleLeaves,
	action.KindExclude:         RoleLeaves,
	action.KindCancel:          RoleCancels,
	action.KindCorrect:         RoleNone,
	action.KindAddressChange:   RoleNone,
}

// Concerned lists the addresses an action concerns, as injunctions are
// matched (001 §2.5.17 forbids registering and deregistering a place of
// residence or stay at the address): for a new residence the new address and
// the one vacated (Vacated); for a place of stay its address; for a
// deregistration or exclusion the address left; for a cancellation its
// address, else the cancelled action's (cancelled, when the hub knows it),
// else the person's address in the read model.
func Concerned(s *action.Submission, reg *action.Registration, cancelled *action.Address) []action.AddressKey {
	var addrs []action.Address
	add := func(a *action.Address) {
		if a != nil {
			addrs = append(addrs, *a)
		}
	}
	switch Roles[s.Kind] {
	case RoleSettles:
		add(s.Address)
		add(Vacated(s, reg))
	case RoleStays, RoleLeaves:
		add(s.Address)
	case RoleCancels:
		switch {
		case s.Address != nil:
			add(s.Address)
		case cancelled != nil:
			add(cancelled)
		case reg != nil:
			add(reg.Address)
		}
	}
	var keys []action.AddressKey
	for _, a := range addrs {
		if k := Key(a); k.KATOTTG != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// Vacated is the address the action makes the person leave, or nil: the
// address a deregistration or exclusion names; for a change of residence
// the previous address it names; for a declaration or registration the
// address the read model has the person registered at now, when it is
// another one — or, when the read model does not know the person, the
// previous address the submission gives. A person the read model has as
// not registered vacates nothing: they left before.
func Vacated(s *action.Submission, reg *action.Registration) *action.Address {
	switch Roles[s.Kind] {
	case RoleLeaves:
		return s.Address
	case RoleSettles:
		var from *action.Address
		switch {
		case s.Kind == action.KindChange && s.PreviousAddress != nil:
			from = s.PreviousAddress
		case reg != nil && reg.Registered:
			from = reg.Address
		case reg == nil:
			from = s.PreviousAddress
		}
		if from == nil || (s.Address != nil && Key(*from) == Key(*s.Address)) {
			return nil
		}
		return from
	}
	return nil
}

// DeadlineMissed reports how many days after the person's deregistration a
// new place of residence takes effect, and whether that is later than
// RegistrationDeadlineDays allow (001 §2.5.16). The deregistration is the
// read model's: the person must be deregistered there, with a date.
func DeadlineMissed(s *action.Submission, reg *action.Registration) (days int, late bool) {
	if Roles[s.Kind] != RoleSettles {
		return 0, false
	}
	if reg == nil || reg.Registered || reg.DeregistrationDate == "" {
		return 0, false
	}
	left, err1 := time.Parse(time.DateOnly, reg.DeregistrationDate)
	eff, err2 := time.Parse(time.DateOnly, s.EffectiveDate)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	days = int(eff.Sub(left).Hours() / 24)
	return days, days > RegistrationDeadlineDays
}

// IsMinor reports whether a person born on birth (YYYY-MM-DD) is under
// MinorAge on day. One born on 29 February comes of age on 1 March of a
// common year. A date that does not parse is not a minor's.
func IsMinor(birth, day string) bool {
	b, err1 := time.Parse(time.DateOnly, birth)
	d, err2 := time.Parse(time.DateOnly, day)
	if err1 != nil || err2 != nil {
		return false
	}
	return d.Before(b.AddDate(MinorAge, 0, 0))
}

// MinorsAmong counts the residents other than person who are minors on day.
func MinorsAmong(residents []Resident, person, day string) int {
	n := 0
	for _, r := range residents {
		if r.PersonKey != person && IsMinor(r.BirthDate, day) {
			n++
		}
	}
	return n
}

// Warnings returns the warnings of an action: the person's registration
// reg (nil when the read model has none), and residents, the people the
// read model has registered at the address the action vacates (Vacated).
func Warnings(s *action.Submission, reg *action.Registration, residents []Resident) []action.Warning {
	var out []action.Warning
	if days, late := DeadlineMissed(s, reg); late {
		out = append(out, action.Warning{Code: WarningDeadlineMissed, Detail: fmt.Sprintf(
			"the new residence takes effect %d days after the deregistration from the previous one; the law allows %d (001 §2.5.16)",
			days, RegistrationDeadlineDays)})
	}
	if Vacated(s, reg) != nil {
		if n := MinorsAmong(residents, s.PersonKey(), s.EffectiveDate); n > 0 {
			who := "1 person under %d remains"
			if n > 1 {
				who = fmt.Sprint(n) + " persons under %d remain"
			}
			out = append(out, action.Warning{Code: WarningMinorRemains, Detail: fmt.Sprintf(
				who+" registered at the address being vacated (001 §2.5.18)", MinorAge)})
		}
	}
	return out
}
