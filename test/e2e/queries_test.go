package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

const (
	socialLaw     = "Положення про Реєстр Криворізької міської територіальної громади"
	socialArticle = "підпункт 6.4.2.3 пункту 6.4"
	militaryLaw   = "Порядок організації та ведення військового обліку призовників, військовозобов'язаних та резервістів, затверджений постановою Кабінету Міністрів України від 30 грудня 2022 р. № 1487"
)

type queryAnswer struct {
	QueryID  string           `json:"query_id"`
	Status   any              `json:"status"` // a string in answers, a number in problems
	Records  []map[string]any `json:"records"`
	DueAt    *time.Time       `json:"due_at"`
	Reason   string           `json:"reason"` // problem+json of a refusal
	Decision struct {
		Sources []string `json:"sources"`
	} `json:"decision"`
}

func queryBody(code, law, article, purpose, search string, fields ...string) []byte {
	f, _ := json.Marshal(fields)
	return fmt.Appendf(nil, `{"official": {"id": "SYN-OFF-0042", "name": "Синтетичний працівник"}, "case": "SYN-CASE/%d",
	  "basis": {"code": %q, "law": %q, "article": %q},
	  "purpose": {"id": %q, "text": "e2e"}, "search": %s, "fields": %s}`,
		time.Now().UnixNano()%100000, code, law, article, purpose, search, f)
}

