package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ProblemKind classifies a finding of Verify.
type ProblemKind string

// What Verify finds.
const (
	// ProblemModified: a record's hash does not match its content, at its
	// seq or any other.
	ProblemModified ProblemKind = "modified"
	// ProblemDeleted: records are missing between two that are there.
	ProblemDeleted ProblemKind = "deleted"
	// ProblemReordered: a record is stored at another seq than the one it
	// was written as (it hashes correctly only there).
	ProblemReordered ProblemKind = "reordered"
	// ProblemBrokenLink: a record was chained to a predecessor hash that
	// the record before it does not have: that one was rewritten with its
	// hash recomputed, or records before it were removed and the rest
	// renumbered.
	ProblemBrokenLink ProblemKind = "broken_link"
	// ProblemMalformed: a record hashes correctly but is not a canonical
	// record (it was forged by someone who computed its hash).
	ProblemMalformed ProblemKind = "malformed"
	// ProblemColumns: the store's searchable columns disagree with the
	// hashed record, so listings by them are wrong.
	ProblemColumns ProblemKind = "columns"
	// ProblemSignature: a checkpoint's signature does not verify, or its
	// key is not trusted.
	ProblemSignature ProblemKind = "bad_signature"
	// ProblemCheckpoint: the hash a checkpoint signed is no longer the
	// hash of its record: a record after the last checkpoint that still
	// matches, up to this one, was rewritten (and the hashes after it
	// recomputed). From is that checkpoint's seq + 1.
	ProblemCheckpoint ProblemKind = "checkpoint_mismatch"
	// ProblemTruncated: the log ends before a signed checkpoint or the head.
	ProblemTruncated ProblemKind = "truncated"
	// ProblemHead: the head disagrees with the last record.
	ProblemHead ProblemKind = "head"
)

// Problem is one finding of Verify: the records concerned (From to To,
// inclusive, as stored seqs; To == From for one) and what is wrong, in words.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	From    int64       `json:"from"`
	To      int64       `json:"to"`
	Message string      `json:"message"`

	shift int64 // of a moved record: the seq it was written as minus its seq
}

func (p Problem) String() string { return p.Message }

// Names reports whether the problem concerns record seq.
func (p Problem) Names(seq int64) bool { return p.From <= seq && seq <= p.To }

// VerifyOptions are what a Verifier checks the entries against.
type VerifyOptions struct {
	// Checkpoints are the stored checkpoints, in any order.
	Checkpoints []Checkpoint
	// Head, when set, is the store's head: records missing below it are
	// reported as truncated, and its hash must be the last record's.
	Head *Head
	// Trusted are the public keys checkpoints must be signed with. Without
	// any, each checkpoint is checked against the public key stored with
	// it, which shows it unaltered but not who signed it.
	Trusted []ed25519.PublicKey
}

// maxShift is how far from its seq a record is looked for when it does not
// hash at its own seq and its predecessor is not known (records renumbered
// after a deletion). Records moved farther are found through their
// predecessor's hash, or reported as modified.
const maxShift = 16

type hashKey [HashSize]byte

func keyOf(h []byte) hashKey { return hashKey(h) }

// pend is a record that hashes at no seq tried yet, waiting for the record
// whose hash it names as predecessor.
type pend struct {
	seq              int64
	prev, hash, body []byte
	cols             *Record
}

// link is a predecessor check that waits for the end: the predecessor may
// be placed later (a record moved after this one).
type link struct {
	seq, as  int64
	prev     hashKey
	afterGap bool
}

// placed is a record whose position is known.
type placed struct {
	seq, as    int64
	prev, hash []byte
	afterGap   bool
}

// Verifier checks a chain fed to it one entry at a time, in increasing seq
// order, so that a log of any length can be verified while it is read. It
// keeps every record's hash (about 60 bytes a record) to place moved records
// and check links.
type Verifier struct {
	opts     VerifyOptions
	byHash   map[hashKey]int64 // hash → seq the record was written as
	pending  map[hashKey][]pend
	deferred []link
	modified map[int64][]byte // stored seq → stored hash, of records reported modified
	deleted  [][2]int64
	problems []Problem

	n           int64
	first, last int64
	lastHash    []byte
}

