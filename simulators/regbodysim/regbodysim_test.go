package regbodysim_test

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/schemas/regbody"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/regbodysim"
	"github.com/reghub/reghub/simulators/upstream"
)

func start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(regbodysim.New(upstream.Config{}, nil).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// headers addresses body; id is the X-Road message id.
func headers(id, body string) xroad.Headers {
	return xroad.Headers{
		Client: xroad.Identifier{ObjectType: "SUBSYSTEM", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV", MemberCode: "00000000", SubsystemCode: "REGHUB"},
		Service: xroad.Identifier{ObjectType: "SERVICE", XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV", MemberCode: body,
			SubsystemCode: "REGBODY", ServiceCode: "NotifyRegistrationBody", ServiceVersion: "v1"},
		ID: id, UserID: "reg-officer-0042", Issue: "RH-SYN-1", ProtocolVersion: xroad.ProtocolVersion,
	}
}

// notice is a complete synthetic deregistration notice to body.
func notice(id, body string) *regbody.NotifyRequest {
	kind, cause := regbody.NoticeKindDeregistration, regbody.ActionKindDeregistration
	return &regbody.NotifyRequest{
		XMLName:  xml.Name{Space: regbodysim.Namespace, Local: "NotifyRequest"},
		NoticeId: id, NoticeKind: &kind, Cause: &cause,
		Person: &regbody.Person{Unzr: "19880412-07347", Rnokpp: "3224401240", Surname: "Вигаденко", GivenNames: "Олеся",
			BirthDate: soap.CreateXsdDate(time.Date(1988, 4, 12, 0, 0, 0, 0, time.UTC), false)},
		Address:         &regbody.Address{Katottg: "UA12020010010000456", Street: "просп. Тестовий", Building: "5"},
		EffectiveDate:   soap.CreateXsdDate(time.Date(2025, 3, 13, 0, 0, 0, 0, time.UTC), false),
		SendingBody:     &regbody.RegistrationBody{Code: "99999901"},
		RecipientBody:   body,
		ActionReference: "RH-SYN-1",
		ReasonCode:      "moved",
		IssuedAt:        soap.CreateXsdDateTime(time.Date(2025, 3, 13, 9, 30, 0, 0, time.UTC), true),
	}
}

// post sends the envelope of req under h, with no SOAPAction, and returns
// the status and body.
func post(t *testing.T, base string, h xroad.Headers, req any) (int, []byte) {
	t.Helper()
	code, b, err := upstream.PostSOAP(t.Context(), base+"/soap", "", h, req)
	if err != nil {
		t.Fatal(err)
	}
	return code, b
}

func decodeResponse(t *testing.T, b []byte) *regbody.NotifyResponse {
	t.Helper()
	res, err := upstream.DecodeAnswer[regbody.NotifyResponse](b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return res
}

func inspect(t *testing.T, base string) regbodysim.Inspection {
	t.Helper()
	in, err := regbodysim.Inspect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestAcknowledgeAnyBody: one simulator plays every body; each notice is
// acknowledged with a record reference of its own, and a resend gets the
// first answer verbatim.
func TestAcknowledgeAnyBody(t *testing.T) {
	base := start(t)
	var first []byte
	for i, body := range []string{"SYN-RB-1202", "SYN-RB-1204", "SYN-RB-9999"} {
		id := "msg-" + body
		code, b := post(t, base, headers(id, body), notice(id, body))
		res := decodeResponse(t, b)
		if code != http.StatusOK || *res.Result != regbody.ResultAcknowledged || res.NoticeId != id ||
			res.RecordReference != []string{"RB-00000001", "RB-00000002", "RB-00000003"}[i] {
			t.Errorf("%s: HTTP %d, %+v", body, code, res)
		}
		if i == 0 {
			first = b
		}
	}
	code, again := post(t, base, headers("msg-SYN-RB-1202", "SYN-RB-1202"), notice("msg-SYN-RB-1202", "SYN-RB-1202"))
	if code != http.StatusOK || !bytes.Equal(again, first) {
		t.Errorf("resend: HTTP %d\n%s\nwant the first answer\n%s", code, again, first)
	}
	in := inspect(t, base)
	if in.NoticeCount != 3 || in.Duplicates != 1 || in.DuplicatesByMessage["msg-SYN-RB-1202"] != 1 || in.Requests != 4 {
		t.Errorf("inspection: %+v", in)
	}
	n := in.Notices[0]
	if n.Body != "SYN-RB-1202" || n.Kind != "deregistration" || n.Cause != "deregistration" || n.Person != "19880412-07347" ||
		n.Katottg != "UA12020010010000456" || n.SendingBody != "99999901" || n.EffectiveDate != "2025-03-13" || n.ReasonCode != "moved" {
		t.Errorf("notice recorded as %+v", n)
	}
	if in.ByBody["SYN-RB-1204"] != 1 || in.ByBody["SYN-RB-9999"] != 1 {
		t.Errorf("by body %v", in.ByBody)
	}
}

// TestInvalidNoticeRejected: a notice lacking what the schema requires is
// a business rejection naming what is missing, kept and repeated.
func TestInvalidNoticeRejected(t *testing.T) {
	base := start(t)
	req := notice("msg-1", "SYN-RB-1202")
	kind := regbody.NoticeKindCancellation
	req.NoticeKind, req.Person, req.Address = &kind, nil, nil
	for range 2 {
		code, b := post(t, base, headers("msg-1", "SYN-RB-1202"), req)
		res := decodeResponse(t, b)
		if code != http.StatusOK || *res.Result != regbody.ResultRejected || res.RejectionCode != regbodysim.ReasonInvalidRequest {
			t.Fatalf("HTTP %d, %+v", code, res)
		}
		for _, f := range []string{"cancelledKind", "cause (only of a deregistration)", "person", "address.katottg"} {
			if !strings.Contains(res.RejectionReason, f) {
				t.Errorf("reason %q does not name %s", res.RejectionReason, f)
			}
		}
	}
	if in := inspect(t, base); in.RejectedCount != 1 || in.NoticeCount != 0 || in.Duplicates != 1 {
		t.Errorf("inspection: %+v", in)
	}
}

// TestFormFaults: a noticeId that is not the X-Road id, or a recipient
// that is not the service's member, is a Client fault; nothing is kept.
func TestFormFaults(t *testing.T) {
	base := start(t)
	for name, c := range map[string]struct {
		h   xroad.Headers
		req *regbody.NotifyRequest
	}{
		"noticeId":      {headers("msg-1", "SYN-RB-1202"), notice("msg-2", "SYN-RB-1202")},
		"recipientBody": {headers("msg-3", "SYN-RB-1204"), notice("msg-3", "SYN-RB-1202")},
	} {
		code, b := post(t, base, c.h, c.req)
		if code != http.StatusInternalServerError || !bytes.Contains(b, []byte("SOAP-ENV:Client")) || !bytes.Contains(b, []byte(name)) {
			t.Errorf("%s: HTTP %d\n%s", name, code, b)
		}
	}
	if in := inspect(t, base); in.NoticeCount != 0 || in.RejectedCount != 0 || in.ProtocolErrors != 2 {
		t.Errorf("inspection: %+v", in)
	}
}

// TestControlEndpoints: /config is the engine's, /reset forgets the
// notices and the engine's counters and keeps the configuration
// (upstream.ControlMux).
func TestControlEndpoints(t *testing.T) {
	base := start(t)
	post(t, base, headers("msg-1", "SYN-RB-1202"), notice("msg-1", "SYN-RB-1202"))
	if err := upstream.SetConfig(t.Context(), base, upstream.Config{ErrorRate: 1, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, base, headers("msg-2", "SYN-RB-1202"), notice("msg-2", "SYN-RB-1202")); code != http.StatusServiceUnavailable {
		t.Errorf("error rate 1: HTTP %d", code)
	}
	in := inspect(t, base)
	if in.NoticeCount != 1 || in.Faults["error"] != 1 || in.Config.ErrorRate != 1 {
		t.Errorf("inspection: %+v", in)
	}
	if err := upstream.Reset(t.Context(), base); err != nil {
		t.Fatal(err)
	}
	in = inspect(t, base)
	if in.NoticeCount != 0 || in.Requests != 0 || len(in.Faults) != 0 || in.Config.ErrorRate != 1 || in.Config.Seed != 7 {
		t.Errorf("after reset: %+v", in)
	}
	// After a reset, a message id answered before is new again.
	if err := upstream.SetConfig(t.Context(), base, upstream.Config{}); err != nil {
		t.Fatal(err)
	}
	_, b := post(t, base, headers("msg-1", "SYN-RB-1202"), notice("msg-1", "SYN-RB-1202"))
	if res := decodeResponse(t, b); res.RecordReference != "RB-00000001" {
		t.Errorf("after reset: %+v", res)
	}
	if in := inspect(t, base); in.Duplicates != 0 || in.NoticeCount != 1 {
		t.Errorf("after reset: %+v", in)
	}
}

// TestRejectionRateDeterministic: a rejection rate picks message ids by
// hash (upstream.RejectByHash), so every resend of one id, even after a
// reset, gets the same decision.
func TestRejectionRateDeterministic(t *testing.T) {
	base := start(t)
	if err := upstream.SetConfig(t.Context(), base, upstream.Config{RejectionRate: 0.5, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	ids := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	rejected := 0
	for _, id := range ids {
		_, b := post(t, base, headers(id, "SYN-RB-1202"), notice(id, "SYN-RB-1202"))
		res := decodeResponse(t, b)
		if reject := upstream.RejectByHash(11, id, 0.5); (*res.Result == regbody.ResultRejected) != reject {
			t.Errorf("%s: %s, rejected by the hash %t", id, *res.Result, reject)
		}
		if *res.Result == regbody.ResultRejected {
			rejected++
			if res.RejectionCode != regbodysim.ReasonSimulated || res.RejectionReason == "" || res.RecordReference != "" {
				t.Errorf("%s: %+v", id, res)
			}
		}
	}
	if rejected == 0 || rejected == len(ids) {
		t.Errorf("rate 0.5 rejected %d of %d", rejected, len(ids))
	}
}
