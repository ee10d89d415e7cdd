package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/access"
)

var _ access.PendingStore = (*Store)(nil)

// SavePending keeps a granted query whose source was down, due now for its
// next try.
func (s *Store) SavePending(ctx context.Context, p access.Pending) error {
	q, err := json.Marshal(p.Query)
	if err != nil {
		return fmt.Errorf("encode pending query: %w", err)
	}
	d, err := json.Marshal(p.Decision)
	if err != nil {
		return fmt.Errorf("encode pending query: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO pending_queries (id, org, official, query, decision, status, created_at, due_at, next_try_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $6)`,
		p.ID, p.Org, p.Official, string(q), string(d), p.CreatedAt, p.DueAt); err != nil {
		return fmt.Errorf("save pending query: %w", err)
	}
	return nil
}

// DuePending claims pending queries whose next try is due: they are pushed
// a minute on, so another replica does not try the same ones meanwhile.
func (s *Store) DuePending(ctx context.Context, limit int) ([]access.Pending, error) {
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT id FROM pending_queries
			WHERE status = 'pending' AND next_try_at <= now()
			ORDER BY next_try_at LIMIT $1
			FOR UPDATE SKIP LOCKED
		)
		UPDATE pending_queries p SET next_try_at = now() + interval '1 minute', attempts = p.attempts + 1
		FROM due WHERE p.id = due.id
		RETURNING p.id, p.org, p.official, p.query::text, p.decision::text, p.created_at, p.due_at`, limit)
	if err != nil {
		return nil, fmt.Errorf("claim pending queries: %w", err)
	}
	defer rows.Close()
	var out []access.Pending
	for rows.Next() {
		var p access.Pending
		var q, d string
		if err := rows.Scan(&p.ID, &p.Org, &p.Official, &q, &d, &p.CreatedAt, &p.DueAt); err != nil {
			return nil, fmt.Errorf("scan pending query: %w", err)
		}
		if err := json.Unmarshal([]byte(q), &p.Query); err != nil {
			return nil, fmt.Errorf("decode pending query %s: %w", p.ID, err)
		}
		if err := json.Unmarshal([]byte(d), &p.Decision); err != nil {
			return nil, fmt.Errorf("decode pending query %s: %w", p.ID, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim pending queries: %w", err)
	}
	return out, nil
}

// Resolve stores the answer of a pending query for its requester.
func (s *Store) Resolve(ctx context.Context, id uuid.UUID, a access.Answer) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	status := "answered"
	if a.Status == access.StatusFailed {
		status = "failed"
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE pending_queries SET status = $2, answer = $3, answered_at = now(), last_error = ''
		WHERE id = $1 AND status = 'pending'`, id, status, string(b))
	if err != nil {
		return fmt.Errorf("store answer of query %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store answer of query %s: %w", id, access.ErrNoQuery)
	}
	return nil
}

// Postpone sets the next try of a pending query.
func (s *Store) Postpone(ctx context.Context, id uuid.UUID, next time.Time, lastError string) error {
	if _, err := s.pool.Exec(ctx, `
		UPDATE pending_queries SET next_try_at = $2, last_error = left($3, 2000) WHERE id = $1 AND status = 'pending'`,
		id, next, lastError); err != nil {
		return fmt.Errorf("postpone query %s: %w", id, err)
	}
	return nil
}

// Answer returns the state of one of org's pending queries: still pending
// (with its due date), or its answer.
func (s *Store) Answer(ctx context.Context, org string, id uuid.UUID) (access.Answer, error) {
	var status, d string
	var answer *string
	var due time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT status, decision::text, answer::text, due_at FROM pending_queries WHERE id = $1 AND org = $2`,
		id, org).Scan(&status, &d, &answer, &due)
	if errors.Is(err, pgx.ErrNoRows) {
		return access.Answer{}, access.ErrNoQuery
	}
	if err != nil {
		return access.Answer{}, fmt.Errorf("read query %s: %w", id, err)
	}
	if answer != nil {
		var a access.Answer
		if err := json.Unmarshal([]byte(*answer), &a); err != nil {
			return access.Answer{}, fmt.Errorf("decode answer of query %s: %w", id, err)
		}
		return a, nil
	}
	a := access.Answer{ID: id, Status: access.StatusPending, DueAt: &due}
	if err := json.Unmarshal([]byte(d), &a.Decision); err != nil {
		return access.Answer{}, fmt.Errorf("decode decision of query %s: %w", id, err)
	}
	return a, nil
}

// OverdueQueries lists the pending queries past their due date, oldest
// first: the register has not answered within the time the law gives it.
func (s *Store) OverdueQueries(ctx context.Context, limit int) ([]access.Overdue, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, org, official, created_at, due_at, attempts, last_error FROM pending_queries
		WHERE status = 'pending' AND due_at < now() ORDER BY due_at LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("overdue queries: %w", err)
	}
	defer rows.Close()
	var out []access.Overdue
	for rows.Next() {
		var o access.Overdue
		if err := rows.Scan(&o.ID, &o.Org, &o.Official, &o.CreatedAt, &o.DueAt, &o.Attempts, &o.LastError); err != nil {
			return nil, fmt.Errorf("overdue queries: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("overdue queries: %w", err)
	}
	return out, nil
}
