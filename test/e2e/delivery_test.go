package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

func TestSyncDeliveryCompletesEveryActionOnce(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{})
	subs := e.SubmitMany(80, 11)
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	counts := hubtest.CountStatus(all)
	if counts["completed"] != len(subs) {
		t.Fatalf("statuses %v, want all %d completed", counts, len(subs))
	}
	for _, a := range all {
		for _, d := range a.Deliveries {
			if d.Status != "acknowledged" || d.UpstreamRef == "" || d.Attempts != 1 {
				t.Fatalf("action %s delivery to %s: status %s ref %q attempts %d; want acknowledged with a reference after 1 attempt",
					a.ID, d.Destination, d.Status, d.UpstreamRef, d.Attempts)
			}
		}
	}
	for name, srv := range map[string]*httptest.Server{"dms": e.DMS, "eddr": e.EDDR} {
		in := e.Inspect(srv)
		if in.AppliedCount != len(subs) {
			t.Errorf("%s applied %d messages, want %d", name, in.AppliedCount, len(subs))
		}
		e.CheckExactlyOnceInOrder(name, in, subs)
	}
	// Every message the hub sent — to the national systems and to other
	// registration bodies — against its XSD, with xmllint.
	if n := e.LintSent(t); n < 2*len(subs) {
		t.Errorf("validated %d SOAP messages, want at least the %d sent to dms and eddr", n, 2*len(subs))
	}
}

func TestAsyncAcknowledgementIsPolled(t *testing.T) {
	async := upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 150 * time.Millisecond}
	e := hubtest.NewEnv(t, hubtest.Opts{DMS: async, EDDR: async})
	subs := e.SubmitMany(30, 12)
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v, want all %d completed", c, len(subs))
	}
	for _, a := range all {
		for _, d := range a.Deliveries {
			if d.Destination != "dms" && d.Destination != "eddr" {
				continue // the other recipients answer synchronously
			}
			if d.Receipt == "" || d.UpstreamRef == "" {
				t.Fatalf("async delivery to %s: receipt %q ref %q; want both", d.Destination, d.Receipt, d.UpstreamRef)
			}
		}
	}
	for name, srv := range map[string]*httptest.Server{"dms": e.DMS, "eddr": e.EDDR} {
		in := e.Inspect(srv)
		if in.AppliedCount != len(subs) || len(in.Receipts) != len(subs) {
			t.Errorf("%s: applied %d, receipts %d; want %d each", name, in.AppliedCount, len(in.Receipts), len(subs))
		}
		e.CheckExactlyOnceInOrder(name, in, subs)
	}
}

func TestBusinessRejectionIsFinalAndNotRetried(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{EDDR: upstream.Config{RejectionRate: 1}})
	subs := e.SubmitMany(10, 13)
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	for _, a := range all {
		if a.Status != "rejected" || !strings.Contains(a.StatusReason, "eddr") {
			t.Fatalf("action %s: status %s reason %q; want rejected naming eddr", a.ID, a.Status, a.StatusReason)
		}
		for _, d := range a.Deliveries {
			switch d.Destination {
			case "eddr":
				if d.Status != "rejected" || d.Attempts != 1 || !strings.Contains(d.LastError, "SIMULATED_REJECTION") {
					t.Fatalf("eddr delivery: status %s attempts %d error %q; want rejected once with the upstream's reason",
						d.Status, d.Attempts, d.LastError)
				}
			case "dms":
				if d.Status != "acknowledged" {
					t.Fatalf("dms delivery: %s, want acknowledged (a rejection elsewhere does not stop it)", d.Status)
				}
			}
		}
	}
	if in := e.Inspect(e.EDDR); in.AppliedCount != 0 || in.Duplicates != 0 {
		t.Fatalf("eddr applied %d, duplicates %d; want 0 and 0 (no retry of a rejection)", in.AppliedCount, in.Duplicates)
	}
}

