package dmssim_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/upstream"
)

// Synthetic test data only: UNZR-shaped and РНОКПП-shaped numbers of no one.
const (
	katottgA = "UA12020010010026535"
	katottgB = "UA12020010010045887"
	rnokpp   = "1759013776" // the public example that passes the checksum
)

func unzr(i int) string { return fmt.Sprintf("19900101-%04d%d", i%10000, i%10) }

type sim struct {
	url string // base URL
}

func start(t *testing.T, cfg upstream.Config) *sim {
	t.Helper()
	ts := httptest.NewServer(dmssim.New(cfg, nil).Handler())
	t.Cleanup(ts.Close)
	return &sim{url: ts.URL}
}

func (s *sim) inspect(t *testing.T) upstream.Inspection {
	t.Helper()
	in, err := upstream.Inspect(t.Context(), s.url)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	return in
}

func (s *sim) setConfig(t *testing.T, cfg upstream.Config) {
	t.Helper()
	if err := upstream.SetConfig(t.Context(), s.url, cfg); err != nil {
		t.Fatalf("set config: %v", err)
	}
}

func headers(id string) xroad.Headers {
	return xroad.Headers{
		Client:          xroad.Identifier{XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV", MemberCode: "00000001", SubsystemCode: "REGHUB"},
		Service:         xroad.Identifier{XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV", MemberCode: "00000002", SubsystemCode: "DMS", ServiceCode: "OtgToDms", ServiceVersion: "v1"},
		ID:              id,
		UserID:          "UA0000000001",
		Issue:           "case-42",
		ProtocolVersion: xroad.ProtocolVersion,
	}
}

func request(id string, code dms.ActionCode, person, katottg string) *dms.OtgToDmsRequest {
	r := &dms.OtgToDmsRequest{
		RequestId:        id,
		StatusTime:       soap.CreateXsdDateTime(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), true),
		StatusCode:       &code,
		ActionReference:  "ACT-" + id,
		RegistrationBody: &dms.RegistrationBody{Code: "1210400000", Name: "Test registration body"},
		Person: &dms.Person{
			Unzr: person, LastName: "Testenko", FirstName: "Probna", BirthDate: soap.CreateXsdDate(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), false),
			Gender: "F",
		},
		EffectiveDate: soap.CreateXsdDate(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), false),
		Official:      &dms.Official{Id: "UA0000000001", Name: "Official Test"},
	}
	if katottg != "" {
		r.Address = &dms.Address{Katottg: katottg, Street: "Testova", Building: "1"}
	}
	return r
}

// answer is a decoded response: HTTP status, the raw body, and whichever of
// response, status response or fault it carried.
type answer struct {
	code    int
	raw     []byte
	headers *xroad.Header
	resp    *dms.OtgToDmsResponse
	status  *dms.OtgToDmsStatusResponse
	fault   *upstream.Fault
	decErr  error
}

func decode(code int, raw []byte) answer {
	a := answer{code: code, raw: raw}
	env, err := upstream.DecodeEnvelope(raw, func(n xml.Name) any {
		switch n.Local {
		case "OtgToDmsResponse":
			a.resp = new(dms.OtgToDmsResponse)
			return a.resp
		case "OtgToDmsStatusResponse":
			a.status = new(dms.OtgToDmsStatusResponse)
			return a.status
		case "Fault":
			a.fault = new(upstream.Fault)
			return a.fault
		}
		return nil
	})
	if err != nil {
		a.decErr = err
		return a
	}
	a.headers = env.Header
	return a
}

func (s *sim) post(t *testing.T, action string, h xroad.Headers, payload any) answer {
	t.Helper()
	code, raw, err := upstream.PostSOAP(t.Context(), s.url+"/soap", action, h, payload)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	return decode(code, raw)
}

func (s *sim) submit(t *testing.T, req *dms.OtgToDmsRequest) answer {
	t.Helper()
	return s.post(t, dmssim.ActionOtgToDms, headers(req.RequestId), req)
}

