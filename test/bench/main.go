// Command bench compares reghub with the same work done on River and on
// watermill-sql, and with the commit-rate ceiling of PostgreSQL (pgbench),
// on one durable local PostgreSQL cluster and the two SOAP simulators
// answering in about 5 ms. Run it from test/bench:
//
//	go run . [-actions N] [-concurrency C]
//
// With -drain DURATION (e.g. -drain 10m) it runs reghub only: a normal run
// for the peak (or -peak N), then a ДМС outage of DURATION under a steady
// -drain-rate, and measures how the backlog drains and reghub's RSS (drain.go).
//
// With -history N it runs reghub only: once on an empty database, then once
// on a database already holding N completed actions (history.go).
//
// Every contender runs as its own process (reghub serve; this binary
// re-executed with -role river or -role watermill), so its CPU time and peak
// RSS are read from /proc alike; PostgreSQL's CPU time is read from /proc of
// the postmaster and its children. Each contender gets a fresh database of
// the same cluster, and the same load driver (simulators/localregistry).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

type options struct {
	Actions, Concurrency  int
	Latency               time.Duration
	Workers, Partitions   int
	HalfPeak              bool
	Queries, QueryPersons int
	PgbenchSeconds        int
	Only                  string
	Out                   string
	// drain scenario
	Drain     time.Duration
	DrainRate int
	Peak      float64
	// history scenario
	History int
	// role mode: this binary as a contender process
	Role, DatabaseURL, DMSURL, EDDRURL, Listen string
}

func main() {
	var o options
	flag.IntVar(&o.Actions, "actions", 3000, "actions submitted to each contender")
	flag.IntVar(&o.Concurrency, "concurrency", 16, "concurrent submitting clients")
	flag.DurationVar(&o.Latency, "latency", 5*time.Millisecond, "simulators' answer latency")
	flag.IntVar(&o.Workers, "river-workers", 100, "River: MaxWorkers of the queue")
	flag.IntVar(&o.Partitions, "watermill-partitions", 8, "watermill-sql: topics (serial subscribers) per destination")
	flag.BoolVar(&o.HalfPeak, "half-peak", true, "after the reghub row, a reghub run paced at half its end-to-end rate (the latency targets' load)")
	flag.IntVar(&o.Queries, "queries", 0, "query scenario: this many authorities' queries against the local read model, audit written durably (reghub only); 0: off")
	flag.IntVar(&o.QueryPersons, "query-persons", 100000, "query scenario: persons in the read model")
	flag.IntVar(&o.PgbenchSeconds, "pgbench-seconds", 10, "pgbench: -T")
	flag.StringVar(&o.Only, "only", "reghub,jetstream,river,watermill,pgbench", "contenders to run, comma-separated (jetstream needs nats-server)")
	flag.StringVar(&o.Out, "out", "../../docs/BENCHMARKS.md", "results file to append to; empty: none")
	flag.DurationVar(&o.Drain, "drain", 0, "drain scenario: a ДМС outage this long under steady load, then measure the backlog's drain (reghub only); 0: off")
	flag.IntVar(&o.DrainRate, "drain-rate", 300, "drain scenario: actions submitted per second during the outage")
	flag.Float64Var(&o.Peak, "peak", 0, "drain scenario: peak actions/s to compare the drain with; 0: measure it with a normal reghub run first")
	flag.IntVar(&o.History, "history", 0, "history scenario: a reghub run on an empty database, then one on a database holding this many completed actions (reghub only); 0: off")
	flag.StringVar(&o.Role, "role", "", "internal: run as the river or watermill contender process")
	flag.StringVar(&o.DatabaseURL, "database-url", "", "internal (role mode)")
	flag.StringVar(&o.DMSURL, "dms-url", "", "internal (role mode)")
	flag.StringVar(&o.EDDRURL, "eddr-url", "", "internal (role mode)")
	flag.StringVar(&o.Listen, "listen", "", "internal (role mode)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if o.Role != "" {
		err = runRole(ctx, o)
	} else {
		err = runBench(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// runRole is a peer contender process: its API on o.Listen until SIGTERM.
func runRole(ctx context.Context, o options) error {
	pcfg, err := pgxpool.ParseConfig(o.DatabaseURL)
	if err != nil {
		return err
	}
	pcfg.MaxConns = 32
	if o.Role == "watermill" {
		pcfg.MaxConns = int32(32 + 2*o.Partitions) // a subscriber holds a connection while its message is handled
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	senders := newSenders(o.DMSURL, o.EDDRURL)
	var acc acceptor
	switch o.Role {
	case "river":
		client, err := setupRiver(ctx, pool, senders, o.Workers)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = client.Stop(sctx)
		}()
		acc = &riverAcceptor{pool: pool, client: client}
	case "watermill":
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		a, err := setupWatermill(wctx, pool, senders, o.Partitions)
		if err != nil {
			return err
		}
		acc = a
	default:
		return fmt.Errorf("%w: unknown role %q", errUsage, o.Role)
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: peerAPI(pool, acc), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls url until it answers 200.
func waitReady(ctx context.Context, url string, d time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("process exited before %s was ready", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s", url, d)
}

func contains(list, name string) bool {
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}
