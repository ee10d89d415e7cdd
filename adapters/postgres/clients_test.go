package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/reghub/reghub/auth"
)

func TestListAndRevokeClients(t *testing.T) {
	t.Parallel()
	b := setup(t) // adds client "reg"
	opTok, err := auth.Register(b.ctx, b.store, "ops", "operations desk", auth.RoleOperator)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if c, err := auth.Authenticate(b.ctx, b.store, opTok); err != nil || c.ID != "ops" || c.Role != auth.RoleOperator {
		t.Fatalf("before revoke: Authenticate = %+v, %v; want ops/operator", c, err)
	}

	cs := listClients(t, b)
	if len(cs) != 3 || cs["reg"] == nil || cs["ops"] == nil || cs["reghub"] == nil || cs["reghub"].Role != auth.RoleSystem {
		t.Fatalf("list = %+v; want reg, ops and the hub's own (system) client", cs)
	}
	if c := cs["ops"]; c.Name != "operations desk" || c.Role != auth.RoleOperator || c.CreatedAt.IsZero() || c.RevokedAt != nil {
		t.Fatalf("listed ops = %+v", c)
	}

	before := time.Now()
	if err := b.store.RevokeClient(b.ctx, "ops"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := auth.Authenticate(b.ctx, b.store, opTok); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("after revoke: Authenticate err = %v; want ErrUnauthenticated", err)
	}
	if _, err := auth.Authenticate(b.ctx, b.store, "tok"); err != nil {
		t.Fatalf("the other client's token stopped working: %v", err)
	}

	// The row stays, with the revocation time.
	cs = listClients(t, b)
	if len(cs) != 3 {
		t.Fatalf("list after revoke: %d clients; want 3", len(cs))
	}
	revokedAt := cs["ops"].RevokedAt
	if revokedAt == nil || revokedAt.Before(before.Add(-time.Minute)) || cs["reg"].RevokedAt != nil {
		t.Fatalf("after revoke: reg revoked_at %v, ops revoked_at %v; want nil and ~now", cs["reg"].RevokedAt, revokedAt)
	}

	// Revoking again, or an unknown id, is ErrNoSuchClient and keeps the
	// first revocation time.
	for _, id := range []string{"ops", "nobody"} {
		if err := b.store.RevokeClient(b.ctx, id); !errors.Is(err, auth.ErrNoSuchClient) {
			t.Fatalf("revoke %s: err = %v; want ErrNoSuchClient", id, err)
		}
	}
	if got := listClients(t, b)["ops"].RevokedAt; got == nil || !got.Equal(*revokedAt) {
		t.Fatalf("second revoke changed revoked_at: %v -> %v", revokedAt, got)
	}
}

// listClients returns the stored clients by id.
func listClients(t *testing.T, b bundle) map[string]*auth.Client {
	t.Helper()
	cs, err := b.store.ListClients(b.ctx)
	if err != nil {
		t.Fatalf("list clients: %v", err)
	}
	m := map[string]*auth.Client{}
	for i := range cs {
		m[cs[i].ID] = &cs[i]
	}
	return m
}
