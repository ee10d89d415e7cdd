package main

// The history scenario (-history N): does accept latency stay the same when
// the hub's tables already hold N completed actions? One normal reghub run on
// an empty database, then one on a database filled (before reghub starts)
// with N historical, completed actions: set-based INSERT ... SELECT FROM
// generate_series in chunks, two acknowledged outbox rows and one delivery
// attempt per outbox row, then VACUUM ANALYZE.

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/simulators/localregistry"
)

const historyChunk = 1_000_000

// relSize is one table's size after the fill.
type relSize struct {
	Name                 string
	Rows                 int64
	Total, Heap, Indexes int64
	IndexSizes           []string // "name size" of each index
}

type historyFill struct {
	N        int
	Duration time.Duration // inserts
	Vacuum   time.Duration // VACUUM ANALYZE and CHECKPOINT
	Sizes    []relSize
}

// fillHistory writes n completed actions into the migrated database of pool.
func fillHistory(ctx context.Context, pool *pgxpool.Pool, n int) (historyFill, error) {
	f := historyFill{N: n}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return f, err
	}
	defer conn.Release()
	c := conn.Conn()
	// The rows are consistent by construction (every outbox row's action and
	// every attempt's message is inserted before it), so the per-row foreign
	// key triggers are skipped for the fill: the harness connects as a
	// superuser. Indexes are maintained as in production.
	for _, q := range []string{
		"SET session_replication_role = replica",
		"SET maintenance_work_mem = '512MB'",
		"SET work_mem = '256MB'",
		`INSERT INTO clients (id, name, role, token_hash) VALUES ('history', 'Historical load', 'registry', sha256('bench-history'::bytea))
		 ON CONFLICT (id) DO NOTHING`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			return f, fmt.Errorf("%s: %w", q, err)
		}
	}
	body := string(localregistry.NewGenerator(1, time.Now()).NextJSON())
	persons := max(n/3, 1)
	// g is the action's number; created_at grows with g over the past two
	// years (as seq does), the person is g mod n/3 (about three actions each).
	const shape = `
		md5('a' || g)::uuid AS aid,
		format('unzr:%s-%s', to_char(date '1950-01-01' + (g % $3)::int % 20000, 'YYYYMMDD'), lpad(((g % $3) / 20000)::text, 5, '0')) AS pk,
		now() - interval '730 days' + (g::float8 / $4) * interval '730 days' AS ts`
	steps := []struct{ name, sql string }{
		{"actions", `INSERT INTO actions (id, reference, client_id, idempotency_key, body_hash, kind, status, person_key, body, created_at, updated_at, completed_at)
			SELECT aid, 'RH-H' || lpad(g::text, 9, '0'), 'history', 'hist-' || g, decode(md5('b' || g), 'hex'),
			       (ARRAY['residence.declare', 'residence.register', 'residence.deregister', 'residence.cancel'])[1 + (g % 10 = 9)::int * 3 + (g % 10 BETWEEN 6 AND 8)::int * 2 + (g % 10 BETWEEN 3 AND 5)::int],
			       'completed', pk, $5::json, ts, ts + interval '2 seconds', ts + interval '2 seconds'
			FROM generate_series($1::bigint, $2::bigint) g, LATERAL (SELECT ` + shape + `) s`},
		{"outbox_messages", `INSERT INTO outbox_messages (id, action_id, destination, person_key, state, attempts, due_at, receipt, upstream_ref,
			       created_at, updated_at, sent_at, acked_at, ready, counts_for_status)
			SELECT md5(d || g)::uuid, aid, d, pk, 'acknowledged', 1, ts, 'receipt-' || g, 'ref-' || g,
			       ts, ts + interval '2 seconds', ts + interval '50 milliseconds', ts + interval '2 seconds', true, true
			FROM generate_series($1::bigint, $2::bigint) g, LATERAL (SELECT ` + shape + `) s, unnest(ARRAY['dms', 'eddr']) d
			WHERE $5::text IS NOT NULL`},
		{"delivery_attempts", `INSERT INTO delivery_attempts (message_id, attempt, stage, started_at, duration_us, outcome, detail)
			SELECT md5(d || g)::uuid, 1, 'send', ts, 6000 + g % 4000, 'acknowledged', ''
			FROM generate_series($1::bigint, $2::bigint) g, LATERAL (SELECT ` + shape + `) s, unnest(ARRAY['dms', 'eddr']) d
			WHERE $5::text IS NOT NULL`},
	}
	start := time.Now()
	for lo := 1; lo <= n; lo += historyChunk {
		hi := min(lo+historyChunk-1, n)
		for _, st := range steps {
			t0 := time.Now()
			tag, err := c.Exec(ctx, st.sql, lo, hi, persons, float64(n), body)
			if err != nil {
				return f, fmt.Errorf("history %s %d..%d: %w", st.name, lo, hi, err)
			}
			fmt.Fprintf(os.Stderr, "history: %s %d..%d: %d rows in %s (%s so far)\n",
				st.name, lo, hi, tag.RowsAffected(), time.Since(t0).Round(time.Millisecond), time.Since(start).Round(time.Second))
		}
	}
	f.Duration = time.Since(start)
	fmt.Fprintln(os.Stderr, "history: VACUUM ANALYZE")
	t0 := time.Now()
	if _, err := c.Exec(ctx, "RESET session_replication_role"); err != nil {
		return f, err
	}
	if _, err := c.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return f, err
	}
	// The fill leaves gigabytes of dirty pages: without a checkpoint now,
	// the one max_wal_size forces later lands in the measured run and its
	// writes, not the history, set the latency (the first 10M run's p99).
	if _, err := c.Exec(ctx, "CHECKPOINT"); err != nil {
		return f, err
	}
	f.Vacuum = time.Since(t0)
	fmt.Fprintf(os.Stderr, "history: filled in %s, VACUUM ANALYZE %s\n", f.Duration.Round(time.Second), f.Vacuum.Round(time.Second))
	f.Sizes, err = tableSizes(ctx, pool)
	return f, err
}

