package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// HashSize is the size of a chain hash (SHA-256).
const HashSize = sha256.Size

// Genesis is the hash before the first record: 32 zero bytes.
var Genesis = make([]byte, HashSize)

// ChainHash is the hash of the record with canonical bytes body at seq,
// following the record whose hash is prev:
// SHA-256(prev || seq as 8 bytes big-endian || body).
func ChainHash(prev []byte, seq int64, body []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seq))
	h.Write(s[:])
	h.Write(body)
	return h.Sum(nil)
}

// Head is the end of the chain: the last record's seq and hash (0 and
// Genesis for an empty log).
type Head struct {
	Seq  int64
	Hash []byte
}

// Entry is one record of the chain as it is stored.
type Entry struct {
	Seq      int64
	PrevHash []byte
	Hash     []byte
	// Body is the record's canonical encoding, exactly as hashed.
	Body []byte
	// Columns, when not nil, is what the store's searchable columns say
	// about the record; Verify checks that they agree with Body (see
	// ColumnsDiffer). The store fills the fields it keeps in columns.
	Columns *Record
}

// Link chains recs after head: it encodes each (normalised, with At as
// given) and returns the entries to store and the new head. Records that
// fail Validate are refused, and nothing is linked.
func Link(head Head, recs []Record) ([]Entry, Head, error) {
	if len(head.Hash) != HashSize {
		return nil, head, fmt.Errorf("audit: head hash has %d bytes, want %d", len(head.Hash), HashSize)
	}
	out := make([]Entry, len(recs))
	prev, seq := head.Hash, head.Seq
	for i, r := range recs {
		if err := r.Validate(); err != nil {
			return nil, head, err
		}
		_, body, err := Canonical(r)
		if err != nil {
			return nil, head, err
		}
		seq++
		h := ChainHash(prev, seq, body)
		out[i] = Entry{Seq: seq, PrevHash: prev, Hash: h, Body: body}
		prev = h
	}
	return out, Head{Seq: seq, Hash: prev}, nil
}