func (s *sim) statusOf(t *testing.T, messageID, receiptID string) answer {
	t.Helper()
	return s.post(t, dmssim.ActionOtgToDmsStatus, headers("status-"+receiptID+"-"+fmt.Sprint(time.Now().UnixNano())),
		&dms.OtgToDmsStatusRequest{RequestId: messageID, ReceiptId: receiptID})
}

func wantResult(t *testing.T, a answer, want dms.ResultCode) *dms.OtgToDmsResponse {
	t.Helper()
	if a.code != http.StatusOK || a.resp == nil || a.resp.Result == nil {
		t.Fatalf("want HTTP 200 with a result, got %d: %s (decode err %v)", a.code, a.raw, a.decErr)
	}
	if *a.resp.Result != want {
		t.Fatalf("result %s, want %s: %s", *a.resp.Result, want, a.raw)
	}
	return a.resp
}

func wantFault(t *testing.T, a answer, client bool) {
	t.Helper()
	if a.code != http.StatusInternalServerError || a.fault == nil {
		t.Fatalf("want HTTP 500 with a SOAP fault, got %d: %s (decode err %v)", a.code, a.raw, a.decErr)
	}
	if client && !a.fault.IsClient() || !client && !a.fault.IsServer() {
		t.Fatalf("fault code %q (client wanted: %v): %s", a.fault.Code, client, a.fault.String)
	}
	if !bytes.Contains(a.raw, []byte("<SOAP-ENV:Fault><faultcode>SOAP-ENV:")) {
		t.Fatalf("fault not in the SOAP-ENV form: %s", a.raw)
	}
}

func TestSyncApply(t *testing.T) {
	s := start(t, upstream.Config{})
	a := s.submit(t, request("m-1", dms.ActionCodeREGISTER, unzr(1), katottgA))
	resp := wantResult(t, a, dms.ResultCodeREGISTERED)
	if resp.RecordId != "DMS-00000001" || resp.RequestId != "m-1" || resp.ReceiptId != "" {
		t.Fatalf("response %+v", resp)
	}
	if a.headers == nil || a.headers.ID != "m-1" || a.headers.UserID != "UA0000000001" || a.headers.Issue != "case-42" ||
		a.headers.ProtocolVersion != "4.0" || a.headers.Client == nil || a.headers.Client.MemberCode != "00000001" {
		t.Fatalf("X-Road headers not echoed: %s", a.raw)
	}

	in := s.inspect(t)
	if in.AppliedCount != 1 || len(in.Applied) != 1 {
		t.Fatalf("applied %d, want 1", in.AppliedCount)
	}
	e := in.Applied[0]
	if e.Seq != 1 || e.ID != "m-1" || e.PersonKey != unzr(1) || e.Action != "REGISTER" || e.Kind != upstream.KindRegister ||
		e.Reference != "ACT-m-1" || e.UserID != "UA0000000001" || e.Issue != "case-42" ||
		e.Client != "SEVDEIR-TEST/GOV/00000001/REGHUB" || e.RecordID != "DMS-00000001" || e.AppliedAt.IsZero() {
		t.Fatalf("applied entry %+v", e)
	}
	p := in.Persons[unzr(1)]
	if p.State != upstream.StateRegistered || p.Katottg != katottgA || len(p.History) != 1 {
		t.Fatalf("person %+v", p)
	}
}

func TestPersonKeyFallsBackToRNOKPP(t *testing.T) {
	s := start(t, upstream.Config{})
	req := request("m-1", dms.ActionCodeDECLARE, "", katottgA)
	req.Person.Rnokpp = rnokpp
	wantResult(t, s.submit(t, req), dms.ResultCodeREGISTERED)
	if p := s.inspect(t).Persons[rnokpp]; p.State != upstream.StateDeclared {
		t.Fatalf("person by RNOKPP: %+v", p)
	}
}

