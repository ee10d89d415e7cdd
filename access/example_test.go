package access_test

import (
	"fmt"
	"time"

	"github.com/reghub/reghub/access"
)

// A social protection department asks for a person's address by РНОКПП,
// citing its basis; the upstream's record is cut to what was granted.
func Example() {
	catalogue, err := access.Default()
	if err != nil {
		panic(err) // a bad catalogue stops the hub
	}
	q, err := access.ParseQuery([]byte(`{
	  "official": {"id": "SYN-OFF-0042", "name": "Петренко П. П."},
	  "case": "SYN-2026/0001",
	  "basis": {"code": "social.services",
	            "law": "Положення про Реєстр Криворізької міської територіальної громади",
	            "article": "підпункт 6.4.2.3 пункту 6.4"},
	  "purpose": {"id": "social-services", "text": "призначення житлової субсидії"},
	  "search": {"rnokpp": "3300612300"},
	  "fields": ["surname", "address"]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The organisation comes from the authenticated client, never the body.
	requester := access.Requester{Org: "SYN-SOC-0001", Category: "social_protection"}
	d := access.Decide(catalogue, requester, q, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	fmt.Println(d.Granted, d.Basis, d.Sources)

	record := map[string]any{"surname": "Коваль", "rnokpp": "3300612300", "address": "UA12060170010076413 …"}
	fmt.Println(len(access.Minimise(d.Fields, record)))

	q.Fields = append(q.Fields, "contacts")
	d = access.Decide(catalogue, requester, q, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	fmt.Println(d.Reason, "—", d.Detail)
	// Output:
	// true social.services [local]
	// 2
	// field_not_authorised — basis "social.services" does not grant contacts
}
