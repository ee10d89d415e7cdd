package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/console"
	"github.com/reghub/reghub/adapters/postgres"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type fixture struct {
	srv   *httptest.Server
	store *postgres.Store
	tok   map[auth.Role]string
	// dead deliveries, by destination
	dead map[action.Destination][]uuid.UUID
}

func newFixture(t *testing.T, actions int) *fixture {
	t.Helper()
	store := postgres.New(pgtest.Pool(t))
	f := &fixture{store: store, tok: map[auth.Role]string{}, dead: map[action.Destination][]uuid.UUID{}}
	for id, role := range map[string]auth.Role{"reg": auth.RoleRegistry, "op-1": auth.RoleOperator, "aud-1": auth.RoleAuditor} {
		tok, err := auth.Register(t.Context(), store, id, id, role)
		if err != nil {
			t.Fatal(err)
		}
		f.tok[role] = tok
	}
	gen := localregistry.NewGenerator(7, time.Now())
	for i := range actions {
		body := gen.NextJSON()
		sub, err := action.Parse(body, time.Now())
		if err != nil {
			t.Fatalf("generated submission is invalid: %v", err)
		}
		id := uuid.Must(uuid.NewV7())
		a := action.NewAction{
			ID: id, Reference: "RH-" + id.String(), ClientID: "reg", IdempotencyKey: fmt.Sprint("k", i), BodyHash: []byte{byte(i)},
			Kind: sub.Kind, PersonKey: fmt.Sprint("person-", i), Body: body, CreatedAt: time.Now().Add(-time.Hour),
			Messages: []action.NewMessage{
				{ID: uuid.Must(uuid.NewV7()), Destination: action.DestMigrationService},
				{ID: uuid.Must(uuid.NewV7()), Destination: action.DestNationalRegistry},
			},
		}
		if _, _, created, err := store.Insert(t.Context(), a); err != nil || !created {
			t.Fatalf("insert: created=%v err=%v", created, err)
		}
	}
	msgs, err := store.Claim(t.Context(), 100, time.Minute, uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	var results []outbox.Result
	for _, m := range msgs {
		results = append(results, outbox.Result{
			MessageID: m.ID, ActionID: m.ActionID, ClaimToken: m.ClaimToken, State: action.DeliveryDead, Sent: true,
			LastError: "upstream timed out", ErrorClass: outbox.ClassTimeout,
			Attempt: outbox.Attempt{Number: m.Attempt, Stage: m.Stage, StartedAt: time.Now().Add(-time.Minute), Duration: time.Second,
				Outcome: "error", ErrorClass: outbox.ClassTimeout, Detail: "upstream timed out"},
		})
		f.dead[m.Destination] = append(f.dead[m.Destination], m.ID)
	}
	if _, err := store.Complete(t.Context(), results); err != nil {
		t.Fatal(err)
	}
	senders := soapclient.NewSenders(soapclient.Config{
		DMSURL: "http://127.0.0.1:1", EDDRURL: "http://127.0.0.1:1", RegistrationBody: mapping.RegistrationBody{Code: "X"},
	}, nil)
	f.srv = httptest.NewServer(console.Handler(console.Deps{
		Ops: ops.NewService(store, ops.RenderWith(senders), nil), Clients: store, Activity: store,
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// browser is one signed-in (or not) user agent; it does not follow
// redirects, so that tests see them.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: f.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type answer struct {
	status   int
	body     string
	location string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(method, path string, form url.Values) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(raw); m != nil {
		b.csrf = string(m[1])
	}
	return answer{status: resp.StatusCode, body: string(raw), location: resp.Header.Get("Location")}
}

func (b *browser) get(path string) answer { b.t.Helper(); return b.do("GET", path, nil) }

// post sends a form with the session's CSRF token.
func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	return b.do("POST", path, form)
}

func (b *browser) login(token string) answer {
	b.t.Helper()
	return b.do("POST", "/console/login", url.Values{"token": {token}})
}

// signedIn returns a browser signed in with the role's token, holding a
// CSRF token from the dashboard.
func (f *fixture) signedIn(t *testing.T, role auth.Role) *browser {
	t.Helper()
	b := f.browser(t)
	if a := b.login(f.tok[role]); a.status != http.StatusSeeOther || a.location != "/console/" {
		t.Fatalf("sign in as %s: %d %s\n%s", role, a.status, a.location, a.body)
	}
	if a := b.get("/console/"); a.status != 200 {
		t.Fatalf("dashboard: %d", a.status)
	}
	return b
}

func mustContain(t *testing.T, a answer, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(a.body, w) {
			t.Fatalf("page lacks %q:\n%s", w, a.body)
		}
	}
}

func mustNotContain(t *testing.T, a answer, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(a.body, w) {
			t.Fatalf("page has %q:\n%s", w, a.body)
		}
	}
}

func TestConsole(t *testing.T) {
	f := newFixture(t, 3)
	dms := f.dead[action.DestMigrationService]
	if len(dms) != 3 {
		t.Fatalf("fixture: %d dead dms deliveries, want 3", len(dms))
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"signed out is sent to sign in", func(t *testing.T) {
			b := f.browser(t)
			for _, p := range []string{"/console/", "/console/deliveries", "/console/steps"} {
				if a := b.get(p); a.status != http.StatusSeeOther || a.location != "/console/login" {
					t.Fatalf("GET %s: %d %q", p, a.status, a.location)
				}
			}
			a := b.get("/console/login")
			mustContain(t, a, `<html lang="en">`, `<form id="login" method="post" action="/console/login">`,
				`<label for="token">Access token</label>`, `id="sign-in"`)
		}},
		{"unknown token is refused", func(t *testing.T) {
			a := f.browser(t).login("rh_nope")
			if a.status != http.StatusUnauthorized {
				t.Fatalf("status %d", a.status)
			}
			mustContain(t, a, `<p id="error" role="alert">`)
		}},
		{"registry token is refused", func(t *testing.T) {
			b := f.browser(t)
			a := b.login(f.tok[auth.RoleRegistry])
			if a.status != http.StatusForbidden {
				t.Fatalf("status %d", a.status)
			}
			mustContain(t, a, `<p id="error" role="alert">`, "registry")
			if a := b.get("/console/"); a.status != http.StatusSeeOther {
				t.Fatalf("refused sign-in opened a session: %d", a.status)
			}
		}},
		{"dashboard shows each destination and the chart", func(t *testing.T) {
			b := f.signedIn(t, auth.RoleOperator)
			a := b.get("/console/")
			mustContain(t, a, `<table id="destinations"`, `<tr data-destination="dms">`, `<tr data-destination="eddr">`,
				`<span id="whoami">op-1 (operator)</span>`, `id="pause-dms"`, `id="pause-reason-dms"`,
				`id="activity-chart"`, `<title id="activity-title">`, "6 failed or rejected")
			if !regexp.MustCompile(`data-state="dead"><a [^>]*>3</a>`).MatchString(a.body) {
				t.Fatalf("dashboard does not count 3 dead:\n%s", a.body)
			}
		}},
		{"deliveries lists the dead ones by filter", func(t *testing.T) {
			b := f.signedIn(t, auth.RoleOperator)
			a := b.get("/console/deliveries?status=dead&destination=dms")
			if a.status != 200 {
				t.Fatalf("status %d", a.status)
			}
			mustContain(t, a, `<form id="filters"`, `id="f-status"`, `id="f-kind"`, `<table id="deliveries">`, `id="bulk-retry-form"`)
			for _, id := range dms {
				mustContain(t, a, fmt.Sprintf(`<tr data-message-id="%s">`, id), fmt.Sprintf(`href="/console/deliveries/%s"`, id))
			}
			mustNotContain(t, a, f.dead[action.DestNationalRegistry][0].String())
			if a := b.get("/console/deliveries?older_than=soon"); a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="error"`) {
				t.Fatalf("bad filter: %d", a.status)
			}
		}},
		{"deliveries page", func(t *testing.T) {
			b := f.signedIn(t, auth.RoleAuditor)
			a := b.get("/console/deliveries?status=dead&cursor=")
			mustContain(t, a, `<tr data-message-id="`)
		}},
		{"detail shows the message and attempts", func(t *testing.T) {
			b := f.signedIn(t, auth.RoleOperator)
			a := b.get("/console/deliveries/" + dms[0].String())
			if a.status != 200 {
				t.Fatalf("status %d", a.status)
			}
			mustContain(t, a, `<pre id="message-xml"`, `<table id="attempts"`, "upstream timed out", `id="retry"`,
				`id="acknowledge"`, `id="cancel-action"`, "Envelope")
			if !regexp.MustCompile(`&lt;(\w+:)?id\b[^\n]*?&gt;` + dms[0].String() + `&lt;/`).MatchString(a.body) {
				t.Fatalf("message lacks the X-Road id %s:\n%s", dms[0], a.body)
			}
			if a := b.get("/console/deliveries/" + uuid.NewString()); a.status != http.StatusNotFound {
				t.Fatalf("unknown delivery: %d", a.status)
			}
		}},
		{"auditor sees but cannot act", func(t *testing.T) {
			b := f.signedIn(t, auth.RoleAuditor)
			a := b.get("/console/deliveries/" + dms[0].String())
			mustContain(t, a, `<pre id="message-xml"`)
			mustNotContain(t, a, `id="retry"`, `id="acknowledge"`, `id="cancel-action"`)
			mustNotContain(t, b.get("/console/"), `id="pause-dms"`)
			mustNotContain(t, b.get("/console/deliveries"), `id="bulk-retry-form"`)
			a = b.post("/console/deliveries/"+dms[0].String()+"/retry", url.Values{"reason": {"try"}})
			if a.status != http.StatusForbidden || !strings.Contains(a.body, "Forbidden") {
				t.Fatalf("auditor retry: %d", a.status)
			}
			a = b.post("/console/destinations/dms/pause", url.Values{"reason": {"x"}})
			if a.status != http.StatusForbidden {
				t.Fatalf("auditor pause: %d", a.status)
			}
		}},
		{"CSRF mismatch is refused", func(t *testing.T) {
			b := f.signedIn(t, auth.RoleOperator)
			a := b.post("/console/deliveries/"+dms[0].String()+"/retry", url.Values{"csrf": {"forged"}, "reason": {"x"}})
			if a.status != http.StatusForbidden {
				t.Fatalf("status %d", a.status)
			}
		}},
		{"unknown page is 404", func(t *testing.T) {
			b := f.signedIn(t, auth.RoleOperator)
			if a := b.get("/console/nowhere"); a.status != http.StatusNotFound {
				t.Fatalf("status %d", a.status)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}

	// Then the steps, in order: they change the fixture.
	t.Run("bulk retry confirms the count, then retries", func(t *testing.T) {
		b := f.signedIn(t, auth.RoleOperator)
		filter := url.Values{"status": {"dead"}, "destination": {"dms"}, "error_class": {""}, "kind": {""}, "older_than": {""}, "reason": {"upstream back"}}
		a := b.post("/console/deliveries/retry", filter)
		if a.status != 200 {
			t.Fatalf("confirmation: %d\n%s", a.status, a.body)
		}
		mustContain(t, a, `<p id="confirm-count">3 deliveries match</p>`, `<button type="submit" id="confirm-retry">Retry 3 deliveries</button>`,
			`name="confirm" value="1"`)
		filter.Set("confirm", "1")
		a = b.post("/console/deliveries/retry", filter)
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/console/deliveries?") {
			t.Fatalf("bulk retry: %d %q", a.status, a.location)
		}
		a = b.get(a.location)
		mustContain(t, a, `<p id="flash" role="status">Retried 3 deliveries</p>`)
		mustNotContain(t, a, `<tr data-message-id="`)
	})
	t.Run("single steps on a delivery", func(t *testing.T) {
		b := f.signedIn(t, auth.RoleOperator)
		eddr := f.dead[action.DestNationalRegistry]
		page := "/console/deliveries/" + eddr[0].String()
		a := b.post(page+"/retry", url.Values{"reason": {"one more"}})
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, page+"?") {
			t.Fatalf("retry: %d %q", a.status, a.location)
		}
		mustContain(t, b.get(a.location), `<p id="flash" role="status">`, "one more")
		// Acknowledging without a reference is refused, and says why.
		a = b.post(page+"/acknowledge", url.Values{"reference": {""}, "justification": {""}})
		mustContain(t, b.get(a.location), `<p id="error" role="alert">`)
		a = b.post(page+"/acknowledge", url.Values{"reference": {"EDDR-1"}, "justification": {"confirmed by phone"}})
		mustContain(t, b.get(a.location), `<p id="flash" role="status">Acknowledged by hand.</p>`)
		a = b.post("/console/destinations/dms/pause", url.Values{"reason": {"maintenance"}})
		if a.status != http.StatusSeeOther {
			t.Fatalf("pause: %d", a.status)
		}
		mustContain(t, b.get(a.location), `id="resume-dms"`, "maintenance")
		a = b.post("/console/destinations/dms/resume", url.Values{"reason": {"done"}})
		mustContain(t, b.get(a.location), `id="pause-dms"`)
	})
	t.Run("steps page lists the steps", func(t *testing.T) {
		b := f.signedIn(t, auth.RoleAuditor)
		a := b.get("/console/steps")
		mustContain(t, a, `<table id="steps">`, "bulk_retry", "upstream back", "acknowledge", "confirmed by phone", "pause", "resume")
		if strings.Index(a.body, ">resume<") > strings.Index(a.body, ">bulk_retry<") {
			t.Fatalf("steps are not newest first:\n%s", a.body)
		}
	})
	t.Run("sign out ends the session", func(t *testing.T) {
		b := f.signedIn(t, auth.RoleOperator)
		if a := b.post("/console/logout", nil); a.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", a.status)
		}
		if a := b.get("/console/"); a.status != http.StatusSeeOther {
			t.Fatalf("after logout: %d", a.status)
		}
	})
}

// Revoking a client's token ends its console sessions on their next request.
func TestRevokedTokenEndsSession(t *testing.T) {
	f := newFixture(t, 1)
	b := f.signedIn(t, auth.RoleOperator)
	if err := f.store.RevokeClient(t.Context(), "op-1"); err != nil {
		t.Fatal(err)
	}
	if a := b.get("/console/"); a.status != http.StatusSeeOther || a.location != "/console/login" {
		t.Fatalf("after revocation: %d %q, want a redirect to sign in", a.status, a.location)
	}
}