func TestDuplicate(t *testing.T) {
	for _, mode := range []string{upstream.ModeSync, upstream.ModeAsync} {
		t.Run(mode, func(t *testing.T) {
			s := start(t, upstream.Config{Mode: mode})
			req := request("m-dup", dms.ActionCodeREGISTER, unzr(2), katottgA)
			first := s.submit(t, req)
			second := s.submit(t, req)
			third := s.submit(t, req)
			if !bytes.Equal(first.raw, second.raw) || !bytes.Equal(first.raw, third.raw) {
				t.Fatalf("duplicate answered differently:\n%s\n%s", first.raw, second.raw)
			}
			in := s.inspect(t)
			if in.AppliedCount != 1 || in.Duplicates != 2 || in.DuplicatesByMessage["m-dup"] != 2 {
				t.Fatalf("applied %d duplicates %d by message %v", in.AppliedCount, in.Duplicates, in.DuplicatesByMessage)
			}
			if h := in.Persons[unzr(2)].History; len(h) != 1 {
				t.Fatalf("history %d entries, want 1", len(h))
			}
		})
	}
}

func TestDuplicateOfRejectionIsRejectedAgain(t *testing.T) {
	s := start(t, upstream.Config{})
	req := request("m-d", dms.ActionCodeDEREGISTER, unzr(3), "")
	first := s.submit(t, req)
	wantResult(t, first, dms.ResultCodeREJECTED)
	// The person registers meanwhile; the resend still gets the first answer.
	wantResult(t, s.submit(t, request("m-r", dms.ActionCodeREGISTER, unzr(3), katottgA)), dms.ResultCodeREGISTERED)
	second := s.submit(t, req)
	if !bytes.Equal(first.raw, second.raw) {
		t.Fatalf("resend answered differently:\n%s\n%s", first.raw, second.raw)
	}
	if in := s.inspect(t); in.AppliedCount != 1 || in.Duplicates != 1 || in.Persons[unzr(3)].State != upstream.StateRegistered {
		t.Fatalf("inspection %+v", in)
	}
}

func TestAsyncReceiptThenStatus(t *testing.T) {
	const delay = 150 * time.Millisecond
	s := start(t, upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: delay})
	resp := wantResult(t, s.submit(t, request("m-a", dms.ActionCodeREGISTER, unzr(4), katottgA)), dms.ResultCodeACCEPTED)
	if resp.ReceiptId == "" || resp.RecordId != "" {
		t.Fatalf("async answer %+v", resp)
	}
	// Applied at acceptance.
	if in := s.inspect(t); in.AppliedCount != 1 || in.Applied[0].ReceiptID != resp.ReceiptId {
		t.Fatalf("not applied at acceptance: %+v", in.Applied)
	}

	st := s.statusOf(t, "m-a", resp.ReceiptId)
	if st.status == nil || *st.status.Result != dms.ResultCodePENDING || st.status.RequestId != "m-a" {
		t.Fatalf("status before delay: %s", st.raw)
	}
	time.Sleep(delay + 50*time.Millisecond)
	for range 2 { // asked twice: REGISTERED both times
		st = s.statusOf(t, "", resp.ReceiptId)
		if st.status == nil || *st.status.Result != dms.ResultCodeREGISTERED || st.status.RecordId != "DMS-00000001" {
			t.Fatalf("status after delay: %s", st.raw)
		}
	}
	in := s.inspect(t)
	if len(in.Receipts) != 1 || in.Receipts[0].Polls != 3 || in.Receipts[0].FinalAnswers != 2 || in.AppliedCount != 1 {
		t.Fatalf("receipts %+v applied %d", in.Receipts, in.AppliedCount)
	}

	// Unknown receipt, and a receipt asked for with another message id.
	wantFault(t, s.statusOf(t, "", "DMS-R-99999999"), true)
	wantFault(t, s.statusOf(t, "m-other", resp.ReceiptId), true)
}

func TestAsyncRejectionShowsInStatus(t *testing.T) {
	s := start(t, upstream.Config{Mode: upstream.ModeAsync})
	resp := wantResult(t, s.submit(t, request("m-x", dms.ActionCodeDEREGISTER, unzr(5), "")), dms.ResultCodeACCEPTED)
	st := s.statusOf(t, "m-x", resp.ReceiptId)
	if st.status == nil || *st.status.Result != dms.ResultCodeREJECTED || st.status.ReasonCode != upstream.ReasonNoActiveRegistration {
		t.Fatalf("status: %s", st.raw)
	}
}

