// Package auth knows the hub's clients — the local registry, authorities,
// operators — their roles, and how a bearer token identifies one. Tokens are
// random, shown once, and stored only as a SHA-256 hash.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Role is what a client may do.
type Role string

// The roles. A registry submits actions and sees its own; the others arrive
// with the operator and query issues.
const (
	RoleRegistry  Role = "registry"
	RoleAuthority Role = "authority"
	RoleOperator  Role = "operator"
	RoleAuditor   Role = "auditor"
	RoleAdmin     Role = "admin"
	// RoleSystem is the hub's own client, which owns the internal actions
	// (the monthly sets). It is created by a migration with a token nobody
	// holds, and no client can be given it: Valid is false.
	RoleSystem Role = "system"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleRegistry, RoleAuthority, RoleOperator, RoleAuditor, RoleAdmin:
		return true
	}
	return false
}

// Client is an authenticated caller.
type Client struct {
	ID        string
	Name      string
	Role      Role
	CreatedAt time.Time
	RevokedAt *time.Time
	// WebhookURL, when set, receives the client's actions' status changes.
	WebhookURL string
	// Category is an authority's requester category (notary, social
	// protection…), which the legal-basis catalogue grants bases to.
	Category string
}

// ErrUnauthenticated is returned when no such token exists, or it was revoked.
var ErrUnauthenticated = errors.New("unknown or revoked token")

// ErrNoSuchClient is returned by Store.RevokeClient when no active client
// has the id: it never existed, or it was already revoked. Revoking is
// deliberately not idempotent, so that a mistyped id is noticed and the time
// of the first revocation is never overwritten.
var ErrNoSuchClient = errors.New("no such active client")

// Store keeps clients. A revoked client keeps its row (RevokedAt set), so
// that the actions and audit records it left stay attributable.
type Store interface {
	ClientByTokenHash(ctx context.Context, hash []byte) (*Client, error)
	AddClient(ctx context.Context, c Client, tokenHash []byte) error
	// ListClients returns every client, revoked ones included, oldest first.
	ListClients(ctx context.Context) ([]Client, error)
	// RevokeClient marks an active client revoked: its token no longer
	// authenticates. It returns an error wrapping ErrNoSuchClient when no
	// client has the id or the client is already revoked.
	RevokeClient(ctx context.Context, id string) error
	// SetWebhook sets (or, with an empty url, removes) an active client's
	// webhook and its signing secret.
	SetWebhook(ctx context.Context, id, url, secret string) error
	// SetCategory sets an active client's requester category.
	SetCategory(ctx context.Context, id, category string) error
}

// NewToken returns a fresh random bearer token.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return "rh_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashToken is how a token is stored and looked up.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// Authenticate resolves a bearer token to its client.
func Authenticate(ctx context.Context, s Store, token string) (*Client, error) {
	if token == "" {
		return nil, ErrUnauthenticated
	}
	c, err := s.ClientByTokenHash(ctx, HashToken(token))
	if err != nil {
		return nil, err
	}
	if c.RevokedAt != nil {
		return nil, ErrUnauthenticated
	}
	return c, nil
}

// Register creates a client and returns its token, the only time it is seen.
func Register(ctx context.Context, s Store, id, name string, role Role) (string, error) {
	if id == "" || !role.Valid() {
		return "", fmt.Errorf("client id must be set and role one of registry, authority, operator, auditor, admin (got %q, %q)", id, role)
	}
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	if err := s.AddClient(ctx, Client{ID: id, Name: name, Role: role}, HashToken(tok)); err != nil {
		return "", fmt.Errorf("add client %s: %w", id, err)
	}
	return tok, nil
}

// ConfigureWebhook points an active client's webhook at rawURL (http or
// https, absolute) and returns the fresh signing secret, shown only now. An
// empty rawURL removes the webhook.
func ConfigureWebhook(ctx context.Context, s Store, id, rawURL string) (string, error) {
	if rawURL == "" {
		return "", s.SetWebhook(ctx, id, "", "")
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("webhook URL must be an absolute http or https URL (got %q)", rawURL)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random webhook secret: %w", err)
	}
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
	if err := s.SetWebhook(ctx, id, u.String(), secret); err != nil {
		return "", err
	}
	return secret, nil
}
