package audit

import (
	"context"
	"time"
)

// Log is where the hub writes its audit records: the query endpoint appends
// one record per query, granted or refused, and answers only once Append
// has returned nil. Append is durable: the records are committed, chained
// in the order given, when it returns; an error means none of them is. It
// normalises each record and sets a zero At to now; it refuses (ErrInvalid)
// records that fail Validate.
type Log interface {
	Append(ctx context.Context, recs ...Record) error
}

// Page selects a slice of a listing: newest first, records with seq below
// Before (all when 0), at or after Since and before Until (when set), at
// most Limit (a store's default when 0).
type Page struct {
	Before int64
	Since  time.Time
	Until  time.Time
	Limit  int
}

// Reader lists the log for people.
type Reader interface {
	// BySubject lists the records that delivered data of any of persons
	// (identifiers as in Record.Persons): who accessed a person's data and
	// on what basis.
	BySubject(ctx context.Context, persons []string, p Page) ([]Stored, error)
	// ByRequester lists an organisation's records (its queries; for an
	// operator's client id, its steps).
	ByRequester(ctx context.Context, org string, p Page) ([]Stored, error)
}

// Source gives verification the stored chain.
type Source interface {
	// Snapshot calls fn with the head, the checkpoints and the entries as
	// of one moment; Snapshot.Entries may be ranged over only within fn.
	Snapshot(ctx context.Context, fn func(Snapshot) error) error
}
