// Package e2e runs the real reghub binary against real PostgreSQL and the
// upstream simulators over HTTP: actions in, deliveries out, acknowledgements
// back. Nothing is faked in memory.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/eddrsim"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/pgtest"
)

var hubBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reghub-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	hubBinary = filepath.Join(dir, "reghub")
	build := exec.Command("go", "build", "-o", hubBinary, "../../cmd/reghub")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build reghub:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	pgtest.Main(m)
}

// env is one test's world: a fresh database, two simulators, one hub.
type env struct {
	t       *testing.T
	dbURL   string
	pool    *pgxpool.Pool
	dms     *httptest.Server
	eddr    *httptest.Server
	token   string
	hub     *hubProc
	hubArgs []string
}

type envOpts struct {
	dms, eddr upstream.Config
	hubArgs   []string
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{t: t, dbURL: pgtest.URL(t)}
	e.pool = openPool(t, e.dbURL)
	e.dms = httptest.NewServer(dmssim.New(o.dms, logger).Handler())
	t.Cleanup(e.dms.Close)
	e.eddr = httptest.NewServer(eddrsim.New(o.eddr, logger).Handler())
	t.Cleanup(e.eddr.Close)
	tok, err := auth.Register(context.Background(), postgres.New(e.pool), "registry-test", "Test local registry", auth.RoleRegistry)
	if err != nil {
		t.Fatalf("register client: %v", err)
	}
	e.token = tok
	e.hubArgs = o.hubArgs
	e.hub = e.startHub()
	return e
}

// hubProc is a running reghub serve process.
type hubProc struct {
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *env) startHub() *hubProc {
	e.t.Helper()
	port := freePort(e.t)
	args := append([]string{"serve",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--database-url", e.dbURL,
		"--dms-url", e.dms.URL + "/soap",
		"--eddr-url", e.eddr.URL + "/soap",
		"--relay-idle-poll", "20ms",
		"--retry-initial", "50ms",
		"--retry-max", "500ms",
		"--ack-poll", "50ms",
		"--send-timeout", "2s",
		"--db-max-conns", "8",
	}, e.hubArgs...)
	cmd := exec.Command(hubBinary, args...)
	h := &hubProc{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	cmd.Stdout = lockedWriter{h.mu, h.logs}
	cmd.Stderr = lockedWriter{h.mu, h.logs}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start hub: %v", err)
	}
	go func() { _ = cmd.Wait(); close(h.done) }()
	e.t.Cleanup(func() {
		h.stop(e.t)
		if e.t.Failed() {
			h.mu.Lock()
			e.t.Logf("hub log (tail):\n%s", tail(h.logs.String(), 4000))
			h.mu.Unlock()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(h.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		select {
		case <-h.done:
			e.t.Fatalf("hub exited at start:\n%s", h.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	e.t.Fatalf("hub not ready after 30s:\n%s", h.logs.String())
	return nil
}

func (h *hubProc) stop(t *testing.T) {
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

func (h *hubProc) kill() {
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// call makes an API request and decodes a JSON answer into out (if not nil).
func (e *env) call(method, path, token string, hdr map[string]string, body []byte, out any) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.hub.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatalf("request: %v", err)
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
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read answer: %v", err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("decode %s %s answer %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, raw
}

type delivery struct {
	MessageID   string `json:"message_id"`
	Destination string `json:"destination"`
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	LastError   string `json:"last_error"`
	ErrorClass  string `json:"error_class"`
	UpstreamRef string `json:"upstream_reference"`
	Receipt     string `json:"receipt"`
}

type actionView struct {
	ID           string     `json:"id"`
	Reference    string     `json:"reference"`
	Kind         string     `json:"kind"`
	Status       string     `json:"status"`
	StatusReason string     `json:"status_reason"`
	Deliveries   []delivery `json:"deliveries"`
}

// submit posts one action and expects it accepted.
func (e *env) submit(body []byte) actionView {
	e.t.Helper()
	var a actionView
	code, _, raw := e.call(http.MethodPost, "/v1/actions", e.token, map[string]string{"Idempotency-Key": uuid.NewString()}, body, &a)
	if code != http.StatusAccepted {
		e.t.Fatalf("submit: want 202, got %d: %s", code, raw)
	}
	return a
}

func (e *env) get(id string) actionView {
	e.t.Helper()
	var a actionView
	code, _, raw := e.call(http.MethodGet, "/v1/actions/"+id, e.token, nil, nil, &a)
	if code != http.StatusOK {
		e.t.Fatalf("get %s: want 200, got %d: %s", id, code, raw)
	}
	return a
}

// waitResolved polls until none of ids is pending, and returns them.
func (e *env) waitResolved(ids []string, within time.Duration) map[string]actionView {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		out := make(map[string]actionView, len(ids))
		pending := 0
		for _, id := range ids {
			a := e.get(id)
			out[id] = a
			if a.Status == "pending" {
				pending++
			}
		}
		if pending == 0 {
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d of %d actions still pending after %s", pending, len(ids), within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) inspect(srv *httptest.Server) upstream.Inspection {
	e.t.Helper()
	in, err := upstream.Inspect(context.Background(), srv.URL)
	if err != nil {
		e.t.Fatalf("inspect simulator: %v", err)
	}
	return in
}

func (e *env) setConfig(srv *httptest.Server, c upstream.Config) {
	e.t.Helper()
	if err := upstream.SetConfig(context.Background(), srv.URL, c); err != nil {
		e.t.Fatalf("configure simulator: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}
