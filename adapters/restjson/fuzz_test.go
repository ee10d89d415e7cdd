package restjson

import (
	"errors"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/reghub/reghub/outbox"
)

// FuzzClassifyAnswer feeds recipients' answers of any status and body to
// the classification: it never panics, gives a reply or a classified
// error (never both, never neither), keeps a reference and a reason within
// their bounds, and keeps the recipient's words out of long error texts.
func FuzzClassifyAnswer(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{201, `{"reference":"MIL-00000001"}`}, {200, `{"reference":""}`}, {201, `not json`},
		{422, `{"code":"SMALL_CELL","detail":"a count under 5"}`}, {422, `{}`}, {409, `{"code":"KEY_REUSED"}`},
		{429, ``}, {404, `<html>`}, {503, `{"code":"DOWN","detail":"maintenance"}`}, {302, ``}, {204, ``},
	} {
		f.Add(seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = http.StatusOK + status%800
			if status < 100 {
				status = 100
			}
		}
		r, err := classifyAnswer("fuzz", status, body)
		if err != nil {
			var de *outbox.DeliveryError
			if !errors.As(err, &de) || de.Class == "" {
				t.Fatalf("HTTP %d: an unclassified error %v", status, err)
			}
			if r.Kind != "" {
				t.Fatalf("HTTP %d: both a reply %+v and an error %v", status, r, err)
			}
			if n := len(err.Error()); n > 2*maxText+256 {
				t.Fatalf("HTTP %d: error text of %d bytes", status, n)
			}
			return
		}
		switch r.Kind {
		case outbox.ReplyAcknowledged:
			if r.Reference == "" || utf8.RuneCountInString(r.Reference) > maxReference {
				t.Fatalf("HTTP %d: acknowledged with reference %q", status, r.Reference)
			}
		case outbox.ReplyRejected:
			if r.ReasonCode == "" || utf8.RuneCountInString(r.ReasonCode) > maxCode || utf8.RuneCountInString(r.Reason) > maxText {
				t.Fatalf("HTTP %d: rejected with code %q reason of %d runes", status, r.ReasonCode, utf8.RuneCountInString(r.Reason))
			}
		default:
			t.Fatalf("HTTP %d: reply %+v without an error", status, r)
		}
	})
}
