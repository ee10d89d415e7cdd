package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"
)

// migrationFiles holds the schema migrations, named tern's way
// (NNN_name.sql, numbered from 001 without gaps). An optional
// "---- create above / drop below ----" line separates the down step.
// tern evaluates each file as a text/template, so a literal "{{" in SQL must
// be written {{"{{"}}.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// VersionTable is the table in which tern records the applied version.
const VersionTable = "public.schema_version"

// Migrate applies every pending migration to the database conn is connected
// to. Replicas starting at once may all call it: tern holds a PostgreSQL
// advisory lock (pg_advisory_lock, scoped to the database) both while it
// creates the version table and while it reads the version and applies the
// steps, so each step runs exactly once.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return fmt.Errorf("postgres: migrate: prepare %s: %w", VersionTable, err)
	}
	files, err := migrationsFS()
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(files); err != nil {
		return fmt.Errorf("postgres: migrate: load migrations: %w", err)
	}
	m.OnStart = func(seq int32, name, direction, _ string) {
		slog.DebugContext(ctx, "applying migration", "sequence", seq, "name", name, "direction", direction)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// MigrateURL connects to the database at url, applies pending migrations and
// disconnects.
func MigrateURL(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return Migrate(ctx, conn)
}

// QueryRower is satisfied by *pgx.Conn, *pgxpool.Pool and pgx.Tx.
type QueryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SchemaVersion reports the migration version applied to the database
// (0 when none is) and the latest version this binary embeds. The schema is
// up to date when current == latest; current > latest means the database was
// migrated by a newer binary.
func SchemaVersion(ctx context.Context, q QueryRower) (current, latest int32, err error) {
	files, err := migrationsFS()
	if err != nil {
		return 0, 0, err
	}
	names, err := migrate.FindMigrations(files)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: find migrations: %w", err)
	}
	latest = int32(len(names))
	err = q.QueryRow(ctx, "select version from "+VersionTable).Scan(&current)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42P01": // undefined_table: never migrated
		return 0, latest, nil
	case err != nil:
		return 0, latest, fmt.Errorf("postgres: read schema version: %w", err)
	}
	return current, latest, nil
}

func migrationsFS() (fs.FS, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	return sub, nil
}
