package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/reghub/reghub/test/pgtest"
)

func monthlyCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := monthlyCommand(t.Context(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// reghub monthly build stores a month's sets once: a second run finds
// them standing and builds nothing.
func TestMonthlyBuild(t *testing.T) {
	url := pgtest.URL(t)
	out, errOut, err := monthlyCmd(t, "build", "--database-url", url, "--period", "2026-09")
	if err != nil {
		t.Fatalf("build: %v (stderr %s)", err, errOut)
	}
	for _, want := range []string{"voter_register 2026-09: stored as voter_register:2026-09 ", "statistics 2026-09: stored as statistics:2026-09 "} {
		if !strings.Contains(out, want) {
			t.Errorf("build printed %q, want a line with %q", out, want)
		}
	}
	out, _, err = monthlyCmd(t, "build", "--database-url", url, "--period", "2026-09", "--recipient", "statistics")
	if err != nil || !strings.Contains(out, "statistics 2026-09: a set stands") || strings.Contains(out, "voter_register") {
		t.Errorf("second build printed %q (%v), want only that the statistics set stands", out, err)
	}
}

func TestMonthlyBuildRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"send"},
		{"build"},
		{"build", "--period", "2026-13"},
		{"build", "--period", "2026-09", "--recipient", "dms"},
		{"build", "--period", "2026-09", "--statistics-threshold", "3"},
		{"build", "--period", "2026-09", "--monthly-tz", "Mars/Olympus"},
	} {
		if _, _, err := monthlyCmd(t, args...); err == nil {
			t.Errorf("monthly %q: no error", args)
		}
	}
}
