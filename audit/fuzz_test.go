package audit_test

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/audit"
)

// FuzzCanonical: encoding a record, decoding it and encoding it again gives
// the same bytes, and decoding gives the normalised record back.
func FuzzCanonical(f *testing.F) {
	f.Add("query", int64(1763625600123456789), "SYN-SOC-0001", "off", "social.services", "q-1", "rnokpp", "3300612300", "surname,address", "rnokpp:3300612300", "granted", "", `{"a":1}`)
	f.Add("operator_step", int64(0), "ops\x00", "\xff", "", "", "", "", "", "", "cancel", "why\n", `[1, 2.0, "x", {"b":null,"a":false}]`)
	f.Add("", int64(-1), "\"\\", "\u2028", "<>&", "", "k\x01", "v\x7f", ",,", ",", "", "", `"s"`)
	f.Fuzz(func(t *testing.T, kind string, nanos int64, org, official, basis, qid, sk, sv, fields, persons, decision, reason, detail string) {
		r := audit.Record{
			Kind: audit.Kind(kind), At: time.Unix(0, nanos), Org: org, Official: official, Basis: basis, QueryID: qid,
			Search: map[string]string{sk: sv}, FieldsAsked: strings.Split(fields, ","), Persons: strings.Split(persons, ","),
			Decision: decision, Reason: reason, Detail: json.RawMessage(detail),
		}
		b, err := audit.Encode(r)
		if err != nil {
			if json.Valid([]byte(detail)) || detail == "" {
				t.Fatalf("Encode(%+v): %v", r, err)
			}
			return
		}
		back, err := audit.Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		again, err := audit.Encode(back)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("encode→decode→encode:\n%s\n%s (%v)", b, again, err)
		}
		n := audit.Normalize(r)
		nb, err := audit.Encode(n)
		if err != nil || !bytes.Equal(nb, b) {
			t.Fatalf("Encode(Normalize(r)) differs:\n%s\n%s", b, nb)
		}
		if !back.At.Equal(n.At) || back.Org != n.Org || back.Reason != n.Reason || !bytes.Equal(back.Detail, n.Detail) {
			t.Fatalf("Decode gave %+v, want %+v", back, n)
		}
	})
}

// FuzzVerify tampers with a chain in ways the fuzzer picks: Verify never
// panics, finds nothing in an untouched chain and something in a changed
// one.
func FuzzVerify(f *testing.F) {
	f.Add([]byte{0, 3, 7})
	f.Add([]byte{1, 2, 0, 2, 5, 1})
	f.Add([]byte{3, 7, 4, 1, 5, 9})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ops []byte) {
		es, s := chain(t, 8)
		head := headOf(es)
		c := cp(s, es[5])
		orig := make([]audit.Entry, len(es))
		for i, e := range es {
			orig[i] = audit.Entry{Seq: e.Seq, PrevHash: bytes.Clone(e.PrevHash), Hash: bytes.Clone(e.Hash), Body: bytes.Clone(e.Body)}
		}
		for i := 0; i+2 < len(ops) && len(es) > 0; i += 3 {
			op, a, b := ops[i]%6, int(ops[i+1])%len(es), int(ops[i+2])
			switch op {
			case 0: // flip a byte of the body
				if len(es[a].Body) > 0 {
					es[a].Body[b%len(es[a].Body)] ^= 1 + byte(b%255)
				}
			case 1: // flip a byte of the hash
				if len(es[a].Hash) > 0 {
					es[a].Hash[b%len(es[a].Hash)] ^= 1 + byte(b%255)
				}
			case 2: // swap two seqs
				j := b % len(es)
				es[a].Seq, es[j].Seq = es[j].Seq, es[a].Seq
			case 3: // delete one
				es = append(es[:a:a], es[a+1:]...)
			case 4: // cut the hash short
				if len(es[a].Hash) > 0 {
					es[a].Hash = es[a].Hash[:b%len(es[a].Hash)]
				}
			case 5: // change the seq
				es[a].Seq = int64(b % 12)
			}
		}
		problems := audit.Verify(es, audit.VerifyOptions{Head: head, Checkpoints: []audit.Checkpoint{c}, Trusted: []ed25519.PublicKey{s.PublicKey()}})
		same := len(es) == len(orig)
		if same {
			sorted := slices.Clone(es)
			slices.SortStableFunc(sorted, func(x, y audit.Entry) int { return cmp.Compare(x.Seq, y.Seq) })
			for i := range sorted {
				o, e := orig[i], sorted[i]
				if o.Seq != e.Seq || !bytes.Equal(o.PrevHash, e.PrevHash) || !bytes.Equal(o.Hash, e.Hash) || !bytes.Equal(o.Body, e.Body) {
					same = false
				}
			}
		}
		if same && len(problems) > 0 {
			t.Fatalf("untouched chain: %v", problems)
		}
		if !same && len(problems) == 0 {
			t.Fatalf("changed chain (ops %v) verified clean", ops)
		}
	})
}
