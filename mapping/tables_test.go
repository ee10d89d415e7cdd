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
	for _, of := range []action.Kind{action.KindDeclare, action.KindRegister, action.KindDeregister} {
		if dmsRules[of].cancelCode == "" {
			t.Errorf("dms: %s has no cancellation code", of)
		}
		if !eddrRules[of].cancellable {
			t.Errorf("eddr: %s is not cancellable", of)
		}
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
