package mapping

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
)

// TestEveryKindMapped: each kind the hub accepts has an entry in the table of
// every destination it goes to, and every cancellable kind can be cancelled
// at each.
func TestEveryKindMapped(t *testing.T) {
	for _, k := range action.Kinds() {
		spec, _ := action.Spec(k)
		for _, d := range spec.Destinations {
			switch d {
			case action.DestMigrationService:
				if _, ok := dmsRules[k]; !ok {
					t.Errorf("kind %s goes to dms but dmsRules has no entry", k)
				}
			case action.DestNationalRegistry:
				if _, ok := eddrRules[k]; !ok {
					t.Errorf("kind %s goes to eddr but eddrRules has no entry", k)
				}
			default:
				t.Errorf("kind %s goes to %s, which has no mapping", k, d)
			}
		}
	}
	for _, of := range action.CancellableKinds() {
		if dmsRules[of].cancelCode == "" {
			t.Errorf("dms: %s has no cancellation code", of)
		}
		if !eddrRules[of].cancellable {
			t.Errorf("eddr: %s is not cancellable", of)
		}
	}
	for k, r := range dmsRules {
		if spec, _ := action.Spec(k); r.cancelCode != "" && !spec.Cancellable() {
			t.Errorf("dms: %s has a cancellation code but cannot be cancelled", k)
		}
	}
	for k, r := range eddrRules {
		if spec, _ := action.Spec(k); r.cancellable && !spec.Cancellable() {
			t.Errorf("eddr: %s is cancellable but the hub does not let it be", k)
		}
	}
}

// TestCancelReasonWording: every ground a kind may be cancelled on has its
// own wording upstream; a reason that is no code (accepted before the codes
// were checked) is sent as written.
func TestCancelReasonWording(t *testing.T) {
	seen := map[string]string{}
	for _, k := range action.CancellableKinds() {
		spec, _ := action.Spec(k)
		for _, code := range spec.CancelReasons {
			w := CancelReasonText(code)
			if w == code || w == "" {
				t.Errorf("%s: ground %s has no wording", k, code)
			}
			if other, ok := seen[w]; ok && other != code {
				t.Errorf("grounds %s and %s share the wording %q", code, other, w)
			}
			seen[w] = code
		}
	}
	if got := CancelReasonText("помилка в даних"); got != "помилка в даних" {
		t.Errorf("free-text reason sent as %q", got)
	}
	// The wording of erroneous_entry is what the goldens of the core
	// cancellations always carried.
	if got := CancelReasonText(action.CancelErroneousEntry); got != "помилково внесені відомості" {
		t.Errorf("erroneous_entry worded %q", got)
	}
}

// TestNewKindsMappingErrors: a message that lacks what its kind needs is
// a mapping error at both destinations (never a half-filled message).
func TestNewKindsMappingErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*action.Submission)
		want string
	}{
		{"exclusion without basis", func(s *action.Submission) { s.Kind = action.KindExclude }, "basis_document is required"},
		{"correction without correction", func(s *action.Submission) {
			s.Kind, s.BasisDocument = action.KindCorrect, &action.BasisDocument{Type: "заява"}
		}, "correction with fields and previous values is required"},
		{"correction of an unknown field", func(s *action.Submission) {
			s.Kind, s.BasisDocument = action.KindCorrect, &action.BasisDocument{Type: "заява"}
			s.Correction = &action.Correction{Fields: []string{"rnokpp"}, Previous: &action.PreviousPerson{}}
		}, "correction.fields has no value at this destination"},
		{"death without certificate", func(s *action.Submission) {
			s.Kind, s.Death = action.KindDeregisterDeath, &action.Death{Date: "2025-03-01"}
		}, "death.certificate is required"},
		{"death with an unknown document", func(s *action.Submission) {
			s.Kind = action.KindDeregisterDeath
			s.Death = &action.Death{Date: "2025-03-01", Certificate: &action.DeathCertificate{Type: "note", Number: "1", IssuedOn: "2025-03-02", Issuer: "x"}}
		}, "death.certificate.type has no value at this destination"},
		{"address change without values", func(s *action.Submission) {
			s.Kind, s.BasisDocument = action.KindAddressChange, &action.BasisDocument{Type: "рішення"}
			s.AddressChange = &action.AddressChange{Type: action.AddressStreetRenamed, KATOTTG: "UA12060190010000123"}
		}, "address_change with previous and new values is required"},
		{"address change of an unknown type", func(s *action.Submission) {
			s.Kind, s.BasisDocument = action.KindAddressChange, &action.BasisDocument{Type: "рішення"}
			s.AddressChange = &action.AddressChange{Type: "merger", KATOTTG: "UA12060190010000123",
				Previous: &action.AddressNames{}, New: &action.AddressNames{}}
		}, "address_change.type has no value at this destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSubmission(action.KindDeclare)
			tt.edit(s)
			_, derr := ToDMS(s, validMeta())
			_, eerr := ToEDDR(s, validMeta())
			for dest, err := range map[string]error{"dms": derr, "eddr": eerr} {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: error %v, want one mentioning %q", dest, err, tt.want)
				}
			}
		})
	}
}