// NewVerifier starts a verification.
func NewVerifier(opts VerifyOptions) *Verifier {
	return &Verifier{
		opts:     opts,
		byHash:   make(map[hashKey]int64),
		pending:  make(map[hashKey][]pend),
		modified: make(map[int64][]byte),
	}
}

// Verify checks entries (in any order) against the options' checkpoints,
// head and keys, and returns every problem found, by seq; none when the log
// is intact.
func Verify(entries []Entry, opts VerifyOptions) []Problem {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	v := NewVerifier(opts)
	for _, e := range sorted {
		v.Add(e)
	}
	return v.Finish()
}

func (v *Verifier) report(k ProblemKind, from, to int64, format string, args ...any) {
	v.problems = append(v.problems, Problem{Kind: k, From: from, To: to, Message: fmt.Sprintf(format, args...)})
}

// Add checks the next entry. Entries must come in increasing seq order.
func (v *Verifier) Add(e Entry) {
	if e.Seq < 1 || (v.n > 0 && e.Seq <= v.last) {
		v.report(ProblemReordered, e.Seq, e.Seq, "record %d is out of order in the log (after record %d)", e.Seq, v.last)
		return
	}
	afterGap := false
	if e.Seq > v.last+1 {
		afterGap = true
		v.deleted = append(v.deleted, [2]int64{v.last + 1, e.Seq - 1})
		switch {
		case v.n == 0:
			v.report(ProblemDeleted, 1, e.Seq-1, "%s missing (deleted): the log starts at record %d", records(1, e.Seq-1), e.Seq)
		default:
			v.report(ProblemDeleted, v.last+1, e.Seq-1, "%s missing (deleted): the log goes from record %d to record %d", records(v.last+1, e.Seq-1), v.last, e.Seq)
		}
	}
	if v.n == 0 {
		v.first = e.Seq
	}
	v.n++
	v.last, v.lastHash = e.Seq, e.Hash

	wellFormed := len(e.Hash) == HashSize && len(e.PrevHash) == HashSize
	if wellFormed && bytes.Equal(ChainHash(e.PrevHash, e.Seq, e.Body), e.Hash) {
		v.checkContent(e)
		v.place(placed{seq: e.Seq, as: e.Seq, prev: e.PrevHash, hash: e.Hash, afterGap: afterGap})
		return
	}
	if !wellFormed {
		v.markModified(e.Seq, e.Hash, "its hashes are not %d bytes long", HashSize)
		return
	}
	// The record does not hash at its seq: find where it was written.
	prevKnown := false
	var tries []int64
	if bytes.Equal(e.PrevHash, Genesis) {
		prevKnown = true
		tries = append(tries, 1)
	} else if s, ok := v.byHash[keyOf(e.PrevHash)]; ok {
		prevKnown = true
		tries = append(tries, s+1)
	}
	for d := int64(1); d <= maxShift; d++ {
		tries = append(tries, e.Seq+d, e.Seq-d)
	}
	for _, as := range tries {
		if as >= 1 && as != e.Seq && bytes.Equal(ChainHash(e.PrevHash, as, e.Body), e.Hash) {
			v.checkContent(e)
			v.moved(e.Seq, as)
			v.place(placed{seq: e.Seq, as: as, prev: e.PrevHash, hash: e.Hash, afterGap: afterGap})
			return
		}
	}
	if prevKnown {
		v.markModified(e.Seq, e.Hash, "its hash does not match its content")
		return
	}
	// Its predecessor may come later (moved after it).
	k := keyOf(e.PrevHash)
	v.pending[k] = append(v.pending[k], pend{seq: e.Seq, prev: bytes.Clone(e.PrevHash), hash: bytes.Clone(e.Hash), body: bytes.Clone(e.Body), cols: e.Columns})
}

