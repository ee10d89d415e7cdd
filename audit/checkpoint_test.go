package audit_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/reghub/reghub/audit"
)

func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "audit.key")
	// Processes starting at once end up with one key.
	signers := make([]*audit.Signer, 4)
	created := make([]bool, 4)
	var wg sync.WaitGroup
	for i := range signers {
		wg.Go(func() {
			var err error
			signers[i], created[i], err = audit.LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	n := 0
	for i, s := range signers {
		if created[i] {
			n++
		}
		if s == nil || s.KeyID() != signers[0].KeyID() {
			t.Fatalf("signer %d differs", i)
		}
	}
	if n != 1 {
		t.Fatalf("%d processes created the key", n)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v)", fi.Mode(), err)
	}
	for _, p := range []string{path, path + ".pub"} {
		pub, err := audit.LoadPublicKey(p)
		if err != nil || !bytes.Equal(pub, signers[0].PublicKey()) {
			t.Fatalf("LoadPublicKey(%s) = %x, %v", p, pub, err)
		}
	}
	if _, err := audit.LoadKey(path + ".pub"); err == nil {
		t.Fatal("LoadKey accepted a public key file")
	}
	again, created2, err := audit.LoadOrCreateKey(path)
	if err != nil || created2 || again.KeyID() != signers[0].KeyID() {
		t.Fatalf("reload: %v %v", created2, err)
	}

	// A checkpoint verifies with its key, not once anything is changed.
	head := audit.Head{Seq: 7, Hash: bytes.Repeat([]byte{1}, audit.HashSize)}
	c := again.Sign(head, time.Now())
	if !c.VerifySignature(again.PublicKey()) || c.KeyID != audit.KeyID(again.PublicKey()) {
		t.Fatal("checkpoint does not verify")
	}
	for name, mut := range map[string]func(*audit.Checkpoint){
		"seq":  func(c *audit.Checkpoint) { c.Seq++ },
		"hash": func(c *audit.Checkpoint) { c.Hash = bytes.Repeat([]byte{2}, audit.HashSize) },
		"at":   func(c *audit.Checkpoint) { c.At = c.At.Add(time.Microsecond) },
	} {
		x := c
		mut(&x)
		if x.VerifySignature(again.PublicKey()) {
			t.Errorf("checkpoint with another %s verifies", name)
		}
	}
}
