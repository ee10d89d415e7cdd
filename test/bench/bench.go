package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/adapters/postgres/pgcluster"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/eddrsim"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/simulators/upstream"
)

// result is one row of the table.
type result struct {
	Name                 string
	Note                 string
	Completed, Submitted int
	Rate, AcceptRate     float64 // end to end; accepts
	AcceptP50, AcceptP99 time.Duration
	AckP50, AckP99       time.Duration
	ProcCPU, PGCPU       float64
	RSS                  int64
	NoAck                bool
}

type world struct {
	o         options
	tmp       string
	cluster   *pgcluster.Cluster
	admin     *pgxpool.Pool
	dms, eddr *httptest.Server
	dmsEngine *upstream.Engine // the ДМС simulator's state, for the drain scenario's outage
	root      string           // the hub's module root
	// prepare, if set, runs on the hub's migrated database before reghub
	// serve starts (the history scenario's fill).
	prepare func(ctx context.Context, pool *pgxpool.Pool) error
}

func runBench(ctx context.Context, o options) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.Contains(string(b), "module github.com/reghub/reghub\n") {
		return fmt.Errorf("run me from test/bench of the reghub repository (no reghub go.mod at %s)", root)
	}
	tmp, err := os.MkdirTemp("", "reghub-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // PostgreSQL runs as postgres
		return err
	}
	w := &world{o: o, tmp: tmp, root: root}

	fmt.Fprintln(os.Stderr, "starting a durable PostgreSQL cluster (synchronous_commit on) under", tmp)
	w.cluster, err = pgcluster.Start(ctx, pgcluster.Options{DataDir: filepath.Join(tmp, "pg"), Durable: true})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = w.cluster.Stop(sctx)
	}()
	w.admin, err = pgxpool.New(ctx, w.cluster.AdminURL("postgres"))
	if err != nil {
		return err
	}
	defer w.admin.Close()
	var syncCommit string
	if err := w.admin.QueryRow(ctx, "SHOW synchronous_commit").Scan(&syncCommit); err != nil {
		return err
	}
	if syncCommit != "on" {
		return fmt.Errorf("synchronous_commit is %s, want on", syncCommit)
	}

	quiet := slog.New(slog.DiscardHandler)
	sim := upstream.Config{Latency: o.Latency}
	dmsSim := dmssim.New(sim, quiet)
	w.dmsEngine = dmsSim.Engine()
	w.dms = httptest.NewServer(dmsSim.Handler())
	defer w.dms.Close()
	w.eddr = httptest.NewServer(eddrsim.New(sim, quiet).Handler())
	defer w.eddr.Close()

	if o.Drain > 0 {
		return w.runDrain(ctx)
	}
	if o.History > 0 {
		return w.runHistory(ctx)
	}
	if o.Queries > 0 {
		return w.runQueries(ctx)
	}

	var results []result
	for _, c := range []struct {
		name string
		run  func(context.Context) (result, error)
	}{
		{"reghub", w.runReghub},
		{"jetstream", w.runJetStream},
		{"river", func(ctx context.Context) (result, error) { return w.runPeer(ctx, "river") }},
		{"watermill", func(ctx context.Context) (result, error) { return w.runPeer(ctx, "watermill") }},
		{"pgbench", w.runPgbench},
	} {
		if !contains(o.Only, c.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "\n== %s\n", c.name)
		r, err := c.run(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		results = append(results, r)
		if c.name == "reghub" && w.o.HalfPeak && r.Rate > 0 {
			// The latency target is set at half of peak load: pace a fresh
			// run at half the end-to-end rate just measured.
			fmt.Fprintf(os.Stderr, "\n== reghub at half peak (%.0f actions/s)\n", r.Rate/2)
			h, err := w.runReghubAt(ctx, r.Rate/2)
			if err != nil {
				return fmt.Errorf("reghub at half peak: %w", err)
			}
			results = append(results, h)
		}
	}
	table := render(results)
	fmt.Println()
	fmt.Print(table)
	if o.Out != "" {
		if err := appendDoc(o, table); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "appended to", o.Out)
	}
	return nil
}

