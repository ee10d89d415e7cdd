package action

// Registration is a person's place of residence as the completed actions
// left it: what the hub's local read model keeps and authorities' queries
// read. Only completed actions change it — an action is complete in law
// only once the national systems confirmed it.
type Registration struct {
	PersonKey string `json:"person_key"`
	// Person is the personal data of the latest completed action (after a
	// correction, the corrected data).
	Person Person `json:"person"`
	// Address is the current address, or the last one once deregistered
	// or excluded.
	Address *Address `json:"address,omitempty"`
	// Kind is how the person came to the address: declared or registered.
	Kind               Kind     `json:"kind,omitempty"`
	RegistrationDate   string   `json:"registration_date,omitempty"`
	DeregistrationDate string   `json:"deregistration_date,omitempty"`
	PreviousAddress    *Address `json:"previous_address,omitempty"`
	// Registered: the person lives at Address now.
	Registered bool `json:"registered"`
	// ChangeDate is the date of the latest change of residence (002 §4.4.19).
	ChangeDate string `json:"change_date,omitempty"`
	// ExclusionDate is set when the declared residence was excluded.
	ExclusionDate string `json:"exclusion_date,omitempty"`
	// Stay is the registered place of stay, if any.
	Stay *Stay `json:"stay,omitempty"`
	// CorrectionDate is the date of the latest correction of the personal data.
	CorrectionDate string `json:"correction_date,omitempty"`
	// Death is set once the person was deregistered on death.
	Death *Death `json:"death,omitempty"`
}

// Stay is a registered place of stay.
type Stay struct {
	Address          *Address `json:"address,omitempty"`
	RegistrationDate string   `json:"registration_date,omitempty"`
}

// Apply moves the registration on by one completed action.
//
// An address.change concerns no person and leaves r as it is: its key is
// the address's, not a person's (Submission.PersonKey). The persons it
// affects are moved on by ApplyAddressChange, which a read model runs on
// every registration in the community the change names.
func (r *Registration) Apply(s Submission) {
	if s.Kind == KindAddressChange {
		return
	}
	r.PersonKey = s.PersonKey()
	r.Person = s.Person
	switch s.Kind {
	case KindDeclare, KindRegister:
		switch {
		case s.PreviousAddress != nil:
			r.PreviousAddress = s.PreviousAddress
		case r.Address != nil:
			r.PreviousAddress = r.Address
		}
		r.Address, r.Kind, r.RegistrationDate, r.DeregistrationDate, r.Registered =
			s.Address, s.Kind, s.EffectiveDate, "", true
		r.ChangeDate, r.ExclusionDate = "", ""
	case KindChange:
		// The person moves on as declared or registered as before.
		switch {
		case s.PreviousAddress != nil:
			r.PreviousAddress = s.PreviousAddress
		case r.Address != nil:
			r.PreviousAddress = r.Address
		}
		r.Address, r.ChangeDate, r.DeregistrationDate, r.Registered = s.Address, s.EffectiveDate, "", true
	case KindDeregister:
		if s.Address != nil {
			r.Address = s.Address
		}
		r.DeregistrationDate, r.Registered = s.EffectiveDate, false
	case KindExclude:
		if s.Address != nil {
			r.Address = s.Address
		}
		r.ExclusionDate, r.Registered = s.EffectiveDate, false
	case KindDeregisterDeath:
		if s.Address != nil {
			r.Address = s.Address
		}
		r.DeregistrationDate, r.Registered, r.Stay = s.EffectiveDate, false, nil
		if s.Death != nil {
			d := *s.Death
			r.Death = &d
		}
	case KindStayRegister:
		r.Stay = &Stay{Address: s.Address, RegistrationDate: s.EffectiveDate}
	case KindCorrect:
		r.CorrectionDate = s.EffectiveDate
	case KindCancel:
		if s.Cancellation == nil {
			return
		}
		switch s.Cancellation.Of {
		case KindDeclare, KindRegister:
			// The declaration or registration never took effect: the
			// person is back where they were, which the read model knows
			// only as the previous address, and not as a current one.
			r.Address, r.PreviousAddress = r.PreviousAddress, nil
			r.Kind, r.RegistrationDate, r.Registered = "", "", false
		case KindDeregister:
			r.DeregistrationDate, r.Registered = "", r.Address != nil
		case KindChange:
			// Back at the address the change left, as declared or
			// registered there before.
			if r.PreviousAddress != nil {
				r.Address, r.PreviousAddress = r.PreviousAddress, nil
			}
			r.ChangeDate = ""
		case KindStayRegister:
			r.Stay = nil
		case KindDeregisterDeath:
			// The death record was annulled or the deregistration was
			// wrong: the person is at the address again. A place of stay
			// the death ended is not known here any more (the read model
			// keeps no history); the upstreams restore it.
			r.Death, r.DeregistrationDate, r.Registered = nil, "", r.Address != nil
		}
	}
}

// ApplyAddressChange renames or renumbers r's addresses (current, previous,
// place of stay) that the directory change c covers, and reports whether
// any changed. The registration's dates are kept: a directory change is not
// a move (002 §7.4).
func (r *Registration) ApplyAddressChange(c AddressChange) bool {
	changed := false
	for _, a := range []**Address{&r.Address, &r.PreviousAddress} {
		if n, ok := c.Rewrite(*a); ok {
			*a, changed = n, true
		}
	}
	if r.Stay != nil {
		if n, ok := c.Rewrite(r.Stay.Address); ok {
			st := *r.Stay
			st.Address, r.Stay, changed = n, &st, true
		}
	}
	return changed
}

// Rewrite returns a as the directory change c leaves it, and whether c
// covers it: a renumbering the building (and block) in the previous street,
// a street renaming the street, both in c's community. A renamed settlement
// or unit changes no field of an Address (the KATOTTG code stays), so it
// covers none. a itself is never modified.
func (c AddressChange) Rewrite(a *Address) (*Address, bool) {
	if a == nil || c.Previous == nil || c.New == nil || a.KATOTTG != c.KATOTTG {
		return a, false
	}
	p, n := c.Previous, c.New
	out := *a
	switch c.Type {
	case AddressStreetRenamed:
		if a.Street != p.Street {
			return a, false
		}
		out.Street = n.Street
	case AddressRenumbering:
		if a.Street != p.Street || a.Building != p.Building || (p.Block != "" && a.Block != p.Block) {
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
