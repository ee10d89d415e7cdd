// Package hubtest is the end-to-end harness of test/e2e and test/faults: it
// builds the real reghub binary, gives each test a fresh database (pgtest),
// both upstream simulators over HTTP and a `reghub serve` subprocess, and
// checks what the upstreams applied. Nothing is faked in memory.
//
// A test package using it calls Main from TestMain:
//
//	func TestMain(m *testing.M) { hubtest.Main(m) }
package hubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/routing"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/eddrsim"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/simulators/militarysim"
	"github.com/reghub/reghub/simulators/regbodysim"
	"github.com/reghub/reghub/simulators/statsim"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/simulators/votersim"
	"github.com/reghub/reghub/test/pgtest"
)

// binDirPrefix names the temporary directories holding a built binary; the
// owning process id follows, so that a later run removes those left behind.
const binDirPrefix = "reghub-hubtest-bin-"

var hubBinary string

// Main builds the reghub binary, then runs the tests through pgtest.Main,
// which stops PostgreSQL and exits. The binary's directory is removed by the
// next run of any package using Main (pgtest.Main exits without returning).
func Main(m *testing.M) {
	reapBinDirs()
	dir, err := os.MkdirTemp("", binDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubtest: temp dir:", err)
		os.Exit(1)
	}
	hubBinary = filepath.Join(dir, "reghub")
	build := exec.Command("go", "build", "-o", hubBinary, "github.com/reghub/reghub/cmd/reghub")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "hubtest: build reghub:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	pgtest.Main(m)
}

// reapBinDirs removes binary directories whose owning process is gone.
func reapBinDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, dir := range dirs {
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), binDirPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // still running
		}
		_ = os.RemoveAll(dir)
	}
}

// Opts configures a test's world.
type Opts struct {
	DMS, EDDR upstream.Config
	// RegBody and Military configure the other registration bodies' and
	// the military enlistment centre's simulators.
	RegBody, Military upstream.Config
	// Voter and Statistics configure the monthly sets' recipients.
	Voter, Statistics upstream.Config
	// HubArgs are appended to the hub's default flags (later flags win).
	HubArgs []string
	// DurableCommits turns synchronous_commit back on for every session of
	// the test's database. pgtest's throw-away cluster runs with it off, so
	// a PostgreSQL crash (pg_ctl restart -m immediate) may lose commits it
	// already acknowledged; a test that crashes PostgreSQL needs them kept.
	DurableCommits bool
}

// Env is one test's world: a fresh database, two simulators, one hub.
type Env struct {
	T     *testing.T
	DBURL string
	Pool  *pgxpool.Pool
	DMS   *httptest.Server
	EDDR  *httptest.Server
	// RegBody plays every other registration body (routing's
	// previous_body), Military the enlistment centre.
	RegBody  *httptest.Server
	Military *httptest.Server
	// Voter and Statistics receive the monthly sets.
	Voter      *httptest.Server
	Statistics *httptest.Server
	Token      string
	Hub        *Hub
	HubArgs    []string
	// Addr is where every hub process of the test listens, so that a
	// client keeps its URL across a restart.
	Addr string
	// AuditKey signs the audit log's checkpoints (in the test's temp dir).
	AuditKey string

	mu   sync.Mutex
	logs bytes.Buffer // every hub process's output, in order
	hubs []*Hub
	// sent keeps the SOAP requests each SOAP recipient's simulator got,
	// by destination (LintSent).
	sent map[string]*sentRecorder
}

