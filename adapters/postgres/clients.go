package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/auth"
)

var _ auth.Store = (*Store)(nil)

// ClientByTokenHash finds the client a token belongs to.
func (s *Store) ClientByTokenHash(ctx context.Context, hash []byte) (*auth.Client, error) {
	var c auth.Client
	var role string
	err := s.pool.QueryRow(ctx, `SELECT id, name, role, category, created_at, revoked_at FROM clients WHERE token_hash = $1`, hash).
		Scan(&c.ID, &c.Name, &role, &c.Category, &c.CreatedAt, &c.RevokedAt)
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

// ListClients returns every client, revoked ones included, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]auth.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, role, category, created_at, revoked_at, webhook_url FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Client, error) {
		var c auth.Client
		var role string
		err := r.Scan(&c.ID, &c.Name, &role, &c.Category, &c.CreatedAt, &c.RevokedAt, &c.WebhookURL)
		c.Role = auth.Role(role)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return cs, nil
}

// RevokeClient sets revoked_at on an active client; the row stays, so what
// the client did remains attributable. A missing or already revoked client
// is an error wrapping auth.ErrNoSuchClient; an earlier revocation time is
// never overwritten.
func (s *Store) RevokeClient(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE clients SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("revoke client %s: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing revoked: say whether the client is unknown or revoked already.
	var revokedAt *time.Time
	err = s.pool.QueryRow(ctx, `SELECT revoked_at FROM clients WHERE id = $1`, id).Scan(&revokedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("revoke client %s: %w", id, auth.ErrNoSuchClient)
	case err != nil:
		return fmt.Errorf("revoke client %s: %w", id, err)
	case revokedAt != nil:
		return fmt.Errorf("revoke client %s: already revoked at %s: %w", id, revokedAt.UTC().Format(time.RFC3339), auth.ErrNoSuchClient)
	default: // added between the two statements; the caller may retry
		return fmt.Errorf("revoke client %s: %w", id, auth.ErrNoSuchClient)
	}
}

// SetWebhook sets or removes an active client's webhook.
func (s *Store) SetWebhook(ctx context.Context, id, url, secret string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE clients SET webhook_url = $2, webhook_secret = $3 WHERE id = $1 AND revoked_at IS NULL`, id, url, secret)
	if err != nil {
		return fmt.Errorf("set webhook of %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %q", auth.ErrNoSuchClient, id)
	}
	return nil
}

// WebhookTarget returns where and with which secret a client's
// notifications are sent; an empty url means the client has none (any more).
func (s *Store) WebhookTarget(ctx context.Context, clientID string) (url, secret string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT webhook_url, webhook_secret FROM clients WHERE id = $1 AND revoked_at IS NULL`, clientID).Scan(&url, &secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("webhook of %s: %w", clientID, err)
	}
	return url, secret, nil
}

// SetCategory sets an active client's requester category: the legal-basis
// catalogue grants bases to organisations and to categories of them.
func (s *Store) SetCategory(ctx context.Context, id, category string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE clients SET category = $2 WHERE id = $1 AND revoked_at IS NULL`, id, category)
	if err != nil {
		return fmt.Errorf("set category of client %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set category of client %s: %w", id, auth.ErrNoSuchClient)
	}
	return nil
}