func TestAckTwice(t *testing.T) {
	s := start(t, upstream.Config{Mode: upstream.ModeAsync, AckTwice: true})
	req := request("m-t", dms.ActionCodeREGISTER, unzr(6), katottgA)
	resp := wantResult(t, s.submit(t, req), dms.ResultCodeACCEPTED)
	st := s.statusOf(t, "m-t", resp.ReceiptId)
	if *st.status.Result != dms.ResultCodeREGISTERED {
		t.Fatalf("status: %s", st.raw)
	}
	// The resend is acknowledged again, with the final outcome.
	again := wantResult(t, s.submit(t, req), dms.ResultCodeREGISTERED)
	if again.RecordId != st.status.RecordId || again.ReceiptId != resp.ReceiptId {
		t.Fatalf("second acknowledgement %+v", again)
	}
	in := s.inspect(t)
	if in.AppliedCount != 1 || in.Duplicates != 1 || in.Receipts[0].FinalAnswers != 2 {
		t.Fatalf("applied %d duplicates %d receipts %+v", in.AppliedCount, in.Duplicates, in.Receipts)
	}
}

func TestBusinessRejections(t *testing.T) {
	missingPerson := request("m-3", dms.ActionCodeREGISTER, unzr(7), katottgA)
	missingPerson.Person = nil
	noKey := request("m-4", dms.ActionCodeREGISTER, "", katottgA)
	noCode := request("m-5", dms.ActionCodeREGISTER, unzr(7), katottgA)
	noCode.StatusCode = nil
	tests := []struct {
		name       string
		cfg        upstream.Config
		req        *dms.OtgToDmsRequest
		wantReason string
	}{
		{"rejection rate 1", upstream.Config{RejectionRate: 1}, request("m-1", dms.ActionCodeREGISTER, unzr(7), katottgA), upstream.ReasonSimulated},
		{"deregister without registration", upstream.Config{}, request("m-2", dms.ActionCodeDEREGISTER, unzr(7), ""), upstream.ReasonNoActiveRegistration},
		{"register without address", upstream.Config{}, request("m-6", dms.ActionCodeREGISTER, unzr(7), ""), upstream.ReasonInvalidRequest},
		{"missing person", upstream.Config{}, missingPerson, upstream.ReasonInvalidRequest},
		{"no UNZR nor RNOKPP", upstream.Config{}, noKey, upstream.ReasonInvalidRequest},
		{"missing status code", upstream.Config{}, noCode, upstream.ReasonInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.cfg)
			resp := wantResult(t, s.submit(t, tc.req), dms.ResultCodeREJECTED)
			if resp.ReasonCode != tc.wantReason || resp.ReasonText == "" || resp.RecordId != "" {
				t.Fatalf("response %+v, want reason %s", resp, tc.wantReason)
			}
			in := s.inspect(t)
			if in.AppliedCount != 0 || len(in.Persons) != 0 || in.RejectedCount != 1 || in.Rejected[0].ReasonCode != tc.wantReason {
				t.Fatalf("applied %d persons %d rejected %+v", in.AppliedCount, len(in.Persons), in.Rejected)
			}
		})
	}
}