// checkContent checks that a record whose hash matches is a record, and
// that the store's columns agree with it.
func (v *Verifier) checkContent(e Entry) {
	rec, err := Decode(e.Body)
	if err != nil {
		v.report(ProblemMalformed, e.Seq, e.Seq, "record %d hashes correctly but is not a record (%v): it was forged by someone who computed its hash", e.Seq, err)
		return
	}
	if e.Columns == nil {
		return
	}
	if diff := ColumnsDiffer(*e.Columns, rec); len(diff) > 0 {
		v.report(ProblemColumns, e.Seq, e.Seq, "record %d: its columns disagree with the hashed record (%s): listings by them are wrong",
			e.Seq, strings.Join(diff, "; "))
	}
}

func (v *Verifier) moved(seq, as int64) {
	v.problems = append(v.problems, Problem{Kind: ProblemReordered, From: seq, To: seq, shift: as - seq,
		Message: fmt.Sprintf("record %d is out of place: the record stored as %d was written as record %d", seq, seq, as)})
}

func (v *Verifier) markModified(seq int64, hash []byte, why string, args ...any) {
	v.report(ProblemModified, seq, seq, "record %d was modified: "+why, append([]any{seq}, args...)...)
	v.modified[seq] = bytes.Clone(hash)
	if len(hash) == HashSize {
		// The record after it still names this hash when only the content
		// changed: its link is not a second finding.
		if _, dup := v.byHash[keyOf(hash)]; !dup {
			v.byHash[keyOf(hash)] = seq
		}
		v.resolve(keyOf(hash), seq)
	}
}

// place records where a record belongs, checks its link to its predecessor
// and places the records that were waiting for it.
func (v *Verifier) place(p placed) {
	queue := []placed{p}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		k := keyOf(x.hash)
		if s, dup := v.byHash[k]; dup {
			v.report(ProblemReordered, x.seq, x.seq, "record %d is a copy of the record written as %d", x.seq, s)
			continue
		}
		v.byHash[k] = x.as
		switch s, ok := v.byHash[keyOf(x.prev)]; {
		case x.as == 1:
			if !bytes.Equal(x.prev, Genesis) {
				v.report(ProblemBrokenLink, x.seq, x.seq, "record %d does not start from the genesis hash: records before it were removed and the rest renumbered", x.seq)
			}
		case ok && s != x.as-1:
			v.report(ProblemBrokenLink, x.seq, x.seq, "record %d%s was chained after the record written as %d, not %d", x.seq, writtenAs(x.seq, x.as), s, x.as-1)
		case !ok:
			v.deferred = append(v.deferred, link{seq: x.seq, as: x.as, prev: keyOf(x.prev), afterGap: x.afterGap})
		}
		queue = append(queue, v.waiting(k, x.as)...)
	}
}

// waiting takes the records that named hash k as predecessor, now that it
// is known to be the record written as as: each was written as as+1.
func (v *Verifier) waiting(k hashKey, as int64) []placed {
	ps := v.pending[k]
	delete(v.pending, k)
	var out []placed
	for _, p := range ps {
		if bytes.Equal(ChainHash(p.prev, as+1, p.body), p.hash) {
			v.checkContent(Entry{Seq: p.seq, Body: p.body, Columns: p.cols})
			v.moved(p.seq, as+1)
			out = append(out, placed{seq: p.seq, as: as + 1, prev: p.prev, hash: p.hash})
			continue
		}
		v.markModified(p.seq, p.hash, "its hash does not match its content")
	}
	return out
}

// resolve places the records waiting for a modified record's hash.
func (v *Verifier) resolve(k hashKey, as int64) {
	for _, p := range v.waiting(k, as) {
		v.place(p)
	}
}

