package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/simulators/upstream"
)

// submitted is one accepted action, in submission order.
type submitted struct {
	id, reference, person string
}

// submitMany sends n synthetic actions one after the other, so submission
// order is well defined, and returns them in that order.
func (e *env) submitMany(n int, seed int64) []submitted {
	e.t.Helper()
	gen := localregistry.NewGenerator(seed, time.Now())
	out := make([]submitted, 0, n)
	for i := 0; i < n; i++ {
		body := gen.NextJSON()
		var sub action.Submission
		if err := json.Unmarshal(body, &sub); err != nil {
			e.t.Fatalf("generated body: %v", err)
		}
		a := e.submit(body)
		if a.Status != "pending" || len(a.Deliveries) != 2 {
			e.t.Fatalf("accepted action: status %s with %d deliveries, want pending with 2", a.Status, len(a.Deliveries))
		}
		for _, d := range a.Deliveries {
			if d.Status != "pending" {
				e.t.Fatalf("new delivery to %s is %s, want pending", d.Destination, d.Status)
			}
		}
		person := sub.Person.UNZR
		if person == "" {
			person = sub.Person.RNOKPP
		}
		out = append(out, submitted{id: a.ID, reference: a.Reference, person: person})
	}
	return out
}

func ids(s []submitted) []string {
	out := make([]string, len(s))
	for i, a := range s {
		out[i] = a.id
	}
	return out
}

// checkExactlyOnceInOrder asserts that a simulator applied no message twice,
// and applied each person's messages in submission order.
func (e *env) checkExactlyOnceInOrder(name string, in upstream.Inspection, subs []submitted) {
	e.t.Helper()
	order := make(map[string]int, len(subs))
	for i, s := range subs {
		order[s.reference] = i
	}
	seenMsg := map[string]bool{}
	seenRef := map[string]bool{}
	lastByPerson := map[string]int{}
	for _, a := range in.Applied {
		if seenMsg[a.ID] {
			e.t.Errorf("%s applied message %s twice", name, a.ID)
		}
		seenMsg[a.ID] = true
		if seenRef[a.Reference] {
			e.t.Errorf("%s applied action %s twice (under two message ids)", name, a.Reference)
		}
		seenRef[a.Reference] = true
		i, ok := order[a.Reference]
		if !ok {
			e.t.Errorf("%s applied unknown action %q", name, a.Reference)
			continue
		}
		if last, ok := lastByPerson[a.PersonKey]; ok && i < last {
			e.t.Errorf("%s applied person %s's action #%d after #%d: out of submission order", name, a.PersonKey, i, last)
		}
		lastByPerson[a.PersonKey] = i
	}
	if in.AppliedCount != len(in.Applied) {
		e.t.Errorf("%s: applied_count %d but %d entries", name, in.AppliedCount, len(in.Applied))
	}
}

func countStatus(all map[string]actionView) map[string]int {
	out := map[string]int{}
	for _, a := range all {
		out[a.Status]++
	}
	return out
}

func TestSyncDeliveryCompletesEveryActionOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	subs := e.submitMany(80, 11)
	all := e.waitResolved(ids(subs), 60*time.Second)
	counts := countStatus(all)
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
	for name, srv := range map[string]*httptest.Server{"dms": e.dms, "eddr": e.eddr} {
		in := e.inspect(srv)
		if in.AppliedCount != len(subs) {
			t.Errorf("%s applied %d messages, want %d", name, in.AppliedCount, len(subs))
		}
		e.checkExactlyOnceInOrder(name, in, subs)
	}
}

