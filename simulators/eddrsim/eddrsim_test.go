package eddrsim_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/eddrsim"
	"github.com/reghub/reghub/simulators/upstream"
)

// Synthetic test data only.
const (
	katottgA = "UA12020010010026535"
	taxNum   = "1759013776" // the public РНОКПП example
)

func unzr(i int) string { return fmt.Sprintf("19850615-%04d%d", i%10000, i%10) }

func start(t *testing.T, cfg upstream.Config) string {
	t.Helper()
	ts := httptest.NewServer(eddrsim.New(cfg, nil).Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func inspect(t *testing.T, url string) upstream.Inspection {
	t.Helper()
	in, err := upstream.Inspect(t.Context(), url)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	return in
}

func headers(id string) xroad.Headers {
	return xroad.Headers{
		Client:          xroad.Identifier{XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV", MemberCode: "00000001", SubsystemCode: "REGHUB"},
		Service:         xroad.Identifier{XRoadInstance: "SEVDEIR-TEST", MemberClass: "GOV", MemberCode: "00000003", SubsystemCode: "EDDR", ServiceCode: "SubmitResidenceChange", ServiceVersion: "v1"},
		ID:              id,
		UserID:          "UA0000000002",
		ProtocolVersion: xroad.ProtocolVersion,
	}
}

func change(id string, ct eddr.ChangeType, person, katottg string) *eddr.SubmitResidenceChange {
	c := &eddr.SubmitResidenceChange{
		MessageId:            id,
		ChangeType:           &ct,
		SourceReference:      "ACT-" + id,
		RegistrationBodyCode: "1210400000",
		OfficialId:           "UA0000000002",
		Person: &eddr.PersonIdentity{
			Unzr: person, Surname: "Probenko", GivenNames: "Ivanna", Sex: "F",
			DateOfBirth: soap.CreateXsdDate(time.Date(1985, 6, 15, 0, 0, 0, 0, time.UTC), false),
		},
		EffectiveDate: soap.CreateXsdDate(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), false),
	}
	if katottg != "" {
		c.Address = &eddr.ResidenceAddress{Katottg: katottg, Street: "Testova", House: "2"}
	}
	return c
}

type answer struct {
	code   int
	raw    []byte
	submit *eddr.SubmitResidenceChangeResponse
	status *eddr.GetChangeStatusResponse
	fault  *upstream.Fault
	decErr error
}

func post(t *testing.T, url, action string, h xroad.Headers, payload any) answer {
	t.Helper()
	a, err := postErr(t.Context(), url, action, h, payload)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	return a
}

// postErr is post for goroutines other than the test's: it never stops the test.
func postErr(ctx context.Context, url, action string, h xroad.Headers, payload any) (answer, error) {
	code, raw, err := upstream.PostSOAP(ctx, url+"/eddr", action, h, payload)
	if err != nil {
		return answer{}, err
	}
	a := answer{code: code, raw: raw}
	_, a.decErr = upstream.DecodeEnvelope(raw, func(n xml.Name) any {
		switch n.Local {
		case "SubmitResidenceChangeResponse":
			a.submit = new(eddr.SubmitResidenceChangeResponse)
			return a.submit
		case "GetChangeStatusResponse":
			a.status = new(eddr.GetChangeStatusResponse)
			return a.status
		case "Fault":
			a.fault = new(upstream.Fault)
			return a.fault
		}
		return nil
	})
	return a, nil
}

func submit(t *testing.T, url string, c *eddr.SubmitResidenceChange) answer {
	t.Helper()
	return post(t, url, eddrsim.ActionSubmitResidenceChange, headers(c.MessageId), c)
}

func wantOutcome(t *testing.T, a answer, want eddr.Outcome) *eddr.SubmitResidenceChangeResponse {
	t.Helper()
	if a.code != http.StatusOK || a.submit == nil || a.submit.Outcome == nil {
		t.Fatalf("want 200 with an outcome, got %d: %s (%v)", a.code, a.raw, a.decErr)
	}
	if *a.submit.Outcome != want {
		t.Fatalf("outcome %s, want %s: %s", *a.submit.Outcome, want, a.raw)
	}
	return a.submit
}

func TestSubmit(t *testing.T) {
	noTaxNumberNorUNZR := change("e-9", eddr.ChangeTypeRESIDENCE_REGISTERED, "", katottgA)
	tests := []struct {
		name       string
		cfg        upstream.Config
		prior      []*eddr.SubmitResidenceChange
		req        *eddr.SubmitResidenceChange
		want       eddr.Outcome
		wantReason string
		wantState  string
	}{
		{name: "registered", req: change("e-1", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(1), katottgA),
			want: eddr.OutcomeRECORDED, wantState: upstream.StateRegistered},
		{name: "declared", req: change("e-1", eddr.ChangeTypeRESIDENCE_DECLARED, unzr(1), katottgA),
			want: eddr.OutcomeRECORDED, wantState: upstream.StateDeclared},
		{name: "deregistered after registration",
			prior: []*eddr.SubmitResidenceChange{change("e-0", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(1), katottgA)},
			req:   change("e-1", eddr.ChangeTypeRESIDENCE_DEREGISTERED, unzr(1), ""),
			want:  eddr.OutcomeRECORDED, wantState: upstream.StateDeregistered},
		{name: "cancelled", prior: []*eddr.SubmitResidenceChange{change("e-0", eddr.ChangeTypeRESIDENCE_DECLARED, unzr(1), katottgA)},
			req:  change("e-1", eddr.ChangeTypeRESIDENCE_CANCELLED, unzr(1), ""),
			want: eddr.OutcomeRECORDED, wantState: upstream.StateCancelled},
		{name: "deregistered without registration", req: change("e-1", eddr.ChangeTypeRESIDENCE_DEREGISTERED, unzr(1), ""),
			want: eddr.OutcomeREFUSED, wantReason: upstream.ReasonNoActiveRegistration},
		{name: "rejection rate 1", cfg: upstream.Config{RejectionRate: 1}, req: change("e-1", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(1), katottgA),
			want: eddr.OutcomeREFUSED, wantReason: upstream.ReasonSimulated},
		{name: "no person key", req: noTaxNumberNorUNZR, want: eddr.OutcomeREFUSED, wantReason: upstream.ReasonInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := start(t, tc.cfg)
			for _, p := range tc.prior {
				wantOutcome(t, submit(t, url, p), eddr.OutcomeRECORDED)
			}
			resp := wantOutcome(t, submit(t, url, tc.req), tc.want)
			in := inspect(t, url)
			if tc.want == eddr.OutcomeREFUSED {
				if resp.RefusalCode != tc.wantReason || resp.EntryNumber != "" || in.AppliedCount != len(tc.prior) {
					t.Fatalf("response %+v, applied %d", resp, in.AppliedCount)
				}
				return
			}
			want := fmt.Sprintf("EDDR-%08d", len(tc.prior)+1)
			if resp.EntryNumber != want || resp.MessageId != tc.req.MessageId {
				t.Fatalf("response %+v, want entry %s", resp, want)
			}
			if st := in.Persons[unzr(1)].State; st != tc.wantState || in.AppliedCount != len(tc.prior)+1 {
				t.Fatalf("state %s applied %d", st, in.AppliedCount)
			}
		})
	}
}

func TestTaxNumberIsThePersonKeyWithoutUNZR(t *testing.T) {
	url := start(t, upstream.Config{})
	c := change("e-1", eddr.ChangeTypeRESIDENCE_REGISTERED, "", katottgA)
	c.Person.TaxNumber = taxNum
	wantOutcome(t, submit(t, url, c), eddr.OutcomeRECORDED)
	if st := inspect(t, url).Persons[taxNum].State; st != upstream.StateRegistered {
		t.Fatalf("state %q", st)
	}
}

func TestDuplicate(t *testing.T) {
	url := start(t, upstream.Config{})
	c := change("e-dup", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(2), katottgA)
	first, second := submit(t, url, c), submit(t, url, c)
	if !bytes.Equal(first.raw, second.raw) {
		t.Fatalf("duplicate answered differently:\n%s\n%s", first.raw, second.raw)
	}
	if in := inspect(t, url); in.AppliedCount != 1 || in.Duplicates != 1 || in.DuplicatesByMessage["e-dup"] != 1 {
		t.Fatalf("applied %d duplicates %d", in.AppliedCount, in.Duplicates)
	}
}

func TestAsyncTicket(t *testing.T) {
	const delay = 150 * time.Millisecond
	url := start(t, upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: delay})
	resp := wantOutcome(t, submit(t, url, change("e-a", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(3), katottgA)), eddr.OutcomeQUEUED)
	if resp.Ticket == "" || resp.EntryNumber != "" {
		t.Fatalf("queued answer %+v", resp)
	}
	status := func() *eddr.GetChangeStatusResponse {
		a := post(t, url, eddrsim.ActionGetChangeStatus, headers(fmt.Sprintf("s-%d", time.Now().UnixNano())),
			&eddr.GetChangeStatus{MessageId: "e-a", Ticket: resp.Ticket})
		if a.status == nil {
			t.Fatalf("status: %d %s", a.code, a.raw)
		}
		return a.status
	}
	if st := status(); *st.Outcome != eddr.OutcomeIN_PROGRESS {
		t.Fatalf("before delay: %+v", st)
	}
	time.Sleep(delay + 50*time.Millisecond)
	if st := status(); *st.Outcome != eddr.OutcomeRECORDED || st.EntryNumber != "EDDR-00000001" {
		t.Fatalf("after delay: %+v", st)
	}

	a := post(t, url, eddrsim.ActionGetChangeStatus, headers("s-x"), &eddr.GetChangeStatus{MessageId: "e-a", Ticket: "nope"})
	if a.code != http.StatusInternalServerError || a.fault == nil || !a.fault.IsClient() {
		t.Fatalf("unknown ticket: %d %s", a.code, a.raw)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		cfg    upstream.Config
		h      xroad.Headers
		code   int
		client bool // want a Client fault (else Server fault, or no fault for a 503)
	}{
		{"503", upstream.Config{ErrorRate: 1}, headers("e-1"), http.StatusServiceUnavailable, false},
		{"server fault", upstream.Config{ServerFaultRate: 1}, headers("e-1"), http.StatusInternalServerError, false},
		{"client fault", upstream.Config{ClientFaultRate: 1}, headers("e-1"), http.StatusInternalServerError, true},
		{"messageId differs from X-Road id", upstream.Config{}, headers("e-other"), http.StatusInternalServerError, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := start(t, tc.cfg)
			a := post(t, url, eddrsim.ActionSubmitResidenceChange, tc.h, change("e-1", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(4), katottgA))
			if a.code != tc.code {
				t.Fatalf("HTTP %d, want %d: %s", a.code, tc.code, a.raw)
			}
			if tc.code == http.StatusInternalServerError && (a.fault == nil || a.fault.IsClient() != tc.client) {
				t.Fatalf("fault %+v: %s", a.fault, a.raw)
			}
			if in := inspect(t, url); in.AppliedCount != 0 {
				t.Fatalf("applied %d", in.AppliedCount)
			}
		})
	}
}

