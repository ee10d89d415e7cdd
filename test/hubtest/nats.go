package hubtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// NATS is a throw-away nats-server with JetStream, storing under a temp dir
// so that a restart keeps the stream.
type NATS struct {
	URL  string
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartNATS starts Debian's nats-server. Without it the test is skipped, or
// fails when CI is set (test/run.sh installs it).
func StartNATS(t *testing.T) *NATS {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nats-server not found (apt-get install nats-server): %v", err)
		}
		t.Skipf("nats-server not found: %v", err)
	}
	n := &NATS{t: t, port: FreePort(t), dir: t.TempDir()}
	n.URL = fmt.Sprintf("nats://127.0.0.1:%d", n.port)
	n.start()
	t.Cleanup(n.Stop)
	return n
}

func (n *NATS) start() {
	n.t.Helper()
	n.cmd = exec.Command("nats-server", "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(n.port), "-sd", n.dir)
	n.done = make(chan struct{})
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("start nats-server: %v", err)
	}
	done := n.done
	go func() { _ = n.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.t.Fatalf("nats-server not listening on %d after 10s", n.port)
}

// Stop ends the server (SIGTERM, then SIGKILL) and waits for it.
func (n *NATS) Stop() {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// Restart stops the server and starts it again on the same port and store.
func (n *NATS) Restart() {
	n.t.Helper()
	n.Stop()
	n.start()
}

// StartWorker starts a `reghub worker` consuming from natsURL and
// delivering to the test's simulators. Its /metrics is under the returned
// Hub's Base; Kill and Exited work as for a hub, and it is stopped at cleanup.
func (e *Env) StartWorker(natsURL, name string, extra ...string) *Hub {
	e.T.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(e.T))
	args := append([]string{"worker",
		"--nats-url", natsURL,
		"--listen", addr,
		"--name", name,
		"--dms-url", e.DMS.URL + "/soap",
		"--eddr-url", e.EDDR.URL + "/soap",
		"--regbody-url", e.RegBody.URL + "/soap",
		"--military-url", e.Military.URL,
		"--voter-url", e.Voter.URL + "/soap",
		"--statistics-url", e.Statistics.URL,
		"--send-timeout", "2s",
	}, extra...)
	return e.startProcess("worker "+name, args, "http://"+addr, "/healthz")
}
