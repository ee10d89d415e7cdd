package audit_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/audit"
)

func sampleRecord() audit.Record {
	return audit.Record{
		Kind:            audit.KindQuery,
		At:              time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.FixedZone("EET", 2*3600)),
		Org:             "SYN-SOC-0001",
		Official:        "SYN-OFF-0042",
		Basis:           "social.services",
		Citation:        "Положення про Реєстр, підпункт 6.4.2.3 пункту 6.4",
		Purpose:         "social-services: призначення житлової субсидії",
		CaseRef:         "SYN-2026/0001",
		QueryID:         "q-1",
		Search:          map[string]string{"rnokpp": "3300612300", "birth_date": "1990-01-01"},
		FieldsAsked:     []string{"surname", "address"},
		FieldsDelivered: []string{"surname", "address"},
		Persons:         []string{"rnokpp:3300612300"},
		Decision:        audit.Granted,
		Detail:          json.RawMessage(`{ "z": 1, "a": [true, null, "x<y"], "m": {"b": 2.50, "a": "\u00e9"} }`),
	}
}

func TestEncodeIsCanonical(t *testing.T) {
	got, err := audit.Encode(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"kind":"query","at":"2026-11-20T08:00:00.123456Z","org":"SYN-SOC-0001","official":"SYN-OFF-0042",` +
		`"basis":"social.services","citation":"Положення про Реєстр, підпункт 6.4.2.3 пункту 6.4",` +
		`"purpose":"social-services: призначення житлової субсидії","case_ref":"SYN-2026/0001","query_id":"q-1",` +
		`"search":{"birth_date":"1990-01-01","rnokpp":"3300612300"},"fields_asked":["surname","address"],` +
		`"fields_delivered":["surname","address"],"persons":["rnokpp:3300612300"],"decision":"granted","reason":"",` +
		`"detail":{"a":[true,null,"x<y"],"m":{"a":"é","b":2.50},"z":1}}`
	if string(got) != want {
		t.Fatalf("Encode =\n%s\nwant\n%s", got, want)
	}
	back, err := audit.Decode(got)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	again, _ := audit.Encode(back)
	if string(again) != want {
		t.Fatalf("re-encoded =\n%s", again)
	}
}

func TestEncodeEmptyAndOddStrings(t *testing.T) {
	r := audit.Record{Kind: audit.KindOperatorStep, At: time.Unix(0, 0), Org: "a\x00b\xff\"\\\n\x01", Decision: "retry"}
	got, err := audit.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `"org":"a�b�\"\\\n\u0001"`) || !strings.Contains(string(got), `"search":{},"fields_asked":[]`) ||
		!strings.HasSuffix(string(got), `"detail":null}`) {
		t.Fatalf("Encode = %s", got)
	}
	back, err := audit.Decode(got)
	if err != nil || back.Org != "a\uFFFDb\uFFFD\"\\\n\x01" {
		t.Fatalf("Decode = %q, %v", back.Org, err)
	}
}

func TestDecodeRefusesNonCanonical(t *testing.T) {
	good, err := audit.Encode(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{
		"spaces":        strings.Replace(string(good), `"kind":"query"`, `"kind": "query"`, 1),
		"key order":     strings.Replace(string(good), `{"v":1,"kind":"query",`, `{"kind":"query","v":1,`, 1),
		"unknown key":   strings.Replace(string(good), `{"v":1,`, `{"v":1,"x":1,`, 1),
		"other version": strings.Replace(string(good), `{"v":1,`, `{"v":2,`, 1),
		"time format":   strings.Replace(string(good), `08:00:00.123456Z`, `08:00:00.123456+00:00`, 1),
		"escaped":       strings.Replace(string(good), `SYN-SOC`, `SYN\u002dSOC`, 1),
		"trailing":      string(good) + " ",
		"truncated":     string(good[:len(good)-1]),
	} {
		if _, err := audit.Decode([]byte(b)); !errors.Is(err, audit.ErrNotCanonical) {
			t.Errorf("%s: Decode err = %v; want ErrNotCanonical", name, err)
		}
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		mut func(*audit.Record)
		ok  bool
	}{
		"query granted":     {func(r *audit.Record) {}, true},
		"query no decision": {func(r *audit.Record) { r.Decision = "" }, false},
		"unknown kind":      {func(r *audit.Record) { r.Kind = "login" }, false},
		"step":              {func(r *audit.Record) { r.Kind, r.Decision = audit.KindOperatorStep, "cancel" }, true},
		"bad detail":        {func(r *audit.Record) { r.Detail = json.RawMessage(`{`) }, false},
		"year 10000":        {func(r *audit.Record) { r.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
	} {
		r := sampleRecord()
		tc.mut(&r)
		if err := r.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v; want ok=%v", name, err, tc.ok)
		} else if err != nil && !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("%s: err %v is not ErrInvalid", name, err)
		}
	}
}