func tableSizes(ctx context.Context, pool *pgxpool.Pool) ([]relSize, error) {
	var out []relSize
	for _, t := range []string{"actions", "outbox_messages", "delivery_attempts"} {
		r := relSize{Name: t}
		if err := pool.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass), pg_relation_size($1::regclass),
			pg_indexes_size($1::regclass), (SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass)`, t).
			Scan(&r.Total, &r.Heap, &r.Indexes, &r.Rows); err != nil {
			return nil, err
		}
		rows, err := pool.Query(ctx, `SELECT indexrelid::regclass::text, pg_size_pretty(pg_relation_size(indexrelid))
			FROM pg_index WHERE indrelid = $1::regclass ORDER BY pg_relation_size(indexrelid) DESC`, t)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name, size string
			if err := rows.Scan(&name, &size); err != nil {
				rows.Close()
				return nil, err
			}
			r.IndexSizes = append(r.IndexSizes, name+" "+size)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// runHistory runs reghub on an empty database, then on one holding
// o.History completed actions, and reports both.
func (w *world) runHistory(ctx context.Context) error {
	o := w.o
	// The database with history is filled and its hub started first; the
	// run on an empty database comes next, then the one with history, so
	// that the two measurements are minutes apart, not the fill's length:
	// on a shared machine the load around them changes over half an hour.
	fmt.Fprintf(os.Stderr, "\n== reghub, %d historical actions: filling\n", o.History)
	var fill historyFill
	w.prepare = func(ctx context.Context, pool *pgxpool.Pool) error {
		var err error
		fill, err = fillHistory(ctx, pool, o.History)
		return err
	}
	// Retention off: the history is what is measured.
	h, err := w.startReghub(ctx, "bench_reghub_history", "--retain", "0")
	w.prepare = nil
	if err != nil {
		return fmt.Errorf("reghub with history: %w", err)
	}
	defer h.close()

	fmt.Fprintf(os.Stderr, "\n== reghub, empty database\n")
	base, err := w.runReghub(ctx)
	if err != nil {
		return fmt.Errorf("reghub: %w", err)
	}
	base.Name = "reghub, no history"

	fmt.Fprintf(os.Stderr, "\n== reghub, %d historical actions\n", o.History)
	hr, err := w.load(ctx, "bench_reghub_history", h.base, h.token, h.p)
	if err != nil {
		return fmt.Errorf("reghub with history: %w", err)
	}
	hr.Name = fmt.Sprintf("reghub, %s historical actions", thousands(o.History))
	hr.Note = "reghub serve, default flags; database filled before it started"
	base.Note = "reghub serve, default flags; fresh database"

	report := renderHistory(o, fill, base, hr)
	fmt.Println()
	fmt.Print(report)
	if o.Out != "" {
		f, err := openDoc(o)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(f, "\n## Accept latency with history — %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
		fmt.Fprintf(f, "- command: `%s`\n", command())
		fmt.Fprintf(f, "- machine: %s\n", machine())
		fmt.Fprintf(f, "- load: %d actions per run, %d concurrent clients; simulators answer after %s; durable cluster, synchronous_commit on\n",
			o.Actions, o.Concurrency, o.Latency)
		if _, err := io.WriteString(f, report); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "appended to", o.Out)
	}
	return nil
}

func renderHistory(o options, fill historyFill, base, hr result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- history: %s completed actions (client 'history', ~%s persons, created_at over the past 2 years), each with 2 acknowledged outbox rows (ready, counts_for_status) and 1 delivery attempt per outbox row; set-based INSERT ... SELECT FROM generate_series in chunks of %s actions, foreign-key triggers off (session_replication_role = replica), indexes maintained\n",
		thousands(fill.N), thousands(max(fill.N/3, 1)), thousands(historyChunk))
	rate := 0.0
	if fill.Duration > 0 {
		rate = float64(fill.N) / fill.Duration.Seconds()
	}
	fmt.Fprintf(&b, "- fill: %s (%.0f actions/s), then VACUUM ANALYZE %s\n\n", fill.Duration.Round(time.Second), rate, fill.Vacuum.Round(time.Second))
	fmt.Fprintln(&b, "| table | rows (planner estimate) | total | heap | indexes | index sizes |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	for _, s := range fill.Sizes {
		fmt.Fprintf(&b, "| %s | %s | %s MiB | %s MiB | %s MiB | %s |\n", s.Name, thousands(int(s.Rows)), mib(s.Total), mib(s.Heap), mib(s.Indexes), strings.Join(s.IndexSizes, ", "))
	}
	fmt.Fprintln(&b)
	b.WriteString(render([]result{base, hr}))
	if base.AcceptP50 > 0 && base.Rate > 0 {
		fmt.Fprintf(&b, "\nWith / without history: accept p50 ×%.2f, accept p99 ×%.2f, accepts/s ×%.2f, actions/s ×%.2f\n",
			float64(hr.AcceptP50)/float64(base.AcceptP50), float64(hr.AcceptP99)/float64(max(base.AcceptP99, 1)),
			hr.AcceptRate/base.AcceptRate, hr.Rate/base.Rate)
	}
	return b.String()
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