func TestAsyncAcknowledgementIsPolled(t *testing.T) {
	async := upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 150 * time.Millisecond}
	e := newEnv(t, envOpts{dms: async, eddr: async})
	subs := e.submitMany(30, 12)
	all := e.waitResolved(ids(subs), 60*time.Second)
	if c := countStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v, want all %d completed", c, len(subs))
	}
	for _, a := range all {
		for _, d := range a.Deliveries {
			if d.Receipt == "" || d.UpstreamRef == "" {
				t.Fatalf("async delivery to %s: receipt %q ref %q; want both", d.Destination, d.Receipt, d.UpstreamRef)
			}
		}
	}
	for name, srv := range map[string]*httptest.Server{"dms": e.dms, "eddr": e.eddr} {
		in := e.inspect(srv)
		if in.AppliedCount != len(subs) || len(in.Receipts) != len(subs) {
			t.Errorf("%s: applied %d, receipts %d; want %d each", name, in.AppliedCount, len(in.Receipts), len(subs))
		}
		e.checkExactlyOnceInOrder(name, in, subs)
	}
}

func TestBusinessRejectionIsFinalAndNotRetried(t *testing.T) {
	e := newEnv(t, envOpts{eddr: upstream.Config{RejectionRate: 1}})
	subs := e.submitMany(10, 13)
	all := e.waitResolved(ids(subs), 60*time.Second)
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
	if in := e.inspect(e.eddr); in.AppliedCount != 0 || in.Duplicates != 0 {
		t.Fatalf("eddr applied %d, duplicates %d; want 0 and 0 (no retry of a rejection)", in.AppliedCount, in.Duplicates)
	}
}

func TestOutageRecoversWithoutDuplicates(t *testing.T) {
	e := newEnv(t, envOpts{dms: upstream.Config{Outage: true}})
	subs := e.submitMany(40, 14)
	// Wait until the hub has retried against the outage.
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := e.get(subs[0].id)
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
	for _, d := range e.get(subs[0].id).Deliveries {
		if d.Destination == "eddr" && d.Status != "acknowledged" {
			t.Fatalf("eddr delivery %s during the dms outage; want acknowledged (no head-of-line blocking)", d.Status)
		}
	}
	e.setConfig(e.dms, upstream.Config{})
	all := e.waitResolved(ids(subs), 60*time.Second)
	if c := countStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v after the outage, want all %d completed", c, len(subs))
	}
	in := e.inspect(e.dms)
	if in.AppliedCount != len(subs) {
		t.Fatalf("dms applied %d, want %d", in.AppliedCount, len(subs))
	}
	e.checkExactlyOnceInOrder("dms", in, subs)
}

func TestRetriesRunOutIntoDead(t *testing.T) {
	e := newEnv(t, envOpts{dms: upstream.Config{ServerFaultRate: 1}, hubArgs: []string{"--max-attempts", "3"}})
	subs := e.submitMany(3, 15)
	all := e.waitResolved(ids(subs), 60*time.Second)
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
	e := newEnv(t, envOpts{eddr: upstream.Config{ClientFaultRate: 1}})
	subs := e.submitMany(2, 16)
	all := e.waitResolved(ids(subs), 30*time.Second)
	for _, a := range all {
		for _, d := range a.Deliveries {
			if d.Destination == "eddr" && (d.Status != "dead" || d.Attempts != 1 || d.ErrorClass != "soap_client_fault") {
				t.Fatalf("eddr delivery: %s after %d attempts (%s); want dead after 1 soap_client_fault", d.Status, d.Attempts, d.ErrorClass)
			}
		}
	}
}

