// Package audit is the hub's tamper-evident record of who read what: every
// query, granted or refused, and every operator step is appended to one
// global log, and a signed checkpoint now and then vouches for the log up to
// a point.
//
// # Records
//
// A Record says who (organisation, official), when, on which basis and for
// which purpose and case, what was searched for, which fields were asked for
// and delivered, whose data was delivered (Persons), what was decided and why.
// Operator steps are records of kind operator_step whose Decision is the
// operation and whose Detail holds the step's target and details. ForQuery
// and ForStep build them.
//
// # Canonical encoding
//
// A record is hashed as its canonical encoding (Encode): one line of JSON
// with the keys, always all present, in this order:
//
//	v (1), kind, at, org, official, basis, citation, purpose, case_ref,
//	query_id, search, fields_asked, fields_delivered, persons, decision,
//	reason, detail
//
// at is UTC with exactly six fractional digits ("2006-01-02T15:04:05.000000Z",
// the precision PostgreSQL keeps); search is an object with its keys sorted
// bytewise; the lists are arrays ([] when empty); detail is null or JSON
// re-encoded with sorted object keys and numbers as written. Strings are
// written as UTF-8 with only '"', '\\' and control characters escapes
// (\n, \r, \t, else \u00XX); before encoding, invalid UTF-8 and NUL (which
// PostgreSQL text cannot hold) become U+FFFD (Normalize). No whitespace is
// added. Decode accepts exactly these bytes: Encode(Decode(b)) == b.
//
// # The chain
//
// Records are numbered from 1 without gaps (seq). Record n is linked to its
// predecessor by
//
//	hash_n = SHA-256(hash_{n-1} || seq_n as 8 bytes big-endian || canonical bytes_n)
//
// with hash_0 = 32 zero bytes (Genesis). Changing, removing, inserting or
// moving a record changes the hash of every record after it.
//
// # Checkpoints
//
// Anyone with write access to the database could rewrite the log and
// recompute every hash after the change. A Checkpoint stops that: the hub
// signs (Ed25519) the head's seq and hash and the time, and stores the
// signature with the signing key's public key and key id. A rewritten log
// no longer matches the hashes that were signed, and a log cut short no
// longer reaches the seq that was signed; only records after the last
// checkpoint can be rewritten undetected, which is why checkpoints are
// written often (RunCheckpoints in the PostgreSQL adapter). Verify trusts
// the public keys it is given; without any it checks the signatures against
// the keys stored beside them, which proves the checkpoints unaltered but
// not who signed them.
//
// The signature covers the 8-byte big-endian seq, the 32-byte hash and the
// time in microseconds since the Unix epoch as 8 bytes big-endian, after the
// prefix "reghub audit checkpoint v1\n" (SignedMessage).
//
// The signing key is a PEM file holding a PKCS #8 "PRIVATE KEY" (as
// `openssl genpkey -algorithm ed25519` writes it); LoadOrCreateKey creates
// one, mode 0600, with the public key beside it in FILE.pub ("PUBLIC KEY",
// PKIX). An auditor verifies with either file (LoadPublicKey). A key's id is
// the first 8 bytes of the SHA-256 of its public key, in hex.
//
// # Verification
//
// Verify (or a Verifier fed one entry at a time) reads the stored chain and
// names every finding precisely, one Problem each: a modified record (its
// hash does not match its content), deleted records (a gap in seq), records
// moved to another seq (they hash correctly only at another position), a
// broken link (a record rewritten with its hash recomputed), searchable
// columns that disagree with the hashed record, checkpoints whose signature
// fails or whose hash is no longer in the log, and a tail cut off below a
// checkpoint or the head.
//
// It is core code: no I/O besides reading and writing key files, and no
// adapter imports. The ports are Log (append, used by the query endpoint),
// Reader (listings for the data subject and the requester) and Source (the
// stored chain, for verification).
package audit
