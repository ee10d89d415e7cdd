package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/httpapi"
	"github.com/reghub/reghub/adapters/postgres"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/test/pgtest"
)

// opsFixture is the API over a real database with one client per role and
// actions whose deliveries were driven into chosen states through the
// relay's own store calls.
type opsFixture struct {
	store  *postgres.Store
	srv    *httptest.Server
	router routers.Router
	tok    map[auth.Role]string
	gen    *localregistry.Generator
	n      int
}

func newOpsFixture(t *testing.T) *opsFixture {
	t.Helper()
	_, router := loadSpec(t)
	store := postgres.New(pgtest.Pool(t))
	f := &opsFixture{store: store, router: router, tok: map[auth.Role]string{}, gen: localregistry.NewGenerator(11, time.Now())}
	for id, role := range map[string]auth.Role{"reg": auth.RoleRegistry, "op-1": auth.RoleOperator, "aud-1": auth.RoleAuditor, "admin-1": auth.RoleAdmin} {
		tok, err := auth.Register(t.Context(), store, id, id, role)
		if err != nil {
			t.Fatal(err)
		}
		f.tok[role] = tok
	}
	// Rendering builds the envelope only; nothing listens on port 1.
	senders := soapclient.NewSenders(soapclient.Config{
		DMSURL: "http://127.0.0.1:1", EDDRURL: "http://127.0.0.1:1", RegistrationBody: mapping.RegistrationBody{Code: "X"},
	}, nil)
	f.srv = httptest.NewServer(httpapi.Handler(httpapi.Deps{
		Actions: action.NewService(store, nil, nil), Ops: ops.NewService(store, ops.RenderWith(senders), nil), Clients: store,
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// insert stores the generator's next submission for a person of its own,
// created age ago, with one delivery per core destination.
func (f *opsFixture) insert(t *testing.T, age time.Duration) action.NewAction {
	t.Helper()
	body := f.gen.NextJSON()
	sub, err := action.Parse(body, time.Now())
	if err != nil {
		t.Fatalf("generated submission is invalid: %v", err)
	}
	f.n++
	id := uuid.Must(uuid.NewV7())
	a := action.NewAction{
		ID: id, Reference: "RH-" + id.String(), ClientID: "reg", IdempotencyKey: fmt.Sprint("k", f.n), BodyHash: []byte{byte(f.n)},
		Kind: sub.Kind, PersonKey: fmt.Sprint("person-", f.n), Body: body, CreatedAt: time.Now().Add(-age),
		Messages: []action.NewMessage{
			{ID: uuid.Must(uuid.NewV7()), Destination: action.DestMigrationService},
			{ID: uuid.Must(uuid.NewV7()), Destination: action.DestNationalRegistry},
		},
	}
	if _, _, created, err := f.store.Insert(t.Context(), a); err != nil || !created {
		t.Fatalf("insert: created=%v err=%v", created, err)
	}
	return a
}

// outcome is what one attempt did to a delivery.
type outcome func(m outbox.Message) outbox.Result

func result(m outbox.Message, state action.DeliveryStatus, outcome string) outbox.Result {
	return outbox.Result{
		MessageID: m.ID, ActionID: m.ActionID, ClaimToken: m.ClaimToken, State: state, Sent: true,
		Attempt: outbox.Attempt{Number: m.Attempt, Stage: m.Stage, StartedAt: time.Now().Add(-2 * time.Second), Duration: 1500 * time.Millisecond, Outcome: outcome},
	}
}

func dead(class outbox.ErrorClass, detail string) outcome {
	return func(m outbox.Message) outbox.Result {
		r := result(m, action.DeliveryDead, "failed")
		r.LastError, r.ErrorClass, r.Attempt.ErrorClass, r.Attempt.Detail = detail, class, class, detail
		return r
	}
}

// failing: a transient failure, retried in an hour.
func failing(class outbox.ErrorClass, detail string) outcome {
	return func(m outbox.Message) outbox.Result {
		r := result(m, action.DeliveryPending, "failed")
		r.DueAt = time.Now().Add(time.Hour)
		r.LastError, r.ErrorClass, r.Attempt.ErrorClass, r.Attempt.Detail = detail, class, class, detail
		return r
	}
}

func acked(ref string) outcome {
	return func(m outbox.Message) outbox.Result {
		r := result(m, action.DeliveryAcknowledged, "acknowledged")
		r.UpstreamRef, r.Attempt.Detail = ref, "reference "+ref
		return r
	}
}

func receipt(rc string) outcome {
	return func(m outbox.Message) outbox.Result {
		r := result(m, action.DeliveryAwaitingAck, "receipt")
		deadline := time.Now().Add(time.Hour)
		r.Receipt, r.DueAt, r.AckDeadline, r.Attempt.Detail = rc, time.Now().Add(time.Hour), &deadline, "receipt "+rc
		return r
	}
}

// settle claims every due delivery, as a relay would, and writes the
// outcome chosen for each.
func (f *opsFixture) settle(t *testing.T, outcomes map[uuid.UUID]outcome) {
	t.Helper()
	msgs, err := f.store.Claim(t.Context(), 100, time.Minute, uuid.New())
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if len(msgs) != len(outcomes) {
		t.Fatalf("claimed %d deliveries, want %d", len(msgs), len(outcomes))
	}
	var results []outbox.Result
	for _, m := range msgs {
		o, ok := outcomes[m.ID]
		if !ok {
			t.Fatalf("claimed delivery %s has no outcome", m.ID)
		}
		results = append(results, o(m))
	}
	if _, err := f.store.Complete(t.Context(), results); err != nil {
		t.Fatalf("complete: %v", err)
	}
}

// opsCall is one exchange with the API, checked against the contract.
type opsCall struct {
	name         string
	method, path string
	role         auth.Role // "" sends no token
	body         string
	contentType  string // default application/json with a body
	want         int
	// offContract: the request breaks the contract on purpose; only the
	// answer is validated.
	offContract bool
	problem     string // slug the problem's type must end with
	check       func(t *testing.T, raw []byte)
}

// call sends c, checks its status and problem slug, and validates the
// request (unless offContract) and the answer against openapi.yaml.
func (f *opsFixture) call(t *testing.T, c opsCall) []byte {
	t.Helper()
	req, err := http.NewRequest(c.method, f.srv.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.role != "" {
		req.Header.Set("Authorization", "Bearer "+f.tok[c.role])
	}
	if ct := c.contentType; ct != "" {
		req.Header.Set("Content-Type", ct)
	} else if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	status, raw := validateExchange(t, f.router, req, []byte(c.body), !c.offContract)
	if c.want != 0 && status != c.want {
		t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, status, c.want, raw)
	}
	if c.problem != "" {
		var p httpapi.Problem
		if err := json.Unmarshal(raw, &p); err != nil || !strings.HasSuffix(p.Type, ":"+c.problem) {
			t.Fatalf("%s %s: want problem %q, got %s", c.method, c.path, c.problem, raw)
		}
		if p.Detail == "" {
			t.Fatalf("%s %s: problem without a detail: %s", c.method, c.path, raw)
		}
	}
	if c.check != nil {
		c.check(t, raw)
	}
	return raw
}

// validateExchange sends req (whose body is body), validates the request
// when wantValid and always the answer against the contract, and returns
// the answer's status and body.
func validateExchange(t *testing.T, router routers.Router, req *http.Request, body []byte, wantValid bool) (int, []byte) {
	t.Helper()
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("contract has no route for %s %s: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if wantValid {
		req.Body = io.NopCloser(bytes.NewReader(body))
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Fatalf("test request %s %s is not valid per the contract: %v", req.Method, req.URL, err)
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: error answered with %q, want application/problem+json", req.Method, req.URL.Path, ct)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(raw)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("%s %s: answer does not match the contract: %v\n%s", req.Method, req.URL.Path, err, raw)
	}
	return resp.StatusCode, raw
}

// What the tests read of the answers.
type (
	tDelivery struct {
		MessageID    string `json:"message_id"`
		ActionID     string `json:"action_id"`
		Destination  string `json:"destination"`
		Status       string `json:"status"`
		ActionStatus string `json:"action_status"`
		Attempts     int    `json:"attempts"`
		ErrorClass   string `json:"error_class"`
		UpstreamRef  string `json:"upstream_reference"`
	}
	tDetail struct {
		tDelivery
		Message string `json:"message"`
		Log     []struct {
			Stage      string  `json:"stage"`
			DurationMS float64 `json:"duration_ms"`
			Outcome    string  `json:"outcome"`
			ErrorClass string  `json:"error_class"`
			Detail     string  `json:"detail"`
		} `json:"attempts_log"`
		Steps []tStep `json:"operator_steps"`
	}
	tStep struct {
		Actor     string         `json:"actor"`
		Role      string         `json:"role"`
		Operation string         `json:"operation"`
		Target    string         `json:"target"`
		Reason    string         `json:"reason"`
		Details   map[string]any `json:"details"`
	}
	tDestination struct {
		Destination  string         `json:"destination"`
		Paused       bool           `json:"paused"`
		PausedReason string         `json:"paused_reason"`
		Circuit      string         `json:"circuit"`
		Counts       map[string]int `json:"counts"`
	}
)

func decodeAs[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// listIDs lists the message ids a delivery page holds.
func listIDs(t *testing.T, raw []byte) []string {
	t.Helper()
	page := decodeAs[struct {
		Items []tDelivery `json:"items"`
	}](t, raw)
	var ids []string
	for _, d := range page.Items {
		ids = append(ids, d.MessageID)
	}
	return ids
}

// wantIDs checks a delivery page holds exactly the given deliveries.
func wantIDs(ids ...uuid.UUID) func(t *testing.T, raw []byte) {
	return func(t *testing.T, raw []byte) {
		t.Helper()
		got := map[string]bool{}
		for _, id := range listIDs(t, raw) {
			got[id] = true
		}
		want := map[string]bool{}
		for _, id := range ids {
			want[id.String()] = true
		}
		if len(got) != len(want) {
			t.Fatalf("listed %d deliveries, want %d: %s", len(got), len(want), raw)
		}
		for id := range want {
			if !got[id] {
				t.Fatalf("delivery %s not listed: %s", id, raw)
			}
		}
	}
}

func TestOpsEndpoints(t *testing.T) {
	f := newOpsFixture(t)
	// A: dms dead on a timeout, eddr acknowledged (to show, then retry).
	// B: both dead (bulk retry). C: two hours old, dms acknowledged, eddr
	// awaiting its decision (acknowledge by hand). D: dms dead, eddr failing
	// (cancel).
	a, b, c, d := f.insert(t, 0), f.insert(t, 0), f.insert(t, 2*time.Hour), f.insert(t, 0)
	aDMS, aEDDR := a.Messages[0].ID, a.Messages[1].ID
	bDMS, bEDDR := b.Messages[0].ID, b.Messages[1].ID
	cDMS, cEDDR := c.Messages[0].ID, c.Messages[1].ID
	dDMS, dEDDR := d.Messages[0].ID, d.Messages[1].ID
	f.settle(t, map[uuid.UUID]outcome{
		aDMS: dead(outbox.ClassTimeout, "dms OtgToDms: context deadline exceeded after 10s"), aEDDR: acked("EDDR-A"),
		bDMS: dead(outbox.ClassHTTP5xx, "dms OtgToDms: HTTP 503 Service Unavailable"), bEDDR: dead(outbox.ClassTimeout, "eddr: timeout"),
		cDMS: acked("DMS-C"), cEDDR: receipt("RCPT-C"),
		dDMS: dead(outbox.ClassSOAPServerFault, "dms: soap:Server fault"), dEDDR: failing(outbox.ClassTransport, "eddr: connection refused"),
	})
	var kindIDs []uuid.UUID
	for _, x := range []action.NewAction{a, b, c, d} {
		if x.Kind == a.Kind {
			kindIDs = append(kindIDs, x.Messages[0].ID, x.Messages[1].ID)
		}
	}
	var firstPage []string

	const (
		op    = auth.RoleOperator
		aud   = auth.RoleAuditor
		admin = auth.RoleAdmin
		reg   = auth.RoleRegistry
	)
	path := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }

	calls := []opsCall{
		// Listing and its filters.
		{name: "list dead", method: "GET", path: "/v1/ops/deliveries?status=dead", role: op, want: 200, check: wantIDs(aDMS, bDMS, bEDDR, dDMS)},
		{name: "list dead to dms", method: "GET", path: "/v1/ops/deliveries?status=dead&destination=dms", role: aud, want: 200, check: wantIDs(aDMS, bDMS, dDMS)},
		{name: "list dead or pending to eddr", method: "GET", path: "/v1/ops/deliveries?status=dead&status=pending&destination=eddr", role: admin, want: 200, check: wantIDs(bEDDR, dEDDR)},
		{name: "list by error class", method: "GET", path: "/v1/ops/deliveries?error_class=timeout", role: op, want: 200, check: wantIDs(aDMS, bEDDR)},
		{name: "list by age", method: "GET", path: "/v1/ops/deliveries?older_than=1h", role: op, want: 200, check: wantIDs(cDMS, cEDDR)},
		{name: "list by kind", method: "GET", path: "/v1/ops/deliveries?kind=" + string(a.Kind), role: op, want: 200, check: wantIDs(kindIDs...)},
		{name: "list first page", method: "GET", path: "/v1/ops/deliveries?limit=3", role: op, want: 200, check: func(t *testing.T, raw []byte) {
			firstPage = listIDs(t, raw)
			if len(firstPage) != 3 || !strings.Contains(string(raw), `"next_cursor"`) {
				t.Fatalf("want 3 deliveries and a next cursor: %s", raw)
			}
		}},
		{name: "list bad status", method: "GET", path: "/v1/ops/deliveries?status=lost", role: op, want: 400, offContract: true, problem: "invalid-parameter"},
		{name: "list bad destination", method: "GET", path: "/v1/ops/deliveries?destination=mars", role: op, want: 400, offContract: true, problem: "invalid-parameter"},
		{name: "list bad age", method: "GET", path: "/v1/ops/deliveries?older_than=10", role: op, want: 400, problem: "invalid-parameter"},
		{name: "list bad limit", method: "GET", path: "/v1/ops/deliveries?limit=0", role: op, want: 400, offContract: true, problem: "invalid-parameter"},
		{name: "list bad cursor", method: "GET", path: "/v1/ops/deliveries?cursor=zzz", role: op, want: 400, problem: "invalid-parameter"},
		{name: "list unknown parameter", method: "GET", path: "/v1/ops/deliveries?state=dead", role: op, want: 400, problem: "invalid-parameter"},

		// Who may look.
		{name: "registry may not list", method: "GET", path: "/v1/ops/deliveries", role: reg, want: 403, problem: "forbidden"},
		{name: "registry may not see the backlog", method: "GET", path: "/v1/ops/destinations", role: reg, want: 403, problem: "forbidden"},
		{name: "registry may not see steps", method: "GET", path: "/v1/ops/steps", role: reg, want: 403, problem: "forbidden"},
		{name: "registry may not show", method: "GET", path: path("/v1/ops/deliveries/%s", aDMS), role: reg, want: 403, problem: "forbidden"},
		{name: "no token", method: "GET", path: "/v1/ops/deliveries", want: 401, problem: "unauthenticated"},

		// Show.
		{name: "show", method: "GET", path: path("/v1/ops/deliveries/%s", aDMS), role: aud, want: 200, check: func(t *testing.T, raw []byte) {
			d := decodeAs[tDetail](t, raw)
			if d.Status != "dead" || d.ErrorClass != "timeout" || d.Attempts != 1 || d.ActionStatus != "dead" {
				t.Fatalf("delivery %+v, want dead after 1 attempt on a timeout", d.tDelivery)
			}
			if !regexp.MustCompile(`<(\w+:)?id\b[^>]*>` + aDMS.String() + `</`).MatchString(d.Message) {
				t.Fatalf("message lacks the X-Road id header %s:\n%s", aDMS, d.Message)
			}
			if !strings.Contains(d.Message, "Envelope") {
				t.Fatalf("message is not a SOAP envelope:\n%s", d.Message)
			}
			if len(d.Log) != 1 || d.Log[0].ErrorClass != "timeout" || !strings.Contains(d.Log[0].Detail, "deadline exceeded") || d.Log[0].DurationMS != 1500 {
				t.Fatalf("attempts %+v, want the one timeout of 1.5s", d.Log)
			}
		}},
		{name: "show unknown", method: "GET", path: path("/v1/ops/deliveries/%s", uuid.New()), role: op, want: 404, problem: "not-found"},
		{name: "show malformed id", method: "GET", path: "/v1/ops/deliveries/nope", role: op, want: 404, problem: "not-found"},

		// Retry one.
		{name: "auditor may not retry", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: aud, body: `{"reason":"x"}`, want: 403, problem: "forbidden"},
		{name: "registry may not retry", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: reg, body: `{"reason":"x"}`, want: 403, problem: "forbidden"},
		{name: "retry unknown field", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: op, body: `{"reason":"x","force":true}`, want: 400, offContract: true, problem: "invalid-body",
			check: func(t *testing.T, raw []byte) {
				if !strings.Contains(string(raw), `unknown field \"force\"`) {
					t.Fatalf("detail does not name the field: %s", raw)
				}
			}},
		{name: "retry malformed JSON", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: op, body: `{"reason":`, want: 400, offContract: true, problem: "invalid-body"},
		{name: "retry wrong type", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: op, body: `{"reason":42}`, want: 400, offContract: true, problem: "invalid-body"},
		{name: "retry empty body", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: op, want: 400, offContract: true, problem: "invalid-body"},
		{name: "retry not JSON", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: op, body: "reason=x", contentType: "text/plain", want: 415, offContract: true, problem: "unsupported-media-type"},
		{name: "retry too large", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: op, body: `{"reason":"` + strings.Repeat("x", 20<<10) + `"}`, want: 413, problem: "body-too-large"},
		{name: "retry", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aDMS), role: op, body: `{"reason":"ДМС is back after the outage"}`, want: 200, check: func(t *testing.T, raw []byte) {
			d := decodeAs[tDetail](t, raw)
			if d.Status != "pending" || d.Attempts != 0 || d.ActionStatus != "pending" {
				t.Fatalf("after retry %+v, want pending with a fresh budget and the action pending", d.tDelivery)
			}
			if len(d.Steps) != 1 || d.Steps[0].Operation != "retry" || d.Steps[0].Actor != "op-1" {
				t.Fatalf("operator steps %+v, want the retry by op-1", d.Steps)
			}
		}},
		{name: "retry acknowledged", method: "POST", path: path("/v1/ops/deliveries/%s/retry", aEDDR), role: op, body: `{"reason":"again"}`, want: 409, problem: "conflict"},
		{name: "retry unknown", method: "POST", path: path("/v1/ops/deliveries/%s/retry", uuid.New()), role: op, body: `{"reason":"typo"}`, want: 404, problem: "not-found"},

		// Bulk retry: a dry run counts, changes nothing; the retry changes as many.
		{name: "auditor may not bulk retry", method: "POST", path: "/v1/ops/deliveries/retry", role: aud, body: `{"filter":{"destination":"dms"},"dry_run":true}`, want: 403, problem: "forbidden"},
		{name: "bulk retry dry run", method: "POST", path: "/v1/ops/deliveries/retry", role: op, body: `{"filter":{"destination":"dms"},"reason":"dms outage over","dry_run":true}`, want: 200,
			check: func(t *testing.T, raw []byte) {
				if got := strings.TrimSpace(string(raw)); got != `{"matching":2}` {
					t.Fatalf("dry run answered %s, want the 2 dead dms deliveries", got)
				}
			}},
		{name: "dry run changed nothing", method: "GET", path: "/v1/ops/deliveries?status=dead&destination=dms", role: op, want: 200, check: wantIDs(bDMS, dDMS)},
		{name: "bulk retry empty filter", method: "POST", path: "/v1/ops/deliveries/retry", role: op, body: `{"filter":{},"reason":"everything"}`, want: 422, problem: "invalid-request"},
		{name: "bulk retry bad status", method: "POST", path: "/v1/ops/deliveries/retry", role: op, body: `{"filter":{"status":["lost"]}}`, want: 400, offContract: true, problem: "invalid-body",
			check: func(t *testing.T, raw []byte) {
				if !strings.Contains(string(raw), `filter.status \"lost\"`) {
					t.Fatalf("detail does not name filter.status: %s", raw)
				}
			}},
		{name: "bulk retry unknown filter field", method: "POST", path: "/v1/ops/deliveries/retry", role: op, body: `{"filter":{"dest":"dms"}}`, want: 400, offContract: true, problem: "invalid-body"},
		{name: "bulk retry", method: "POST", path: "/v1/ops/deliveries/retry", role: admin, body: `{"filter":{"destination":"dms"},"reason":"dms outage over"}`, want: 200,
			check: func(t *testing.T, raw []byte) {
				if got := strings.TrimSpace(string(raw)); got != `{"retried":2}` {
					t.Fatalf("bulk retry answered %s, want 2 retried, as the dry run said", got)
				}
			}},
		{name: "bulk retried are pending", method: "GET", path: "/v1/ops/deliveries?status=pending&destination=dms", role: op, want: 200, check: wantIDs(aDMS, bDMS, dDMS)},

		// Acknowledge by hand: the action completes with it.
		{name: "auditor may not acknowledge", method: "POST", path: path("/v1/ops/deliveries/%s/acknowledge", cEDDR), role: aud, body: `{"reference":"R","justification":"J"}`, want: 403, problem: "forbidden"},
		{name: "acknowledge without justification", method: "POST", path: path("/v1/ops/deliveries/%s/acknowledge", cEDDR), role: op, body: `{"reference":"EDDR-777"}`, want: 422, offContract: true, problem: "invalid-request"},
		{name: "acknowledge", method: "POST", path: path("/v1/ops/deliveries/%s/acknowledge", cEDDR), role: op, body: `{"reference":"EDDR-777","justification":"confirmed by the ЄДДР duty officer by phone"}`, want: 200,
			check: func(t *testing.T, raw []byte) {
				d := decodeAs[tDetail](t, raw)
				if d.Status != "acknowledged" || d.UpstreamRef != "EDDR-777" || d.ActionStatus != "completed" {
					t.Fatalf("after acknowledging %+v, want acknowledged with the reference and the action completed", d.tDelivery)
				}
				if last := d.Log[len(d.Log)-1]; last.Stage != "manual" || last.Outcome != "acknowledged_by_operator" {
					t.Fatalf("the manual acknowledgement is not in the attempts: %+v", d.Log)
				}
			}},
		{name: "acknowledge again", method: "POST", path: path("/v1/ops/deliveries/%s/acknowledge", cEDDR), role: op, body: `{"reference":"EDDR-777","justification":"twice"}`, want: 409, problem: "conflict"},
		{name: "action completed", method: "GET", path: path("/v1/actions/%s", c.ID), role: reg, want: 200, check: func(t *testing.T, raw []byte) {
			if !strings.Contains(string(raw), `"status":"completed"`) {
				t.Fatalf("action not completed: %s", raw)
			}
		}},

		// Cancel an action: its unresolved deliveries are cancelled, the registry sees why.
		{name: "auditor may not cancel", method: "POST", path: path("/v1/ops/actions/%s/cancel", d.ID), role: aud, body: `{"reason":"x"}`, want: 403, problem: "forbidden"},
		{name: "cancel without reason", method: "POST", path: path("/v1/ops/actions/%s/cancel", d.ID), role: op, body: `{}`, want: 422, problem: "invalid-request"},
		{name: "cancel", method: "POST", path: path("/v1/ops/actions/%s/cancel", d.ID), role: op, body: `{"reason":"submitted twice by the registry"}`, want: 200,
			check: func(t *testing.T, raw []byte) {
				type actionAnswer struct {
					Status       string `json:"status"`
					StatusReason string `json:"status_reason"`
					Deliveries   []struct {
						Status string `json:"status"`
					} `json:"deliveries"`
				}
				act := decodeAs[actionAnswer](t, raw)
				if act.Status != "cancelled" || !strings.Contains(act.StatusReason, "submitted twice") {
					t.Fatalf("action %s, want cancelled with the reason", raw)
				}
				for _, dl := range act.Deliveries {
					if dl.Status != "cancelled" {
						t.Fatalf("delivery left %s: %s", dl.Status, raw)
					}
				}
			}},
		{name: "cancel again", method: "POST", path: path("/v1/ops/actions/%s/cancel", d.ID), role: op, body: `{"reason":"again"}`, want: 409, problem: "conflict"},
		{name: "cancel unknown", method: "POST", path: path("/v1/ops/actions/%s/cancel", uuid.New()), role: op, body: `{"reason":"typo"}`, want: 404, problem: "not-found"},
		{name: "registry sees the cancellation", method: "GET", path: path("/v1/actions/%s", d.ID), role: reg, want: 200, check: func(t *testing.T, raw []byte) {
			if !strings.Contains(string(raw), `"status":"cancelled"`) || !strings.Contains(string(raw), "submitted twice by the registry") {
				t.Fatalf("the registry does not see the cancellation and its reason: %s", raw)
			}
		}},

		// Pause and resume a destination.
		{name: "auditor may not pause", method: "POST", path: "/v1/ops/destinations/dms/pause", role: aud, body: `{"reason":"x"}`, want: 403, problem: "forbidden"},
		{name: "pause without reason", method: "POST", path: "/v1/ops/destinations/dms/pause", role: op, body: `{"reason":" "}`, want: 422, problem: "invalid-request"},
		{name: "pause unknown destination", method: "POST", path: "/v1/ops/destinations/mars/pause", role: op, body: `{"reason":"x"}`, want: 404, problem: "not-found"},
		{name: "pause", method: "POST", path: "/v1/ops/destinations/dms/pause", role: op, body: `{"reason":"ДМС maintenance window"}`, want: 200, check: func(t *testing.T, raw []byte) {
			if d := decodeAs[tDestination](t, raw); !d.Paused || d.PausedReason != "ДМС maintenance window" {
				t.Fatalf("after pausing: %s", raw)
			}
		}},
		{name: "backlog", method: "GET", path: "/v1/ops/destinations", role: aud, want: 200, check: func(t *testing.T, raw []byte) {
			list := decodeAs[struct {
				Items []tDestination `json:"items"`
			}](t, raw)
			got := map[string]tDestination{}
			for _, d := range list.Items {
				got[d.Destination] = d
			}
			dms, eddr := got["dms"], got["eddr"]
			if !dms.Paused || dms.Counts["pending"] != 2 || dms.Counts["cancelled"] != 1 || dms.Counts["dead"] != 0 || dms.Circuit != "closed" {
				t.Fatalf("dms backlog %+v, want paused, 2 pending (a, b), 1 cancelled (d)", dms)
			}
			if eddr.Paused || eddr.Counts["dead"] != 1 || eddr.Counts["cancelled"] != 1 || eddr.Counts["awaiting_ack"] != 0 {
				t.Fatalf("eddr backlog %+v, want 1 dead (b), 1 cancelled (d)", eddr)
			}
		}},
		{name: "auditor may not resume", method: "POST", path: "/v1/ops/destinations/dms/resume", role: aud, body: `{}`, want: 403, problem: "forbidden"},
		{name: "resume", method: "POST", path: "/v1/ops/destinations/dms/resume", role: admin, body: `{"reason":"maintenance over"}`, want: 200, check: func(t *testing.T, raw []byte) {
			if d := decodeAs[tDestination](t, raw); d.Paused || d.PausedReason != "" {
				t.Fatalf("after resuming: %s", raw)
			}
		}},

		// The record of steps.
		{name: "steps of one delivery", method: "GET", path: path("/v1/ops/steps?target=delivery:%s", aDMS), role: aud, want: 200, check: func(t *testing.T, raw []byte) {
			steps := decodeAs[struct {
				Items []tStep `json:"items"`
			}](t, raw).Items
			// The retry, and the refused retry of an unknown delivery is elsewhere.
			if len(steps) != 1 || steps[0].Operation != "retry" || steps[0].Reason != "ДМС is back after the outage" {
				t.Fatalf("steps of %s: %s", aDMS, raw)
			}
		}},
		{name: "steps bad limit", method: "GET", path: "/v1/ops/steps?limit=5000", role: aud, want: 400, offContract: true, problem: "invalid-parameter"},
		{name: "all steps", method: "GET", path: "/v1/ops/steps", role: op, want: 200, check: func(t *testing.T, raw []byte) {
			steps := decodeAs[struct {
				Items []tStep `json:"items"`
			}](t, raw).Items
			type key struct{ op, actor, role, target, reason string }
			got := map[key]tStep{}
			for _, s := range steps {
				got[key{s.Operation, s.Actor, s.Role, s.Target, s.Reason}] = s
			}
			for _, want := range []key{
				{"retry", "op-1", "operator", "delivery:" + aDMS.String(), "ДМС is back after the outage"},
				{"bulk_retry", "admin-1", "admin", "deliveries", "dms outage over"},
				{"acknowledge", "op-1", "operator", "delivery:" + cEDDR.String(), "confirmed by the ЄДДР duty officer by phone"},
				{"cancel", "op-1", "operator", "action:" + d.ID.String(), "submitted twice by the registry"},
				{"pause", "op-1", "operator", "destination:dms", "ДМС maintenance window"},
				{"resume", "admin-1", "admin", "destination:dms", "maintenance over"},
			} {
				s, ok := got[want]
				if !ok {
					t.Errorf("step %+v not recorded in %s", want, raw)
					continue
				}
				if want.op == "bulk_retry" && (s.Details["retried"] != float64(2) || s.Details["destination"] != "dms") {
					t.Errorf("bulk retry step details %v, want the filter and 2 retried", s.Details)
				}
				if want.op == "acknowledge" && s.Details["reference"] != "EDDR-777" {
					t.Errorf("acknowledge step details %v, want the reference", s.Details)
				}
			}
			// Newest first: the resume was the last step taken.
			if len(steps) == 0 || steps[0].Operation != "resume" {
				t.Errorf("steps are not newest first: %s", raw)
			}
			// No step by an auditor: every one of their attempts was refused.
			for _, s := range steps {
				if s.Role == "auditor" {
					t.Errorf("an auditor's step was recorded: %+v", s)
				}
			}
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { f.call(t, c) })
	}

	// The second page follows the first without overlap.
	t.Run("list next page", func(t *testing.T) {
		raw := f.call(t, opsCall{method: "GET", path: "/v1/ops/deliveries?limit=3", role: op, want: 200})
		cursor := decodeAs[struct {
			NextCursor string `json:"next_cursor"`
		}](t, raw).NextCursor
		next := listIDs(t, f.call(t, opsCall{method: "GET", path: "/v1/ops/deliveries?limit=3&cursor=" + cursor, role: op, want: 200}))
		if len(next) != 3 {
			t.Fatalf("second page has %d deliveries, want 3", len(next))
		}
		for _, id := range next {
			for _, seen := range firstPage {
				if id == seen {
					t.Fatalf("delivery %s on both pages", id)
				}
			}
		}
	})
}

// Without the operations service the routes answer 503, per the contract.
func TestOpsUnavailableWithoutService(t *testing.T) {
	_, router := loadSpec(t)
	store := postgres.New(pgtest.Pool(t))
	tok, err := auth.Register(t.Context(), store, "op", "op", auth.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.Handler(httpapi.Deps{Actions: action.NewService(store, nil, nil), Clients: store}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/ops/destinations", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	status, raw := validateExchange(t, router, req, nil, true)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", status, raw)
	}
}