func TestIdempotentResubmission(t *testing.T) {
	e := newEnv(t, envOpts{})
	gen := localregistry.NewGenerator(17, time.Now())
	body, other := gen.NextJSON(), gen.NextJSON()
	hdr := map[string]string{"Idempotency-Key": "registry-case-0001"}
	var first, again actionView
	if code, _, raw := e.call(http.MethodPost, "/v1/actions", e.token, hdr, body, &first); code != http.StatusAccepted {
		t.Fatalf("first submit: %d %s", code, raw)
	}
	if code, _, raw := e.call(http.MethodPost, "/v1/actions", e.token, hdr, body, &again); code != http.StatusOK || again.ID != first.ID {
		t.Fatalf("resubmit: %d id %s (want 200 and %s): %s", code, again.ID, first.ID, raw)
	}
	if code, hdrs, raw := e.call(http.MethodPost, "/v1/actions", e.token, hdr, other, nil); code != http.StatusConflict ||
		hdrs.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("same key, other body: %d %s; want 409 problem+json", code, raw)
	}
	e.waitResolved([]string{first.ID}, 30*time.Second)
	var page struct {
		Items []actionView `json:"items"`
	}
	e.call(http.MethodGet, "/v1/actions", e.token, nil, nil, &page)
	if len(page.Items) != 1 {
		t.Fatalf("%d actions stored, want 1", len(page.Items))
	}
	if in := e.inspect(e.dms); in.AppliedCount != 1 {
		t.Fatalf("dms applied %d, want 1", in.AppliedCount)
	}
}

func TestInvalidSubmissionStoresNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	bad := []byte(`{"kind":"residence.register","person":{"rnokpp":"1234567890","surname":"","birth_date":"1990-02-30","sex":"X"},
		"effective_date":"2999-01-01","official":{"id":"KR-1","name":"Test"}}`)
	var p struct {
		Status int `json:"status"`
		Errors []struct {
			Field string `json:"field"`
			Code  string `json:"code"`
		} `json:"errors"`
	}
	code, hdrs, raw := e.call(http.MethodPost, "/v1/actions", e.token, map[string]string{"Idempotency-Key": "bad-1"}, bad, &p)
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
	if code, _, _ := e.call(http.MethodPost, "/v1/actions", "", map[string]string{"Idempotency-Key": "x"}, bad, nil); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", code)
	}
	var n int
	if err := e.pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM actions) + (SELECT count(*) FROM outbox_messages)`).Scan(&n); err != nil {
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
	e := newEnv(t, envOpts{
		dms:     upstream.Config{SlowRate: 0.5, SlowDelay: 1500 * time.Millisecond, Seed: 3},
		hubArgs: []string{"--send-timeout", "500ms"},
	})
	subs := e.submitMany(12, 18)
	all := e.waitResolved(ids(subs), 60*time.Second)
	if c := countStatus(all); c["completed"] != len(subs) {
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
	in := e.inspect(e.dms)
	if timedOut == 0 || in.Duplicates == 0 {
		t.Fatalf("%d deliveries resent, %d duplicates seen; the slow answers did not time out", timedOut, in.Duplicates)
	}
	if in.AppliedCount != len(subs) {
		t.Fatalf("dms applied %d, want %d", in.AppliedCount, len(subs))
	}
	e.checkExactlyOnceInOrder("dms", in, subs)
}

// A receipt with no decision before the acknowledgement timeout is resent
// (the upstream answers the duplicate from memory) and polled again until
// the upstream decides.
func TestAcknowledgementTimeoutResends(t *testing.T) {
	e := newEnv(t, envOpts{
		eddr:    upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 1500 * time.Millisecond},
		hubArgs: []string{"--ack-timeout", "400ms", "--ack-poll", "100ms"},
	})
	subs := e.submitMany(5, 19)
	all := e.waitResolved(ids(subs), 60*time.Second)
	if c := countStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v, want all %d completed", c, len(subs))
	}
	for _, a := range all {
		for _, d := range a.Deliveries {
			if d.Destination == "eddr" && d.Attempts < 2 {
				t.Fatalf("eddr delivery acknowledged after %d attempt(s); want a resend after the ack timeout", d.Attempts)
			}
		}
	}
	in := e.inspect(e.eddr)
	if in.AppliedCount != len(subs) || in.Duplicates == 0 {
		t.Fatalf("eddr applied %d (want %d), duplicates %d (want > 0)", in.AppliedCount, len(subs), in.Duplicates)
	}
}