// freshDB creates an empty database and returns its URL.
func (w *world) freshDB(ctx context.Context, name string) (string, error) {
	if _, err := w.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := w.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return w.cluster.AdminURL(name), nil
}

// process is a contender's running process.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func (w *world) start(name string, path string, args ...string) (*process, error) {
	logf, err := os.Create(filepath.Join(w.tmp, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.exited) }()
	return p, nil
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func (w *world) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(w.tmp, name+".log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// load drives a contender with the same client and measures it.
func (w *world) load(ctx context.Context, name, base, token string, p *process, helpers ...*process) (result, error) {
	return w.loadAt(ctx, 0, name, base, token, p, helpers...)
}

// loadAt is load paced at rate actions/s (0: as fast as it goes).
func (w *world) loadAt(ctx context.Context, rate float64, name, base, token string, p *process, helpers ...*process) (result, error) {
	pids := make([]int, 0, len(helpers))
	for _, h := range helpers {
		pids = append(pids, h.cmd.Process.Pid)
	}
	meter := startMeter(p.cmd.Process.Pid, w.cluster.DataDir(), pids...)
	rep, err := localregistry.RunLoad(ctx, localregistry.LoadConfig{
		BaseURL: base, Token: token, Actions: w.o.Actions, Concurrency: w.o.Concurrency,
		Seed: 1, Wait: 2 * time.Minute, Progress: os.Stderr, Rate: rate,
	})
	proc, pg, rss := meter.stop()
	if err != nil {
		return result{}, fmt.Errorf("load: %w\n%s", err, w.logTail(name))
	}
	fmt.Fprint(os.Stderr, rep.String())
	return result{
		Name: name, Completed: rep.Completed + rep.Rejected, Submitted: rep.Submitted,
		Rate: rep.EndToEndRate, AcceptRate: rep.AcceptRate,
		AcceptP50: rep.AcceptP50, AcceptP99: rep.AcceptP99, AckP50: rep.AckP50, AckP99: rep.AckP99,
		ProcCPU: proc, PGCPU: pg, RSS: rss,
	}, nil
}

// buildReghub builds `reghub serve` from this tree once.
func (w *world) buildReghub(ctx context.Context) (string, error) {
	bin := filepath.Join(w.tmp, "reghub")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	fmt.Fprintln(os.Stderr, "building the hub binary")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/reghub")
	build.Dir, build.Stdout, build.Stderr = w.root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return bin, nil
}

// hub is a running reghub serve on a fresh database.
type hub struct {
	p           *process
	base, token string
	pool        *pgxpool.Pool // the hub's database, for the harness's own queries
}

func (h *hub) close() {
	h.p.stop()
	h.pool.Close()
}

// startReghub starts reghub serve on a fresh database named db, with extra
// flags after the harness's own.
func (w *world) startReghub(ctx context.Context, db string, extra ...string) (*hub, error) {
	bin, err := w.buildReghub(ctx)
	if err != nil {
		return nil, err
	}
	url, err := w.freshDB(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := postgres.MigrateURL(ctx, url); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	token, err := auth.Register(ctx, postgres.New(pool), "bench-registry", "Benchmark registry", auth.RoleRegistry)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if w.prepare != nil {
		if err := w.prepare(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		pool.Close()
		return nil, err
	}
	rules := filepath.Join(w.tmp, "national-only.yaml")
	if err := os.WriteFile(rules, []byte(nationalOnlyRules), 0o644); err != nil {
		pool.Close()
		return nil, fmt.Errorf("write routing rules: %w", err)
	}
	args := append([]string{"serve", "--listen", addr, "--database-url", url,
		"--dms-url", w.dms.URL + "/soap", "--eddr-url", w.eddr.URL + "/soap", "--log-level", "warn",
		"--routing", rules, "--audit-key", filepath.Join(w.tmp, "audit.key")}, extra...)
	p, err := w.start(db, bin, args...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	h := &hub{p: p, base: "http://" + addr, token: token, pool: pool}
	if err := waitReady(ctx, h.base+"/readyz", 30*time.Second, p.exited); err != nil {
		h.close()
		return nil, fmt.Errorf("%w\n%s", err, w.logTail(db))
	}
	return h, nil
}

func (w *world) runReghub(ctx context.Context) (result, error) {
	h, err := w.startReghub(ctx, "bench_reghub")
	if err != nil {
		return result{}, err
	}
	defer h.close()
	r, err := w.load(ctx, "bench_reghub", h.base, h.token, h.p)
	r.Name = "reghub"
	r.Note = "reghub serve, default flags"
	return r, err
}

// runReghubAt is reghub serve under a load paced at rate actions/s.
func (w *world) runReghubAt(ctx context.Context, rate float64) (result, error) {
	h, err := w.startReghub(ctx, "bench_reghub_paced")
	if err != nil {
		return result{}, err
	}
	defer h.close()
	r, err := w.loadAt(ctx, rate, "bench_reghub_paced", h.base, h.token, h.p)
	r.Name = fmt.Sprintf("reghub at half peak (%.0f/s offered)", rate)
	r.Note = "the same, with submissions paced at half the end-to-end rate of the reghub row"
	return r, err
}

func (w *world) runPeer(ctx context.Context, role string) (result, error) {
	url, err := w.freshDB(ctx, "bench_"+role)
	if err != nil {
		return result{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	addr, err := freeAddr()
	if err != nil {
		return result{}, err
	}
	p, err := w.start(role, self, "-role", role, "-database-url", url, "-listen", addr,
		"-dms-url", w.dms.URL+"/soap", "-eddr-url", w.eddr.URL+"/soap",
		"-river-workers", strconv.Itoa(w.o.Workers), "-watermill-partitions", strconv.Itoa(w.o.Partitions))
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	if err := waitReady(ctx, "http://"+addr+"/readyz", 60*time.Second, p.exited); err != nil {
		return result{}, fmt.Errorf("%w\n%s", err, w.logTail(role))
	}
	r, err := w.load(ctx, role, "http://"+addr, "unused", p)
	switch role {
	case "river":
		r.Name = "River " + moduleVersion("github.com/riverqueue/river")
		r.Note = fmt.Sprintf("InsertManyTx in the accept tx; MaxWorkers %d, FetchCooldown 10ms", w.o.Workers)
	case "watermill":
		r.Name = "watermill-sql " + moduleVersion("github.com/ThreeDotsLabs/watermill-sql/v3")
		r.Note = fmt.Sprintf("publish in the accept tx; %d topics/destination, poll 20ms", w.o.Partitions)
	}
	return r, err
}

// runPgbench measures the commit-rate ceiling: per transaction, what
// reghub's accept writes (advisory lock, one action row, two outbox rows).
func (w *world) runPgbench(ctx context.Context) (result, error) {
	url, err := w.freshDB(ctx, "bench_pgbench")
	if err != nil {
		return result{}, err
	}
	if err := postgres.MigrateURL(ctx, url); err != nil {
		return result{}, err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return result{}, err
	}
	_, err = auth.Register(ctx, postgres.New(pool), "bench-registry", "Benchmark registry", auth.RoleRegistry)
	pool.Close()
	if err != nil {
		return result{}, err
	}
	body := strings.ReplaceAll(string(localregistry.NewGenerator(1, time.Now()).NextJSON()), "'", "''")
	script := `\set pk random(1, 100000000)
BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended(:pk::text, 0));
WITH new_action AS (
  INSERT INTO actions (id, reference, client_id, idempotency_key, body_hash, kind, status, person_key, body, created_at, updated_at)
  VALUES (gen_random_uuid(), 'RH-bench', 'bench-registry', gen_random_uuid()::text, '\x00', 'residence.declare', 'pending', :pk::text, '` + body + `', now(), now())
  RETURNING id)
INSERT INTO outbox_messages (id, action_id, destination, person_key, state, due_at, created_at, updated_at, ready)
SELECT gen_random_uuid(), new_action.id, d, :pk::text, 'pending', now(), now(), now(), true
FROM new_action, unnest(ARRAY['dms', 'eddr']) AS d;
END;
`
	// pgbench's variables are not substituted inside quoted literals, and the
	// body holds no ':' followed by a letter that pgbench would take for one.
	sf := filepath.Join(w.tmp, "accept.sql")
	if err := os.WriteFile(sf, []byte(script), 0o644); err != nil {
		return result{}, err
	}
	bin, err := pgcluster.FindBinDir()
	if err != nil {
		return result{}, err
	}
	logDir := filepath.Join(w.tmp, "pgbench-log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return result{}, err
	}
	meter := startMeter(0, w.cluster.DataDir())
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pgbench"), "-n", "-c", "8", "-j", "2",
		"-T", strconv.Itoa(w.o.PgbenchSeconds), "-M", "prepared", "-f", sf,
		"-l", "--log-prefix", filepath.Join(logDir, "tx"), url)
	out, err := cmd.CombinedOutput()
	_, pg, _ := meter.stop()
	os.Stderr.Write(out)
	if err != nil {
		return result{}, fmt.Errorf("pgbench: %w", err)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("pgbench: no tps in its output")
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	m2 := regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`).FindSubmatch(out)
	n := 0
	if m2 != nil {
		n, _ = strconv.Atoi(string(m2[1]))
	}
	lats, err := pgbenchLatencies(logDir)
	if err != nil {
		return result{}, err
	}
	return result{
		Name: "ceiling (pgbench)", Note: "-c 8 -j 2 -M prepared; lock + 1 action + 2 outbox rows per tx",
		Completed: n, Submitted: n, Rate: tps, AcceptRate: tps,
		AcceptP50: pct(lats, 0.5), AcceptP99: pct(lats, 0.99), PGCPU: pg, NoAck: true,
	}, nil
}

// pgbenchLatencies reads the per-transaction logs: "client tx latency_us ...".
func pgbenchLatencies(dir string) ([]time.Duration, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "tx*"))
	var out []time.Duration
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fs[2], 10, 64)
			if err == nil {
				out = append(out, time.Duration(us)*time.Microsecond)
			}
		}
		fh.Close()
	}
	return out, nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func moduleVersion(path string) string {
	if v, ok := buildVersions()[path]; ok {
		return v
	}
	return ""
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}

// render is the Markdown table and the ratios.
func render(rs []result) string {
	var b strings.Builder
	fmt.Fprintln(&b, "| contender | done | actions/s | accepts/s | accept p50 ms | accept p99 ms | accept→ack p50 ms | accept→ack p99 ms | CPU s (process) | CPU s (PostgreSQL) | peak RSS MiB |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		ack50, ack99, proc, rss := ms(r.AckP50), ms(r.AckP99), fmt.Sprintf("%.2f", r.ProcCPU), fmt.Sprintf("%.0f", float64(r.RSS)/(1<<20))
		if r.NoAck {
			ack50, ack99, proc, rss = "—", "—", "— (pgbench)", "—"
		}
		fmt.Fprintf(&b, "| %s | %d/%d | %.0f | %.0f | %s | %s | %s | %s | %s | %.2f | %s |\n",
			r.Name, r.Completed, r.Submitted, r.Rate, r.AcceptRate, ms(r.AcceptP50), ms(r.AcceptP99), ack50, ack99, proc, r.PGCPU, rss)
	}
	var hub *result
	for i := range rs {
		if rs[i].Name == "reghub" {
			hub = &rs[i]
		}
	}
	fmt.Fprintln(&b)
	if hub != nil {
		for _, r := range rs {
			if r.Name == "reghub" || r.Rate == 0 {
				continue
			}
			line := fmt.Sprintf("- reghub / %s: actions/s ×%.2f", r.Name, hub.Rate/r.Rate)
			if !r.NoAck && r.Completed > 0 && hub.Completed > 0 {
				hubCPU := (hub.ProcCPU + hub.PGCPU) / float64(hub.Completed) * 1000
				rCPU := (r.ProcCPU + r.PGCPU) / float64(r.Completed) * 1000
				line += fmt.Sprintf("; CPU s per 1,000 actions (process + PostgreSQL) %.2f vs %.2f (×%.2f); accept→ack p50 ×%.2f",
					hubCPU, rCPU, hubCPU/rCPU, float64(hub.AckP50)/float64(max(r.AckP50, 1)))
			}
			fmt.Fprintln(&b, line)
		}
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Notes:")
	for _, r := range rs {
		fmt.Fprintf(&b, "- %s: %s\n", r.Name, r.Note)
	}
	return b.String()
}

func appendDoc(o options, table string) error {
	f, err := openDoc(o)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "\n## %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(f, "- command: `%s`\n", command())
	fmt.Fprintf(f, "- machine: %s\n", machine())
	fmt.Fprintf(f, "- load: %d actions per contender, %d concurrent clients; simulators answer after %s; durable cluster, synchronous_commit on\n\n",
		o.Actions, o.Concurrency, o.Latency)
	_, err = io.WriteString(f, table)
	return err
}

func command() string {
	return strings.TrimSpace("cd test/bench && go run . " + strings.Join(os.Args[1:], " "))
}

// machine describes CPUs, memory, Go and PostgreSQL.
func machine() string {
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); m != nil {
			kb, _ := strconv.ParseFloat(string(m[1]), 64)
			mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.+)`).FindSubmatch(b); m != nil {
			cpu = strings.TrimSpace(string(m[1]))
		}
	}
	pgv := "?"
	if bin, err := pgcluster.FindBinDir(); err == nil {
		if out, err := exec.Command(filepath.Join(bin, "postgres"), "--version").Output(); err == nil {
			pgv = strings.TrimSpace(string(out))
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s memory, %s/%s, %s, %s", runtime.NumCPU(), cpu, mem, runtime.GOOS, runtime.GOARCH, runtime.Version(), pgv)
}

// openDoc opens the results file for appending, writing its header first
// if it is new.
func openDoc(o options) (*os.File, error) {
	newFile := false
	if _, err := os.Stat(o.Out); err != nil {
		newFile = true
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(o.Out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	if newFile {
		fmt.Fprint(f, docHeader)
	}
	return f, nil
}

const docHeader = `# Benchmarks

Produced by the harness in ` + "`test/bench`" + ` (its own Go module, so River's and
watermill's dependencies stay out of the hub's go.mod):

    cd test/bench && go run . [-actions N] [-concurrency C]

One durable local PostgreSQL cluster (pgcluster, synchronous_commit on), the
ДМС and ЄДДР simulators over real HTTP answering after ~5 ms, and a fresh
database per contender. Every contender gets the same load from
` + "`simulators/localregistry`" + ` (POST /v1/actions, then waits until no action is
pending) and delivers each action to both destinations with the hub's own SOAP
senders (` + "`adapters/soap`" + `):

- **reghub**: ` + "`reghub serve`" + ` built from this tree, as a subprocess.
- **River**: the accept handler inserts the action row and one River job per
  destination (InsertManyTx) in one transaction; a River worker sends and
  records the acknowledgement on the row.
- **watermill-sql**: the accept handler inserts the action row and publishes
  one message per destination with watermill-sql's publisher on the same
  *sql.Tx; subscribers (one per topic; destinations are split into topics by
  person key because a subscriber is serial) send and record the
  acknowledgement.
- **ceiling**: pgbench running what reghub's accept writes (advisory lock,
  one action row, two outbox rows) per transaction, 8 clients.

Columns: *done* is actions resolved (acknowledged, or rejected by a
simulator on business grounds: both count) of those submitted;
*actions/s* is actions acknowledged by both destinations per second,
from the first acceptance to the last acknowledgement (pgbench: tps);
*accepts/s* the submission rate; latencies are measured by the client
(accept) and from the stored timestamps (accept→ack). *CPU s (process)* is
the contender's own process (reghub serve, or the River / watermill process:
API + workers), read from /proc; *CPU s (PostgreSQL)* the whole server's CPU
over the same window, read from /proc of the postmaster and its children;
*peak RSS* the contender process's VmHWM. The load driver and the simulators
run in the harness process and are counted in neither.

Differences to keep in mind: reghub also keeps per-person FIFO per
destination, idempotency keys, bearer-token auth, delivery attempts,
lifecycle events and metrics; the River and watermill contenders do none of
that (no auth, no idempotency, no ordering), so they do less work per action.
`

// nationalOnlyRules route every action to the two national systems only:
// the peers (River, watermill) deliver to those two, so reghub is measured
// on the same work.
const nationalOnlyRules = `version: bench
local_community: UA12060170
rules:
  - name: national systems
    kinds: ["*"]
    to: [dms, eddr]
`
