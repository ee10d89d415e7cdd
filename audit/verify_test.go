package audit_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/reghub/reghub/audit"
)

// chain links n records and returns them with a signer.
func chain(t *testing.T, n int) ([]audit.Entry, *audit.Signer) {
	t.Helper()
	recs := make([]audit.Record, n)
	for i := range recs {
		recs[i] = sampleRecord()
		recs[i].QueryID = fmt.Sprintf("q-%d", i+1)
	}
	es, head, err := audit.Link(audit.Head{Hash: audit.Genesis}, recs)
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != int64(n) {
		t.Fatalf("head %d", head.Seq)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	return es, audit.NewSigner(key)
}

func headOf(es []audit.Entry) *audit.Head {
	last := es[len(es)-1]
	return &audit.Head{Seq: last.Seq, Hash: last.Hash}
}

func cp(s *audit.Signer, e audit.Entry) audit.Checkpoint {
	return s.Sign(audit.Head{Seq: e.Seq, Hash: e.Hash}, time.Now())
}

func TestVerifyPure(t *testing.T) {
	type want struct {
		kind audit.ProblemKind
		from int64
		to   int64
	}
	cases := []struct {
		name   string
		tamper func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions)
		want   []want
	}{
		{"intact", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			return es, audit.VerifyOptions{Head: headOf(es), Checkpoints: []audit.Checkpoint{cp(s, es[9]), cp(s, es[19])}, Trusted: []ed25519.PublicKey{s.PublicKey()}}
		}, nil},
		{"modified body", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			r, _ := audit.Decode(es[4].Body)
			r.Org = "EVIL"
			es[4].Body, _ = audit.Encode(r)
			return es, audit.VerifyOptions{Head: headOf(es), Checkpoints: []audit.Checkpoint{cp(s, es[9])}}
		}, []want{{audit.ProblemModified, 5, 5}}},
		{"modified and rehashed", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			r, _ := audit.Decode(es[4].Body)
			r.Org = "EVIL"
			es[4].Body, _ = audit.Encode(r)
			es[4].Hash = audit.ChainHash(es[4].PrevHash, 5, es[4].Body)
			return es, audit.VerifyOptions{Head: headOf(es)}
		}, []want{{audit.ProblemBrokenLink, 5, 6}}},
		{"rewritten from 5 on, chain recomputed", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			c1, c2 := cp(s, es[2]), cp(s, es[9])
			r, _ := audit.Decode(es[4].Body)
			r.Org = "EVIL"
			es[4].Body, _ = audit.Encode(r)
			for i := 4; i < len(es); i++ {
				es[i].PrevHash = es[i-1].Hash
				es[i].Hash = audit.ChainHash(es[i].PrevHash, es[i].Seq, es[i].Body)
			}
			return es, audit.VerifyOptions{Head: headOf(es), Checkpoints: []audit.Checkpoint{c1, c2}}
		}, []want{{audit.ProblemCheckpoint, 4, 10}}},
		{"deleted in the middle", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			opts := audit.VerifyOptions{Head: headOf(es), Checkpoints: []audit.Checkpoint{cp(s, es[7])}}
			return slices.Delete(es, 6, 9), opts
		}, []want{{audit.ProblemDeleted, 7, 9}}},
		{"deleted first", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			return es[1:], audit.VerifyOptions{Head: headOf(es)}
		}, []want{{audit.ProblemDeleted, 1, 1}}},
		{"swapped", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			c := cp(s, es[5])
			es[4].Seq, es[5].Seq = 6, 5
			return es, audit.VerifyOptions{Head: headOf(es), Checkpoints: []audit.Checkpoint{c}}
		}, []want{{audit.ProblemReordered, 5, 5}, {audit.ProblemReordered, 6, 6}}},
		{"swapped far apart", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			es[2].Seq, es[17].Seq = 18, 3
			return es, audit.VerifyOptions{Head: headOf(es)}
		}, []want{{audit.ProblemReordered, 3, 3}, {audit.ProblemReordered, 18, 18}}},
		{"deleted and renumbered", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			h := headOf(es)
			es = slices.Delete(es, 6, 7)
			for i := 6; i < len(es); i++ {
				es[i].Seq--
			}
			return es, audit.VerifyOptions{Head: h}
		}, []want{{audit.ProblemDeleted, 7, 7}, {audit.ProblemReordered, 7, 19}, {audit.ProblemTruncated, 20, 20}}},
		{"tail cut below checkpoint", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			c := cp(s, es[19])
			return es[:14], audit.VerifyOptions{Head: headOf(es[:14]), Checkpoints: []audit.Checkpoint{c}}
		}, []want{{audit.ProblemTruncated, 15, 20}}},
		{"tail cut below head", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			return es[:14], audit.VerifyOptions{Head: headOf(es)}
		}, []want{{audit.ProblemTruncated, 15, 20}}},
		{"forged signature", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			c := cp(s, es[9])
			c.Signature[0] ^= 1
			return es, audit.VerifyOptions{Head: headOf(es), Checkpoints: []audit.Checkpoint{c}}
		}, []want{{audit.ProblemSignature, 10, 10}}},
		{"signed by another key", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			c := cp(audit.NewSigner(other), es[9])
			return es, audit.VerifyOptions{Head: headOf(es), Checkpoints: []audit.Checkpoint{c}, Trusted: []ed25519.PublicKey{s.PublicKey()}}
		}, []want{{audit.ProblemSignature, 10, 10}}},
		{"columns disagree", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			for i := range es {
				r, _ := audit.Decode(es[i].Body)
				es[i].Columns = &r
			}
			es[11].Columns.Org = "OTHER"
			return es, audit.VerifyOptions{Head: headOf(es)}
		}, []want{{audit.ProblemColumns, 12, 12}}},
		{"head disagrees", func(es []audit.Entry, s *audit.Signer) ([]audit.Entry, audit.VerifyOptions) {
			return es, audit.VerifyOptions{Head: &audit.Head{Seq: 20, Hash: es[3].Hash}}
		}, []want{{audit.ProblemHead, 20, 20}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es, s := chain(t, 20)
			es, opts := tc.tamper(es, s)
			got := audit.Verify(es, opts)
			var kinds []want
			for _, p := range got {
				kinds = append(kinds, want{p.Kind, p.From, p.To})
			}
			if !slices.Equal(kinds, tc.want) {
				t.Errorf("problems = %v; want %v", kinds, tc.want)
			}
			for _, p := range got {
				t.Log(p)
			}
		})
	}
}