// NewEnv creates the world and starts a hub in it.
func NewEnv(t *testing.T, o Opts) *Env {
	t.Helper()
	if hubBinary == "" {
		t.Fatal("hubtest: call hubtest.Main(m) from TestMain")
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &Env{T: t, DBURL: pgtest.URL(t)}
	if o.DurableCommits {
		u, err := url.Parse(e.DBURL)
		if err != nil {
			t.Fatalf("database URL: %v", err)
		}
		q := u.Query()
		q.Set("synchronous_commit", "on") // a run-time parameter of every session
		u.RawQuery = q.Encode()
		e.DBURL = u.String()
	}
	e.Pool = OpenPool(t, e.DBURL)
	e.sent = map[string]*sentRecorder{"dms": {}, "eddr": {}, "previous_body": {}, "voter_register": {}}
	e.DMS = httptest.NewServer(recording(dmssim.New(o.DMS, logger).Handler(), e.sent["dms"]))
	t.Cleanup(e.DMS.Close)
	e.EDDR = httptest.NewServer(recording(eddrsim.New(o.EDDR, logger).Handler(), e.sent["eddr"]))
	t.Cleanup(e.EDDR.Close)
	e.RegBody = httptest.NewServer(recording(regbodysim.New(o.RegBody, logger).Handler(), e.sent["previous_body"]))
	t.Cleanup(e.RegBody.Close)
	e.Military = httptest.NewServer(militarysim.New(o.Military, logger).Handler())
	t.Cleanup(e.Military.Close)
	e.Voter = httptest.NewServer(recording(votersim.New(o.Voter, logger).Handler(), e.sent["voter_register"]))
	t.Cleanup(e.Voter.Close)
	e.Statistics = httptest.NewServer(statsim.New(o.Statistics, logger).Handler())
	t.Cleanup(e.Statistics.Close)
	tok, err := auth.Register(context.Background(), postgres.New(e.Pool), "registry-test", "Test local registry", auth.RoleRegistry)
	if err != nil {
		t.Fatalf("register client: %v", err)
	}
	e.Token = tok
	e.HubArgs = o.HubArgs
	e.Addr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	e.AuditKey = filepath.Join(t.TempDir(), "audit.key")
	t.Cleanup(e.cleanup)
	e.Hub = e.StartHub()
	return e
}

// cleanup stops every hub still running and, if the test failed, logs the
// tail of their output.
func (e *Env) cleanup() {
	e.mu.Lock()
	hubs := append([]*Hub(nil), e.hubs...)
	e.mu.Unlock()
	for _, h := range hubs {
		h.stop(e.T)
	}
	if e.T.Failed() {
		e.T.Logf("hub log (tail):\n%s", Tail(e.Logs(), 6000))
		return
	}
	// Every test's SOAP messages are checked against their schemas, not
	// only those of the tests that ask.
	e.LintSent(e.T)
}

// Logs returns the output of every hub process of the test so far.
func (e *Env) Logs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.logs.String()
}

type envWriter struct{ e *Env }

func (w envWriter) Write(p []byte) (int, error) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	return w.e.logs.Write(p)
}

// Hub is a running `reghub serve` process.
type Hub struct {
	// Base is the API's base URL.
	Base string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// StartHub starts a hub process on e.Addr and waits until it is ready.
func (e *Env) StartHub() *Hub {
	e.T.Helper()
	args := append([]string{"serve",
		"--listen", e.Addr,
		"--database-url", e.DBURL,
		"--dms-url", e.DMS.URL + "/soap",
		"--eddr-url", e.EDDR.URL + "/soap",
		"--regbody-url", e.RegBody.URL + "/soap",
		"--military-url", e.Military.URL,
		"--voter-url", e.Voter.URL + "/soap",
		"--statistics-url", e.Statistics.URL,
		"--relay-idle-poll", "20ms",
		"--retry-initial", "50ms",
		"--retry-max", "500ms",
		"--ack-poll", "50ms",
		"--send-timeout", "2s",
		"--db-max-conns", "8",
		"--audit-key", e.AuditKey,
		// A test of the monthly sets turns them on; others count actions.
		"--monthly-every", "0",
	}, e.HubArgs...)
	return e.startProcess(fmt.Sprintf("hub process #%d", e.processes()+1), args, "http://"+e.Addr, "/readyz")
}

func (e *Env) processes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.hubs)
}

