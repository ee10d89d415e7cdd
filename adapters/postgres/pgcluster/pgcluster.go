// Package pgcluster starts and stops a local PostgreSQL cluster from the
// PostgreSQL server binaries installed on the machine (initdb, pg_ctl,
// postgres).
//
// reghub keeps its state in a real PostgreSQL everywhere: `reghub demo` and
// `reghub serve` use a durable cluster under their data directory, and the
// test harness (test/pgtest) uses a throw-away cluster per test process with
// fsync and friends turned off. No Docker engine is needed.
//
// initdb and postgres refuse to run as root. When the current process is
// root, every PostgreSQL binary is therefore run as the `postgres` system
// user (its uid and gids are looked up with os/user) and the data directory is
// owned by that user; otherwise the binaries run as the current user.
//
// A cluster that is already running on the data directory (for instance the
// postmaster of a `reghub serve` that was SIGKILLed) is reused rather than
// started a second time.
package pgcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseName is the application database that Start creates if missing.
const DatabaseName = "reghub"

// superuser is the bootstrap superuser created by initdb (-U).
const superuser = "postgres"

// confFile is written into the data directory and included from
// postgresql.conf; it carries the settings reghub manages.
const confFile = "reghub.conf"

// maxSocketPath is the longest unix socket path PostgreSQL accepts
// (sizeof(sockaddr_un.sun_path) - 1 on Linux).
const maxSocketPath = 107

