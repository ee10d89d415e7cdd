// Package pgtest gives every test a fresh, migrated database on a real
// PostgreSQL server.
//
// The server comes from the first of these that is available:
//
//  1. TEST_DATABASE_URL, a postgres:// URL of a server on which the user may
//     create databases;
//  2. the local PostgreSQL server binaries: one throw-away cluster
//     (pgcluster, fsync off) per test process, in a temporary directory;
//  3. a PostgreSQL container through testcontainers-go, when a Docker engine
//     is healthy.
//
// With none of them the test is skipped, or fails when CI=true.
//
// Once per process a template database is created and migrated with
// postgres.Migrate; each URL (or Pool) call then creates its own database
// from that template and drops it when the test ends, so tests are isolated
// and may run in parallel.
//
// A package that uses pgtest must call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// so that the local cluster is stopped, and its directory removed, when the
// tests end. A cluster left behind by a test process that was killed is
// stopped and removed by the next process that starts one.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/adapters/postgres/pgcluster"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// Sources of the PostgreSQL server, as reported in messages.
const (
	sourceEnv       = "TEST_DATABASE_URL"
	sourceLocal     = "local PostgreSQL binaries"
	sourceContainer = "testcontainers"
)

// containerImage is used when PostgreSQL comes from testcontainers.
const containerImage = "postgres:15-alpine"

// tempPrefix names the temporary directories of local clusters.
const tempPrefix = "reghub-pgtest-"

// maxPoolConns bounds each Pool so that parallel tests stay well under the
// server's max_connections (200 for local clusters).
const maxPoolConns = 10

var (
	mainCalled atomic.Bool
	dbCounter  atomic.Int64

	mu     sync.Mutex // guards the fields below and serialises CREATE DATABASE
	inited bool
	srv    *server
	skip   string // why tests skip (or fail on CI): no server available
	errSrv error  // the server could not be set up
)

// server is the PostgreSQL server this process uses.
type server struct {
	source    string
	adminURL  string // a maintenance database, never used as a template
	template  string // migrated template database
	suffix    string // keeps names unique on a shared server
	cluster   *pgcluster.Cluster
	tempDir   string
	container *tcpostgres.PostgresContainer
}

// Main runs the tests, then stops the local cluster (or container) it
// started, removes its directory, and exits with the tests' status. Call it
// from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// URL creates a fresh database, migrated to the latest schema, and returns
// its connection URL. The database is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	s := get(t)
	return s.newDatabase(t, s.template)
}

// EmptyURL creates a fresh database without any migration applied (for
// tests of the migrations themselves) and returns its connection URL. The
// database is dropped when the test ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return get(t).newDatabase(t, "template0")
}

// Pool opens a pool on a fresh migrated database (see URL) and closes it
// when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = maxPoolConns
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Cluster returns the local cluster the databases live on, for tests that
// stop or restart PostgreSQL. It skips the test when PostgreSQL comes from
// TEST_DATABASE_URL or a container. A restart affects every test of the
// process, so such tests should not run in parallel with others.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	s := get(t)
	if s.cluster == nil {
		t.Skipf("pgtest: needs a local PostgreSQL cluster, but PostgreSQL comes from %s", s.source)
	}
	return s.cluster
}

// get returns the server, setting it up on first use, or ends the test.
func get(t testing.TB) *server {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from TestMain (func TestMain(m *testing.M) { pgtest.Main(m) }) so the PostgreSQL it starts is stopped")
	}
	mu.Lock()
	if !inited {
		inited = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		srv, skip, errSrv = setup(ctx)
		cancel()
	}
	s, skipMsg, err := srv, skip, errSrv
	mu.Unlock()
	switch {
	case err != nil:
		t.Fatalf("pgtest: %v", err)
	case skipMsg != "" && strings.EqualFold(os.Getenv("CI"), "true"):
		t.Fatalf("pgtest: %s (CI=true, so this fails instead of skipping)", skipMsg)
	case skipMsg != "":
		t.Skipf("pgtest: %s", skipMsg)
	}
	return s
}

// setup finds a server and creates the migrated template database.
func setup(ctx context.Context) (*server, string, error) {
	s, skipMsg, err := findServer(ctx)
	if s == nil || err != nil {
		return nil, skipMsg, err
	}
	s.template = "reghub_template" + s.suffix
	if err := s.createTemplate(ctx); err != nil {
		if serr := s.stop(ctx); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, "", err
	}
	return s, "", nil
}