// Finish ends the verification and returns the problems found, by seq.
func (v *Verifier) Finish() []Problem {
	for len(v.pending) > 0 {
		var first pend
		for _, ps := range v.pending {
			if first.seq == 0 || ps[0].seq < first.seq {
				first = ps[0]
			}
		}
		v.pending[keyOf(first.prev)] = slices.DeleteFunc(v.pending[keyOf(first.prev)], func(p pend) bool { return p.seq == first.seq })
		if len(v.pending[keyOf(first.prev)]) == 0 {
			delete(v.pending, keyOf(first.prev))
		}
		v.markModified(first.seq, first.hash, "its hash does not match its content at its seq or any near it")
	}
	for _, l := range v.deferred {
		s, ok := v.byHash[l.prev]
		switch {
		case ok && s == l.as-1:
		case ok:
			v.report(ProblemBrokenLink, l.seq, l.seq, "record %d%s was chained after the record written as %d, not %d", l.seq, writtenAs(l.seq, l.as), s, l.as-1)
		case l.afterGap && l.as == l.seq:
			// Its predecessor was deleted: reported as such.
		case v.wasModified(l.seq - 1):
			// Its predecessor was reported modified.
		case l.as != l.seq:
			v.report(ProblemDeleted, l.seq, l.seq,
				"the record written as %d is missing: record %d holds the record written as %d, which was chained to it (records were deleted and the rest renumbered)",
				l.as-1, l.seq, l.as)
		default:
			v.report(ProblemBrokenLink, l.seq-1, l.seq,
				"records %d and %d do not link: record %d%s was chained to a predecessor hash that no record has: record %d was rewritten with its hash recomputed, or records before %d were removed and the rest renumbered",
				l.seq-1, l.seq, l.seq, writtenAs(l.seq, l.as), l.seq-1, l.seq)
		}
	}
	v.checkpoints()
	v.tail()
	v.collapseMoves()
	slices.SortStableFunc(v.problems, func(a, b Problem) int { return cmp.Compare(a.From, b.From) })
	return v.problems
}

// checkpoints checks each checkpoint's signature and that the hash it
// signed is still its record's.
func (v *Verifier) checkpoints() {
	cps := slices.Clone(v.opts.Checkpoints)
	slices.SortStableFunc(cps, func(a, b Checkpoint) int { return cmp.Compare(a.Seq, b.Seq) })
	matched := int64(0)
	for _, c := range cps {
		if !v.signedOK(c) {
			continue
		}
		if c.Seq > v.last || v.isDeleted(c.Seq) {
			continue // reported as truncated or deleted
		}
		if len(c.Hash) != HashSize {
			v.report(ProblemCheckpoint, c.Seq, c.Seq, "checkpoint at record %d: its hash has %d bytes, not %d: the checkpoint was altered", c.Seq, len(c.Hash), HashSize)
			continue
		}
		if s, ok := v.byHash[keyOf(c.Hash)]; ok && s == c.Seq {
			matched = c.Seq
			continue
		}
		if h, ok := v.modified[c.Seq]; ok && bytes.Equal(h, c.Hash) {
			matched = c.Seq // its record is reported modified
			continue
		}
		v.report(ProblemCheckpoint, matched+1, c.Seq,
			"checkpoint at record %d (signed %s by key %s): record %d no longer has the signed hash %s: %s rewritten after the checkpoint was signed, and the hashes after it recomputed",
			c.Seq, c.At.UTC().Format(time.RFC3339), c.KeyID, c.Seq, short(c.Hash), amongRecords(matched+1, c.Seq))
	}
}