func TestOutageRecoversWithoutDuplicates(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{DMS: upstream.Config{Outage: true}})
	subs := e.SubmitMany(40, 14)
	// Wait until the hub has retried against the outage.
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := e.Get(subs[0].ID)
		retried := false
		for _, d := range a.Deliveries {
			if d.Destination == "dms" && d.Attempts >= 2 && d.Status == "pending" && d.ErrorClass != "" {
				retried = true
			}
		}
		if retried {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dms delivery not retried during the outage: %+v", a.Deliveries)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Other destination is not blocked by the outage.
	for _, d := range e.Get(subs[0].ID).Deliveries {
		if d.Destination == "eddr" && d.Status != "acknowledged" {
			t.Fatalf("eddr delivery %s during the dms outage; want acknowledged (no head-of-line blocking)", d.Status)
		}
	}
	e.SetConfig(e.DMS, upstream.Config{})
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v after the outage, want all %d completed", c, len(subs))
	}
	in := e.Inspect(e.DMS)
	if in.AppliedCount != len(subs) {
		t.Fatalf("dms applied %d, want %d", in.AppliedCount, len(subs))
	}
	e.CheckExactlyOnceInOrder("dms", in, subs)
}

func TestRetriesRunOutIntoDead(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{DMS: upstream.Config{ServerFaultRate: 1}, HubArgs: []string{"--max-attempts", "3"}})
	subs := e.SubmitMany(3, 15)
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	for _, a := range all {
		if a.Status != "dead" {
			t.Fatalf("action %s is %s, want dead", a.ID, a.Status)
		}
		for _, d := range a.Deliveries {
			if d.Destination == "dms" && (d.Status != "dead" || d.Attempts != 3 || d.ErrorClass != "soap_server_fault") {
				t.Fatalf("dms delivery: %s after %d attempts (%s); want dead after 3 soap_server_fault", d.Status, d.Attempts, d.ErrorClass)
			}
		}
	}
}

func TestClientFaultIsPermanent(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{EDDR: upstream.Config{ClientFaultRate: 1}})
	subs := e.SubmitMany(2, 16)
	all := e.WaitResolved(hubtest.IDs(subs), 30*time.Second)
	for _, a := range all {
		for _, d := range a.Deliveries {
			if d.Destination == "eddr" && (d.Status != "dead" || d.Attempts != 1 || d.ErrorClass != "soap_client_fault") {
				t.Fatalf("eddr delivery: %s after %d attempts (%s); want dead after 1 soap_client_fault", d.Status, d.Attempts, d.ErrorClass)
			}
		}
	}
}

func TestIdempotentResubmission(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{})
	gen := localregistry.NewGenerator(17, time.Now())
	body, other := gen.NextJSON(), gen.NextJSON()
	hdr := map[string]string{"Idempotency-Key": "registry-case-0001"}
	var first, again hubtest.ActionView
	if code, _, raw := e.Call(http.MethodPost, "/v1/actions", e.Token, hdr, body, &first); code != http.StatusAccepted {
		t.Fatalf("first submit: %d %s", code, raw)
	}
	if code, _, raw := e.Call(http.MethodPost, "/v1/actions", e.Token, hdr, body, &again); code != http.StatusOK || again.ID != first.ID {
		t.Fatalf("resubmit: %d id %s (want 200 and %s): %s", code, again.ID, first.ID, raw)
	}
	if code, hdrs, raw := e.Call(http.MethodPost, "/v1/actions", e.Token, hdr, other, nil); code != http.StatusConflict ||
		hdrs.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("same key, other body: %d %s; want 409 problem+json", code, raw)
	}
	e.WaitResolved([]string{first.ID}, 30*time.Second)
	var page struct {
		Items []hubtest.ActionView `json:"items"`
	}
	e.Call(http.MethodGet, "/v1/actions", e.Token, nil, nil, &page)
	if len(page.Items) != 1 {
		t.Fatalf("%d actions stored, want 1", len(page.Items))
	}
	if in := e.Inspect(e.DMS); in.AppliedCount != 1 {
		t.Fatalf("dms applied %d, want 1", in.AppliedCount)
	}
}

