package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/audit"
	"github.com/reghub/reghub/test/pgtest"
)

// auditCmd runs `reghub audit args...` and returns its stdout and stderr.
func auditCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runAuditTo(t.Context(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestAuditCLI(t *testing.T) {
	url := pgtest.URL(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	log := postgres.NewAuditLog(pool, postgres.AuditOptions{})
	for i := range 12 {
		r := audit.Record{Kind: audit.KindQuery, Org: fmt.Sprintf("SYN-ORG-%d", i%2), Official: "SYN-OFF-1", Basis: "social.services",
			Purpose: "social-services", CaseRef: fmt.Sprintf("C-%d", i), QueryID: fmt.Sprintf("q-%d", i),
			Search: map[string]string{"unzr": "19900101-00011"}, FieldsAsked: []string{"surname"}, Decision: audit.Granted,
			FieldsDelivered: []string{"surname"}, Persons: []string{"unzr:19900101-00011"}}
		if i%4 == 3 {
			r.Decision, r.Reason, r.FieldsDelivered, r.Persons = audit.Refused, "no_basis", nil, nil
		}
		if err := log.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	key := filepath.Join(t.TempDir(), "audit.key")
	db := []string{"--database-url", url}

	// checkpoint creates the key and signs the head.
	out, errOut, err := auditCmd(t, append([]string{"checkpoint", "--key", key}, db...)...)
	if err != nil || !strings.Contains(out, "checkpoint at record 12") || !strings.Contains(errOut, "created the signing key") {
		t.Fatalf("checkpoint: %q %q %v", out, errOut, err)
	}

	// An intact log verifies, against the public key file.
	out, _, err = auditCmd(t, append([]string{"verify", "--key", key + ".pub"}, db...)...)
	if err != nil || !strings.Contains(out, "OK: the chain is intact") || !strings.Contains(out, "12 records (1–12)") {
		t.Fatalf("verify intact: %v\n%s", err, out)
	}

	// Listings: the person's (granted only: 9 of 12), the requester's.
	out, _, err = auditCmd(t, append([]string{"subject", "19900101-00011"}, db...)...)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 10 || !strings.HasPrefix(lines[0], "SEQ") ||
		!strings.HasPrefix(lines[1], "11 ") || !strings.Contains(lines[1], "SYN-ORG-0") || !strings.Contains(lines[1], "social.services") {
		t.Fatalf("subject listing:\n%s", out)
	}
	out, errOut, err = auditCmd(t, append([]string{"requester", "SYN-ORG-1", "--json", "--limit", "2"}, db...)...)
	if err != nil {
		t.Fatal(err)
	}
	var listed []audit.Stored
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 || listed[0].Seq != 12 || listed[1].Seq != 10 ||
		listed[0].Org != "SYN-ORG-1" || !strings.Contains(errOut, "--before 10") {
		t.Fatalf("requester --json: %v %+v\n%s", err, listed, errOut)
	}
	if out, _, err = auditCmd(t, append([]string{"requester", "SYN-ORG-1", "--since", time.Now().Add(24 * time.Hour).Format(time.DateOnly)}, db...)...); err != nil ||
		strings.Count(out, "\n") != 1 {
		t.Fatalf("requester --since tomorrow: %v\n%s", err, out)
	}

	// Tampered: each problem is printed and the command fails (exit 1).
	for _, s := range []string{
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`UPDATE audit_log SET body = replace(body, '"C-6"', '"C-66"') WHERE seq = 7`,
		`DELETE FROM audit_log WHERE seq = 9`,
	} {
		if _, err := pool.Exec(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err = auditCmd(t, append([]string{"verify", "--key", key}, db...)...)
	var rep reported
	if !errors.As(err, &rep) {
		t.Fatalf("verify tampered: err = %v; want a reported failure (exit 1)\n%s", err, out)
	}
	for _, want := range []string{
		"PROBLEM modified: record 7 was modified",
		"PROBLEM deleted: record 9 missing (deleted)",
		"2 problem(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	t.Log("\n" + out)

	out, _, err = auditCmd(t, append([]string{"verify", "--json"}, db...)...)
	var got struct {
		Intact   bool
		Problems []struct {
			Kind     string
			From, To int64
		}
	}
	if !errors.As(err, &rep) || json.Unmarshal([]byte(out), &got) != nil || got.Intact || len(got.Problems) != 2 ||
		got.Problems[0].From != 7 || got.Problems[1].From != 9 {
		t.Fatalf("verify --json: %v %+v\n%s", err, got, out)
	}

	// Usage errors.
	if _, _, err := auditCmd(t, append([]string{"subject"}, db...)...); err == nil {
		t.Fatal("subject without an ID: no error")
	}
	if _, _, err := auditCmd(t, "frobnicate"); err == nil {
		t.Fatal("unknown subcommand: no error")
	}
}