func findServer(ctx context.Context) (*server, string, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			return nil, "", errors.New("TEST_DATABASE_URL must be a postgres:// URL")
		}
		return &server{source: sourceEnv, adminURL: u, suffix: "_" + randomHex(4)}, "", nil
	}

	binErr := error(nil)
	if _, binErr = pgcluster.FindBinDir(); binErr == nil {
		s, err := startLocal(ctx)
		return s, "", err
	}

	s, dockerErr := startContainer(ctx)
	if dockerErr == nil {
		return s, "", nil
	}
	return nil, fmt.Sprintf("no PostgreSQL to test against: TEST_DATABASE_URL is unset; %v (install the postgresql server package or set PG_BIN); no Docker engine for testcontainers (%v)", binErr, dockerErr), nil
}

func startLocal(ctx context.Context) (*server, error) {
	reapOrphans()
	dir, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	c, err := pgcluster.Start(ctx, pgcluster.Options{
		DataDir: filepath.Join(dir, "data"),
		Durable: false,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start local PostgreSQL: %w", err)
	}
	return &server{source: sourceLocal, adminURL: c.AdminURL("postgres"), cluster: c, tempDir: dir}, nil
}

func startContainer(ctx context.Context) (s *server, err error) {
	defer func() { // testcontainers may panic when it finds no Docker host
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("testcontainers: %v", r)
		}
	}()
	p, err := testcontainers.ProviderDocker.GetProvider()
	if err != nil {
		return nil, err
	}
	err = p.Health(ctx)
	_ = p.Close()
	if err != nil {
		return nil, err
	}
	c, err := tcpostgres.Run(ctx, containerImage,
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		testcontainers.WithCmd("postgres", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=200"),
		tcpostgres.BasicWaitStrategies(),
	)
	if err != nil {
		if c != nil {
			_ = testcontainers.TerminateContainer(c)
		}
		return nil, err
	}
	u, err := c.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		_ = testcontainers.TerminateContainer(c)
		return nil, err
	}
	return &server{source: sourceContainer, adminURL: u, container: c}, nil
}

// createTemplate creates the template database and migrates it.
func (s *server) createTemplate(ctx context.Context) error {
	if err := s.admin(ctx, "drop database if exists "+quote(s.template)+" with (force)"); err != nil {
		return err
	}
	if err := s.admin(ctx, "create database "+quote(s.template)); err != nil {
		return err
	}
	// Migrate closes its connection before the template is copied:
	// PostgreSQL refuses to copy a database that has sessions.
	if err := postgres.MigrateURL(ctx, s.dbURL(s.template)); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}

// newDatabase creates a database from template and drops it at cleanup.
func (s *server) newDatabase(t testing.TB, template string) string {
	t.Helper()
	name := fmt.Sprintf("test%s_%d", s.suffix, dbCounter.Add(1))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	mu.Lock() // PostgreSQL refuses to copy a template that another CREATE DATABASE is reading
	err := s.admin(ctx, "create database "+quote(name)+" template "+quote(template))
	mu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.admin(ctx, "drop database if exists "+quote(name)+" with (force)"); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s.dbURL(name)
}

// admin runs one statement on the maintenance database over a connection of
// its own (so that a restart of the server between tests does no harm).
func (s *server) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s (%s): %w", redact(s.adminURL), s.source, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// dbURL is the admin URL with its database replaced by db.
func (s *server) dbURL(db string) string {
	u, err := url.Parse(s.adminURL)
	if err != nil {
		panic(err) // validated in findServer or built by pgcluster/testcontainers
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String()
}

// stop releases what setup acquired: the template on a shared server, the
// local cluster and its directory, or the container.
func (s *server) stop(ctx context.Context) error {
	var errs []error
	switch {
	case s.cluster != nil:
		if err := s.cluster.Stop(ctx); err != nil {
			errs = append(errs, err)
		} else if err := os.RemoveAll(s.tempDir); err != nil {
			errs = append(errs, err)
		}
	case s.container != nil:
		if err := testcontainers.TerminateContainer(s.container); err != nil {
			errs = append(errs, err)
		}
	case s.template != "":
		if err := s.admin(ctx, "drop database if exists "+quote(s.template)+" with (force)"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func shutdown() error {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := srv.stop(ctx)
	srv, errSrv = nil, errors.New("pgtest: used after Main returned")
	return err
}

// reapOrphans stops and removes local clusters whose test process died
// without running Main's cleanup (killed, or timed out).
func reapOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue // being set up, or not ours
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || owner <= 0 || alive(owner) {
			continue
		}
		dataDir := filepath.Join(dir, "data")
		if pm := postmasterPID(dataDir); pm > 0 {
			_ = syscall.Kill(pm, syscall.SIGQUIT) // immediate shutdown
			for deadline := time.Now().Add(10 * time.Second); alive(pm) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// postmasterPID returns the pid in dataDir's postmaster.pid if that process
// is a postgres running on dataDir, else 0.
func postmasterPID(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "postgres") || !strings.Contains(string(cmdline), dataDir) {
		return 0
	}
	return pid
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func quote(ident string) string { return pgx.Identifier{ident}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redact hides the password of a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
