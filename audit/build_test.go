package audit_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/audit"
	"github.com/reghub/reghub/ops"
)

func TestForQuery(t *testing.T) {
	c, err := access.Default()
	if err != nil {
		t.Fatal(err)
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
		t.Fatal(err)
	}
	req := access.Requester{Org: "SYN-SOC-0001", Category: "social_protection"}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

	d := access.Decide(c, req, q, now)
	id := uuid.MustParse("0195a3c1-7a2b-7c3d-8e4f-000000000001")
	r := audit.ForQuery(access.Access{QueryID: id, At: now, Requester: req, Query: q, Decision: d, Outcome: access.StatusAnswered,
		FieldsDelivered: []string{"surname", "address"}, Persons: []string{audit.RNOKPP("3300612300")}})
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Kind != audit.KindQuery || r.Org != "SYN-SOC-0001" || r.Official != "SYN-OFF-0042" || r.Basis != "social.services" ||
		r.Citation != "Положення про Реєстр Криворізької міської територіальної громади, підпункт 6.4.2.3 пункту 6.4" ||
		r.Purpose != "social-services: призначення житлової субсидії" || r.CaseRef != "SYN-2026/0001" || r.QueryID != id.String() ||
		r.Search["rnokpp"] != "3300612300" || len(r.Search) != 1 || r.Decision != audit.Granted || r.Reason != "" ||
		!slices.Equal(r.FieldsDelivered, []string{"surname", "address"}) || !slices.Equal(r.Persons, []string{"rnokpp:3300612300"}) {
		t.Fatalf("granted: %+v", r)
	}
	var det map[string]any
	if err := json.Unmarshal(r.Detail, &det); err != nil || det["catalogue_version"] != c.Version || det["official_name"] != "Петренко П. П." {
		t.Fatalf("detail %s (%v)", r.Detail, err)
	}

	q.Fields = append(q.Fields, "contacts")
	d = access.Decide(c, req, q, now)
	r = audit.ForQuery(access.Access{QueryID: id, At: now, Requester: req, Query: q, Decision: d, Outcome: access.StatusRefused,
		FieldsDelivered: []string{"surname"}, Persons: []string{"rnokpp:3300612300"}})
	if r.Decision != audit.Refused || r.Reason != string(access.ReasonFieldNotAuthorised) || r.FieldsDelivered != nil || r.Persons != nil ||
		!slices.Equal(r.FieldsAsked, []string{"surname", "address", "contacts"}) {
		t.Fatalf("refused: %+v", r)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestForStep(t *testing.T) {
	st := ops.Step{At: time.Now(), Actor: "ops-1", Role: "operator", Operation: ops.OpBulkRetry, Target: "deliveries",
		Reason: "upstream back", Details: json.RawMessage(`{"filter":{"status":["dead"]},"retried":3}`)}
	r := audit.ForStep(st, 42)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := audit.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := audit.Decode(b)
	if back.Kind != audit.KindOperatorStep || back.Org != "ops-1" || back.Decision != ops.OpBulkRetry || back.Reason != "upstream back" ||
		string(back.Detail) != `{"details":{"filter":{"status":["dead"]},"retried":3},"role":"operator","step_id":42,"target":"deliveries"}` {
		t.Fatalf("step record: %+v %s", back, back.Detail)
	}
}