func TestInvalidSubmissionStoresNothing(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{})
	bad := []byte(`{"kind":"residence.register","person":{"rnokpp":"1234567890","surname":"","birth_date":"1990-02-30","sex":"X"},
		"effective_date":"2999-01-01","official":{"id":"KR-1","name":"Test"}}`)
	var p struct {
		Status int `json:"status"`
		Errors []struct {
			Field string `json:"field"`
			Code  string `json:"code"`
		} `json:"errors"`
	}
	code, hdrs, raw := e.Call(http.MethodPost, "/v1/actions", e.Token, map[string]string{"Idempotency-Key": "bad-1"}, bad, &p)
	if code != http.StatusUnprocessableEntity || hdrs.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("invalid submission: %d %s; want 422 problem+json", code, raw)
	}
	fields := map[string]bool{}
	for _, f := range p.Errors {
		fields[f.Field] = true
	}
	for _, want := range []string{"person.rnokpp", "person.surname", "person.birth_date", "person.sex", "effective_date", "address"} {
		if !fields[want] {
			t.Errorf("problem does not list %s: %s", want, raw)
		}
	}
	if code, _, _ := e.Call(http.MethodPost, "/v1/actions", "", map[string]string{"Idempotency-Key": "x"}, bad, nil); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", code)
	}
	var n int
	if err := e.Pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM actions) + (SELECT count(*) FROM outbox_messages)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows stored after refused submissions, want 0", n)
	}
}

// An upstream that applies a message but answers after the client's timeout:
// the hub resends with the same message id and the upstream answers from its
// memory, so nothing is applied twice.
func TestAnswerAfterTimeoutIsResentAndDeduplicated(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{
		DMS:     upstream.Config{SlowRate: 0.5, SlowDelay: 1500 * time.Millisecond, Seed: 3},
		HubArgs: []string{"--send-timeout", "500ms"},
	})
	subs := e.SubmitMany(12, 18)
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v, want all %d completed", c, len(subs))
	}
	timedOut := 0
	for _, a := range all {
		for _, d := range a.Deliveries {
			if d.Destination == "dms" && d.Attempts > 1 {
				timedOut++
			}
		}
	}
	in := e.Inspect(e.DMS)
	if timedOut == 0 || in.Duplicates == 0 {
		t.Fatalf("%d deliveries resent, %d duplicates seen; the slow answers did not time out", timedOut, in.Duplicates)
	}
	if in.AppliedCount != len(subs) {
		t.Fatalf("dms applied %d, want %d", in.AppliedCount, len(subs))
	}
	e.CheckExactlyOnceInOrder("dms", in, subs)
}

// A receipt with no decision before the acknowledgement timeout is resent
// (the upstream answers the duplicate from memory) and polled again until
// the upstream decides.
func TestAcknowledgementTimeoutResends(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{
		EDDR:    upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 1500 * time.Millisecond},
		HubArgs: []string{"--ack-timeout", "400ms", "--ack-poll", "100ms"},
	})
	subs := e.SubmitMany(5, 19)
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v, want all %d completed", c, len(subs))
	}
	for _, a := range all {
		for _, d := range a.Deliveries {
			if d.Destination == "eddr" && d.Attempts < 2 {
				t.Fatalf("eddr delivery acknowledged after %d attempt(s); want a resend after the ack timeout", d.Attempts)
			}
		}
	}
	in := e.Inspect(e.EDDR)
	if in.AppliedCount != len(subs) || in.Duplicates == 0 {
		t.Fatalf("eddr applied %d (want %d), duplicates %d (want > 0)", in.AppliedCount, len(subs), in.Duplicates)
	}
}
