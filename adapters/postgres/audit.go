package postgres

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/audit"
)

var auditBatchSize = promauto.NewHistogram(prometheus.HistogramOpts{
	Name:    "reghub_audit_batch_records",
	Help:    "Audit records appended per transaction (group commit).",
	Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
})

// AuditOptions tune an AuditLog; zero values take the defaults.
type AuditOptions struct {
	// MaxBatch bounds the records one group-commit transaction appends
	// (default 512).
	MaxBatch int
	// CheckpointRecords makes RunCheckpoints sign as soon as an append
	// through this AuditLog finds the head this many records past its last
	// checkpoint (default 10,000), besides its timer.
	CheckpointRecords int
}

// AuditLog is the audit log (audit.Log, audit.Reader, audit.Source) on
// PostgreSQL: tables audit_log, audit_head and audit_checkpoints
// (migration 008).
//
// Every append, whoever makes it — this group committer, an operator step's
// transaction, another replica — locks the single audit_head row in its
// transaction, chains its records after the head in Go, inserts them and
// moves the head (lockHeadSQL and queueChain, used by appendInTx inside a
// caller's transaction and by appendPipelined for the group committer's
// own). The chain order is therefore the commit order, global and without
// gaps: a transaction that rolls back leaves no record and no hole.
//
// Concurrent Append calls share transactions (group commit, as accepts do
// in accept_batch.go): a call joins the queue, and one committer at a time
// takes what has queued (at most MaxBatch records) and appends it in one
// transaction — one commit, one WAL flush, for many records. There is no
// timer: a lone call is one transaction and waits for nobody; under load the
// batches grow while the previous commit is under way. Each call returns
// only once its records are committed.
type AuditLog struct {
	pool  *pgxpool.Pool
	opts  AuditOptions
	nudge chan struct{}

	mu      sync.Mutex
	queue   []*auditReq
	running bool

	// checkpointed is the seq of the last checkpoint this AuditLog wrote.
	checkpointed atomic.Int64
}

var (
	_ audit.Log    = (*AuditLog)(nil)
	_ audit.Reader = (*AuditLog)(nil)
	_ audit.Source = (*AuditLog)(nil)
)

// NewAuditLog returns the audit log on pool.
func NewAuditLog(pool *pgxpool.Pool, opts AuditOptions) *AuditLog {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.CheckpointRecords <= 0 {
		opts.CheckpointRecords = 10_000
	}
	return &AuditLog{pool: pool, opts: opts, nudge: make(chan struct{}, 1)}
}

// prepared is a record ready to chain: normalised, validated and encoded.
type prepared struct {
	rec  audit.Record
	body []byte
}

// prepare normalises, validates and encodes records, setting a zero At to
// now.
func prepare(recs []audit.Record) ([]prepared, error) {
	out := make([]prepared, len(recs))
	now := time.Now()
	for i, r := range recs {
		if r.At.IsZero() {
			r.At = now
		}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		r, body, err := audit.Canonical(r)
		if err != nil {
			return nil, err
		}
		out[i] = prepared{rec: r, body: body}
	}
	return out, nil
}

type auditReq struct {
	recs []prepared
	err  error
	done chan struct{}
}

// Append appends recs durably, in order and contiguously: they are
// committed when it returns nil, and none is when it returns an error. Once
// queued, the records go through whatever ctx says (the transaction has its
// own timeout), so that what was answered is never missing from the log.
func (a *AuditLog) Append(ctx context.Context, recs ...audit.Record) error {
	if len(recs) == 0 {
		return nil
	}
	ps, err := prepare(recs)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	req := &auditReq{recs: ps, done: make(chan struct{})}
	a.mu.Lock()
	a.queue = append(a.queue, req)
	start := !a.running
	a.running = true
	a.mu.Unlock()
	if start {
		go a.commitAll()
	}
	<-req.done
	if req.err != nil {
		return fmt.Errorf("audit append: %w", req.err)
	}
	return nil
}

