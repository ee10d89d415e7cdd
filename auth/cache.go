package auth

import (
	"context"
	"sync"
	"time"
)

// Cached remembers the clients that tokens resolved to for ttl, so that a
// busy client costs one database look-up per ttl instead of one per
// request. A revocation takes effect within ttl.
type Cached struct {
	Store
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedClient
}

type cachedClient struct {
	client  *Client
	expires time.Time
}

// NewCached wraps s.
func NewCached(s Store, ttl time.Duration) *Cached {
	return &Cached{Store: s, ttl: ttl, now: time.Now, entries: map[string]cachedClient{}}
}

// ClientByTokenHash answers from the cache while fresh; unknown tokens are
// not remembered, so a client created a moment ago works at once.
func (c *Cached) ClientByTokenHash(ctx context.Context, hash []byte) (*Client, error) {
	key := string(hash)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.client, nil
	}
	cl, err := c.Store.ClientByTokenHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries) > 10000 {
		// Bounded: tokens are few; a flood of distinct ones starts afresh.
		c.entries = map[string]cachedClient{}
	}
	c.entries[key] = cachedClient{client: cl, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return cl, nil
}

// RevokeClient revokes and forgets the cache, so a revocation made through
// this process takes effect at once here.
func (c *Cached) RevokeClient(ctx context.Context, id string) error {
	if err := c.Store.RevokeClient(ctx, id); err != nil {
		return err
	}
	c.mu.Lock()
	c.entries = map[string]cachedClient{}
	c.mu.Unlock()
	return nil
}
