package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/auth"
)

var _ auth.Store = (*Store)(nil)

// ClientByTokenHash finds the client a token belongs to.
func (s *Store) ClientByTokenHash(ctx context.Context, hash []byte) (*auth.Client, error) {
	var c auth.Client
	var role string
	err := s.pool.QueryRow(ctx, `SELECT id, name, role, created_at, revoked_at FROM clients WHERE token_hash = $1`, hash).
		Scan(&c.ID, &c.Name, &role, &c.CreatedAt, &c.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("look up client: %w", err)
	}
	c.Role = auth.Role(role)
	return &c, nil
}

// AddClient stores a client with its token hash.
func (s *Store) AddClient(ctx context.Context, c auth.Client, tokenHash []byte) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO clients (id, name, role, token_hash) VALUES ($1, $2, $3, $4)`,
		c.ID, c.Name, string(c.Role), tokenHash); err != nil {
		return fmt.Errorf("insert client %s: %w", c.ID, err)
	}
	return nil
}
