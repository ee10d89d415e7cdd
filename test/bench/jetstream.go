package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// runJetStream is reghub with its exchanges forwarded through NATS
// JetStream to two `reghub worker` processes (--nats-url), all on this
// machine. The workers' and nats-server's CPU counts with the hub's.
func (w *world) runJetStream(ctx context.Context) (result, error) {
	natsBin, err := exec.LookPath("nats-server")
	if err != nil {
		return result{}, fmt.Errorf("nats-server not found (apt-get install nats-server): %w", err)
	}
	natsAddr, err := freeAddr()
	if err != nil {
		return result{}, err
	}
	host, port, _ := net.SplitHostPort(natsAddr)
	broker, err := w.start("nats-server", natsBin, "-js", "-a", host, "-p", port, "-sd", filepath.Join(w.tmp, "jetstream"))
	if err != nil {
		return result{}, err
	}
	defer broker.stop()
	if err := waitTCP(ctx, natsAddr, 10*time.Second); err != nil {
		return result{}, fmt.Errorf("nats-server: %w\n%s", err, w.logTail("nats-server"))
	}
	natsURL := "nats://" + natsAddr

	h, err := w.startReghub(ctx, "bench_jetstream", "--nats-url", natsURL)
	if err != nil {
		return result{}, err
	}
	defer h.close()
	bin, err := w.buildReghub(ctx)
	if err != nil {
		return result{}, err
	}
	const workers = 2
	helpers := []*process{broker}
	for i := range workers {
		addr, err := freeAddr()
		if err != nil {
			return result{}, err
		}
		name := fmt.Sprintf("worker%d", i+1)
		p, err := w.start(name, bin, "worker", "--nats-url", natsURL, "--listen", addr, "--name", name,
			"--dms-url", w.dms.URL+"/soap", "--eddr-url", w.eddr.URL+"/soap", "--log-level", "warn")
		if err != nil {
			return result{}, err
		}
		defer p.stop()
		if err := waitReady(ctx, "http://"+addr+"/healthz", 30*time.Second, p.exited); err != nil {
			return result{}, fmt.Errorf("%s: %w\n%s", name, err, w.logTail(name))
		}
		helpers = append(helpers, p)
	}
	r, err := w.load(ctx, "bench_jetstream", h.base, h.token, h.p, helpers...)
	r.Name = "reghub + JetStream"
	r.Note = fmt.Sprintf("serve --nats-url; %d reghub worker processes and nats-server on the same machine (their CPU counted)", workers)
	return r, err
}

// waitTCP waits until something listens on addr.
func waitTCP(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := (&net.Dialer{Timeout: 100 * time.Millisecond}).DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("nothing listening on %s after %s: %s", addr, d, strings.TrimSpace(err.Error()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
