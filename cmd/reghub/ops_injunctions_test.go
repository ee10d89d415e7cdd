package main

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/httpapi"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/test/pgtest"
)

func TestOpsInjunctionsCLI(t *testing.T) {
	store := postgres.New(pgtest.Pool(t))
	var c opsCLI
	var err error
	if c.operator, err = auth.Register(t.Context(), store, "op-1", "operator one", auth.RoleOperator); err != nil {
		t.Fatal(err)
	}
	if c.auditor, err = auth.Register(t.Context(), store, "aud-1", "auditor one", auth.RoleAuditor); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.Handler(httpapi.Deps{
		Actions: action.NewService(store, nil, nil), Injunctions: ops.NewInjunctions(store), Clients: store,
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	decided := time.Now().AddDate(0, 0, -3).Format(time.DateOnly)

	// add: flags, interspersed as anywhere else; the answer on one line.
	out, _, err := c.run(t, "", "injunctions", "add", "--court", "Синтетичний районний суд", "--reference", "SYN-2/5/25",
		"--decided-on", decided, "--katottg", "UA12060170010076413", "--street", "вул. Вигадана", "--building", "7",
		"--reason", "ухвала надійшла поштою")
	if err != nil || !strings.Contains(out, "recorded injunction ") || !strings.Contains(out, "SYN-2/5/25") ||
		!strings.Contains(out, "bldg 7, whole building") || !strings.Contains(out, decided+" until lifted: active") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`injunction (\S+) `).FindStringSubmatch(out)[1]

	// list: a table; --json: the API's JSON.
	out, _, err = c.run(t, "", "injunctions", "list", "--token", c.auditor)
	if err != nil || !regexp.MustCompile(`(?m)^ID\s+REFERENCE\s+COURT`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^`+id+`\s+SYN-2/5/25\s+.*active: actions at the address are refused\s+op-1$`).MatchString(out) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, _, err = c.run(t, "", "injunctions", "list", "--json", "--katottg", "UA12060170010076413")
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
		} `json:"items"`
	}
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 1 || list.Items[0].ID != id || !list.Items[0].Active {
		t.Fatalf("list --json: %v\n%s", err, out)
	}

	// An auditor may not act; the same ruling twice is refused.
	var p *problemError
	if _, _, err := c.run(t, "", "injunctions", "lift", id, "--reason", "x", "--token", c.auditor); !errors.As(err, &p) || p.Status != 403 {
		t.Fatalf("auditor lift: %v, want the 403 problem", err)
	}
	if _, _, err := c.run(t, "", "injunctions", "add", "--court", "c", "--reference", "SYN-2/5/25", "--decided-on", decided,
		"--katottg", "UA12060170010076413", "--street", "вул. Вигадана", "--building", "7"); !errors.As(err, &p) || p.Status != 409 {
		t.Fatalf("the same ruling twice: %v, want the 409 problem", err)
	}

	// lift ID --reason R.
	out, _, err = c.run(t, "", "injunctions", "lift", id, "--reason", "скасовано апеляційним судом")
	if err != nil || !strings.Contains(out, "lifted injunction "+id) || !strings.Contains(out, "by op-1 (скасовано апеляційним судом)") {
		t.Fatalf("lift: %v\n%s", err, out)
	}
	if out, _, err = c.run(t, "", "injunctions", "list"); err != nil || strings.Contains(out, id) {
		t.Fatalf("a lifted injunction is listed without --lifted: %v\n%s", err, out)
	}
	if out, _, err = c.run(t, "", "injunctions", "list", "--lifted"); err != nil || !strings.Contains(out, id) {
		t.Fatalf("list --lifted: %v\n%s", err, out)
	}

	// Usage errors, caught before any call.
	for _, args := range [][]string{
		{"injunctions"},                          // no verb
		{"injunctions", "remove", id},            // unknown verb
		{"injunctions", "lift", id},              // no reason
		{"injunctions", "lift", "--reason", "r"}, // no id
		{"injunctions", "add", "--court", "c"},   // missing flags
		{"injunctions", "list", "extra"},         // an argument
	} {
		if _, _, err := c.run(t, "", args...); err == nil {
			t.Errorf("ops %q succeeded, want a usage error", args)
		}
	}
	if _, _, err := c.run(t, "", "injunctions", "add", "--court", "c"); err == nil ||
		!strings.Contains(err.Error(), "--reference, --decided-on, --katottg, --building required") {
		t.Errorf("add with missing flags: %v, want them named", err)
	}
}