// signedOK checks a checkpoint's signature, reporting a bad one.
func (v *Verifier) signedOK(c Checkpoint) bool {
	at := c.At.UTC().Format(time.RFC3339)
	if len(v.opts.Trusted) > 0 {
		for _, k := range v.opts.Trusted {
			if c.VerifySignature(k) {
				return true
			}
		}
		if slices.ContainsFunc(v.opts.Trusted, func(k ed25519.PublicKey) bool { return KeyID(k) == c.KeyID }) {
			v.report(ProblemSignature, c.Seq, c.Seq, "checkpoint at record %d (signed %s by key %s): the signature does not verify: the checkpoint was forged or altered", c.Seq, at, c.KeyID)
		} else {
			v.report(ProblemSignature, c.Seq, c.Seq, "checkpoint at record %d (signed %s): signed by key %s, which is not a trusted key: the checkpoint was forged", c.Seq, at, c.KeyID)
		}
		return false
	}
	if len(c.PublicKey) != ed25519.PublicKeySize || KeyID(c.PublicKey) != c.KeyID {
		v.report(ProblemSignature, c.Seq, c.Seq, "checkpoint at record %d (signed %s): its public key does not match its key id %s: the checkpoint was altered", c.Seq, at, c.KeyID)
		return false
	}
	if !c.VerifySignature(c.PublicKey) {
		v.report(ProblemSignature, c.Seq, c.Seq, "checkpoint at record %d (signed %s by key %s): the signature does not verify: the checkpoint was forged or altered", c.Seq, at, c.KeyID)
		return false
	}
	return true
}

func (v *Verifier) wasModified(seq int64) bool {
	_, ok := v.modified[seq]
	return ok
}

func (v *Verifier) isDeleted(seq int64) bool {
	return slices.ContainsFunc(v.deleted, func(r [2]int64) bool { return r[0] <= seq && seq <= r[1] })
}

// tail reports records missing at the end: below the last checkpoint
// signed, or below the head.
func (v *Verifier) tail() {
	want, why := int64(0), ""
	for _, c := range v.opts.Checkpoints {
		if c.Seq > want && c.Seq > v.last && v.signatureFine(c) {
			want, why = c.Seq, fmt.Sprintf("a checkpoint was signed at record %d", c.Seq)
		}
	}
	if h := v.opts.Head; h != nil {
		switch {
		case h.Seq > v.last && h.Seq > want:
			want, why = h.Seq, fmt.Sprintf("the head says record %d was appended", h.Seq)
		case h.Seq < v.last:
			v.report(ProblemHead, h.Seq+1, v.last, "%s beyond the head (record %d): appended outside the hub", records(h.Seq+1, v.last)+pluralWere(h.Seq+1, v.last), h.Seq)
		case h.Seq == v.last && v.n > 0 && !bytes.Equal(h.Hash, v.lastHash):
			v.report(ProblemHead, v.last, v.last, "the head names hash %s for record %d, but record %d has hash %s: the last record was rewritten", short(h.Hash), v.last, v.last, short(v.lastHash))
		}
	}
	if want > v.last {
		end := "the log is empty"
		if v.n > 0 {
			end = fmt.Sprintf("the log ends at record %d", v.last)
		}
		v.report(ProblemTruncated, v.last+1, want, "%s missing at the end (truncated): %s, but %s", records(v.last+1, want), end, why)
	}
}

// signatureFine checks a signature without reporting.
func (v *Verifier) signatureFine(c Checkpoint) bool {
	if len(v.opts.Trusted) == 0 {
		return KeyID(c.PublicKey) == c.KeyID && c.VerifySignature(c.PublicKey)
	}
	return slices.ContainsFunc(v.opts.Trusted, c.VerifySignature)
}

// collapseMoves merges reports of consecutive records moved by the same
// distance (a renumbering) into one.
func (v *Verifier) collapseMoves() {
	var moves, rest []Problem
	for _, p := range v.problems {
		if p.shift != 0 {
			moves = append(moves, p)
		} else {
			rest = append(rest, p)
		}
	}
	slices.SortFunc(moves, func(a, b Problem) int { return cmp.Compare(a.From, b.From) })
	for i := 0; i < len(moves); {
		j := i + 1
		for j < len(moves) && moves[j].From == moves[j-1].From+1 && moves[j].shift == moves[i].shift {
			j++
		}
		if j-i == 1 {
			rest = append(rest, moves[i])
		} else {
			from, to, d := moves[i].From, moves[j-1].From, moves[i].shift
			rest = append(rest, Problem{Kind: ProblemReordered, From: from, To: to,
				Message: fmt.Sprintf("records %d–%d are out of place: they were written as records %d–%d", from, to, from+d, to+d)})
		}
		i = j
	}
	v.problems = rest
}