func TestStateTransitions(t *testing.T) {
	type step struct {
		code  dms.ActionCode
		addr  string
		want  dms.ResultCode
		state string
		at    string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"register then deregister", []step{
			{dms.ActionCodeREGISTER, katottgA, dms.ResultCodeREGISTERED, upstream.StateRegistered, katottgA},
			{dms.ActionCodeDEREGISTER, "", dms.ResultCodeREGISTERED, upstream.StateDeregistered, ""},
			{dms.ActionCodeDEREGISTER, "", dms.ResultCodeREJECTED, upstream.StateDeregistered, ""},
		}},
		{"declare, move, cancel deregistration restores", []step{
			{dms.ActionCodeDECLARE, katottgA, dms.ResultCodeREGISTERED, upstream.StateDeclared, katottgA},
			{dms.ActionCodeREGISTER, katottgB, dms.ResultCodeREGISTERED, upstream.StateRegistered, katottgB},
			{dms.ActionCodeDEREGISTER, "", dms.ResultCodeREGISTERED, upstream.StateDeregistered, ""},
			{dms.ActionCodeCANCEL_DEREGISTRATION, "", dms.ResultCodeREGISTERED, upstream.StateRegistered, katottgB},
		}},
		{"cancel registration", []step{
			{dms.ActionCodeREGISTER, katottgA, dms.ResultCodeREGISTERED, upstream.StateRegistered, katottgA},
			{dms.ActionCodeCANCEL_DECLARATION, "", dms.ResultCodeREGISTERED, upstream.StateRegistered, katottgA}, // nothing to cancel
			{dms.ActionCodeCANCEL_REGISTRATION, "", dms.ResultCodeREGISTERED, upstream.StateCancelled, ""},
			{dms.ActionCodeDEREGISTER, "", dms.ResultCodeREJECTED, upstream.StateCancelled, ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, upstream.Config{})
			applied := 0
			for i, st := range tc.steps {
				id := fmt.Sprintf("m-%d", i)
				wantResult(t, s.submit(t, request(id, st.code, unzr(8), st.addr)), st.want)
				if st.want == dms.ResultCodeREGISTERED {
					applied++
				}
				p := s.inspect(t).Persons[unzr(8)]
				if p.State != st.state || p.Katottg != st.at {
					t.Fatalf("step %d (%s): state %s at %q, want %s at %q", i, st.code, p.State, p.Katottg, st.state, st.at)
				}
			}
			in := s.inspect(t)
			if in.AppliedCount != applied || len(in.Persons[unzr(8)].History) != applied {
				t.Fatalf("applied %d, history %d, want %d", in.AppliedCount, len(in.Persons[unzr(8)].History), applied)
			}
			for i, e := range in.Applied {
				if e.Seq != uint64(i+1) {
					t.Fatalf("applied out of order: %+v", in.Applied)
				}
			}
		})
	}
}

func TestInjectedFaults(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		cfg   upstream.Config
		check func(t *testing.T, a answer)
		fault string // Inspection.Faults key
	}{
		{"error rate 1 is a plain 503", upstream.Config{ErrorRate: 1}, func(t *testing.T, a answer) {
			if a.code != http.StatusServiceUnavailable || bytes.Contains(a.raw, []byte("<")) {
				t.Fatalf("got %d: %s", a.code, a.raw)
			}
		}, "error"},
		{"server fault", upstream.Config{ServerFaultRate: 1}, func(t *testing.T, a answer) {
			wantFault(t, a, false)
			if a.headers == nil || a.headers.ID != "m-f" {
				t.Fatalf("fault without echoed headers: %s", a.raw)
			}
		}, "server_fault"},
		{"client fault", upstream.Config{ClientFaultRate: 1}, func(t *testing.T, a answer) { wantFault(t, a, true) }, "client_fault"},
		{"malformed answer", upstream.Config{MalformedRate: 1}, func(t *testing.T, a answer) {
			if a.code != http.StatusOK || a.decErr == nil {
				t.Fatalf("want 200 with broken XML, got %d: %s", a.code, a.raw)
			}
		}, "malformed"},
		{"outage", upstream.Config{Outage: true}, func(t *testing.T, a answer) {
			if a.code != http.StatusServiceUnavailable {
				t.Fatalf("got %d: %s", a.code, a.raw)
			}
		}, "outage"},
		{"outage window", upstream.Config{OutageFrom: now.Add(-time.Minute), OutageUntil: now.Add(time.Hour)}, func(t *testing.T, a answer) {
			if a.code != http.StatusServiceUnavailable {
				t.Fatalf("got %d: %s", a.code, a.raw)
			}
		}, "outage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.cfg)
			req := request("m-f", dms.ActionCodeREGISTER, unzr(9), katottgA)
			tc.check(t, s.submit(t, req))
			in := s.inspect(t)
			if in.AppliedCount != 0 || len(in.Persons) != 0 || in.Faults[tc.fault] != 1 {
				t.Fatalf("applied %d persons %d faults %v", in.AppliedCount, len(in.Persons), in.Faults)
			}
			// Healthy again: the same message is applied once, not a duplicate.
			s.setConfig(t, upstream.Config{})
			wantResult(t, s.submit(t, req), dms.ResultCodeREGISTERED)
			if in := s.inspect(t); in.AppliedCount != 1 || in.Duplicates != 0 {
				t.Fatalf("after recovery: applied %d duplicates %d", in.AppliedCount, in.Duplicates)
			}
		})
	}
}