// commitAll appends batches until the queue is empty, then ends. Requests
// are never split: a batch takes whole requests up to MaxBatch records (at
// least one request).
func (a *AuditLog) commitAll() {
	for {
		a.mu.Lock()
		n, records := 0, 0
		for n < len(a.queue) && (n == 0 || records+len(a.queue[n].recs) <= a.opts.MaxBatch) {
			records += len(a.queue[n].recs)
			n++
		}
		if n == 0 {
			a.running = false
			a.mu.Unlock()
			return
		}
		batch := make([]*auditReq, n)
		copy(batch, a.queue)
		a.queue = a.queue[n:]
		a.mu.Unlock()
		a.commit(batch, records)
	}
}

// commit appends one batch in one transaction. Should it fail, each
// request is tried alone, so that one request's trouble is not everyone's.
func (a *AuditLog) commit(batch []*auditReq, records int) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all := make([]prepared, 0, records)
	for _, r := range batch {
		all = append(all, r.recs...)
	}
	err := a.appendTx(ctx, all)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			r.err = a.appendTx(ctx, r.recs)
		}
		return
	}
	for _, r := range batch {
		r.err = err
	}
}

func (a *AuditLog) appendTx(ctx context.Context, ps []prepared) error {
	head, err := appendPipelined(ctx, a.pool, ps)
	if err != nil {
		return err
	}
	auditBatchSize.Observe(float64(len(ps)))
	if head.Seq-a.checkpointed.Load() >= int64(a.opts.CheckpointRecords) {
		select {
		case a.nudge <- struct{}{}:
		default:
		}
	}
	return nil
}

// appendInTx appends recs to the audit log inside tx: the head is locked
// until tx ends, so the records take the next seqs and are committed (or
// rolled back) with whatever else tx does. Operator steps use it to log
// themselves in the transaction that makes the change.
func appendInTx(ctx context.Context, tx pgx.Tx, recs ...audit.Record) error {
	ps, err := prepare(recs)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	_, err = appendPrepared(ctx, tx, ps)
	return err
}

// lockHeadSQL takes the chain's single lock (held to the end of the
// transaction) and reads where the chain ends.
const lockHeadSQL = `SELECT seq, hash FROM audit_head FOR UPDATE`

// appendPrepared locks the head, chains ps after it, inserts them and
// moves the head, inside tx: two round trips whatever the number of
// records. It returns the new head.
func appendPrepared(ctx context.Context, tx pgx.Tx, ps []prepared) (audit.Head, error) {
	var head audit.Head
	if len(ps) == 0 {
		return head, nil
	}
	if err := tx.QueryRow(ctx, lockHeadSQL).Scan(&head.Seq, &head.Hash); err != nil {
		return head, fmt.Errorf("lock audit head: %w", err)
	}
	b := &pgx.Batch{}
	next := queueChain(b, head, ps)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return head, fmt.Errorf("append %d audit records: %w", len(ps), err)
	}
	return next, nil
}

// appendPipelined is appendPrepared in a transaction of its own, framed so
// that the whole costs two round trips instead of four: BEGIN is sent with
// the lock, COMMIT with the insert. The group committer uses it: the head
// lock is then held for one round trip and the commit.
func appendPipelined(ctx context.Context, pool *pgxpool.Pool, ps []prepared) (audit.Head, error) {
	var head audit.Head
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return head, fmt.Errorf("append audit records: %w", err)
	}
	// A connection left in a transaction by a failure is closed on release.
	defer conn.Release()
	rollback := func(err error) (audit.Head, error) {
		if conn.Conn().PgConn().TxStatus() != 'I' && !conn.Conn().IsClosed() {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		return head, err
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(lockHeadSQL)
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&head.Seq, &head.Hash)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rollback(fmt.Errorf("lock audit head: %w", err))
	}
	b = &pgx.Batch{}
	next := queueChain(b, head, ps)
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return rollback(fmt.Errorf("append %d audit records: %w", len(ps), err))
	}
	if st := conn.Conn().PgConn().TxStatus(); st != 'I' {
		return rollback(fmt.Errorf("append %d audit records: transaction status %q after commit", len(ps), st))
	}
	return next, nil
}

