package votersim_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/schemas/voter"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/simulators/votersim"
)

func start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(votersim.New(upstream.Config{}, nil).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// headers of a set; id is the X-Road message id.
func headers(id string) xroad.Headers {
	return mapping.VoterHeaders(mapping.DefaultIdentity(), mapping.Meta{MessageID: id, ActionRef: "RH-SYN-" + id})
}

var body = mapping.RegistrationBody{Code: "99999901", Name: "Відділ реєстрації (вигаданий)"}

// set is a synthetic set of period with one voter in each list.
func set(period string) monthly.VoterSet {
	p, err := monthly.ParsePeriod(period)
	if err != nil {
		panic(err)
	}
	addr := &action.Address{KATOTTG: "UA12060170010000321", Street: "вул. Вигадана", Building: "17", Apartment: "42"}
	return monthly.VoterSet{
		Period: period, TurningAdultMonth: p.Next().Next().String(),
		BuiltAt: p.Next().Start(time.UTC).Add(5 * time.Minute),
		TurningAdult: []monthly.Voter{{UNZR: "20081105-45215", RNOKPP: "3975652141", Surname: "Вигаденко", GivenNames: "Дарина",
			Patronymic: "Тестівна", BirthDate: "2008-11-05", Sex: "F", Address: addr, Date: "2026-11-05"}},
		Registered: []monthly.Voter{{UNZR: "19900514-33067", Surname: "Тестенко", GivenNames: "Марко", BirthDate: "1990-05-14",
			Sex: "M", Address: addr, Date: "2026-09-10", ActionID: "0195a3c0-0000-7000-8000-000000000011"},
			{RNOKPP: "2745201248", Surname: "Прикладна", GivenNames: "Ганна-Марія", BirthDate: "1975-02-28",
				Sex: "F", Address: addr, Date: "2026-09-22", Reason: "cancellation:erroneous_entry", ActionID: "0195a3c0-0000-7000-8000-000000000012"}},
		Deregistered: []monthly.Voter{{UNZR: "19620809-22407", RNOKPP: "2286624036", Surname: "Умовний", GivenNames: "Петро",
			BirthDate: "1962-08-09", Sex: "M", Address: addr, Date: "2026-09-03", Reason: "moved", ActionID: "0195a3c0-0000-7000-8000-000000000013"}},
	}
}

func request(t *testing.T, id string, s monthly.VoterSet) *voter.SubmitVoterSetRequest {
	t.Helper()
	req, err := mapping.ToVoter(s, body, id)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// post sends the envelope of req under h and returns the status and body.
func post(t *testing.T, base string, h xroad.Headers, req any) (int, []byte) {
	t.Helper()
	code, b, err := upstream.PostSOAP(t.Context(), base+"/soap", votersim.ActionSubmit, h, req)
	if err != nil {
		t.Fatal(err)
	}
	return code, b
}

func decodeResponse(t *testing.T, b []byte) *voter.SubmitVoterSetResponse {
	t.Helper()
	res, err := upstream.DecodeAnswer[voter.SubmitVoterSetResponse](b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return res
}

func inspect(t *testing.T, base string) votersim.Inspection {
	t.Helper()
	in, err := votersim.Inspect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestAcceptSets: each set is accepted with a reference of its own,
// counted per period and list; a resend gets the first answer verbatim;
// the inspection shows the latest set's content.
func TestAcceptSets(t *testing.T) {
	base := start(t)
	sep, oct := set("2026-09"), set("2026-10")
	oct.Registered = nil
	var first []byte
	for i, c := range []struct {
		id  string
		set monthly.VoterSet
	}{{"msg-1", sep}, {"msg-2", oct}} {
		code, b := post(t, base, headers(c.id), request(t, c.id, c.set))
		res := decodeResponse(t, b)
		if code != http.StatusOK || *res.Result != voter.ResultAccepted || res.SetId != c.id ||
			res.Reference != []string{"DRV-00000001", "DRV-00000002"}[i] {
			t.Errorf("%s: HTTP %d, %+v", c.id, code, res)
		}
		if i == 0 {
			first = b
		}
	}
	code, again := post(t, base, headers("msg-1"), request(t, "msg-1", sep))
	if code != http.StatusOK || !bytes.Equal(again, first) {
		t.Errorf("resend: HTTP %d\n%s\nwant the first answer\n%s", code, again, first)
	}
	in := inspect(t, base)
	if in.SetCount != 2 || in.Duplicates != 1 || in.DuplicatesByMessage["msg-1"] != 1 || in.Requests != 3 || in.RejectedCount != 0 {
		t.Errorf("inspection: %+v", in)
	}
	e := in.Sets[0]
	if e.MessageID != "msg-1" || e.RegistrationBody != "99999901" || e.Period != "2026-09" || e.TurningAdultMonth != "2026-11" ||
		e.TurningAdult != 1 || e.Registered != 2 || e.Deregistered != 1 || e.Reference != "DRV-00000001" ||
		e.UserID != monthly.SystemClient || e.Issue != "RH-SYN-msg-1" || !e.BuiltAt.Equal(sep.BuiltAt) ||
		!strings.Contains(e.Service, "/00000004/DRV/SubmitVoterSet") {
		t.Errorf("set recorded as %+v", e)
	}
	want := map[string]votersim.PeriodCounts{
		"2026-09": {Sets: 1, TurningAdult: 1, Registered: 2, Deregistered: 1},
		"2026-10": {Sets: 1, TurningAdult: 1, Registered: 0, Deregistered: 1},
	}
	if !reflect.DeepEqual(in.ByPeriod, want) {
		t.Errorf("by period %+v, want %+v", in.ByPeriod, want)
	}
	l := in.Latest
	oct.Registered = []monthly.Voter{}
	if l == nil || l.MessageID != "msg-2" || l.Reference != "DRV-00000002" || l.RegistrationBody != body.Code ||
		l.RegistrationBodyName != body.Name || !reflect.DeepEqual(l.Set, oct) {
		t.Errorf("latest %+v, want the set %+v", l, oct)
	}
}

// TestInvalidSetRejected: a set lacking what the schema requires is a
// business rejection naming what is missing, by position, never by value;
// kept and repeated.
func TestInvalidSetRejected(t *testing.T) {
	base := start(t)
	req := request(t, "msg-1", set("2026-09"))
	req.Period, req.Deregistered = nil, nil
	req.Registered.Voter[1].Sex = nil
	req.Registered.Voter[1].Rnokpp = ""
	req.TurningAdult.Voter[0].Address = &voter.Address{Street: "вул. Вигадана"}
	for range 2 {
		code, b := post(t, base, headers("msg-1"), req)
		res := decodeResponse(t, b)
		if code != http.StatusOK || *res.Result != voter.ResultRejected || res.RejectionCode != votersim.ReasonInvalidRequest {
			t.Fatalf("HTTP %d, %+v", code, res)
		}
		for _, f := range []string{"period", "deregistered", "registered[1].sex", "registered[1].unzr|rnokpp", "turningAdult[0].address.katottg"} {
			if !strings.Contains(res.RejectionReason, f) {
				t.Errorf("reason %q does not name %s", res.RejectionReason, f)
			}
		}
		if strings.Contains(res.RejectionReason, "Вигадана") || strings.Contains(res.RejectionReason, "registered[0]") {
			t.Errorf("reason %q names more than the problems", res.RejectionReason)
		}
	}
	in := inspect(t, base)
	if in.RejectedCount != 1 || in.SetCount != 0 || in.Duplicates != 1 || in.Latest != nil || len(in.ByPeriod) != 0 {
		t.Errorf("inspection: %+v", in)
	}
	if r := in.Rejected[0]; r.RejectionCode != votersim.ReasonInvalidRequest || r.Registered != 2 || r.TurningAdult != 1 || r.Deregistered != 0 {
		t.Errorf("rejection recorded as %+v", r)
	}
}

// TestInvalidReasonBounded: a set with a problem in each of many voters
// names the first ones and counts the rest.
func TestInvalidReasonBounded(t *testing.T) {
	base := start(t)
	s := set("2026-09")
	for range 300 {
		s.Registered = append(s.Registered, s.Registered[0])
	}
	req := request(t, "msg-1", s)
	for _, v := range req.Registered.Voter {
		v.Sex = nil
	}
	_, b := post(t, base, headers("msg-1"), req)
	res := decodeResponse(t, b)
	if !strings.HasSuffix(res.RejectionReason, "registered[19].sex, and 282 more") || len(res.RejectionReason) > 1000 {
		t.Errorf("reason %q", res.RejectionReason)
	}
}

// TestFormFaults: a setId that is not the X-Road id is a Client fault;
// nothing is kept.
func TestFormFaults(t *testing.T) {
	base := start(t)
	code, b := post(t, base, headers("msg-1"), request(t, "msg-2", set("2026-09")))
	if code != http.StatusInternalServerError || !bytes.Contains(b, []byte("SOAP-ENV:Client")) || !bytes.Contains(b, []byte("setId")) {
		t.Errorf("HTTP %d\n%s", code, b)
	}
	if in := inspect(t, base); in.SetCount != 0 || in.RejectedCount != 0 || in.ProtocolErrors != 1 {
		t.Errorf("inspection: %+v", in)
	}
}

// TestControlEndpoints: /config and /healthz are the engine's, /reset
// forgets the sets and the engine's counters and keeps the configuration
// (upstream.ControlMux).
func TestControlEndpoints(t *testing.T) {
	base := start(t)
	post(t, base, headers("msg-1"), request(t, "msg-1", set("2026-09")))
	if err := upstream.SetConfig(t.Context(), base, upstream.Config{ErrorRate: 1, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, base, headers("msg-2"), request(t, "msg-2", set("2026-10"))); code != http.StatusServiceUnavailable {
		t.Errorf("error rate 1: HTTP %d", code)
	}
	in := inspect(t, base)
	if in.SetCount != 1 || in.Faults["error"] != 1 || in.Config.ErrorRate != 1 {
		t.Errorf("inspection: %+v", in)
	}
	var h struct{ Status, Service string }
	if err := upstream.FetchJSON(t.Context(), base, "/healthz", &h); err != nil || h.Status != "ok" || h.Service != "voter" {
		t.Errorf("healthz %+v, %v", h, err)
	}
	if err := upstream.Reset(t.Context(), base); err != nil {
		t.Fatal(err)
	}
	in = inspect(t, base)
	if in.SetCount != 0 || in.Requests != 0 || len(in.Faults) != 0 || in.Latest != nil || in.Config.ErrorRate != 1 || in.Config.Seed != 7 {
		t.Errorf("after reset: %+v", in)
	}
	// After a reset, a message id answered before is new again.
	if err := upstream.SetConfig(t.Context(), base, upstream.Config{}); err != nil {
		t.Fatal(err)
	}
	_, b := post(t, base, headers("msg-1"), request(t, "msg-1", set("2026-09")))
	if res := decodeResponse(t, b); res.Reference != "DRV-00000001" {
		t.Errorf("after reset: %+v", res)
	}
	if in := inspect(t, base); in.Duplicates != 0 || in.SetCount != 1 {
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
	s := set("2026-09")
	ids := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	rejected := 0
	for _, id := range ids {
		_, b := post(t, base, headers(id), request(t, id, s))
		res := decodeResponse(t, b)
		if reject := upstream.RejectByHash(11, id, 0.5); (*res.Result == voter.ResultRejected) != reject {
			t.Errorf("%s: %s, rejected by the hash %t", id, *res.Result, reject)
		}
		if *res.Result == voter.ResultRejected {
			rejected++
			if res.RejectionCode != votersim.ReasonSimulated || res.RejectionReason == "" || res.Reference != "" {
				t.Errorf("%s: %+v", id, res)
			}
		}
	}
	if rejected == 0 || rejected == len(ids) {
		t.Errorf("rate 0.5 rejected %d of %d", rejected, len(ids))
	}
}

// FuzzSubmit: whatever arrives at the SOAP endpoint, the simulator does
// not panic and answers 200 with a SubmitVoterSetResponse, or a SOAP
// fault with 500.
func FuzzSubmit(f *testing.F) {
	for _, id := range []string{"msg-1", ""} {
		b, err := upstream.MarshalEnvelope(&xroad.Headers{ID: "msg-1", ProtocolVersion: xroad.ProtocolVersion}, func() any {
			req, err := mapping.ToVoter(set("2026-09"), body, "msg-1")
			if err != nil {
				f.Fatal(err)
			}
			req.SetId = id
			return req
		}())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<Envelope xmlns="` + upstream.NSEnvelope + `"><Header><id xmlns="` + xroad.NS + `">x</id>` +
		`<protocolVersion xmlns="` + xroad.NS + `">4.0</protocolVersion></Header><Body>` +
		`<SubmitVoterSetRequest xmlns="` + votersim.Namespace + `"><registered><voter/><voter><sex>Q</sex></voter></registered>` +
		`<builtAt>not a time</builtAt></SubmitVoterSetRequest></Body></Envelope>`))
	f.Add([]byte(``))
	h := votersim.New(upstream.Config{}, nil).Handler()
	f.Fuzz(func(t *testing.T, data []byte) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/soap", bytes.NewReader(data)))
		switch w.Code {
		case http.StatusOK:
			r, err := upstream.DecodeAnswer[voter.SubmitVoterSetResponse](w.Body.Bytes())
			if err != nil {
				t.Fatalf("HTTP 200 without an answer: %v\n%s", err, w.Body.Bytes())
			}
			if r.Result == nil {
				t.Fatalf("an answer without a result: %s", w.Body.Bytes())
			}
		case http.StatusInternalServerError:
			if !bytes.Contains(w.Body.Bytes(), []byte("Fault")) {
				t.Fatalf("HTTP 500 without a fault: %s", w.Body.Bytes())
			}
		default:
			t.Fatalf("HTTP %d: %s", w.Code, w.Body.Bytes())
		}
	})
}
