package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/httpapi"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/audit"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/guard"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/test/openapitest"
	"github.com/reghub/reghub/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	return openapitest.Load(t, "../../schemas/openapi.yaml")
}

// Every route the server has is in the contract, and every operation of the
// contract is served.
func TestRoutesMatchContract(t *testing.T) {
	doc, _ := loadSpec(t)
	inSpec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range httpapi.Routes() {
		served[r] = true
		if !inSpec[r] {
			t.Errorf("route %q is served but not in schemas/openapi.yaml", r)
		}
	}
	for op := range inSpec {
		if !served[op] {
			t.Errorf("operation %q is in schemas/openapi.yaml but not served", op)
		}
	}
}

// Every answer the API gives, for each status code the contract names, agrees
// with the contract; so does every request that the contract says is valid.
func TestAnswersMatchContract(t *testing.T) {
	_, router := loadSpec(t)
	pool := pgtest.Pool(t)
	store := postgres.New(pool)
	ctx := context.Background()
	regTok, err := auth.Register(ctx, store, "reg", "registry", auth.RoleRegistry)
	if err != nil {
		t.Fatal(err)
	}
	audTok, err := auth.Register(ctx, store, "aud", "auditor", auth.RoleAuditor)
	if err != nil {
		t.Fatal(err)
	}
	authTok, err := auth.Register(ctx, store, "SYN-SOC-0001", "social protection", auth.RoleAuthority)
	if err != nil {
		t.Fatal(err)
	}
	opTok, err := auth.Register(ctx, store, "op", "operator", auth.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := access.Default()
	if err != nil {
		t.Fatal(err)
	}
	queries := &access.Service{Catalogue: catalogue, Pending: store,
		Sources:  map[access.Source]access.Finder{access.SourceLocal: store},
		Recorder: audit.Recorder{Log: postgres.NewAuditLog(pool, postgres.AuditOptions{})}}
	actions := action.NewService(store, nil, nil)
	actions.SetGuard(guard.New(store))
	srv := httptest.NewServer(httpapi.Handler(httpapi.Deps{
		Actions: actions, Clients: store, Feed: action.NewFeed(store, 10*time.Millisecond),
		Ready: func(context.Context) error { return nil }, Queries: queries, Injunctions: ops.NewInjunctions(store),
	}))
	defer srv.Close()

	gen := localregistry.NewGenerator(7, time.Now())
	body := gen.NextJSON()
	other := gen.NextJSON()
	// A registration in a building a court injunction covers (guards).
	enjoined := registrationAt(t, gen, action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7", Apartment: "2"})
	injunction := []byte(`{"court": "Синтетичний районний суд", "reference": "SYN-2/7/25", "decided_on": "2025-01-10",
	  "address": {"katottg": "UA12060170010076413", "street": "вул. Вигадана", "building": "7"}, "reason": "ухвала надійшла"}`)

	var firstID, injunctionID string
	cases := []struct {
		name          string
		method, path  string
		token         string
		key           string
		contentType   string
		body          []byte
		want          int
		requestValid  bool
		wantInProblem string
	}{
		{"accepted", "POST", "/v1/actions", regTok, "k1", "application/json", body, 202, true, ""},
		{"same key same body", "POST", "/v1/actions", regTok, "k1", "application/json", body, 200, true, ""},
		{"same key other body", "POST", "/v1/actions", regTok, "k1", "application/json", other, 409, true, "idempotency-conflict"},
		{"invalid body", "POST", "/v1/actions", regTok, "k2", "application/json", []byte(`{"kind":"residence.register","person":{}}`), 422, false, "validation"},
		{"no key", "POST", "/v1/actions", regTok, "", "application/json", body, 400, false, "idempotency-key-required"},
		{"not json", "POST", "/v1/actions", regTok, "k3", "text/plain", []byte("hello"), 415, false, "unsupported-media-type"},
		{"no token", "POST", "/v1/actions", "", "k4", "application/json", body, 401, false, "unauthenticated"},
		{"wrong token", "POST", "/v1/actions", "rh_wrong", "k4", "application/json", body, 401, false, "unauthenticated"},
		{"auditor may not submit", "POST", "/v1/actions", audTok, "k5", "application/json", body, 403, true, "forbidden"},
		{"get", "GET", "/v1/actions/{first}", regTok, "", "", nil, 200, true, ""},
		{"get unknown", "GET", "/v1/actions/0193b3a4-0000-7000-8000-000000000000", regTok, "", "", nil, 404, true, "not-found"},
		{"list", "GET", "/v1/actions?status=pending&limit=1", regTok, "", "", nil, 200, true, ""},
		{"list bad status", "GET", "/v1/actions?status=lost", regTok, "", "", nil, 400, false, "invalid-parameter"},
		{"list bad cursor", "GET", "/v1/actions?cursor=zzz", regTok, "", "", nil, 400, true, "invalid-parameter"},
		{"events", "GET", "/v1/events?wait=50ms&limit=10", regTok, "", "", nil, 200, true, ""},
		{"events bad cursor", "GET", "/v1/events?after=nope", regTok, "", "", nil, 400, true, "invalid-parameter"},
		{"events bad wait", "GET", "/v1/events?wait=2h", regTok, "", "", nil, 400, true, "invalid-parameter"},
		{"query answered", "POST", "/v1/queries", authTok, "", "application/json", query(`["surname", "address"]`), 200, true, ""},
		{"query refused", "POST", "/v1/queries", authTok, "", "application/json", query(`["surname", "contacts"]`), 403, true, "field_not_authorised"},
		{"query malformed", "POST", "/v1/queries", authTok, "", "application/json", []byte(`{"case": 7}`), 400, false, "request_malformed"},
		{"query by a registry", "POST", "/v1/queries", regTok, "", "application/json", query(`["surname"]`), 403, true, "forbidden"},
		{"query unknown", "GET", "/v1/queries/0193b3a4-0000-7000-8000-000000000000", authTok, "", "", nil, 404, true, "not-found"},
		{"overdue queries", "GET", "/v1/ops/queries/overdue", audTok, "", "", nil, 200, true, ""},
		{"add injunction", "POST", "/v1/ops/injunctions", opTok, "", "application/json", injunction, 201, true, ""},
		{"same injunction again", "POST", "/v1/ops/injunctions", opTok, "", "application/json", injunction, 409, true, "conflict"},
		{"injunction incomplete", "POST", "/v1/ops/injunctions", opTok, "", "application/json", []byte(`{"court": "c", "reference": "r", "decided_on": "2999-01-01", "address": {"katottg": "UA12060170010076413", "building": "1"}}`), 422, true, "invalid-request"},
		{"registry may not add injunctions", "POST", "/v1/ops/injunctions", regTok, "", "application/json", injunction, 403, true, "forbidden"},
		{"action under injunction", "POST", "/v1/actions", regTok, "k6", "application/json", enjoined, 409, true, "address-under-injunction"},
		{"injunctions", "GET", "/v1/ops/injunctions?katottg=UA12060170010076413", audTok, "", "", nil, 200, true, ""},
		{"injunctions bad filter", "GET", "/v1/ops/injunctions?lifted=maybe", audTok, "", "", nil, 400, false, "invalid-parameter"},
		{"auditor may not lift", "POST", "/v1/ops/injunctions/{injunction}/lift", audTok, "", "application/json", []byte(`{"reason": "x"}`), 403, true, "forbidden"},
		{"lift injunction", "POST", "/v1/ops/injunctions/{injunction}/lift", opTok, "", "application/json", []byte(`{"reason": "скасовано"}`), 200, true, ""},
		{"lift injunction again", "POST", "/v1/ops/injunctions/{injunction}/lift", opTok, "", "application/json", []byte(`{"reason": "скасовано"}`), 409, true, "conflict"},
		{"action after the lift", "POST", "/v1/actions", regTok, "k6", "application/json", enjoined, 202, true, ""},
		{"health", "GET", "/healthz", "", "", "", nil, 200, true, ""},
		{"ready", "GET", "/readyz", "", "", "", nil, 200, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := strings.ReplaceAll(strings.ReplaceAll(tc.path, "{first}", firstID), "{injunction}", injunctionID)
			req, err := http.NewRequest(tc.method, srv.URL+path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("contract has no route for %s %s: %v", tc.method, path, err)
			}
			in := &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}
			if tc.body != nil {
				req.Body = io.NopCloser(bytes.NewReader(tc.body))
			}
			reqErr := openapi3filter.ValidateRequest(context.Background(), in)
			if tc.requestValid && reqErr != nil {
				t.Fatalf("test request is not valid per the contract: %v", reqErr)
			}
			req.Body = io.NopCloser(bytes.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, raw)
			}
			if tc.wantInProblem != "" {
				if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("error answered with %q, want application/problem+json", ct)
				}
				if !strings.Contains(string(raw), tc.wantInProblem) {
					t.Fatalf("problem %s does not name %q", raw, tc.wantInProblem)
				}
			}
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
				Options: &openapi3filter.Options{IncludeResponseStatus: true},
			}
			out.SetBodyBytes(raw)
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Fatalf("answer does not match the contract: %v\n%s", err, raw)
			}
			if tc.name == "accepted" {
				firstID = extractID(t, raw)
			}
			if tc.name == "add injunction" {
				injunctionID = extractID(t, raw)
			}
		})
	}
}

