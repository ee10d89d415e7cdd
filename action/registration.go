package action

// Registration is a person's place of residence as the completed actions
// left it: what the hub's local read model keeps and authorities' queries
// read. Only completed actions change it — an action is complete in law
// only once the national systems confirmed it.
type Registration struct {
	PersonKey string `json:"person_key"`
	// Person is the personal data of the latest completed action.
	Person Person `json:"person"`
	// Address is the current address, or the last one once deregistered.
	Address *Address `json:"address,omitempty"`
	// Kind is how the person came to the address: declared or registered.
	Kind               Kind     `json:"kind,omitempty"`
	RegistrationDate   string   `json:"registration_date,omitempty"`
	DeregistrationDate string   `json:"deregistration_date,omitempty"`
	PreviousAddress    *Address `json:"previous_address,omitempty"`
	// Registered: the person lives at Address now.
	Registered bool `json:"registered"`
}

// Apply moves the registration on by one completed action.
func (r *Registration) Apply(s Submission) {
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
	case KindDeregister:
		if s.Address != nil {
			r.Address = s.Address
		}
		r.DeregistrationDate, r.Registered = s.EffectiveDate, false
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
		}
	}
}
