package audit_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/audit"
)

// A query endpoint records each query, granted or refused, through the Log
// port before it answers (here the chain is built in memory with Link, as
// the PostgreSQL adapter does under its head lock). Verify then names what
// was changed.
func Example() {
	catalogue, _ := access.Default()
	q, _ := access.ParseQuery([]byte(`{
	  "official": {"id": "SYN-OFF-0042", "name": "Петренко П. П."},
	  "case": "SYN-2026/0001",
	  "basis": {"code": "social.services",
	            "law": "Положення про Реєстр Криворізької міської територіальної громади",
	            "article": "підпункт 6.4.2.3 пункту 6.4"},
	  "purpose": {"id": "social-services", "text": "призначення житлової субсидії"},
	  "search": {"rnokpp": "3300612300"},
	  "fields": ["surname", "address"]
	}`))
	requester := access.Requester{Org: "SYN-SOC-0001", Category: "social_protection"}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	d := access.Decide(catalogue, requester, q, now)

	// The endpoint would call log.Append(ctx, rec) and answer only on nil.
	rec := audit.ForQuery(access.Access{At: now, Requester: requester, Query: q, Decision: d, Outcome: access.StatusAnswered,
		FieldsDelivered: d.Fields, Persons: []string{audit.RNOKPP("3300612300")}})
	entries, head, _ := audit.Link(audit.Head{Hash: audit.Genesis}, []audit.Record{rec, rec, rec})

	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer := audit.NewSigner(key)
	opts := audit.VerifyOptions{Head: &head, Checkpoints: []audit.Checkpoint{signer.Sign(head, now)}, Trusted: []ed25519.PublicKey{signer.PublicKey()}}
	fmt.Println(len(audit.Verify(entries, opts)), "problems")

	entries[1].Body = append([]byte(nil), entries[2].Body...)
	entries[1].Body[len(entries[1].Body)-2] = ' ' // any change at all
	for _, p := range audit.Verify(entries, opts) {
		fmt.Println(p)
	}
	// Output:
	// 0 problems
	// record 2 was modified: its hash does not match its content
}