// ColumnsDiffer lists the searchable columns in which cols (what a store's
// columns say) differs from rec (the hashed record), with both values:
// kind, at, org, official, basis, purpose, case_ref, query_id, decision,
// reason and persons.
func ColumnsDiffer(cols, rec Record) []string {
	var out []string
	str := func(name, c, r string) {
		if c != r {
			out = append(out, fmt.Sprintf("%s %q, logged %q", name, c, r))
		}
	}
	str("kind", string(cols.Kind), string(rec.Kind))
	if !cols.At.Equal(rec.At) {
		out = append(out, fmt.Sprintf("at %s, logged %s", cols.At.UTC().Format(timeLayout), rec.At.UTC().Format(timeLayout)))
	}
	str("org", cols.Org, rec.Org)
	str("official", cols.Official, rec.Official)
	str("basis", cols.Basis, rec.Basis)
	str("purpose", cols.Purpose, rec.Purpose)
	str("case_ref", cols.CaseRef, rec.CaseRef)
	str("query_id", cols.QueryID, rec.QueryID)
	str("decision", cols.Decision, rec.Decision)
	str("reason", cols.Reason, rec.Reason)
	if !slices.Equal(cols.Persons, rec.Persons) {
		out = append(out, fmt.Sprintf("persons %q, logged %q", cols.Persons, rec.Persons))
	}
	return out
}

func records(from, to int64) string {
	if from == to {
		return fmt.Sprintf("record %d", from)
	}
	return fmt.Sprintf("records %d–%d", from, to)
}

func amongRecords(from, to int64) string {
	if from == to {
		return fmt.Sprintf("record %d was", from)
	}
	return fmt.Sprintf("a record among %d–%d was", from, to)
}

func pluralWere(from, to int64) string {
	if from == to {
		return " was"
	}
	return " were"
}

func writtenAs(seq, as int64) string {
	if seq == as {
		return ""
	}
	return fmt.Sprintf(" (written as record %d)", as)
}

func short(h []byte) string {
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// Snapshot is the stored chain as of one moment.
type Snapshot struct {
	Head        Head
	Checkpoints []Checkpoint
	// Entries yields every stored entry in seq order; an error ends it.
	Entries func(yield func(Entry, error) bool)
}

// Report is the result of verifying a stored log.
type Report struct {
	Records     int64
	First, Last int64
	Head        Head
	Checkpoints int
	// LastCheckpoint is the latest checkpoint whose signature verifies.
	LastCheckpoint *Checkpoint
	// Trusted says whether the signatures were checked against trusted
	// keys (else against the keys stored beside them).
	Trusted  bool
	Problems []Problem
}

// VerifyStored reads the chain from src in one snapshot and verifies it
// against the trusted keys (see VerifyOptions.Trusted).
func VerifyStored(ctx context.Context, src Source, trusted []ed25519.PublicKey) (Report, error) {
	var rep Report
	err := src.Snapshot(ctx, func(s Snapshot) error {
		head := s.Head
		v := NewVerifier(VerifyOptions{Checkpoints: s.Checkpoints, Head: &head, Trusted: trusted})
		for e, err := range s.Entries {
			if err != nil {
				return err
			}
			v.Add(e)
		}
		rep = Report{Records: v.n, First: v.first, Last: v.last, Head: head, Checkpoints: len(s.Checkpoints),
			Trusted: len(trusted) > 0, Problems: v.Finish()}
		for i := range s.Checkpoints {
			c := s.Checkpoints[i]
			if v.signatureFine(c) && (rep.LastCheckpoint == nil || c.Seq > rep.LastCheckpoint.Seq) {
				rep.LastCheckpoint = &c
			}
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	return rep, nil
}