// queueChain chains ps after head — each record's hash computed here, from
// the previous one — and queues the insert of the records and the move of
// the head into b. It returns the new head.
func queueChain(b *pgx.Batch, head audit.Head, ps []prepared) audit.Head {
	n := len(ps)
	var (
		seqs                                                 = make([]int64, n)
		ats                                                  = make([]time.Time, n)
		kinds, orgs, officials, bases, purposes, cases, qids = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		decisions, reasons, persons, bodies                  = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		prevs, hashes                                        = make([][]byte, n), make([][]byte, n)
	)
	prev, seq := head.Hash, head.Seq
	for i, p := range ps {
		seq++
		h := audit.ChainHash(prev, seq, p.body)
		r := p.rec
		seqs[i], ats[i], kinds[i], orgs[i], officials[i] = seq, r.At, string(r.Kind), r.Org, r.Official
		bases[i], purposes[i], cases[i], qids[i] = r.Basis, r.Purpose, r.CaseRef, r.QueryID
		decisions[i], reasons[i], persons[i], bodies[i] = r.Decision, r.Reason, arrayLiteral(r.Persons), string(p.body)
		prevs[i], hashes[i] = prev, h
		prev = h
	}
	b.Queue(`
		INSERT INTO audit_log (seq, at, kind, org, official, basis, purpose, case_ref, query_id, decision, reason, persons, body, prev_hash, hash)
		SELECT u.seq, u.at, u.kind, u.org, u.official, u.basis, u.purpose, u.case_ref, u.query_id, u.decision, u.reason,
		       u.persons::text[], u.body, u.prev_hash, u.hash
		FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		            $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bytea[], $15::bytea[])
		     AS u(seq, at, kind, org, official, basis, purpose, case_ref, query_id, decision, reason, persons, body, prev_hash, hash)`,
		seqs, ats, kinds, orgs, officials, bases, purposes, cases, qids, decisions, reasons, persons, bodies, prevs, hashes)
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2`, seq, prev)
	return audit.Head{Seq: seq, Hash: prev}
}

// arrayLiteral writes ss as a PostgreSQL array literal ({"a","b"}): every
// element quoted, '"' and '\' escaped (strings hold no NUL: Normalize).
func arrayLiteral(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for j := 0; j < len(s); j++ {
			if s[j] == '"' || s[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// Head returns the committed end of the chain.
func (a *AuditLog) Head(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	if err := a.pool.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&h.Seq, &h.Hash); err != nil {
		return h, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}

// WriteCheckpoint signs the committed head and stores the checkpoint. It
// writes nothing (false) when the log is empty or the head is already
// checkpointed (by this or another replica).
func (a *AuditLog) WriteCheckpoint(ctx context.Context, s *audit.Signer) (audit.Checkpoint, bool, error) {
	head, err := a.Head(ctx)
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	if head.Seq == 0 {
		return audit.Checkpoint{}, false, nil
	}
	c := s.Sign(head, time.Now())
	tag, err := a.pool.Exec(ctx, `
		INSERT INTO audit_checkpoints (seq, hash, at, key_id, public_key, signature) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (seq) DO NOTHING`, c.Seq, c.Hash, c.At, c.KeyID, []byte(c.PublicKey), c.Signature)
	if err != nil {
		return audit.Checkpoint{}, false, fmt.Errorf("write audit checkpoint: %w", err)
	}
	for {
		old := a.checkpointed.Load()
		if old >= c.Seq || a.checkpointed.CompareAndSwap(old, c.Seq) {
			break
		}
	}
	return c, tag.RowsAffected() > 0, nil
}

// RunCheckpoints signs the head with s at once, then every interval and
// whenever an append through a finds the head CheckpointRecords past the
// last checkpoint, until ctx ends; then once more, so that the records appended
// before a shutdown are covered. Failures are logged and retried at the
// next turn. It returns when ctx ends.
func (a *AuditLog) RunCheckpoints(ctx context.Context, every time.Duration, s *audit.Signer) {
	if s == nil {
		slog.ErrorContext(ctx, "audit checkpoints need a signing key: none written")
		return
	}
	if every <= 0 {
		every = time.Minute
	}
	sign := func(ctx context.Context) {
		if c, ok, err := a.WriteCheckpoint(ctx, s); err != nil {
			slog.WarnContext(ctx, "audit checkpoint failed", "err", err)
		} else if ok {
			slog.DebugContext(ctx, "audit checkpoint written", "seq", c.Seq, "key_id", c.KeyID)
		}
	}
	sign(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			sign(final)
			cancel()
			return
		case <-t.C:
		case <-a.nudge:
		}
		sign(ctx)
	}
}

// Checkpoints lists the stored checkpoints by seq.
func (a *AuditLog) Checkpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	return readCheckpoints(ctx, a.pool)
}

func readCheckpoints(ctx context.Context, q querier) ([]audit.Checkpoint, error) {
	rows, err := q.Query(ctx, `SELECT seq, hash, at, key_id, public_key, signature FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		var c audit.Checkpoint
		var pub []byte
		if err := rows.Scan(&c.Seq, &c.Hash, &c.At, &c.KeyID, &pub, &c.Signature); err != nil {
			return nil, fmt.Errorf("scan audit checkpoint: %w", err)
		}
		c.PublicKey = ed25519.PublicKey(pub)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit checkpoints: %w", err)
	}
	return out, nil
}

