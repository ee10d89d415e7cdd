package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/adapters/postgres"
)

// dbFlags are the flags of the commands that work on the hub's database
// directly (clients, audit): found as serve finds it.
type dbFlags struct {
	URL, DataDir, LogLevel string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.URL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL; empty: the embedded cluster under --data-dir)")
	fs.StringVar(&d.DataDir, "data-dir", "reghub-data", "directory of the embedded PostgreSQL cluster, used when no database URL is set")
	fs.StringVar(&d.LogLevel, "log-level", "warn", "debug, info, warn or error")
}

// open opens a small pool on the hub's database, migrated to this binary's
// schema (a no-op when it is current), and returns what closes it all. An
// embedded server found already running belongs to a running (or crashed)
// `reghub serve` and is left running.
func (d *dbFlags) open(ctx context.Context, stderr io.Writer) (*pgxpool.Pool, func(), error) {
	log := newLogger(stderr, d.LogLevel, false)
	db, err := openDatabase(ctx, d.URL, d.DataDir, log)
	if err != nil {
		return nil, nil, err
	}
	closeDB := func() {
		if db.cluster == nil || !db.cluster.Reused() {
			db.Close()
		}
	}
	if err := postgres.MigrateURL(ctx, db.URL); err != nil {
		closeDB()
		return nil, nil, fmt.Errorf("apply migrations: %w", err)
	}
	pcfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		closeDB()
		return nil, nil, fmt.Errorf("parse database URL: %w", err)
	}
	pcfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		closeDB()
		return nil, nil, fmt.Errorf("open database pool: %w", err)
	}
	return pool, func() { pool.Close(); closeDB() }, nil
}