// TestQueriesOverRESTAndSOAPAreRoutedMinimisedAndAudited runs the real
// binary: a registration completes upstream and reaches the read model;
// authorities then query it over REST and SOAP, granted and refused, with a
// national system down for a while; every query lands in the audit log,
// which verifies, and which tells the person who looked at their data.
func TestQueriesOverRESTAndSOAPAreRoutedMinimisedAndAudited(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{HubArgs: []string{"--query-retry", "200ms"}})
	store := postgres.New(e.Pool)
	tokens := map[string]string{}
	for org, category := range map[string]string{"SYN-SOC-0001": "social_protection", "SYN-TCC-0001": "military_enlistment"} {
		tok, err := auth.Register(context.Background(), store, org, org, auth.RoleAuthority)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetCategory(context.Background(), org, category); err != nil {
			t.Fatal(err)
		}
		tokens[org] = tok
	}

	// A person registers; the action completes upstream.
	gen := localregistry.NewGenerator(5, time.Now())
	var sub action.Submission
	for {
		sub = gen.Next()
		if sub.Kind == action.KindRegister && sub.Person.RNOKPP != "" && sub.Person.UNZR != "" {
			break
		}
	}
	body, _ := json.Marshal(sub)
	a := e.Submit(body)
	if got := e.WaitResolved([]string{a.ID}, 30*time.Second)[a.ID]; got.Status != "completed" {
		t.Fatalf("registration %s", got.Status)
	}
	person := "rnokpp:" + sub.Person.RNOKPP
	if sub.Person.UNZR != "" {
		person = "unzr:" + sub.Person.UNZR
	}

	ask := func(org string, body []byte) (int, queryAnswer, string) {
		t.Helper()
		var ans queryAnswer
		code, _, raw := e.Call(http.MethodPost, "/v1/queries", tokens[org], nil, body, &ans)
		return code, ans, string(raw)
	}
	byRNOKPP := fmt.Sprintf(`{"rnokpp": %q}`, sub.Person.RNOKPP)

	// Granted from the read model, cut to the fields asked.
	code, ans, raw := ask("SYN-SOC-0001", queryBody("social.services", socialLaw, socialArticle, "social-services", byRNOKPP,
		"surname", "address", "registration_date"))
	if code != http.StatusOK || ans.Status != "answered" || len(ans.Records) != 1 {
		t.Fatalf("social query: %d %s", code, raw)
	}
	rec := ans.Records[0]
	if rec["surname"] != sub.Person.Surname || rec["registration_date"] != sub.EffectiveDate || rec["address"] == nil || len(rec) != 3 {
		t.Errorf("record %v: want exactly surname, address and registration date of the registration", rec)
	}

	// Refusals, each with its reason.
	for _, tc := range []struct {
		name   string
		org    string
		body   []byte
		code   int
		reason string
	}{
		{"a field not granted", "SYN-SOC-0001", queryBody("social.services", socialLaw, socialArticle, "social-services", byRNOKPP, "surname", "contacts"), 403, "field_not_authorised"},
		{"another's basis", "SYN-SOC-0001", queryBody("military.registration", militaryLaw, "пункт 54", "military-registration", byRNOKPP, "surname"), 403, "requester_not_authorised"},
		{"a citation not the basis's", "SYN-SOC-0001", queryBody("social.services", socialLaw, "пункт 1", "social-services", byRNOKPP, "surname"), 403, "no_basis"},
		{"not JSON", "SYN-SOC-0001", []byte(`{"official":`), 400, "request_malformed"},
	} {
		code, ans, raw := ask(tc.org, tc.body)
		if code != tc.code || ans.Reason != tc.reason {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, raw, tc.code, tc.reason)
		}
	}

	// The military basis reaches the national systems too; with the
	// registry down the query waits, then is answered.
	e.SetConfig(e.EDDR, upstream.Config{Outage: true})
	byUNZR := fmt.Sprintf(`{"unzr": %q}`, sub.Person.UNZR)
	code, ans, raw = ask("SYN-TCC-0001", queryBody("military.registration", militaryLaw, "пункт 54", "military-registration", byUNZR,
		"surname", "registration_date"))
	if code != http.StatusAccepted || ans.Status != "pending" || ans.DueAt == nil || !ans.DueAt.After(time.Now().Add(24*time.Hour)) {
		t.Fatalf("query with the registry down: %d %s", code, raw)
	}
	e.SetConfig(e.EDDR, upstream.Config{})
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got queryAnswer
		code, _, raw := e.Call(http.MethodGet, "/v1/queries/"+ans.QueryID, tokens["SYN-TCC-0001"], nil, nil, &got)
		if code != http.StatusOK {
			t.Fatalf("get waiting query: %d %s", code, raw)
		}
		if got.Status == "answered" {
			if len(got.Records) != 1 || got.Records[0]["surname"] != sub.Person.Surname {
				t.Errorf("answer once the registry is back: %s", raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("query still %s 20s after the registry came back", got.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, _ := e.Call(http.MethodGet, "/v1/queries/"+ans.QueryID, tokens["SYN-SOC-0001"], nil, nil, nil); code != http.StatusNotFound {
		t.Errorf("another organisation read the answer: %d", code)
	}
	if lookups := e.Inspect(e.EDDR).LookupCount; lookups == 0 {
		t.Errorf("the national registry was never asked")
	}

	// The same over SOAP with X-Road headers.
	soap := func(memberCode, fields string) (int, string) {
		env := strings.NewReplacer("MEMBER", memberCode, "UNZR", sub.Person.UNZR, "FIELDS", fields, "LAW", militaryLaw).Replace(soapQuery)
		req, _ := http.NewRequest(http.MethodPost, e.Hub.Base+"/soap/queries", bytes.NewReader([]byte(env)))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"urn:reghub:query:v1/Query"`)
		req.Header.Set("Authorization", "Bearer "+tokens["SYN-TCC-0001"])
		req.Header.Set("Uxp-Purpose-Ids", "military-registration")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, out := soap("SYN-TCC-0001", "<field>surname</field><field>birth_date</field>")
	if code != http.StatusOK || !strings.Contains(out, "<status>answered</status>") || !strings.Contains(out, sub.Person.Surname) ||
		!strings.Contains(out, "<userId") {
		t.Errorf("SOAP query: %d %s", code, out)
	}
	code, out = soap("SYN-TCC-0001", "<field>contacts</field>")
	if code != http.StatusInternalServerError || !strings.Contains(out, "field_not_authorised") {
		t.Errorf("SOAP refusal: %d %s", code, out)
	}
	code, out = soap("SYN-SOC-0001", "<field>surname</field>")
	if code != http.StatusInternalServerError || !strings.Contains(out, "requester_not_authorised") {
		t.Errorf("SOAP with another member's code: %d %s", code, out)
	}

	// The audit log holds every query, verifies, and answers the person.
	stdout, stderr, exit := hubtest.Run(t, "audit", "verify", "--database-url", e.DBURL, "--key", e.AuditKey)
	if exit != 0 {
		t.Errorf("audit verify: exit %d\n%s%s", exit, stdout, stderr)
	}
	stdout, stderr, exit = hubtest.Run(t, "audit", "subject", person, "--database-url", e.DBURL)
	if exit != 0 {
		t.Fatalf("audit subject: exit %d\n%s%s", exit, stdout, stderr)
	}
	for _, org := range []string{"SYN-SOC-0001", "SYN-TCC-0001"} {
		if !strings.Contains(stdout, org) {
			t.Errorf("audit subject does not show %s's access:\n%s", org, stdout)
		}
	}
	stdout, _, _ = hubtest.Run(t, "audit", "requester", "SYN-SOC-0001", "--database-url", e.DBURL)
	for _, reason := range []string{"field_not_authorised", "requester_not_authorised", "no_basis", "request_malformed"} {
		if !strings.Contains(stdout, reason) {
			t.Errorf("audit requester does not list the refusal %s:\n%s", reason, stdout)
		}
	}
	var n int
	if err := e.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE kind = 'query'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	// REST: 1 granted, 4 refused, 1 pending + its answer; SOAP: 3.
	if want := 10; n != want {
		t.Errorf("%d query records in the audit log, want %d", n, want)
	}
}

const soapQuery = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header>
    <client xmlns="http://x-road.eu/xsd/xroad.xsd" xmlns:identifiers="http://x-road.eu/xsd/identifiers" identifiers:objectType="SUBSYSTEM">
      <xRoadInstance xmlns="http://x-road.eu/xsd/identifiers">SEVDEIR-TEST</xRoadInstance>
      <memberClass xmlns="http://x-road.eu/xsd/identifiers">GOV</memberClass>
      <memberCode xmlns="http://x-road.eu/xsd/identifiers">MEMBER</memberCode>
      <subsystemCode xmlns="http://x-road.eu/xsd/identifiers">CASES</subsystemCode>
    </client>
    <service xmlns="http://x-road.eu/xsd/xroad.xsd" xmlns:identifiers="http://x-road.eu/xsd/identifiers" identifiers:objectType="SERVICE">
      <xRoadInstance xmlns="http://x-road.eu/xsd/identifiers">SEVDEIR-TEST</xRoadInstance>
      <memberClass xmlns="http://x-road.eu/xsd/identifiers">GOV</memberClass>
      <memberCode xmlns="http://x-road.eu/xsd/identifiers">00000000</memberCode>
      <subsystemCode xmlns="http://x-road.eu/xsd/identifiers">REGHUB</subsystemCode>
      <serviceCode xmlns="http://x-road.eu/xsd/identifiers">Query</serviceCode>
      <serviceVersion xmlns="http://x-road.eu/xsd/identifiers">v1</serviceVersion>
    </service>
    <id xmlns="http://x-road.eu/xsd/xroad.xsd">0195a3c1-7a2b-7c3d-8e4f-000000000301</id>
    <userId xmlns="http://x-road.eu/xsd/xroad.xsd">SYN-OFF-0042</userId>
    <issue xmlns="http://x-road.eu/xsd/xroad.xsd">SYN-2026/0001</issue>
    <protocolVersion xmlns="http://x-road.eu/xsd/xroad.xsd">4.0</protocolVersion>
  </soap:Header>
  <soap:Body>
    <QueryRequest xmlns="urn:reghub:query:v1">
      <officialName>Синтетичний працівник</officialName>
      <basis>
        <code>military.registration</code>
        <law>LAW</law>
        <article>пункт 54</article>
      </basis>
      <purpose>взяття на військовий облік</purpose>
      <search><unzr>UNZR</unzr></search>
      <fields>FIELDS</fields>
    </QueryRequest>
  </soap:Body>
</soap:Envelope>`
