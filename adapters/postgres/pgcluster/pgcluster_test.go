package pgcluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/reghub/reghub/adapters/postgres/pgcluster"
)

// requireBinaries skips (or, on CI, fails) when no PostgreSQL binaries exist.
func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := pgcluster.FindBinDir(); err != nil {
		if strings.EqualFold(os.Getenv("CI"), "true") {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func start(t *testing.T, o pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestStartQueryStopReuse(t *testing.T) {
	requireBinaries(t)
	for _, tc := range []struct {
		name    string
		durable bool
		port    int    // 0: pick one
		subdir  string // under the test's temp dir
	}{
		{name: "throwaway", durable: false, subdir: "nested/pgdata"},
		{name: "durable", durable: true, subdir: "pgdata"},
		{name: "path too long for a unix socket", subdir: strings.Repeat("d", 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tc.subdir)
			o := pgcluster.Options{DataDir: dir, Durable: tc.durable, Port: tc.port}
			c := start(t, o)
			if c.Reused() {
				t.Fatal("first Start reports a reused server")
			}
			if c.Port() == 0 || c.DataDir() != dir {
				t.Fatalf("Port() = %d, DataDir() = %q", c.Port(), c.DataDir())
			}

			conn := connect(t, c.URL())
			var one int
			if err := conn.QueryRow(t.Context(), "select 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("select 1 = %d, %v", one, err)
			}
			var db, fsync string
			if err := conn.QueryRow(t.Context(), "select current_database(), current_setting('fsync')").Scan(&db, &fsync); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "on", false: "off"}[tc.durable]; db != "reghub" || fsync != want {
				t.Fatalf("database %q fsync %q, want reghub and %q", db, fsync, want)
			}
			if _, err := conn.Exec(t.Context(), "create table kept (v text); insert into kept values ('survives')"); err != nil {
				t.Fatal(err)
			}
			conn.Close(t.Context())

			// A second Start while the server runs reuses it.
			again := start(t, o)
			if !again.Reused() || again.Port() != c.Port() {
				t.Fatalf("second Start: reused=%v port=%d, want reuse of port %d", again.Reused(), again.Port(), c.Port())
			}

			if err := c.Stop(t.Context()); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if _, err := pgx.Connect(t.Context(), c.URL()); err == nil {
				t.Fatal("server still accepts connections after Stop")
			}

			// A stale postmaster.pid (server SIGKILLed with its children) does
			// not stop the next Start; it keeps the data.
			writeStalePidFile(t, dir, c.Port())
			restarted := start(t, o)
			if restarted.Reused() {
				t.Fatal("Start after Stop reports a reused server")
			}
			var v string
			if err := connect(t, restarted.URL()).QueryRow(t.Context(), "select v from kept").Scan(&v); err != nil || v != "survives" {
				t.Fatalf("data after restart: %q, %v", v, err)
			}
		})
	}
}

func TestRestart(t *testing.T) {
	requireBinaries(t)
	c := start(t, pgcluster.Options{DataDir: t.TempDir()})
	for _, tc := range []struct {
		name      string
		immediate bool
	}{
		{"fast", false},
		{"immediate", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Restart(t.Context(), tc.immediate); err != nil {
				t.Fatalf("Restart: %v", err)
			}
			var one int
			if err := connect(t, c.URL()).QueryRow(t.Context(), "select 1").Scan(&one); err != nil {
				t.Fatalf("after restart: %v", err)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	requireBinaries(t)
	c := start(t, pgcluster.Options{DataDir: t.TempDir()})
	for _, tc := range []struct {
		name, got, want string
	}{
		{"URL", c.URL(), "/reghub?sslmode=disable"},
		{"AdminURL", c.AdminURL("postgres"), "/postgres?sslmode=disable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "postgres://postgres@127.0.0.1:"
			if !strings.HasPrefix(tc.got, prefix) || !strings.HasSuffix(tc.got, tc.want) {
				t.Fatalf("%s = %q", tc.name, tc.got)
			}
			connect(t, tc.got)
		})
	}
}

func TestStartErrors(t *testing.T) {
	requireBinaries(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		o    pgcluster.Options
		want string
	}{
		{"no data dir", pgcluster.Options{}, "DataDir is empty"},
		{"bad bin dir", pgcluster.Options{DataDir: t.TempDir(), BinDir: t.TempDir()}, "initdb"},
		{"port in use", pgcluster.Options{DataDir: t.TempDir(), Port: busy.Addr().(*net.TCPAddr).Port}, "tail of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pgcluster.Start(t.Context(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start error = %v, want one mentioning %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestFindBinDir(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pgBin  string
		wantOK bool
	}{
		{"PG_BIN without binaries", t.TempDir(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PG_BIN", tc.pgBin)
			_, err := pgcluster.FindBinDir()
			if (err == nil) != tc.wantOK {
				t.Fatalf("FindBinDir error = %v, want ok=%v", err, tc.wantOK)
			}
		})
	}
	if _, err := pgcluster.FindBinDir(); err != nil && !errors.Is(err, pgcluster.ErrNoBinaries) {
		t.Fatalf("FindBinDir: %v", err)
	}
}

// writeStalePidFile leaves a postmaster.pid naming a process that does not exist.
func writeStalePidFile(t *testing.T, dir string, port int) {
	t.Helper()
	pid := 4_000_000
	for ; pid > 1; pid-- {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
	}
	content := fmt.Sprintf("%d\n%s\n%d\n%d\n%s\n127.0.0.1\n  1234   5678\nready   \n", pid, dir, time.Now().Unix(), port, dir)
	p := filepath.Join(dir, "postmaster.pid")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// Owned like the data directory, as the server's own file would be.
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if err := os.Chown(p, int(st.Uid), int(st.Gid)); err != nil {
		t.Fatal(err)
	}
}
