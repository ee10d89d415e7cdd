package upstream

import (
	"fmt"
	"slices"
	"time"
)

// Types of an address-directory change (AddressChange.Type).
const (
	AddressRenumbering       = "renumbering"
	AddressStreetRenamed     = "street_renamed"
	AddressSettlementRenamed = "settlement_renamed"
	AddressUnitRenamed       = "unit_renamed"
)

// AddressChange is an address-directory change (002 §4.2.22, §7.4): in the
// community Katottg, the Previous values became the New ones.
type AddressChange struct {
	Type     string       `json:"type"`
	Katottg  string       `json:"katottg"`
	Previous AddressNames `json:"previous"`
	New      AddressNames `json:"new"`
}

// AddressNames are the parts of an address a directory change renames or
// renumbers; Unit is the administrative-territorial unit.
type AddressNames struct {
	Unit       string `json:"unit,omitempty"`
	Settlement string `json:"settlement,omitempty"`
	Street     string `json:"street,omitempty"`
	Building   string `json:"building,omitempty"`
	Block      string `json:"block,omitempty"`
}

// AddressChangeEntry is one applied address-directory change: what changed,
// with the previous values preserved, and the persons whose addresses it
// renamed or renumbered.
type AddressChangeEntry struct {
	Seq       uint64         `json:"seq"`
	MessageID string         `json:"message_id"`
	RecordID  string         `json:"record_id"`
	Change    *AddressChange `json:"change,omitempty"`
	Persons   []string       `json:"persons"`
	AppliedAt time.Time      `json:"applied_at"`
}

// applyAddressChange applies a directory change: it is recorded under its
// address key and rewrites every address it covers — each person's
// residence, previous address and place of stay, and the residences their
// history would restore on a cancellation — so that a person's record
// follows the directory. A change that covers nobody is still applied.
// Called with e.mu held.
func (e *Engine) applyAddressChange(m Message, now time.Time) Ack {
	e.seq++
	rec := fmt.Sprintf("%s-%08d", e.name, e.seq)
	entry := AddressChangeEntry{Seq: e.seq, MessageID: m.ID, RecordID: rec, Change: m.AddressChange, Persons: []string{}, AppliedAt: now}
	if c := m.AddressChange; c != nil {
		for key, p := range e.persons {
			if p.rewrite(c) {
				entry.Persons = append(entry.Persons, key)
			}
		}
		slices.Sort(entry.Persons)
	}
	e.addresses[m.PersonKey] = append(e.addresses[m.PersonKey], entry)
	e.applied = append(e.applied, AppliedEntry{Seq: e.seq, Message: m, RecordID: rec, AppliedAt: now})
	e.logger.Debug("applied address change", "seq", e.seq, "message_id", m.ID, "persons", len(entry.Persons), "record_id", rec)
	return Ack{MessageID: m.ID, Status: AckApplied, RecordID: rec}
}

// rewrite applies c to every address the person's record holds and reports
// whether any changed. Addresses are replaced, never modified in place: the
// applied log shares them.
func (p *person) rewrite(c *AddressChange) bool {
	changed := false
	fix := func(a **Address) {
		if n, ok := c.rewrite(*a); ok {
			*a, changed = n, true
		}
	}
	fixStay := func(s **Stay) {
		if *s == nil {
			return
		}
		if n, ok := c.rewrite((*s).Address); ok {
			st := **s
			st.Address, *s, changed = n, &st, true
		}
	}
	fix(&p.res.Address)
	fix(&p.res.PreviousAddress)
	fixStay(&p.stay)
	for i := range p.history {
		h := &p.history[i]
		fix(&h.before.Address)
		fix(&h.before.PreviousAddress)
		fixStay(&h.beforeStay)
	}
	return changed
}

// rewrite returns a as the change leaves it and whether the change covers
// it: a renamed street in the community, or a renumbered building of the
// previous street (and block, if named). A renamed settlement or unit
// changes no part of an Address: the KATOTTG code stays.
func (c *AddressChange) rewrite(a *Address) (*Address, bool) {
	if a == nil || a.Katottg != c.Katottg {
		return a, false
	}
	p, n := c.Previous, c.New
	out := *a
	switch c.Type {
	case AddressStreetRenamed:
		if p.Street == "" || a.Street != p.Street {
			return a, false
		}
		out.Street = n.Street
	case AddressRenumbering:
		if p.Street == "" || a.Street != p.Street || a.Building != p.Building || (p.Block != "" && a.Block != p.Block) {
			return a, false
		}
		out.Building = n.Building
		if p.Block != "" || n.Block != "" {
			out.Block = n.Block
		}
	default:
		return a, false
	}
	return &out, true
}
