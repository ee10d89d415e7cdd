package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/test/pgtest"
)

// Insert relies on a pgx batch being one implicit transaction: the person
// lock taken by its first statement must still be held by its second.
func TestBatchIsOneTransaction(t *testing.T) {
	pool := pgtest.Pool(t)
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(424242)`)
	b.Queue(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242 AND pid = pg_backend_pid()`)
	br := pool.SendBatch(context.Background(), b)
	if _, err := br.Exec(); err != nil {
		t.Fatal(err)
	}
	var held int
	if err := br.QueryRow().Scan(&held); err != nil {
		t.Fatal(err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	if held != 1 {
		t.Fatalf("the lock of the batch's first statement is not held by its second (held=%d)", held)
	}
}
