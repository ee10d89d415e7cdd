// Command reghub is the inter-registry interaction hub: it accepts the local
// population register's registration actions, delivers them to the national
// systems through a transactional outbox, and holds each pending until every
// destination acknowledged it.
//
//	reghub serve      run the hub (embedded PostgreSQL unless --database-url)
//	reghub worker     perform the exchanges a hub forwards through NATS JetStream
//	reghub simulate   run the recipients' simulators (migration service, national registry, others)
//	reghub demo       hub + simulators + embedded database, with a synthetic load
//	reghub load       send synthetic actions to a running hub and print figures
//	reghub audit      verify the audit log, list accesses to a person's data or an organisation's queries
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	// The monthly sets' months begin in the register's zone (--monthly-tz),
	// which a minimal machine may have no zoneinfo for.
	_ "time/tzdata"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

var commands = map[string]struct {
	run  func(ctx context.Context, args []string) error
	help string
}{
	"serve":    {runServe, "run the hub"},
	"simulate": {runSimulate, "run the upstream simulators"},
	"demo":     {runDemo, "run hub, simulators and embedded database with a synthetic load"},
	"load":     {runLoad, "send synthetic actions to a running hub and print figures"},
	"clients":  {runClients, "add, list or revoke API clients on the database"},
	"ops":      {runOps, "resolve failed deliveries through a running hub's API"},
	"worker":   {runWorker, "perform the SOAP exchanges a hub forwards through NATS JetStream"},
	"audit":    {runAudit, "verify the audit log; list who accessed a person's data, or an organisation's queries"},
	"monthly":  {runMonthly, "build a month's sets for the voter register and statistics (one the scheduler did not reach)"},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: reghub <command> [flags]\n\ncommands:")
	for _, name := range []string{"serve", "worker", "simulate", "demo", "load", "clients", "ops", "audit", "monthly"} {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", name, commands[name].help)
	}
	fmt.Fprintln(os.Stderr, "\nreghub <command> -h shows a command's flags.")
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "reghub: unknown command %q\n\n", args[0])
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var r reported
		if errors.As(err, &r) {
			return 1
		}
		slog.Error("reghub "+args[0]+" failed", "err", err)
		fmt.Fprintf(os.Stderr, "reghub %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// reported is an error the command has already shown the user in its own
// words; run only sets the exit code.
type reported struct{ error }

// newLogger is the one slog setup of the binary.
func newLogger(w io.Writer, level string, json bool) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if json {
		h = slog.NewJSONHandler(w, opts)
	}
	logger := slog.New(h)
	slog.SetDefault(logger)
	return logger
}
