package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/monthly"
)

var _ monthly.Source = (*Store)(nil)

// CompletedBetween returns the registration actions completed in [from,
// to), in completion order. It reads a month once a month: a sequential
// scan, on purpose (migration 011).
func (s *Store) CompletedBetween(ctx context.Context, from, to time.Time) ([]monthly.Completed, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id::text, completed_at, body::text FROM actions
		WHERE status = 'completed' AND completed_at >= $1 AND completed_at < $2 AND kind NOT LIKE $3
		ORDER BY completed_at, seq`, from, to, monthly.KindPrefix+"%")
	if err != nil {
		return nil, fmt.Errorf("read completed actions: %w", err)
	}
	defer rows.Close()
	var out []monthly.Completed
	for rows.Next() {
		var c monthly.Completed
		var body string
		if err := rows.Scan(&c.ActionID, &c.CompletedAt, &body); err != nil {
			return nil, fmt.Errorf("scan completed action: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &c.Submission); err != nil {
			return nil, fmt.Errorf("decode completed action %s: %w", c.ActionID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read completed actions: %w", err)
	}
	return out, nil
}

// RegisteredBornIn returns the current registrations of persons born in
// the month given (birth dates are ISO text, so a prefix matches a month).
func (s *Store) RegisteredBornIn(ctx context.Context, year int, month time.Month) ([]action.Registration, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT record::text FROM registrations WHERE registered AND birth_date LIKE $1 ORDER BY birth_date, person_key`,
		fmt.Sprintf("%04d-%02d-%%", year, int(month)))
	if err != nil {
		return nil, fmt.Errorf("read registrations by birth month: %w", err)
	}
	defer rows.Close()
	var out []action.Registration
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, fmt.Errorf("scan registration: %w", err)
		}
		var r action.Registration
		if err := json.Unmarshal([]byte(rec), &r); err != nil {
			return nil, fmt.Errorf("decode registration: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read registrations by birth month: %w", err)
	}
	return out, nil
}

// Revisions counts the client's actions under the key or a revision of it
// (key#n), and whether one is not cancelled. The unique index on
// (client_id, idempotency_key) answers both patterns.
func (s *Store) Revisions(ctx context.Context, clientID, key string) (live bool, revisions int, err error) {
	if err := s.pool.QueryRow(ctx, `
		SELECT coalesce(bool_or(status <> 'cancelled'), false), count(*) FROM actions
		WHERE client_id = $1 AND (idempotency_key = $2 OR idempotency_key LIKE $3)`,
		clientID, key, strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(key)+"#%").Scan(&live, &revisions); err != nil {
		return false, 0, fmt.Errorf("look up the set's revisions: %w", err)
	}
	return live, revisions, nil
}
