package postgres_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/adapters/postgres/pgcluster"
	"github.com/reghub/reghub/audit"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/test/pgtest"
)

// queryRecord is the i-th synthetic query record: every third refused,
// the others delivering one person's data.
func queryRecord(i int) audit.Record {
	r := audit.Record{
		Kind: audit.KindQuery, Org: fmt.Sprintf("SYN-ORG-%d", i%3), Official: "SYN-OFF-0042",
		Basis: "social.services", Citation: "Положення про Реєстр, підпункт 6.4.2.3 пункту 6.4", Purpose: "social-services: субсидія",
		CaseRef: fmt.Sprintf("SYN-2026/%04d", i), QueryID: fmt.Sprintf("q-%d", i),
		Search:      map[string]string{"rnokpp": fmt.Sprintf("33006%05d", i%7)},
		FieldsAsked: []string{"surname", "address"}, Decision: audit.Granted,
		Detail: json.RawMessage(`{"catalogue_version":"2026-11-01.1"}`),
	}
	if i%3 == 2 {
		r.Decision, r.Reason = audit.Refused, "field_not_authorised"
	} else {
		r.FieldsDelivered, r.Persons = r.FieldsAsked, []string{"rnokpp:" + r.Search["rnokpp"]}
	}
	return r
}

type auditBundle struct {
	pool   *pgxpool.Pool
	log    *postgres.AuditLog
	signer *audit.Signer
}

