package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/test/pgtest"
	"golang.org/x/sync/errgroup"
)

// TestMain lets pgtest stop the PostgreSQL it starts. It is the package's
// only TestMain: other test files of this package rely on it.
func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMigrate(t *testing.T) {
	for _, tc := range []struct {
		name string
		runs int // sequential Migrate calls
		par  int // concurrent Migrate calls, each on its own connection
	}{
		{name: "once", runs: 1},
		{name: "twice is idempotent", runs: 2},
		{name: "replicas at once", par: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := pgtest.EmptyURL(t)
			conn, err := pgx.Connect(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())

			current, latest, err := postgres.SchemaVersion(t.Context(), conn)
			if err != nil || current != 0 || latest < 1 {
				t.Fatalf("before: SchemaVersion = %d, %d, %v; want 0, >=1, nil", current, latest, err)
			}
			for range tc.runs {
				if err := postgres.Migrate(t.Context(), conn); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
			}
			var g errgroup.Group
			for range tc.par {
				g.Go(func() error { return postgres.MigrateURL(t.Context(), url) })
			}
			if err := g.Wait(); err != nil {
				t.Fatalf("concurrent MigrateURL: %v", err)
			}
			current, latest, err = postgres.SchemaVersion(t.Context(), conn)
			if err != nil || current != latest {
				t.Fatalf("after: SchemaVersion = %d, %d, %v; want current == latest", current, latest, err)
			}
			var rows int
			if err := conn.QueryRow(t.Context(), "select count(*) from "+postgres.VersionTable).Scan(&rows); err != nil || rows != 1 {
				t.Fatalf("%s has %d rows, %v; want 1", postgres.VersionTable, rows, err)
			}
		})
	}
}

func TestMigrateURLBadURL(t *testing.T) {
	if err := postgres.MigrateURL(t.Context(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("MigrateURL to a closed port succeeded")
	}
}