// TestAddressChangeCarriesNoPerson: an address change maps without a person
// at either destination, whatever the submission's person holds.
func TestAddressChangeCarriesNoPerson(t *testing.T) {
	s := validSubmission(action.KindAddressChange)
	s.Person, s.Address = action.Person{}, nil
	s.BasisDocument = &action.BasisDocument{Type: "рішення", Number: "1", Date: "2025-03-01"}
	s.AddressChange = &action.AddressChange{Type: action.AddressUnitRenamed, KATOTTG: "UA12060190010000123",
		Previous: &action.AddressNames{Unit: "a"}, New: &action.AddressNames{Unit: "b"}}
	d, err := ToDMS(s, validMeta())
	if err != nil {
		t.Fatal(err)
	}
	e, err := ToEDDR(s, validMeta())
	if err != nil {
		t.Fatal(err)
	}
	if d.Person != nil || e.Person != nil || *d.StatusCode != "ADDRESS_CHANGE" || *e.ChangeType != "ADDRESS_CHANGED" ||
		d.AddressChange.New.Unit != "b" || e.AddressChange.Previous.Unit != "a" {
		t.Fatalf("dms %+v\neddr %+v", d, e)
	}
}

func validMeta() Meta {
	return Meta{
		MessageID:        "0195a3c1-7a2b-7c3d-8e4f-000000000101",
		ActionRef:        "RH-1",
		StatusTime:       time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC),
		RegistrationBody: RegistrationBody{Code: "99999901"},
	}
}

func validSubmission(k action.Kind) *action.Submission {
	return &action.Submission{
		Kind: k,
		Person: action.Person{
			RNOKPP: "3224401240", Surname: "Вигаденко", GivenNames: "Олеся",
			BirthDate: "1988-04-12", Sex: "F",
		},
		Address:       &action.Address{KATOTTG: "UA12060190010000123"},
		EffectiveDate: "2025-03-14",
		Official:      action.Official{ID: "reg-officer-0042", Name: "Зразкова Ганна Іванівна"},
	}
}

func TestMappingErrors(t *testing.T) {
	cancelOf := func(of action.Kind) func(*action.Submission, *Meta) {
		return func(s *action.Submission, _ *Meta) {
			s.Kind = action.KindCancel
			s.Cancellation = &action.Cancellation{Of: of, Reason: "помилка"}
		}
	}
	tests := []struct {
		name    string
		edit    func(*action.Submission, *Meta)
		want    string // in both destinations' errors
		unknown bool
	}{
		{"unknown kind", func(s *action.Submission, _ *Meta) { s.Kind = "residence.teleport" }, `"residence.teleport"`, true},
		{"cancel without cancellation", func(s *action.Submission, _ *Meta) { s.Kind = action.KindCancel }, "cancellation is required", false},
		{"cancel of a cancel", cancelOf(action.KindCancel), "cannot be cancelled", false},
		{"cancel of unknown", cancelOf("residence.teleport"), "cannot be cancelled", false},
		{"no message id", func(_ *action.Submission, m *Meta) { m.MessageID = "" }, "message id is required", false},
		{"no action reference", func(_ *action.Submission, m *Meta) { m.ActionRef = "" }, "action reference is required", false},
		{"no registration body", func(_ *action.Submission, m *Meta) { m.RegistrationBody.Code = "" }, "registration body code is required", false},
		{"bad birth date", func(s *action.Submission, _ *Meta) { s.Person.BirthDate = "12.04.1988" }, "person.birth_date is not a YYYY-MM-DD date", false},
		{"no effective date", func(s *action.Submission, _ *Meta) { s.EffectiveDate = "" }, "effective_date is required", false},
		{"no official", func(s *action.Submission, _ *Meta) { s.Official.ID = "" }, "official.id is required", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, m := validSubmission(action.KindDeclare), validMeta()
			tt.edit(s, &m)
			_, derr := ToDMS(s, m)
			_, eerr := ToEDDR(s, m)
			for dest, err := range map[string]error{"dms": derr, "eddr": eerr} {
				if err == nil {
					t.Errorf("%s: no error", dest)
					continue
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: error %q does not mention %q", dest, err, tt.want)
				}
				if errors.Is(err, ErrUnknownKind) != tt.unknown {
					t.Errorf("%s: errors.Is(err, ErrUnknownKind) = %v, want %v", dest, !tt.unknown, tt.unknown)
				}
				if strings.Contains(err.Error(), "12.04.1988") {
					t.Errorf("%s: error echoes personal data: %q", dest, err)
				}
			}
		})
	}
}

