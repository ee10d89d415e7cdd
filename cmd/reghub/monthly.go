package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/monthly"
)

// runMonthly builds a month's sets on the database directly, as the
// scheduler would: for a month the scheduler never reached (the hub was
// down the whole month after), or again after an operator cancelled an
// undeliverable set. A set that stands is not built again. A running hub
// delivers what is stored.
func runMonthly(ctx context.Context, args []string) error {
	return monthlyCommand(ctx, args, os.Stdout, os.Stderr)
}

func monthlyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(stderr, "usage: reghub monthly build --period YYYY-MM [--recipient voter_register|statistics] [flags]")
		return reported{fmt.Errorf("unknown or missing subcommand")}
	}
	fs := flag.NewFlagSet("monthly build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbFlags
	db.register(fs)
	var rc recipientConfig
	rc.registerMonthly(fs)
	period := fs.String("period", "", "the month (YYYY-MM) whose sets to build; required")
	recipient := fs.String("recipient", "", "voter_register or statistics; empty: both")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	p, err := monthly.ParsePeriod(*period)
	if err != nil {
		return fmt.Errorf("--period: %w", err)
	}
	dests := monthly.Recipients
	if *recipient != "" {
		if !slices.Contains(monthly.Recipients, action.Destination(*recipient)) {
			return fmt.Errorf("--recipient %q is not one of %v", *recipient, monthly.Recipients)
		}
		dests = []action.Destination{action.Destination(*recipient)}
	}
	loc, err := rc.monthlyZone()
	if err != nil {
		return err
	}
	pool, closeDB, err := db.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	store := postgres.New(pool)
	sched := rc.newScheduler(loc, store, store, nil, newLogger(stderr, db.LogLevel, false))
	for _, d := range dests {
		a, err := sched.Build(ctx, d, p)
		if err != nil {
			return err
		}
		if a == nil {
			fmt.Fprintf(stdout, "%s %s: a set stands (stored and not cancelled); nothing built\n", d, p)
			continue
		}
		fmt.Fprintf(stdout, "%s %s: stored as %s (action %s, %d bytes); a running hub delivers it\n", d, p, a.IdempotencyKey, a.ID, len(a.Body))
	}
	return nil
}