func TestConcurrentSubmissions(t *testing.T) {
	url := start(t, upstream.Config{Mode: upstream.ModeAsync})
	const workers, perWorker = 12, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				n := w*perWorker + i
				id := fmt.Sprintf("e-%04d", n)
				a, err := postErr(t.Context(), url, eddrsim.ActionSubmitResidenceChange, headers(id),
					change(id, eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(n), katottgA))
				if err != nil || a.submit == nil || *a.submit.Outcome != eddr.OutcomeQUEUED {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %v %s", id, err, a.raw))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	in := inspect(t, url)
	if in.AppliedCount != workers*perWorker || len(in.Receipts) != workers*perWorker {
		t.Fatalf("applied %d receipts %d, want %d", in.AppliedCount, len(in.Receipts), workers*perWorker)
	}
}

func TestGowsdlClient(t *testing.T) {
	url := start(t, upstream.Config{})
	c := soap.NewClient(url+"/eddr", soap.WithHTTPClient(http.DefaultClient))
	for _, h := range headers("e-g").Elements() {
		c.AddHeader(h)
	}
	resp, err := eddr.NewEddrResidencePort(c).SubmitResidenceChangeContext(t.Context(),
		change("e-g", eddr.ChangeTypeRESIDENCE_REGISTERED, unzr(5), katottgA))
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Outcome != eddr.OutcomeRECORDED || resp.EntryNumber != "EDDR-00000001" {
		t.Fatalf("response %+v", resp)
	}
	_, err = eddr.NewEddrResidencePort(c).GetChangeStatusContext(t.Context(), &eddr.GetChangeStatus{MessageId: "e-g", Ticket: "none"})
	var httpErr *soap.HTTPError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("want *soap.HTTPError 500, got %T %v", err, err)
	}
}
