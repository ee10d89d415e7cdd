package notice_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/notice"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const actionID = "0195a3c1-7a2b-7c3d-8e4f-000000000101"

// Synthetic notices of each kind that pass.
func recheck() notice.Notice {
	return notice.Notice{
		NoticeID: "DMS-N-0001", Kind: notice.KindRecheckAction,
		Action: notice.Action{HubActionID: "RH-" + actionID, UpstreamReference: "DMS-00000001", RegistrationBodyCode: "UA1204-RB001"},
		Reason: "порушення вимог Закону (синтетичне)", IssuedAt: "2026-11-20T13:30:00+02:00",
	}
}

func invalidDocument() notice.Notice {
	return notice.Notice{
		NoticeID: "DMS-N-0002", Kind: notice.KindCancelInvalidDocument,
		Action:   notice.Action{RegistrationBodyCode: "UA1204-RB001"},
		Person:   &notice.Person{UNZR: "19880412-07347"},
		Document: &notice.Document{Type: "id_card", Number: "009876543"},
		Reason:   "документ визнано недійсним (синтетичне)", IssuedAt: "2026-11-20T11:00:00Z",
	}
}

func annulledRecord() notice.Notice {
	return notice.Notice{
		NoticeID: "DMS-N-0003", Kind: notice.KindCancelAnnulledCivilRecord,
		Action:      notice.Action{UpstreamReference: "DMS-00000003", RegistrationBodyCode: "UA1204-RB001"},
		Person:      &notice.Person{RNOKPP: "3224401240"},
		CivilRecord: &notice.CivilRecord{Number: "1234", Date: "2025-03-14", Office: "Відділ ДРАЦС (вигаданий)"},
		Reason:      "актовий запис анульовано\nрішенням Мін'юсту (синтетичне)", IssuedAt: "2026-11-20T11:00:00.5Z",
	}
}

func TestCheckAcceptsEachKindInCanonicalForm(t *testing.T) {
	n, err := notice.Check(recheck(), now)
	if err != nil {
		t.Fatalf("recheck: %v", err)
	}
	if n.Action.HubActionID != actionID || n.IssuedAt != "2026-11-20T11:30:00Z" {
		t.Fatalf("canonical form: action %q, issued_at %q", n.Action.HubActionID, n.IssuedAt)
	}
	if id, ok := n.ActionUUID(); !ok || id.String() != actionID {
		t.Fatalf("ActionUUID = %s, %v", id, ok)
	}
	for _, n := range []notice.Notice{invalidDocument(), annulledRecord()} {
		if _, err := notice.Check(n, now); err != nil {
			t.Errorf("%s: %v", n.Kind, err)
		}
	}
}