// Snapshot gives fn the head, the checkpoints and every record, from one
// read-only repeatable-read transaction: appends committed meanwhile are
// not seen, so they cannot look like tampering. Entries are streamed.
func (a *AuditLog) Snapshot(ctx context.Context, fn func(audit.Snapshot) error) error {
	tx, err := a.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin audit snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var snap audit.Snapshot
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&snap.Head.Seq, &snap.Head.Hash); err != nil {
		return fmt.Errorf("read audit head: %w", err)
	}
	if snap.Checkpoints, err = readCheckpoints(ctx, tx); err != nil {
		return err
	}
	snap.Entries = func(yield func(audit.Entry, error) bool) {
		rows, err := tx.Query(ctx, `
			SELECT seq, prev_hash, hash, body, at, kind, org, official, basis, purpose, case_ref, query_id, decision, reason, persons
			FROM audit_log ORDER BY seq`)
		if err != nil {
			yield(audit.Entry{}, fmt.Errorf("read audit log: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var e audit.Entry
			var c audit.Record
			var body, kind string
			if err := rows.Scan(&e.Seq, &e.PrevHash, &e.Hash, &body, &c.At, &kind, &c.Org, &c.Official, &c.Basis, &c.Purpose,
				&c.CaseRef, &c.QueryID, &c.Decision, &c.Reason, &c.Persons); err != nil {
				yield(audit.Entry{}, fmt.Errorf("scan audit record: %w", err))
				return
			}
			c.Kind = audit.Kind(kind)
			if len(c.Persons) == 0 {
				c.Persons = nil
			}
			e.Body, e.Columns = []byte(body), &c
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(audit.Entry{}, fmt.Errorf("read audit log: %w", err))
		}
	}
	return fn(snap)
}

// defaultListLimit is the page size of listings when none is asked.
const defaultListLimit = 100

// BySubject lists, newest first, the records that delivered data of any of
// persons.
func (a *AuditLog) BySubject(ctx context.Context, persons []string, p audit.Page) ([]audit.Stored, error) {
	return a.list(ctx, `persons && $1::text[]`, persons, p)
}

// ByRequester lists, newest first, the records of organisation org.
func (a *AuditLog) ByRequester(ctx context.Context, org string, p audit.Page) ([]audit.Stored, error) {
	return a.list(ctx, `org = $1`, org, p)
}

func (a *AuditLog) list(ctx context.Context, where string, arg any, p audit.Page) ([]audit.Stored, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	before := p.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	var since, until *time.Time
	if !p.Since.IsZero() {
		since = &p.Since
	}
	if !p.Until.IsZero() {
		until = &p.Until
	}
	rows, err := a.pool.Query(ctx, `
		SELECT seq, body FROM audit_log
		WHERE `+where+` AND seq < $2 AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
		ORDER BY seq DESC LIMIT $5`, arg, before, since, until, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit records: %w", err)
	}
	defer rows.Close()
	var out []audit.Stored
	for rows.Next() {
		var s audit.Stored
		var body string
		if err := rows.Scan(&s.Seq, &body); err != nil {
			return nil, fmt.Errorf("scan audit record: %w", err)
		}
		if s.Record, err = audit.Decode([]byte(body)); err != nil {
			return nil, fmt.Errorf("audit record %d is damaged (run reghub audit verify): %w", s.Seq, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit records: %w", err)
	}
	return out, nil
}