func newAuditBundle(t *testing.T) auditBundle {
	t.Helper()
	pool := pgtest.Pool(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	return auditBundle{pool: pool, log: postgres.NewAuditLog(pool, postgres.AuditOptions{}), signer: audit.NewSigner(key)}
}

// appendN appends records first..first+n-1, one call each.
func (b auditBundle) appendN(t *testing.T, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		if err := b.log.Append(t.Context(), queryRecord(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

func (b auditBundle) checkpoint(t *testing.T) audit.Checkpoint {
	t.Helper()
	c, ok, err := b.log.WriteCheckpoint(t.Context(), b.signer)
	if err != nil || !ok {
		t.Fatalf("checkpoint: written=%v err=%v", ok, err)
	}
	return c
}

func (b auditBundle) verify(t *testing.T, trusted ...ed25519.PublicKey) audit.Report {
	t.Helper()
	rep, err := audit.VerifyStored(t.Context(), b.log, trusted)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// tamper runs SQL as someone with full access to the database would: with
// the append-only triggers disabled.
func (b auditBundle) tamper(t *testing.T, stmts ...string) {
	t.Helper()
	all := append([]string{
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only`,
	}, stmts...)
	for _, s := range all {
		if _, err := b.pool.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestAuditAppendVerifyAndList(t *testing.T) {
	b := newAuditBundle(t)
	ctx := t.Context()
	if rep := b.verify(t); len(rep.Problems) != 0 || rep.Records != 0 {
		t.Fatalf("empty log: %+v", rep)
	}
	if _, ok, err := b.log.WriteCheckpoint(ctx, b.signer); ok || err != nil {
		t.Fatalf("checkpoint of an empty log: written=%v err=%v", ok, err)
	}
	b.appendN(t, 0, 10)
	// Several records in one call are contiguous. Odd identifiers are kept
	// as they are in the persons column too.
	odd := queryRecord(12)
	odd.Persons = []string{`a"b\c`, "NULL", " x ", "{}", ",", "", "ї\x00"}
	if err := b.log.Append(ctx, queryRecord(10), queryRecord(11), odd); err != nil {
		t.Fatal(err)
	}
	c := b.checkpoint(t)
	if c.Seq != 13 {
		t.Fatalf("checkpoint at %d; want 13", c.Seq)
	}
	if _, ok, _ := b.log.WriteCheckpoint(ctx, b.signer); ok {
		t.Fatal("a second checkpoint of the same head was written")
	}
	b.appendN(t, 13, 2)

	rep := b.verify(t, b.signer.PublicKey())
	if len(rep.Problems) != 0 || rep.Records != 15 || rep.Last != 15 || rep.Head.Seq != 15 || rep.LastCheckpoint == nil || rep.LastCheckpoint.Seq != 13 {
		t.Fatalf("verify: %+v", rep)
	}

	// The records read back are the records appended.
	got, err := b.log.ByRequester(ctx, "SYN-ORG-1", audit.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, s := range got {
		seqs = append(seqs, s.Seq)
		if s.Org != "SYN-ORG-1" {
			t.Errorf("requester listing holds %+v", s)
		}
	}
	if want := []int64{14, 11, 8, 5, 2}; !slices.Equal(seqs, want) {
		t.Fatalf("requester listing seqs = %v; want %v (newest first)", seqs, want)
	}
	rec := queryRecord(13)
	rec.At = got[0].At // set by Append
	want, _ := audit.Encode(rec)
	if b, _ := audit.Encode(got[0].Record); string(b) != string(want) {
		t.Fatalf("record read back:\n%s\nwant\n%s", b, want)
	}
	page, err := b.log.ByRequester(ctx, "SYN-ORG-1", audit.Page{Before: 8, Limit: 1})
	if err != nil || len(page) != 1 || page[0].Seq != 5 {
		t.Fatalf("page before 8: %+v, %v", page, err)
	}

	// The subject listing: records that delivered the person's data, not
	// refusals that searched for them.
	subj, err := b.log.BySubject(ctx, []string{"rnokpp:3300600001"}, audit.Page{})
	if err != nil {
		t.Fatal(err)
	}
	seqs = nil
	for _, s := range subj {
		seqs = append(seqs, s.Seq)
	}
	// i%7 == 1 → i = 1, 8, 15(not appended); i%3 == 2 (refused) → 8 is refused.
	if !slices.Equal(seqs, []int64{2}) {
		t.Fatalf("subject listing seqs = %v; want [2]", seqs)
	}
	if subj[0].Decision != audit.Granted || subj[0].Basis != "social.services" || subj[0].Org != "SYN-ORG-1" {
		t.Fatalf("subject listing = %+v", subj[0])
	}
	if since, _ := b.log.BySubject(ctx, []string{"rnokpp:3300600001"}, audit.Page{Since: time.Now().Add(time.Hour)}); len(since) != 0 {
		t.Fatalf("since an hour ahead: %+v", since)
	}

	// Invalid records are refused before anything is written.
	bad := queryRecord(99)
	bad.Decision = "maybe"
	if err := b.log.Append(ctx, queryRecord(98), bad); !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("append invalid: %v; want ErrInvalid", err)
	}
	if h, _ := b.log.Head(ctx); h.Seq != 15 {
		t.Fatalf("head after a refused append: %d", h.Seq)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	b := newAuditBundle(t)
	b.appendN(t, 0, 2)
	b.checkpoint(t)
	for _, s := range []string{
		`UPDATE audit_log SET org = 'x' WHERE seq = 1`,
		`DELETE FROM audit_log WHERE seq = 2`,
		`TRUNCATE audit_log`,
		`UPDATE audit_checkpoints SET seq = 1`,
		`DELETE FROM audit_checkpoints`,
		`DELETE FROM audit_head`,
	} {
		_, err := b.pool.Exec(t.Context(), s)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v; want refused as append-only", s, err)
		}
	}
}

// TestAuditVerifyFindsTampering alters, deletes and reorders audit rows
// directly in SQL, as someone with access to the database could, and
// checks that verification names each.
func TestAuditVerifyFindsTampering(t *testing.T) {
	type finding struct {
		kind     audit.ProblemKind
		from, to int64
	}
	cases := []struct {
		name    string
		tamper  func(t *testing.T, b auditBundle)
		trusted bool
		want    []finding
	}{
		{
			name: "modified field in the hashed record",
			tamper: func(t *testing.T, b auditBundle) {
				b.tamper(t, `UPDATE audit_log SET body = replace(body, '"SYN-ORG-0"', '"SYN-ORG-9"') WHERE seq = 7`)
			},
			want: []finding{{audit.ProblemModified, 7, 7}},
		},
		{
			name: "modified searchable column",
			tamper: func(t *testing.T, b auditBundle) {
				b.tamper(t, `UPDATE audit_log SET persons = '{}' WHERE seq = 8`)
			},
			want: []finding{{audit.ProblemColumns, 8, 8}},
		},
		{
			name: "deleted in the middle",
			tamper: func(t *testing.T, b auditBundle) {
				b.tamper(t, `DELETE FROM audit_log WHERE seq = 9`)
			},
			want: []finding{{audit.ProblemDeleted, 9, 9}},
		},
		{
			name: "two rows' seqs swapped",
			tamper: func(t *testing.T, b auditBundle) {
				b.tamper(t,
					`UPDATE audit_log SET seq = -5 WHERE seq = 5`,
					`UPDATE audit_log SET seq = 5 WHERE seq = 6`,
					`UPDATE audit_log SET seq = 6 WHERE seq = -5`)
			},
			want: []finding{{audit.ProblemReordered, 5, 5}, {audit.ProblemReordered, 6, 6}},
		},
		{
			name: "tail deleted after a checkpoint, head moved back",
			tamper: func(t *testing.T, b auditBundle) {
				b.tamper(t,
					`DELETE FROM audit_log WHERE seq > 14`,
					`UPDATE audit_head SET seq = 14, hash = (SELECT hash FROM audit_log WHERE seq = 14)`)
			},
			want: []finding{{audit.ProblemTruncated, 15, 20}},
		},
		{
			name: "checkpoint signature forged",
			tamper: func(t *testing.T, b auditBundle) {
				b.tamper(t, `UPDATE audit_checkpoints SET signature = decode(repeat('ab', 64), 'hex') WHERE seq = 10`)
			},
			want: []finding{{audit.ProblemSignature, 10, 10}},
		},
		{
			name: "log rewritten, hashes recomputed and checkpoint re-signed with another key",
			tamper: func(t *testing.T, b auditBundle) {
				rewrite(t, b, 4)
				_, other, _ := ed25519.GenerateKey(rand.Reader)
				s := audit.NewSigner(other)
				var h audit.Head
				if err := b.pool.QueryRow(t.Context(), `SELECT seq, hash FROM audit_log WHERE seq = 10`).Scan(&h.Seq, &h.Hash); err != nil {
					t.Fatal(err)
				}
				c := s.Sign(h, time.Now())
				b.tamper(t, fmt.Sprintf(`UPDATE audit_checkpoints SET hash = '\x%x', key_id = '%s', public_key = '\x%x', signature = '\x%x' WHERE seq = 10`,
					c.Hash, c.KeyID, []byte(c.PublicKey), c.Signature))
			},
			trusted: true,
			// The checkpoint at 20 still holds the old hash: the rewrite is
			// somewhere before it (the one at 10 vouches for nothing now).
			want: []finding{{audit.ProblemCheckpoint, 1, 20}, {audit.ProblemSignature, 10, 10}},
		},
		{
			name: "log rewritten and hashes recomputed",
			tamper: func(t *testing.T, b auditBundle) {
				rewrite(t, b, 4)
			},
			want: []finding{{audit.ProblemCheckpoint, 1, 10}, {audit.ProblemCheckpoint, 1, 20}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newAuditBundle(t)
			b.appendN(t, 0, 10)
			b.checkpoint(t)
			b.appendN(t, 10, 10)
			b.checkpoint(t)
			var trusted []ed25519.PublicKey
			if tc.trusted {
				trusted = append(trusted, b.signer.PublicKey())
			}
			if rep := b.verify(t, trusted...); len(rep.Problems) != 0 {
				t.Fatalf("before tampering: %v", rep.Problems)
			}
			tc.tamper(t, b)
			rep := b.verify(t, trusted...)
			var got []finding
			for _, p := range rep.Problems {
				got = append(got, finding{p.Kind, p.From, p.To})
				t.Log(p)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("findings = %v; want %v", got, tc.want)
			}
		})
	}
}

// rewrite changes record seq and recomputes the hashes of every record from
// it on, and the head: what someone who knows the algorithm (not the key)
// can do.
func rewrite(t *testing.T, b auditBundle, seq int64) {
	t.Helper()
	ctx := t.Context()
	rows, err := b.pool.Query(ctx, `SELECT seq, body, prev_hash FROM audit_log WHERE seq >= $1 ORDER BY seq`, seq)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq  int64
		body string
		prev []byte
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.seq, &x.body, &x.prev)
	})
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{}
	prev := rs[0].prev
	for i, r := range rs {
		if i == 0 {
			rec, err := audit.Decode([]byte(r.body))
			if err != nil {
				t.Fatal(err)
			}
			rec.Persons = []string{"rnokpp:0000000000"}
			body, _ := audit.Encode(rec)
			r.body = string(body)
			stmts = append(stmts, fmt.Sprintf(`UPDATE audit_log SET body = '%s', persons = '{rnokpp:0000000000}' WHERE seq = %d`,
				strings.ReplaceAll(r.body, "'", "''"), r.seq))
		}
		h := audit.ChainHash(prev, r.seq, []byte(r.body))
		stmts = append(stmts, fmt.Sprintf(`UPDATE audit_log SET prev_hash = '\x%x', hash = '\x%x' WHERE seq = %d`, prev, h, r.seq))
		prev = h
	}
	stmts = append(stmts, fmt.Sprintf(`UPDATE audit_head SET hash = '\x%x'`, prev))
	b.tamper(t, stmts...)
}

// TestAuditConcurrentAppendsFromTwoReplicas appends from many goroutines
// through two AuditLogs on two pools (two hub replicas), while operator
// steps are logged by a Store: the chain has every record once, without a
// gap, and verifies.
func TestAuditConcurrentAppendsFromTwoReplicas(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	var logs []*postgres.AuditLog
	var pools []*pgxpool.Pool
	for range 2 {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 4
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		pools = append(pools, pool)
		logs = append(logs, postgres.NewAuditLog(pool, postgres.AuditOptions{MaxBatch: 16}))
	}
	store := postgres.New(pools[0])

	const goroutines, each, steps = 8, 40, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*goroutines*each+steps)
	for g := range 2 * goroutines {
		wg.Go(func() {
			for i := range each {
				id := g*each + i
				if err := logs[g%2].Append(ctx, queryRecord(id), queryRecord(100000+id)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		for i := range steps {
			st := ops.Step{At: time.Now(), Actor: "ops-1", Role: "operator", Operation: ops.OpPause, Target: "destination:dms", Reason: fmt.Sprint("step ", i)}
			if err := store.SetPaused(ctx, st, action.DestMigrationService, i%2 == 0); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	rep, err := audit.VerifyStored(ctx, logs[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(2*goroutines*each*2 + steps)
	if len(rep.Problems) != 0 || rep.Records != total || rep.First != 1 || rep.Last != total || rep.Head.Seq != total {
		t.Fatalf("after concurrent appends: %d records %d–%d, head %d, problems %v; want %d", rep.Records, rep.First, rep.Last, rep.Head.Seq, rep.Problems, total)
	}
	// The two records of one call are adjacent.
	rows, err := pools[0].Query(ctx, `SELECT seq, query_id FROM audit_log WHERE kind = 'query' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int64{}
	for rows.Next() {
		var seq int64
		var qid string
		if err := rows.Scan(&seq, &qid); err != nil {
			t.Fatal(err)
		}
		pos[qid] = seq
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range 2 * goroutines * each {
		if a, b := pos[fmt.Sprintf("q-%d", id)], pos[fmt.Sprintf("q-%d", 100000+id)]; b != a+1 {
			t.Fatalf("records of one call at %d and %d", a, b)
		}
	}
}

// TestAuditOperatorStepsInSameTransaction: an operator step lands in the
// audit log with the step, and a step whose transaction rolls back leaves
// neither.
func TestAuditOperatorStepsInSameTransaction(t *testing.T) {
	b := newAuditBundle(t)
	ctx := t.Context()
	store := postgres.New(b.pool)
	st := ops.Step{At: time.Now(), Actor: "ops-1", Role: "operator", Operation: ops.OpPause, Target: "destination:dms", Reason: "upstream maintenance"}
	if err := store.SetPaused(ctx, st, action.DestMigrationService, true); err != nil {
		t.Fatal(err)
	}
	steps, err := store.Steps(ctx, "", 10)
	if err != nil || len(steps) != 1 {
		t.Fatalf("steps: %+v, %v", steps, err)
	}
	recs, err := b.log.ByRequester(ctx, "ops-1", audit.Page{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit records of ops-1: %+v, %v", recs, err)
	}
	r := recs[0]
	var det struct {
		StepID int64  `json:"step_id"`
		Role   string `json:"role"`
		Target string `json:"target"`
	}
	if err := json.Unmarshal(r.Detail, &det); err != nil {
		t.Fatal(err)
	}
	if r.Seq != 1 || r.Kind != audit.KindOperatorStep || r.Decision != ops.OpPause || r.Reason != "upstream maintenance" ||
		!r.At.Equal(st.At.Truncate(time.Microsecond)) || det.StepID != steps[0].ID || det.Role != "operator" || det.Target != "destination:dms" {
		t.Fatalf("audit record of the step: %+v (detail %s); step %+v", r, r.Detail, steps[0])
	}

	// The circuit breaker's steps are logged too.
	if opened, err := store.OpenCircuit(ctx, action.DestNationalRegistry, time.Minute, time.Hour, "5 timeouts"); err != nil || !opened {
		t.Fatalf("open circuit: %v, %v", opened, err)
	}
	if recs, _ := b.log.ByRequester(ctx, ops.System.ID, audit.Page{}); len(recs) != 1 || recs[0].Decision != ops.OpCircuitOpen || recs[0].Seq != 2 {
		t.Fatalf("audit records of the circuit breaker: %+v", recs)
	}

	// A step whose transaction fails at commit leaves no step, no record
	// and no gap in the chain.
	for _, s := range []string{
		`CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$`,
		`CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON operator_steps DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit()`,
	} {
		if _, err := b.pool.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	st.Operation, st.Reason = ops.OpResume, "rolled back"
	if err := store.SetPaused(ctx, st, action.DestMigrationService, false); err == nil || !strings.Contains(err.Error(), "refused at commit") {
		t.Fatalf("step with a failing commit: err = %v", err)
	}
	if _, err := b.pool.Exec(ctx, `DROP TRIGGER fail_at_commit ON operator_steps`); err != nil {
		t.Fatal(err)
	}
	var nSteps, nRecords int
	if err := b.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM operator_steps), (SELECT count(*) FROM audit_log)`).Scan(&nSteps, &nRecords); err != nil {
		t.Fatal(err)
	}
	if nSteps != 2 || nRecords != 2 {
		t.Fatalf("after a rolled-back step: %d steps, %d audit records; want 2 and 2", nSteps, nRecords)
	}
	if err := store.SetPaused(ctx, st, action.DestMigrationService, false); err != nil {
		t.Fatal(err)
	}
	if rep := b.verify(t); len(rep.Problems) != 0 || rep.Last != 3 {
		t.Fatalf("verify: %+v", rep)
	}
}

func TestAuditRunCheckpoints(t *testing.T) {
	b := newAuditBundle(t)
	b.log = postgres.NewAuditLog(b.pool, postgres.AuditOptions{CheckpointRecords: 5})
	waitFor := func(seq int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			cps, err := b.log.Checkpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(cps) > 0 && cps[len(cps)-1].Seq == seq {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint at %d: %+v", seq, cps)
			}
		}
	}
	b.appendN(t, 0, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.log.RunCheckpoints(ctx, time.Hour, b.signer)
	}()
	waitFor(1)         // signed at start
	b.appendN(t, 1, 5) // 5 records past it: signed before the hour is up
	waitFor(6)
	b.appendN(t, 6, 1)
	cancel() // the last checkpoint covers what was appended before the stop
	<-done
	cps, err := b.log.Checkpoints(t.Context())
	if err != nil || len(cps) != 3 || cps[len(cps)-1].Seq != 7 {
		t.Fatalf("checkpoints after stop: %+v, %v", cps, err)
	}
	if rep := b.verify(t, b.signer.PublicKey()); len(rep.Problems) != 0 {
		t.Fatal(rep.Problems)
	}
}

// BenchmarkAuditAppend measures durable appends from many concurrent
// callers (as the query endpoint makes them) on a PostgreSQL cluster with
// fsync and synchronous commit on: appends/s and the p99 latency of one
// Append. The throw-away test cluster runs with fsync off, so the benchmark
// starts its own durable one (local PostgreSQL binaries needed).
func BenchmarkAuditAppend(b *testing.B) {
	if _, err := pgcluster.FindBinDir(); err != nil {
		b.Skipf("needs the PostgreSQL server binaries: %v", err)
	}
	dir, err := os.MkdirTemp("", "reghub-auditbench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dir + "/pg", Durable: true})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	if err := postgres.MigrateURL(ctx, c.URL()); err != nil {
		b.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, c.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	log := postgres.NewAuditLog(pool, postgres.AuditOptions{})
	recs := make([]audit.Record, 64)
	for i := range recs {
		recs[i] = queryRecord(i)
	}

	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(16) // 16 × GOMAXPROCS callers
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		i := 0
		for pb.Next() {
			t0 := time.Now()
			if err := log.Append(ctx, recs[i%len(recs)]); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
			i++
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "appends/s")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	}
	rep, err := audit.VerifyStored(ctx, log, nil)
	if err != nil || len(rep.Problems) != 0 {
		b.Fatalf("verify after the benchmark: %v %v", err, rep.Problems)
	}
}

// TestAuditAppendFailures: a batch the database refuses is retried request
// by request, so that only the refused request fails; the chain stays
// gap-free and the connections usable.
func TestAuditAppendFailures(t *testing.T) {
	b := newAuditBundle(t)
	ctx := t.Context()
	for _, s := range []string{
		`CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'bad org refused'; END $$`,
		`CREATE TRIGGER refuse_bad BEFORE INSERT ON audit_log FOR EACH ROW WHEN (NEW.org = 'BAD') EXECUTE FUNCTION refuse_bad()`,
	} {
		if _, err := b.pool.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	good, bad := 0, 0
	for g := range 12 {
		wg.Go(func() {
			for i := range 20 {
				r := queryRecord(g*100 + i)
				if (g+i)%7 == 0 {
					r.Org = "BAD"
				}
				err := b.log.Append(ctx, r)
				mu.Lock()
				switch {
				case r.Org == "BAD" && err != nil && strings.Contains(err.Error(), "bad org refused"):
					bad++
				case r.Org != "BAD" && err == nil:
					good++
				default:
					t.Errorf("append org %s: %v", r.Org, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rep := b.verify(t)
	if len(rep.Problems) != 0 || rep.Records != int64(good) || rep.Last != int64(good) || bad == 0 {
		t.Fatalf("after refusals: %d good, %d bad; log %+v", good, bad, rep)
	}
}