// Each kind's required fields, each missing, and what a kind does not
// take: refused with the field named.
func TestCheckRefusesWhatEachKindLacks(t *testing.T) {
	cases := []struct {
		name  string
		n     func() notice.Notice
		field string
		code  string
	}{
		{"no notice id", func() notice.Notice { n := recheck(); n.NoticeID = ""; return n }, "notice_id", "required"},
		{"no kind", func() notice.Notice { n := recheck(); n.Kind = ""; return n }, "kind", "required"},
		{"unknown kind", func() notice.Notice { n := recheck(); n.Kind = "cancel_everything"; return n }, "kind", "unknown_value"},
		{"no registration body", func() notice.Notice { n := recheck(); n.Action.RegistrationBodyCode = ""; return n }, "action.registration_body_code", "required"},
		{"no reason", func() notice.Notice { n := invalidDocument(); n.Reason = " "; return n }, "reason", "required"},
		{"no issued_at", func() notice.Notice { n := annulledRecord(); n.IssuedAt = ""; return n }, "issued_at", "required"},
		{"issued_at without zone", func() notice.Notice { n := recheck(); n.IssuedAt = "2026-11-20T10:00:00"; return n }, "issued_at", "invalid_format"},
		{"issued_at in the future", func() notice.Notice { n := recheck(); n.IssuedAt = "2026-11-20T12:10:00Z"; return n }, "issued_at", "future_date"},
		{"bad action id", func() notice.Notice { n := recheck(); n.Action.HubActionID = "RH-42"; return n }, "action.hub_action_id", "invalid_format"},

		{"recheck: no action", func() notice.Notice {
			n := recheck()
			n.Action.HubActionID, n.Action.UpstreamReference = "", ""
			return n
		}, "action.hub_action_id", "required"},
		{"recheck: a document", func() notice.Notice { n := recheck(); n.Document = invalidDocument().Document; return n }, "document", "not_allowed"},
		{"recheck: a civil record", func() notice.Notice { n := recheck(); n.CivilRecord = annulledRecord().CivilRecord; return n }, "civil_record", "not_allowed"},

		{"document: no person", func() notice.Notice { n := invalidDocument(); n.Person = nil; return n }, "person", "required"},
		{"document: person without ids", func() notice.Notice { n := invalidDocument(); n.Person = &notice.Person{}; return n }, "person.unzr", "required"},
		{"document: bad unzr", func() notice.Notice { n := invalidDocument(); n.Person.UNZR = "19881332-07347"; return n }, "person.unzr", "invalid_format"},
		{"document: no document", func() notice.Notice { n := invalidDocument(); n.Document = nil; return n }, "document", "required"},
		{"document: no type", func() notice.Notice { n := invalidDocument(); n.Document.Type = ""; return n }, "document.type", "required"},
		{"document: unknown type", func() notice.Notice { n := invalidDocument(); n.Document.Type = "library_card"; return n }, "document.type", "unknown_value"},
		{"document: no number", func() notice.Notice { n := invalidDocument(); n.Document.Number = ""; return n }, "document.number", "required"},
		{"document: a civil record", func() notice.Notice { n := invalidDocument(); n.CivilRecord = annulledRecord().CivilRecord; return n }, "civil_record", "not_allowed"},

		{"record: no person", func() notice.Notice { n := annulledRecord(); n.Person = nil; return n }, "person", "required"},
		{"record: bad rnokpp", func() notice.Notice { n := annulledRecord(); n.Person.RNOKPP = "3224401241"; return n }, "person.rnokpp", "invalid_checksum"},
		{"record: no record", func() notice.Notice { n := annulledRecord(); n.CivilRecord = nil; return n }, "civil_record", "required"},
		{"record: no number", func() notice.Notice { n := annulledRecord(); n.CivilRecord.Number = ""; return n }, "civil_record.number", "required"},
		{"record: no date", func() notice.Notice { n := annulledRecord(); n.CivilRecord.Date = ""; return n }, "civil_record.date", "required"},
		{"record: bad date", func() notice.Notice { n := annulledRecord(); n.CivilRecord.Date = "2025-02-30"; return n }, "civil_record.date", "invalid_date"},
		{"record: a date of letters", func() notice.Notice { n := annulledRecord(); n.CivilRecord.Date = "abcd-ef-gh"; return n }, "civil_record.date", "invalid_format"},
		{"record: a future date", func() notice.Notice { n := annulledRecord(); n.CivilRecord.Date = "2026-12-24"; return n }, "civil_record.date", "future_date"},
		{"record: no office", func() notice.Notice { n := annulledRecord(); n.CivilRecord.Office = ""; return n }, "civil_record.office", "required"},
		{"record: a document", func() notice.Notice { n := annulledRecord(); n.Document = invalidDocument().Document; return n }, "document", "not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := notice.Check(c.n(), now)
			var ve *notice.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err %v, want a ValidationError", err)
			}
			for _, f := range ve.Fields {
				if f.Field == c.field && f.Code == c.code {
					return
				}
			}
			t.Fatalf("%v; want %s: %s", err, c.field, c.code)
		})
	}
}

// A validation error never repeats the values it refuses.
func TestCheckDoesNotEchoValues(t *testing.T) {
	n := invalidDocument()
	n.Person.UNZR = "19881332-07347"
	n.Document.Number = "AB 12"
	_, err := notice.Check(n, now)
	if err == nil || strings.Contains(err.Error(), "19881332") || strings.Contains(err.Error(), "AB 12") {
		t.Fatalf("error %v", err)
	}
}
