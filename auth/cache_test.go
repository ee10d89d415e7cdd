package auth

import (
	"context"
	"testing"
	"time"
)

type countingStore struct {
	Store
	calls   int
	clients map[string]*Client
}

func (s *countingStore) ClientByTokenHash(_ context.Context, hash []byte) (*Client, error) {
	s.calls++
	if c, ok := s.clients[string(hash)]; ok {
		return c, nil
	}
	return nil, ErrUnauthenticated
}

func TestCachedRemembersForTTL(t *testing.T) {
	now := time.Unix(1000, 0)
	inner := &countingStore{clients: map[string]*Client{string(HashToken("good")): {ID: "reg", Role: RoleRegistry}}}
	c := NewCached(inner, 10*time.Second)
	c.now = func() time.Time { return now }
	for i := 0; i < 5; i++ {
		if cl, err := Authenticate(context.Background(), c, "good"); err != nil || cl.ID != "reg" {
			t.Fatalf("authenticate: %v %v", cl, err)
		}
	}
	if inner.calls != 1 {
		t.Fatalf("%d look-ups within the ttl, want 1", inner.calls)
	}
	now = now.Add(11 * time.Second)
	if _, err := Authenticate(context.Background(), c, "good"); err != nil {
		t.Fatal(err)
	}
	if inner.calls != 2 {
		t.Fatalf("%d look-ups after the ttl, want 2", inner.calls)
	}
	for i := 0; i < 3; i++ {
		if _, err := Authenticate(context.Background(), c, "bad"); err == nil {
			t.Fatal("unknown token authenticated")
		}
	}
	if inner.calls != 5 {
		t.Fatalf("%d look-ups, want unknown tokens never cached (5)", inner.calls)
	}
}
