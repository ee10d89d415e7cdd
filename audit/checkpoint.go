package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Checkpoint vouches for the chain up to Seq: Hash is the hash of record Seq,
// signed at At with the key KeyID (whose public key is PublicKey).
type Checkpoint struct {
	Seq       int64
	Hash      []byte
	At        time.Time
	KeyID     string
	PublicKey ed25519.PublicKey
	Signature []byte
}

// signedPrefix separates checkpoint signatures from any other use of the key.
const signedPrefix = "reghub audit checkpoint v1\n"

// SignedMessage is what a checkpoint's signature covers: the prefix
// "reghub audit checkpoint v1\n", seq (8 bytes big-endian), the hash, and at
// in microseconds since the Unix epoch (8 bytes big-endian).
func SignedMessage(seq int64, hash []byte, at time.Time) []byte {
	m := make([]byte, 0, len(signedPrefix)+16+len(hash))
	m = append(m, signedPrefix...)
	m = binary.BigEndian.AppendUint64(m, uint64(seq))
	m = append(m, hash...)
	return binary.BigEndian.AppendUint64(m, uint64(at.UnixMicro()))
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Signer signs checkpoints with one Ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
	pub ed25519.PublicKey
	id  string
}

// NewSigner signs with key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	pub := key.Public().(ed25519.PublicKey)
	return &Signer{key: key, pub: pub, id: KeyID(pub)}
}

// PublicKey is the key that verifies the signer's checkpoints.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// KeyID is the id of the signer's key.
func (s *Signer) KeyID() string { return s.id }

// Sign makes the checkpoint of the chain at head, signed at at (kept to the
// microsecond).
func (s *Signer) Sign(head Head, at time.Time) Checkpoint {
	at = at.UTC().Truncate(time.Microsecond)
	return Checkpoint{
		Seq: head.Seq, Hash: bytes.Clone(head.Hash), At: at, KeyID: s.id, PublicKey: s.pub,
		Signature: ed25519.Sign(s.key, SignedMessage(head.Seq, head.Hash, at)),
	}
}

// VerifySignature reports whether c is signed by pub.
func (c Checkpoint) VerifySignature(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && len(c.Signature) == ed25519.SignatureSize &&
		ed25519.Verify(pub, SignedMessage(c.Seq, c.Hash, c.At), c.Signature)
}

// PEM block types of the key files.
const (
	pemPrivate = "PRIVATE KEY"
	pemPublic  = "PUBLIC KEY"
)

// LoadOrCreateKey returns the signer of the key in the PEM file at path,
// first creating the file (mode 0600, with the public key in path+".pub")
// when there is none. created says whether it did. Processes starting at
// once on one path end up with the same key.
func LoadOrCreateKey(path string) (s *Signer, created bool, err error) {
	s, err = LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, false, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("audit: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("audit: encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("audit: key directory: %w", err)
	}
	// Written aside, then linked into place: the key appears whole or not
	// at all, and a key created meanwhile by another process wins.
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, false, fmt.Errorf("audit: create signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return nil, false, fmt.Errorf("audit: create signing key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: pemPrivate, Bytes: der}); err != nil {
		_ = tmp.Close()
		return nil, false, fmt.Errorf("audit: write signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return nil, false, fmt.Errorf("audit: write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("audit: write signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			s, err := LoadKey(path)
			return s, false, err
		}
		return nil, false, fmt.Errorf("audit: create signing key: %w", err)
	}
	s = NewSigner(key)
	if err := WritePublicKey(path+".pub", s.PublicKey()); err != nil {
		return nil, false, err
	}
	return s, true, nil
}

// LoadKey returns the signer of the private key in the PEM file at path.
func LoadKey(path string) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemPrivate {
		return nil, fmt.Errorf("audit: %s holds no PEM %q block", path, pemPrivate)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: parse signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: %s holds a %T, not an Ed25519 key", path, k)
	}
	return NewSigner(key), nil
}

// LoadPublicKey reads the public key to verify with from a PEM file holding
// either the public key ("PUBLIC KEY") or the private key ("PRIVATE KEY").
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("audit: %s holds no PEM block", path)
	}
	switch block.Type {
	case pemPrivate:
		s, err := LoadKey(path)
		if err != nil {
			return nil, err
		}
		return s.PublicKey(), nil
	case pemPublic:
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("audit: parse public key %s: %w", path, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("audit: %s holds a %T, not an Ed25519 key", path, k)
		}
		return pub, nil
	default:
		return nil, fmt.Errorf("audit: %s holds a PEM %q block, want %q or %q", path, block.Type, pemPublic, pemPrivate)
	}
}

// WritePublicKey writes pub to path as a PEM "PUBLIC KEY" file, mode 0644.
func WritePublicKey(path string, pub ed25519.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("audit: encode public key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("audit: write public key: %w", err)
	}
	return nil
}