// startProcess starts the reghub binary with args, its output in the
// test's log under label, and waits until base+ready answers 200. It is
// stopped at cleanup.
func (e *Env) startProcess(label string, args []string, base, ready string) *Hub {
	e.T.Helper()
	cmd := exec.Command(hubBinary, args...)
	h := &Hub{cmd: cmd, Base: base, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = envWriter{e}, envWriter{e}
	e.mu.Lock()
	fmt.Fprintf(&e.logs, "=== %s %s ===\n", time.Now().Format("15:04:05.000"), label)
	e.mu.Unlock()
	if err := cmd.Start(); err != nil {
		e.T.Fatalf("start %s: %v", label, err)
	}
	go func() { h.err = cmd.Wait(); close(h.done) }()
	e.mu.Lock()
	e.hubs = append(e.hubs, h)
	e.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(h.Base + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		select {
		case <-h.done:
			e.T.Fatalf("%s exited at start (%v):\n%s", label, h.err, Tail(e.Logs(), 4000))
		case <-time.After(50 * time.Millisecond):
		}
	}
	e.T.Fatalf("%s not ready after 30s:\n%s", label, Tail(e.Logs(), 4000))
	return nil
}

// stop ends the process with SIGTERM, SIGKILL after 20s.
func (h *Hub) stop(t *testing.T) {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(20 * time.Second):
		t.Errorf("hub did not stop on SIGTERM within 20s")
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// Kill ends the process with SIGKILL and waits for it.
func (h *Hub) Kill() {
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
}

// Exited reports whether the process has ended, and how.
func (h *Hub) Exited() (bool, error) {
	select {
	case <-h.done:
		return true, h.err
	default:
		return false, nil
	}
}

// Tail returns the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of asking.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// OpenPool opens a pool on url, closed when the test ends.
func OpenPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// Call makes an API request and decodes a JSON answer into out (if not nil).
func (e *Env) Call(method, path, token string, hdr map[string]string, body []byte, out any) (int, http.Header, []byte) {
	e.T.Helper()
	req, err := http.NewRequest(method, e.Hub.Base+path, bytes.NewReader(body))
	if err != nil {
		e.T.Fatalf("request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("read answer: %v", err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.T.Fatalf("decode %s %s answer %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, raw
}

// Delivery is one delivery of an action, as the API shows it.
type Delivery struct {
	MessageID   string `json:"message_id"`
	Destination string `json:"destination"`
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	LastError   string `json:"last_error"`
	ErrorClass  string `json:"error_class"`
	UpstreamRef string `json:"upstream_reference"`
	Receipt     string `json:"receipt"`
}

// ActionView is an action, as the API shows it.
type ActionView struct {
	ID           string     `json:"id"`
	Reference    string     `json:"reference"`
	Kind         string     `json:"kind"`
	Status       string     `json:"status"`
	StatusReason string     `json:"status_reason"`
	Deliveries   []Delivery `json:"deliveries"`
	// RoutingVersion is the version of the routing rules that chose the
	// deliveries.
	RoutingVersion string `json:"routing_version"`
}

// Submit posts one action and expects it accepted.
func (e *Env) Submit(body []byte) ActionView {
	e.T.Helper()
	var a ActionView
	code, _, raw := e.Call(http.MethodPost, "/v1/actions", e.Token, map[string]string{"Idempotency-Key": uuid.NewString()}, body, &a)
	if code != http.StatusAccepted {
		e.T.Fatalf("submit: want 202, got %d: %s", code, raw)
	}
	return a
}

// Get reads one action.
func (e *Env) Get(id string) ActionView {
	e.T.Helper()
	var a ActionView
	code, _, raw := e.Call(http.MethodGet, "/v1/actions/"+id, e.Token, nil, nil, &a)
	if code != http.StatusOK {
		e.T.Fatalf("get %s: want 200, got %d: %s", id, code, raw)
	}
	return a
}

// WaitResolved polls until none of ids is pending, and returns them.
func (e *Env) WaitResolved(ids []string, within time.Duration) map[string]ActionView {
	e.T.Helper()
	deadline := time.Now().Add(within)
	for {
		out := make(map[string]ActionView, len(ids))
		pending := 0
		for _, id := range ids {
			a := e.Get(id)
			out[id] = a
			if a.Status == "pending" {
				pending++
			}
		}
		if pending == 0 {
			return out
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("%d of %d actions still pending after %s", pending, len(ids), within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Inspect reads a simulator's inspection endpoint.
func (e *Env) Inspect(srv *httptest.Server) upstream.Inspection {
	e.T.Helper()
	in, err := upstream.Inspect(context.Background(), srv.URL)
	if err != nil {
		e.T.Fatalf("inspect simulator: %v", err)
	}
	return in
}

// SetConfig replaces a simulator's fault configuration at run time.
func (e *Env) SetConfig(srv *httptest.Server, c upstream.Config) {
	e.T.Helper()
	if err := upstream.SetConfig(context.Background(), srv.URL, c); err != nil {
		e.T.Fatalf("configure simulator: %v", err)
	}
}

// Submitted is one accepted action, in submission order.
type Submitted struct {
	ID, Reference, Person string
}

// PersonKey is how the hub and the upstreams key a person: УНЗР, else РНОКПП.
func PersonKey(p action.Person) string {
	if p.UNZR != "" {
		return p.UNZR
	}
	return p.RNOKPP
}

// SubmitMany sends n synthetic actions one after the other, so submission
// order is well defined, and returns them in that order.
func (e *Env) SubmitMany(n int, seed int64) []Submitted {
	e.T.Helper()
	gen := localregistry.NewGenerator(seed, time.Now())
	rules, err := routing.Default()
	if err != nil {
		e.T.Fatalf("routing rules: %v", err)
	}
	out := make([]Submitted, 0, n)
	for i := 0; i < n; i++ {
		body := gen.NextJSON()
		var sub action.Submission
		if err := json.Unmarshal(body, &sub); err != nil {
			e.T.Fatalf("generated body: %v", err)
		}
		a := e.Submit(body)
		want := rules.Route(&sub)
		var got []action.Destination
		for _, d := range a.Deliveries {
			if d.Status != "pending" {
				e.T.Fatalf("new delivery to %s is %s, want pending", d.Destination, d.Status)
			}
			got = append(got, action.Destination(d.Destination))
		}
		if a.Status != "pending" || !slices.Equal(got, want) || a.RoutingVersion != rules.Version {
			e.T.Fatalf("accepted %s: status %s with deliveries to %v by rules %q, want pending with %v by the built-in rules %q",
				sub.Kind, a.Status, got, a.RoutingVersion, want, rules.Version)
		}
		out = append(out, Submitted{ID: a.ID, Reference: a.Reference, Person: PersonKey(sub.Person)})
	}
	return out
}

// IDs returns the actions' ids.
func IDs(s []Submitted) []string {
	out := make([]string, len(s))
	for i, a := range s {
		out[i] = a.ID
	}
	return out
}

// CountStatus counts actions by status.
func CountStatus(all map[string]ActionView) map[string]int {
	out := map[string]int{}
	for _, a := range all {
		out[a.Status]++
	}
	return out
}

// CheckExactlyOnceInOrder asserts that a simulator applied no message twice,
// and applied each person's messages in submission order (the order of
// subs for that person).
func (e *Env) CheckExactlyOnceInOrder(name string, in upstream.Inspection, subs []Submitted) {
	e.T.Helper()
	order := make(map[string]int, len(subs))
	for i, s := range subs {
		order[s.Reference] = i
	}
	seenMsg := map[string]bool{}
	seenRef := map[string]bool{}
	lastByPerson := map[string]int{}
	for _, a := range in.Applied {
		if seenMsg[a.ID] {
			e.T.Errorf("%s applied message %s twice", name, a.ID)
		}
		seenMsg[a.ID] = true
		if seenRef[a.Reference] {
			e.T.Errorf("%s applied action %s twice (under two message ids)", name, a.Reference)
		}
		seenRef[a.Reference] = true
		i, ok := order[a.Reference]
		if !ok {
			e.T.Errorf("%s applied unknown action %q", name, a.Reference)
			continue
		}
		if last, ok := lastByPerson[a.PersonKey]; ok && i < last {
			e.T.Errorf("%s applied person %s's action #%d after #%d: out of submission order", name, a.PersonKey, i, last)
		}
		lastByPerson[a.PersonKey] = i
	}
	if in.AppliedCount != len(in.Applied) {
		e.T.Errorf("%s: applied_count %d but %d entries", name, in.AppliedCount, len(in.Applied))
	}
}

// StartReplica starts one more `reghub serve` process beside the running
// ones: the same flags, database and simulators as StartHub, on a new free
// port of its own (its API at the returned Hub's Base). Like every hub of
// the test it is stopped at cleanup and its output goes to Logs. e.Addr is
// left as it was; call StartReplica while nothing else reads e.Addr.
func (e *Env) StartReplica() *Hub {
	e.T.Helper()
	addr := e.Addr
	defer func() { e.Addr = addr }()
	e.Addr = fmt.Sprintf("127.0.0.1:%d", FreePort(e.T))
	return e.StartHub()
}