// query is a social protection department's query by РНОКПП for fields.
func query(fields string) []byte {
	return fmt.Appendf(nil, `{"official": {"id": "SYN-OFF-0042", "name": "Синтетичний працівник"}, "case": "SYN-SOC/1",
	  "basis": {"code": "social.services", "law": "Положення про Реєстр Криворізької міської територіальної громади",
	            "article": "підпункт 6.4.2.3 пункту 6.4"},
	  "purpose": {"id": "social-services", "text": "контракт"}, "search": {"rnokpp": "3300612300"}, "fields": %s}`, fields)
}

// registrationAt is the generator's next declaration or registration, moved
// to a.
func registrationAt(t *testing.T, gen *localregistry.Generator, a action.Address) []byte {
	t.Helper()
	for range 1000 {
		s := gen.Next()
		if s.Kind != action.KindRegister && s.Kind != action.KindDeclare {
			continue
		}
		s.Address, s.PreviousAddress = &a, nil
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatal("the generator gave no registration")
	return nil
}

func extractID(t *testing.T, raw []byte) string {
	t.Helper()
	const key = `"id":"`
	i := bytes.Index(raw, []byte(key))
	if i < 0 {
		t.Fatalf("no id in %s", raw)
	}
	rest := raw[i+len(key):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}