func TestCancellationCodes(t *testing.T) {
	tests := []struct {
		of         action.Kind
		dmsCode    string
		dmsOf      string
		eddrChange string
	}{
		{action.KindDeclare, "CANCEL_DECLARATION", "DECLARE", "RESIDENCE_DECLARED"},
		{action.KindRegister, "CANCEL_REGISTRATION", "REGISTER", "RESIDENCE_REGISTERED"},
		{action.KindDeregister, "CANCEL_DEREGISTRATION", "DEREGISTER", "RESIDENCE_DEREGISTERED"},
		{action.KindStayRegister, "CANCEL_STAY_REGISTRATION", "REGISTER_STAY", "STAY_REGISTERED"},
		{action.KindChange, "CANCEL_CHANGE", "CHANGE_RESIDENCE", "RESIDENCE_CHANGED"},
		{action.KindDeregisterDeath, "CANCEL_DEATH_DEREGISTRATION", "DEREGISTER_DEATH", "RESIDENCE_DEREGISTERED_DEATH"},
	}
	for _, tt := range tests {
		t.Run(string(tt.of), func(t *testing.T) {
			s := validSubmission(action.KindCancel)
			s.Cancellation = &action.Cancellation{Of: tt.of, ActionID: "0195a3c0-0000-7000-8000-000000000001", Reason: "помилка"}
			d, err := ToDMS(s, validMeta())
			if err != nil {
				t.Fatal(err)
			}
			if string(*d.StatusCode) != tt.dmsCode || string(*d.Cancelled.ActionCode) != tt.dmsOf ||
				d.Cancelled.Reference != s.Cancellation.ActionID || d.Cancelled.Reason != "помилка" {
				t.Errorf("dms: statusCode %s cancelled %+v", *d.StatusCode, *d.Cancelled)
			}
			e, err := ToEDDR(s, validMeta())
			if err != nil {
				t.Fatal(err)
			}
			if *e.ChangeType != "RESIDENCE_CANCELLED" || string(*e.CancelledChangeType) != tt.eddrChange || e.Reason != "помилка" {
				t.Errorf("eddr: changeType %s cancelledChangeType %s reason %q", *e.ChangeType, *e.CancelledChangeType, e.Reason)
			}
		})
	}
}

func TestStatusHeaders(t *testing.T) {
	id := DefaultIdentity()
	off := action.Official{ID: "reg-officer-0042"}
	for dest, want := range map[action.Destination]string{
		action.DestMigrationService: "SEVDEIR-TEST/GOV/00000001/DMS/OtgToDmsStatus/v1",
		action.DestNationalRegistry: "SEVDEIR-TEST/GOV/00000002/EDDR/GetChangeStatus/v1",
	} {
		h := StatusHeaders(dest, id, validMeta(), off)
		if got := h.Service.String(); got != want {
			t.Errorf("%s: status service %s, want %s", dest, got, want)
		}
		if id.Services[dest].ServiceCode == h.Service.ServiceCode {
			t.Errorf("%s: StatusHeaders changed the identity's map", dest)
		}
	}
}