// Options configures Start.
type Options struct {
	// DataDir is the cluster's data directory. It is created and initialised
	// with initdb when it holds no PG_VERSION file.
	DataDir string
	// Port is the TCP port to listen on (127.0.0.1 only); 0 picks a free one.
	// It is ignored when a server is already running on DataDir.
	Port int
	// BinDir holds initdb, pg_ctl and postgres. "" finds them: $PG_BIN, the
	// newest /usr/lib/postgresql/*/bin, or PATH.
	BinDir string
	// Durable keeps PostgreSQL's crash safety. False turns off fsync,
	// synchronous_commit and full_page_writes: for throw-away test clusters
	// only.
	Durable bool
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// Cluster is a running local PostgreSQL server.
type Cluster struct {
	dataDir string
	binDir  string
	port    int
	reused  bool
	run     runner
	log     *slog.Logger
}

// Start makes sure a PostgreSQL server runs on o.DataDir and that the reghub
// database exists, and returns a handle to it. It runs initdb when the data
// directory is new and reuses a server that is already running on it.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.DataDir == "" {
		return nil, errors.New("pgcluster: Options.DataDir is empty")
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: data dir %q: %w", o.DataDir, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	binDir := o.BinDir
	if binDir == "" {
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	run, err := newRunner()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dataDir: dataDir, binDir: binDir, run: run, log: log.With("data_dir", dataDir)}

	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := c.initdb(ctx, o.Durable); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}

	running, err := c.running(ctx)
	if err != nil {
		return nil, err
	}
	if running {
		port, err := c.pidFilePort()
		if err != nil {
			return nil, err
		}
		c.port, c.reused = port, true
		c.log.InfoContext(ctx, "reusing running PostgreSQL server", "port", port)
	} else if err := c.start(ctx, o); err != nil {
		return nil, err
	}

	if err := c.ensureDatabase(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// URL is the connection URL of the reghub database.
func (c *Cluster) URL() string { return c.AdminURL(DatabaseName) }

// AdminURL is the connection URL of database db, as the superuser.
func (c *Cluster) AdminURL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port is the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// DataDir is the absolute path of the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// Reused reports whether Start found the server already running instead of
// starting it.
func (c *Cluster) Reused() bool { return c.reused }

// Stop shuts the server down (pg_ctl stop -m fast). Stopping a server that
// is not running is not an error.
func (c *Cluster) Stop(ctx context.Context) error {
	running, err := c.running(ctx)
	if err != nil || !running {
		return err
	}
	c.log.InfoContext(ctx, "stopping PostgreSQL server", "port", c.port)
	if out, err := c.pgctl(ctx, "stop", "-w", "-m", "fast", "-D", c.dataDir); err != nil {
		return fmt.Errorf("pgcluster: stop %s: %w: %s", c.dataDir, err, out)
	}
	return nil
}

// Restart restarts the server on the same port. immediate uses pg_ctl's
// immediate mode, which aborts every backend without a shutdown checkpoint
// and makes the server run crash recovery, like a crash would; otherwise the
// fast mode is used.
func (c *Cluster) Restart(ctx context.Context, immediate bool) error {
	mode := "fast"
	if immediate {
		mode = "immediate"
	}
	c.log.InfoContext(ctx, "restarting PostgreSQL server", "port", c.port, "mode", mode)
	if out, err := c.pgctl(ctx, "restart", "-w", "-m", mode, "-D", c.dataDir, "-l", c.logFile()); err != nil {
		return fmt.Errorf("pgcluster: restart %s: %w: %s%s", c.dataDir, err, out, c.logTail())
	}
	return nil
}

// FindBinDir finds the directory holding the PostgreSQL server binaries:
// $PG_BIN, else the newest /usr/lib/postgresql/*/bin, else the directory of
// pg_ctl on PATH.
func FindBinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		if !hasServerBinaries(d) {
			return "", fmt.Errorf("pgcluster: PG_BIN=%s holds no initdb, pg_ctl and postgres", d)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if hasServerBinaries(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if d := filepath.Dir(p); hasServerBinaries(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

// ErrNoBinaries is returned when no PostgreSQL server binaries are found.
var ErrNoBinaries = errors.New("pgcluster: no PostgreSQL server binaries (initdb, pg_ctl, postgres) found in $PG_BIN, /usr/lib/postgresql/*/bin or PATH")

func hasServerBinaries(dir string) bool {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionOf returns the major version in /usr/lib/postgresql/<v>/bin, or -1.
func versionOf(binDir string) int {
	v, err := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	if err != nil {
		return -1
	}
	return v
}

func (c *Cluster) logFile() string { return filepath.Join(c.dataDir, "server.log") }

// prepareDir creates the data directory and, when running as another user,
// hands it to that user and makes its parents traversable.
func (c *Cluster) prepareDir() error {
	created, err := mkdirAll(c.dataDir)
	if err != nil {
		return fmt.Errorf("pgcluster: create data dir: %w", err)
	}
	if c.run.cred == nil {
		return nil
	}
	uid, gid := int(c.run.cred.Uid), int(c.run.cred.Gid)
	for _, d := range created {
		if err := os.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("pgcluster: hand %s to the postgres user: %w", d, err)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		// A new data directory (maybe made empty by the caller): initdb
		// needs to own it.
		if err := os.Chown(c.dataDir, uid, gid); err != nil {
			return fmt.Errorf("pgcluster: hand %s to the postgres user: %w", c.dataDir, err)
		}
	}
	// postgres must be able to reach the data directory: grant search (not
	// read) permission on parents that deny it.
	for d := filepath.Dir(c.dataDir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if !traversable(fi, c.run.cred.Uid, c.run.gids) {
			c.log.Warn("granting search permission so the postgres user can reach the data directory", "dir", d)
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("pgcluster: make %s traversable for the postgres user: %w", d, err)
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// mkdirAll is os.MkdirAll(dir, 0700) that returns the directories it created.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	slices.Reverse(missing)
	return missing, nil
}

func traversable(fi fs.FileInfo, uid uint32, gids []uint32) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == uid:
		return perm&0o100 != 0
	case slices.Contains(gids, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func (c *Cluster) initdb(ctx context.Context, durable bool) error {
	c.log.InfoContext(ctx, "initialising PostgreSQL data directory")
	var errs []error
	for _, locale := range []string{"C.UTF-8", "C"} {
		args := []string{"-D", c.dataDir, "-U", superuser, "--auth=trust", "-E", "UTF8", "--locale=" + locale}
		if !durable {
			args = append(args, "--no-sync")
		}
		out, err := c.run.output(ctx, filepath.Join(c.binDir, "initdb"), args...)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("initdb --locale=%s: %w: %s", locale, err, lastLines(out, 20)))
		if _, ok := errors.AsType[*exec.ExitError](err); !ok {
			break // initdb did not run at all: another locale will not help
		}
	}
	return fmt.Errorf("pgcluster: initialise %s: %w", c.dataDir, errors.Join(errs...))
}

// running asks pg_ctl status whether a server runs on the data directory.
func (c *Cluster) running(ctx context.Context) (bool, error) {
	out, err := c.pgctl(ctx, "status", "-D", c.dataDir)
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 { // "no server running"
		return false, nil
	}
	return false, fmt.Errorf("pgcluster: pg_ctl status %s: %w: %s", c.dataDir, err, out)
}

// pidFilePort reads the port from line 4 of postmaster.pid.
func (c *Cluster) pidFilePort() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgcluster: read port of running server: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, fmt.Errorf("pgcluster: postmaster.pid in %s has no port line", c.dataDir)
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, fmt.Errorf("pgcluster: port in postmaster.pid of %s: %w", c.dataDir, err)
	}
	return port, nil
}

func (c *Cluster) start(ctx context.Context, o Options) error {
	if err := c.includeConf(); err != nil {
		return err
	}
	tries := 1
	if o.Port == 0 {
		tries = 3 // another process may grab the free port first
	}
	var err error
	for i := 0; i < tries; i++ {
		port := o.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return fmt.Errorf("pgcluster: pick a free port: %w", err)
			}
		}
		if err = c.writeConf(port, o.Durable); err != nil {
			return err
		}
		c.log.InfoContext(ctx, "starting PostgreSQL server", "port", port, "durable", o.Durable)
		var out []byte
		out, err = c.pgctl(ctx, "start", "-w", "-t", "120", "-D", c.dataDir, "-l", c.logFile())
		if err == nil {
			c.port = port
			return nil
		}
		err = fmt.Errorf("pgcluster: start PostgreSQL on %s port %d: %w: %s%s", c.dataDir, port, err, bytes.TrimSpace(out), c.logTail())
		if ctx.Err() != nil {
			break
		}
	}
	return err
}

// includeConf makes postgresql.conf include reghub.conf (once).
func (c *Cluster) includeConf() error {
	p := filepath.Join(c.dataDir, "postgresql.conf")
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	line := "include_if_exists = '" + confFile + "'"
	if bytes.Contains(b, []byte(line)) {
		return nil
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Settings managed by reghub (pgcluster); rewritten at every start.\n%s\n", line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func (c *Cluster) writeConf(port int, durable bool) error {
	sockDir := c.dataDir
	if len(sockDir)+len("/.s.PGSQL.65535") > maxSocketPath {
		sockDir = "" // path too long for a unix socket: TCP only
	}
	conf := fmt.Sprintf(`# Written by reghub (pgcluster) at every start; edits are lost.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
max_connections = 200
shared_buffers = '256MB'
# The outbox writes a lot of WAL: checkpoints forced by max_wal_size every
# minute or two fill it with full-page images, and small WAL buffers make
# inserts wait on WAL writes.
max_wal_size = '4GB'
checkpoint_timeout = '15min'
wal_buffers = '32MB'
`, port, strings.ReplaceAll(sockDir, "'", "''"))
	if !durable {
		conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
	}
	p := filepath.Join(c.dataDir, confFile)
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if c.run.cred != nil {
		if err := os.Chown(p, int(c.run.cred.Uid), int(c.run.cred.Gid)); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	return nil
}

// ensureDatabase creates the reghub database if it is missing. A server that
// is still starting up (reused right after a crash) gets a few seconds.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	var conn *pgx.Conn
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err = pgx.Connect(ctx, c.AdminURL("postgres"))
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("pgcluster: connect to %s: %w%s", c.AdminURL("postgres"), err, c.logTail())
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "select exists(select from pg_database where datname = $1)", DatabaseName).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: look up database %s: %w", DatabaseName, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "create database "+pgx.Identifier{DatabaseName}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: create database %s: %w", DatabaseName, err)
	}
	return nil
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) ([]byte, error) {
	return c.run.output(ctx, filepath.Join(c.binDir, "pg_ctl"), args...)
}

// logTail returns the end of server.log, formatted for an error message.
func (c *Cluster) logTail() string {
	f, err := os.Open(c.logFile())
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 4096
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		_, _ = f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	tail := lastLines(b, 20)
	if tail == "" {
		return ""
	}
	return "\n--- tail of " + c.logFile() + " ---\n" + tail
}

func lastLines(b []byte, n int) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// runner runs PostgreSQL binaries, as the postgres user when we are root.
type runner struct {
	cred *syscall.Credential // nil: run as the current user
	gids []uint32            // all groups of the user in cred
}

func newRunner() (runner, error) {
	if os.Geteuid() != 0 {
		return runner{}, nil
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return runner{}, fmt.Errorf("pgcluster: running as root, and PostgreSQL refuses to run as root; need the %q system user: %w", superuser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return runner{}, fmt.Errorf("pgcluster: uid of %s: %w", superuser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return runner{}, fmt.Errorf("pgcluster: gid of %s: %w", superuser, err)
	}
	r := runner{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, gids: []uint32{uint32(gid)}}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil && !slices.Contains(r.gids, uint32(g)) {
				r.gids = append(r.gids, uint32(g))
			}
		}
	}
	r.cred.Groups = r.gids
	return r, nil
}

func (r runner) output(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/" // the postgres user may not be able to enter our working directory
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
		cmd.Env = append(cmd.Env, "HOME=/", "USER="+superuser, "LOGNAME="+superuser)
	}
	return cmd.CombinedOutput()
}