func TestOutageWindowOutsideIsServed(t *testing.T) {
	now := time.Now()
	for name, cfg := range map[string]upstream.Config{
		"past":   {OutageFrom: now.Add(-time.Hour), OutageUntil: now.Add(-time.Minute)},
		"future": {OutageFrom: now.Add(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			s := start(t, cfg)
			wantResult(t, s.submit(t, request("m-1", dms.ActionCodeREGISTER, unzr(10), katottgA)), dms.ResultCodeREGISTERED)
		})
	}
}

func TestOutageCloseDropsConnection(t *testing.T) {
	s := start(t, upstream.Config{Outage: true, OutageClose: true})
	_, _, err := upstream.PostSOAP(t.Context(), s.url+"/soap", dmssim.ActionOtgToDms, headers("m-1"), request("m-1", dms.ActionCodeREGISTER, unzr(11), katottgA))
	if err == nil {
		t.Fatal("want a transport error from a dropped connection")
	}
	if in := s.inspect(t); in.AppliedCount != 0 || in.Faults["outage"] != 1 {
		t.Fatalf("applied %d faults %v", in.AppliedCount, in.Faults)
	}
}

func TestMalformedAfterApplying(t *testing.T) {
	s := start(t, upstream.Config{MalformedRate: 1, MalformedApplies: true})
	req := request("m-1", dms.ActionCodeREGISTER, unzr(12), katottgA)
	if a := s.submit(t, req); a.code != http.StatusOK || a.decErr == nil {
		t.Fatalf("want 200 with broken XML, got %d: %s", a.code, a.raw)
	}
	s.setConfig(t, upstream.Config{})
	resp := wantResult(t, s.submit(t, req), dms.ResultCodeREGISTERED)
	if in := s.inspect(t); in.AppliedCount != 1 || in.Duplicates != 1 || resp.RecordId != "DMS-00000001" {
		t.Fatalf("applied %d duplicates %d record %s", in.AppliedCount, in.Duplicates, resp.RecordId)
	}
}

