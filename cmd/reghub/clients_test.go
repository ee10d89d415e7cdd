package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/test/pgtest"
)

// TestMain lets pgtest stop the PostgreSQL it starts. It is the package's
// only TestMain: other test files of this package rely on it.
func TestMain(m *testing.M) { pgtest.Main(m) }

// clients runs `reghub clients args...` and returns its stdout and stderr.
func clients(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runClientsTo(t.Context(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestClientsAddListRevoke(t *testing.T) {
	url := pgtest.URL(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := postgres.New(pool)

	// add prints the token once, with a warning on stderr.
	out, errOut, err := clients(t, "add", "--database-url", url, "--id", "root", "--name", "first admin", "--role", "admin")
	if err != nil {
		t.Fatalf("add: %v (stderr %s)", err, errOut)
	}
	m := regexp.MustCompile(`(?m)^token: (rh_\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("add printed no token:\n%s", out)
	}
	if !strings.Contains(errOut, "only this once") {
		t.Errorf("add warned nothing about the token on stderr: %q", errOut)
	}
	c, err := auth.Authenticate(t.Context(), store, m[1])
	if err != nil || c.ID != "root" || c.Name != "first admin" || c.Role != auth.RoleAdmin {
		t.Fatalf("printed token authenticates as %+v, %v; want root/admin", c, err)
	}

	// add --json
	out, _, err = clients(t, "add", "--database-url", url, "--id", "reg-1", "--role", "registry", "--json")
	if err != nil {
		t.Fatalf("add --json: %v", err)
	}
	var added struct{ ID, Name, Role, Token string }
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatalf("add --json printed %q: %v", out, err)
	}
	if added.ID != "reg-1" || added.Name != "reg-1" || added.Role != "registry" {
		t.Fatalf("add --json = %+v", added)
	}
	if c, err := auth.Authenticate(t.Context(), store, added.Token); err != nil || c.ID != "reg-1" {
		t.Fatalf("JSON token authenticates as %+v, %v", c, err)
	}

	// revoke, then list shows it revoked and its token fails.
	if out, _, err := clients(t, "revoke", "--database-url", url, "--id", "reg-1"); err != nil || !strings.Contains(out, "reg-1 revoked") {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	if _, err := auth.Authenticate(t.Context(), store, added.Token); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked token: err = %v; want ErrUnauthenticated", err)
	}
	if _, _, err := clients(t, "revoke", "--database-url", url, "--id", "reg-1"); !errors.Is(err, auth.ErrNoSuchClient) {
		t.Fatalf("second revoke: err = %v; want ErrNoSuchClient", err)
	}

	out, _, err = clients(t, "list", "--database-url", url)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// root, reg-1 and the hub's own client of the monthly sets.
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "REVOKED") {
		t.Fatalf("list printed:\n%s", out)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		switch f[0] {
		case "root":
			// Columns: ID NAME ROLE CREATED REVOKED WEBHOOK.
			if f[len(f)-2] != "-" {
				t.Errorf("root listed as revoked: %q", l)
			}
		case "reghub":
			if !strings.Contains(l, " system ") {
				t.Errorf("the hub's own client not listed with role system: %q", l)
			}
		case "reg-1":
			if f[len(f)-2] == "-" {
				t.Errorf("reg-1 not listed as revoked: %q", l)
			}
		default:
			t.Errorf("unexpected line %q", l)
		}
	}

	out, _, err = clients(t, "list", "--database-url", url, "--json")
	if err != nil {
		t.Fatalf("list --json: %v", err)
	}
	var listed []struct {
		ID        string
		RevokedAt *string `json:"revoked_at"`
		CreatedAt string  `json:"created_at"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 3 {
		t.Fatalf("list --json printed %q (%v)", out, err)
	}
	for _, l := range listed {
		if l.CreatedAt == "" || (l.ID == "reg-1") != (l.RevokedAt != nil) {
			t.Errorf("list --json entry %+v", l)
		}
	}
}

func TestClientsRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"add", "--role", "admin"},
		{"add", "--id", "x", "--role", "superuser"},
		{"revoke"},
		{"list", "extra"},
	} {
		// None reaches the database: no URL is needed.
		if _, _, err := clients(t, args...); err == nil {
			t.Errorf("clients %q succeeded", args)
		}
	}
}
