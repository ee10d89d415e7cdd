package pgtest_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestURLsAreDistinctMigratedDatabases(t *testing.T) {
	t.Parallel()
	a, b := pgtest.URL(t), pgtest.URL(t)
	if a == b {
		t.Fatalf("two URL calls returned the same URL %s", a)
	}
	seen := map[string]bool{}
	for _, tc := range []struct {
		name string
		url  string
	}{
		{"first", a},
		{"second", b},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := connect(t, tc.url)
			var db string
			if err := conn.QueryRow(t.Context(), "select current_database()").Scan(&db); err != nil {
				t.Fatal(err)
			}
			if seen[db] {
				t.Fatalf("database %s used twice", db)
			}
			seen[db] = true
			current, latest, err := postgres.SchemaVersion(t.Context(), conn)
			if err != nil {
				t.Fatal(err)
			}
			if latest == 0 || current != latest {
				t.Fatalf("schema version %d, latest %d: want migrated", current, latest)
			}
			// Isolation: a table made here is not seen by the other database.
			if _, err := conn.Exec(t.Context(), "create table only_in_"+tc.name+" (id int)"); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := conn.QueryRow(t.Context(), "select count(*) from pg_class where relname like 'only_in_%'").Scan(&n); err != nil || n != 1 {
				t.Fatalf("tables only_in_*: %d, %v; want 1", n, err)
			}
		})
	}
}

func TestEmptyURLIsNotMigrated(t *testing.T) {
	t.Parallel()
	current, latest, err := postgres.SchemaVersion(t.Context(), connect(t, pgtest.EmptyURL(t)))
	if err != nil || current != 0 || latest == 0 {
		t.Fatalf("SchemaVersion = %d, %d, %v; want 0, >0, nil", current, latest, err)
	}
}

func TestPoolsInParallel(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	dbs := map[string]bool{}
	for i := range 8 {
		t.Run("pool", func(t *testing.T) {
			t.Parallel()
			pool := pgtest.Pool(t)
			var db string
			if err := pool.QueryRow(t.Context(), "select current_database()").Scan(&db); err != nil {
				t.Fatalf("pool %d: %v", i, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if dbs[db] {
				t.Fatalf("database %s handed out twice", db)
			}
			dbs[db] = true
		})
	}
}

// TestClusterRestart runs alone (not parallel): it restarts the server.
func TestClusterRestart(t *testing.T) {
	c := pgtest.Cluster(t)
	for _, tc := range []struct {
		name      string
		immediate bool
	}{
		{"fast", false},
		{"immediate", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.URL(t)
			if err := c.Restart(t.Context(), tc.immediate); err != nil {
				t.Fatal(err)
			}
			var one int
			if err := connect(t, url).QueryRow(t.Context(), "select 1").Scan(&one); err != nil {
				t.Fatalf("database from before the restart: %v", err)
			}
			connect(t, pgtest.URL(t)) // and new databases still come
		})
	}
}