func TestProtocolErrorsAreClientFaults(t *testing.T) {
	good := request("m-1", dms.ActionCodeREGISTER, unzr(13), katottgA)
	envelope := func(h xroad.Headers, payload any) []byte {
		b, err := upstream.MarshalEnvelope(&h, payload)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	noID := headers("")
	oldVersion := headers("m-1")
	oldVersion.ProtocolVersion = "3.1"
	tests := []struct {
		name   string
		action string
		body   []byte
	}{
		{"not XML", dmssim.ActionOtgToDms, []byte("this is not SOAP")},
		{"truncated envelope", dmssim.ActionOtgToDms, envelope(headers("m-1"), good)[:200]},
		{"SOAP 1.2 envelope", "", []byte(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>`)},
		{"empty body", "", []byte(`<e:Envelope xmlns:e="` + upstream.NSEnvelope + `"><e:Header/><e:Body></e:Body></e:Envelope>`)},
		{"no header", dmssim.ActionOtgToDms, func() []byte {
			b, _ := upstream.MarshalEnvelope(nil, good)
			return b
		}()},
		{"missing X-Road id", dmssim.ActionOtgToDms, envelope(noID, good)},
		{"protocol version 3.1", dmssim.ActionOtgToDms, envelope(oldVersion, good)},
		{"requestId differs from X-Road id", dmssim.ActionOtgToDms, envelope(headers("m-other"), good)},
		{"unknown operation", "", envelope(headers("m-1"), &struct {
			XMLName xml.Name `xml:"urn:reghub:dms:otg:v1 Nonsense"`
		}{})},
		{"SOAPAction of the other operation", dmssim.ActionOtgToDmsStatus, envelope(headers("m-1"), good)},
		{"bad field content", dmssim.ActionOtgToDms, []byte(strings.Replace(string(envelope(headers("m-1"), good)),
			"<person>", "<person><firstName><x></firstName>", 1))},
	}
	s := start(t, upstream.Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, raw, err := upstream.PostRaw(t.Context(), s.url+"/soap", tc.action, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			wantFault(t, decode(code, raw), true)
		})
	}
	if in := s.inspect(t); in.AppliedCount != 0 || in.ProtocolErrors != len(tests) {
		t.Fatalf("applied %d protocol errors %d, want 0 and %d", in.AppliedCount, in.ProtocolErrors, len(tests))
	}
}

func TestRejectionIsDeterministicPerMessageID(t *testing.T) {
	cfg := upstream.Config{RejectionRate: 0.5, Seed: 7}
	s := start(t, cfg)
	other := start(t, cfg)
	const n = 60
	first := make(map[string]dms.ResultCode, n)
	rejected := 0
	for i := range n {
		id := fmt.Sprintf("m-%03d", i)
		r := *s.submit(t, request(id, dms.ActionCodeREGISTER, unzr(100+i), katottgA)).resp.Result
		first[id] = r
		if r == dms.ResultCodeREJECTED {
			rejected++
		}
	}
	if rejected < n/5 || rejected > n*4/5 {
		t.Fatalf("%d of %d rejected at rate 0.5", rejected, n)
	}
	// After a reset (answers forgotten), and on another simulator with the
	// same seed, every id gets the same decision again.
	if err := upstream.Reset(t.Context(), s.url); err != nil {
		t.Fatal(err)
	}
	for _, target := range []*sim{s, other} {
		for i := range n {
			id := fmt.Sprintf("m-%03d", i)
			if r := *target.submit(t, request(id, dms.ActionCodeREGISTER, unzr(100+i), katottgA)).resp.Result; r != first[id] {
				t.Fatalf("%s: %s, first %s", id, r, first[id])
			}
		}
		if in := target.inspect(t); in.AppliedCount != n-rejected || in.RejectedCount != rejected || in.Duplicates != 0 {
			t.Fatalf("applied %d rejected %d duplicates %d", in.AppliedCount, in.RejectedCount, in.Duplicates)
		}
	}
}

func TestSlowAppliesThenAnswersAfterClientTimeout(t *testing.T) {
	s := start(t, upstream.Config{SlowRate: 1, SlowDelay: 2 * time.Second})
	req := request("m-slow", dms.ActionCodeREGISTER, unzr(14), katottgA)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, _, err := upstream.PostSOAP(ctx, s.url+"/soap", dmssim.ActionOtgToDms, headers("m-slow"), req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's timeout, got %v", err)
	}
	if in := s.inspect(t); in.AppliedCount != 1 || in.Faults["slow"] != 1 {
		t.Fatalf("slow answer must apply first: applied %d faults %v", in.AppliedCount, in.Faults)
	}
	s.setConfig(t, upstream.Config{})
	resp := wantResult(t, s.submit(t, req), dms.ResultCodeREGISTERED)
	if in := s.inspect(t); in.AppliedCount != 1 || in.Duplicates != 1 || resp.RecordId != "DMS-00000001" {
		t.Fatalf("resend: applied %d duplicates %d", in.AppliedCount, in.Duplicates)
	}
}

func TestLatencyPastClientTimeoutAppliesNothing(t *testing.T) {
	s := start(t, upstream.Config{Latency: 500 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, _, err := upstream.PostSOAP(ctx, s.url+"/soap", dmssim.ActionOtgToDms, headers("m-lat"), request("m-lat", dms.ActionCodeREGISTER, unzr(15), katottgA))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's timeout, got %v", err)
	}
	time.Sleep(700 * time.Millisecond)
	if in := s.inspect(t); in.AppliedCount != 0 {
		t.Fatalf("applied %d, want 0", in.AppliedCount)
	}
}

func TestConcurrentSubmissions(t *testing.T) {
	s := start(t, upstream.Config{})
	const workers, perWorker = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*perWorker)
	// Every message is sent twice, by two different workers.
	for w := range 2 * workers {
		wg.Go(func() {
			for i := range perWorker {
				n := (w%workers)*perWorker + i
				id := fmt.Sprintf("m-%04d", n)
				code, raw, err := upstream.PostSOAP(t.Context(), s.url+"/soap", dmssim.ActionOtgToDms, headers(id),
					request(id, dms.ActionCodeREGISTER, unzr(1000+n), katottgA))
				if err != nil {
					errs <- err
					continue
				}
				if a := decode(code, raw); a.resp == nil || *a.resp.Result != dms.ResultCodeREGISTERED {
					errs <- fmt.Errorf("%s: %d %s", id, code, raw)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	in := s.inspect(t)
	if in.AppliedCount != workers*perWorker || in.Duplicates != workers*perWorker || len(in.Persons) != workers*perWorker {
		t.Fatalf("applied %d duplicates %d persons %d, want %d each", in.AppliedCount, in.Duplicates, len(in.Persons), workers*perWorker)
	}
	seen := map[string]bool{}
	for i, e := range in.Applied {
		if e.Seq != uint64(i+1) || seen[e.ID] {
			t.Fatalf("applied log broken at %d: %+v", i, e)
		}
		seen[e.ID] = true
	}
}

// TestGowsdlClient talks to the simulator with the generated client, as the
// hub does: SOAP bodies, headers and faults must be what it can read.
func TestGowsdlClient(t *testing.T) {
	s := start(t, upstream.Config{})
	port := func(id string) dms.OtgToDmsPort {
		c := soap.NewClient(s.url+"/dms", soap.WithHTTPClient(http.DefaultClient))
		for _, h := range headers(id).Elements() {
			c.AddHeader(h)
		}
		return dms.NewOtgToDmsPort(c)
	}
	resp, err := port("m-g").OtgToDmsContext(t.Context(), request("m-g", dms.ActionCodeREGISTER, unzr(16), katottgA))
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Result != dms.ResultCodeREGISTERED || resp.RecordId != "DMS-00000001" {
		t.Fatalf("response %+v", resp)
	}

	s.setConfig(t, upstream.Config{ServerFaultRate: 1})
	_, err = port("m-h").OtgToDmsContext(t.Context(), request("m-h", dms.ActionCodeREGISTER, unzr(17), katottgA))
	var httpErr *soap.HTTPError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("want *soap.HTTPError 500, got %T %v", err, err)
	}
	if a := decode(httpErr.StatusCode, httpErr.ResponseBody); a.fault == nil || !a.fault.IsServer() {
		t.Fatalf("fault body %s", httpErr.ResponseBody)
	}
}

func TestControlEndpoints(t *testing.T) {
	s := start(t, upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 250 * time.Millisecond, Seed: 3})
	cfg, err := upstream.GetConfig(t.Context(), s.url)
	if err != nil || cfg.Mode != upstream.ModeAsync || cfg.AsyncDelay != 250*time.Millisecond || cfg.Seed != 3 {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	for name, body := range map[string]string{
		"bad mode":      `{"mode":"eventually"}`,
		"rate above 1":  `{"error_rate":1.5}`,
		"unknown field": `{"eror_rate":0.5}`,
		"bad duration":  `{"latency":"soon"}`,
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, s.url+"/config", strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", name, res.StatusCode)
		}
	}
	res, err := http.Get(s.url + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()

	wantResult(t, s.submit(t, request("m-1", dms.ActionCodeREGISTER, unzr(18), katottgA)), dms.ResultCodeACCEPTED)
	if err := upstream.Reset(t.Context(), s.url); err != nil {
		t.Fatal(err)
	}
	in := s.inspect(t)
	if in.AppliedCount != 0 || len(in.Receipts) != 0 || in.Config.Mode != upstream.ModeAsync || in.Service != "DMS" {
		t.Fatalf("after reset %+v", in)
	}
}
