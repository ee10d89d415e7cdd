package statsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/reghub/reghub/simulators/statsim"
	"github.com/reghub/reghub/simulators/upstream"
)

// report is a synthetic report of period with three cells, the first
// counted n (n >= 5).
func report(id, period string, n int) map[string]any {
	return map[string]any{
		"reportId":             id,
		"registrationBody":     map[string]any{"code": "99999901", "name": "Синтетичний відділ"},
		"period":               period,
		"suppressionThreshold": 5,
		"cells": []any{
			map[string]any{"flow": "arrival", "sex": "F", "ageGroup": "18-34", "area": "UA1206", "count": n},
			map[string]any{"flow": "arrival", "sex": "M", "ageGroup": "60+", "area": "not_stated", "suppressed": true},
			map[string]any{"flow": "departure", "sex": "M", "ageGroup": "35-59", "area": "not_stated", "count": 7},
		},
	}
}

func cellOf(r map[string]any, i int) map[string]any { return r["cells"].([]any)[i].(map[string]any) }

func start(t *testing.T, cfg upstream.Config) string {
	t.Helper()
	srv := httptest.NewServer(statsim.New(cfg, nil).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

type answer struct {
	status int
	code   string
	detail string
	ref    string
	raw    []byte
}

func post(t *testing.T, url, key string, body any) answer {
	t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	return postRaw(t, url, "application/json", key, raw)
}

func postRaw(t *testing.T, url, contentType, key string, raw []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+statsim.Path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Code      string `json:"code"`
		Detail    string `json:"detail"`
		Reference string `json:"reference"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, b)
	}
	return answer{resp.StatusCode, a.Code, a.Detail, a.Reference, b}
}

func inspect(t *testing.T, url string) statsim.Inspection {
	t.Helper()
	in, err := statsim.Inspect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestAppliedInOrderOnce(t *testing.T) {
	url := start(t, upstream.Config{})
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	periods := []string{"2025-01", "2025-02", "2025-01"}
	for i, id := range ids {
		if a := post(t, url, id, report(id, periods[i], 10+i)); a.status != 201 || a.ref != fmt.Sprintf("STAT-%08d", i+1) {
			t.Fatalf("report %d: %+v", i, a)
		}
	}
	// A resend of the second, its keys in another order and other white
	// space: the same body. The first with another count: a conflict.
	if a := post(t, url, ids[1], reorder(t, report(ids[1], periods[1], 11))); a.status != 200 || a.ref != "STAT-00000002" {
		t.Fatalf("resend: %+v, want 200 STAT-00000002", a)
	}
	if a := post(t, url, ids[0], report(ids[0], periods[0], 9)); a.status != 409 || a.code != statsim.CodeConflict {
		t.Fatalf("other body under the key: %+v, want 409 %s", a, statsim.CodeConflict)
	}
	in := inspect(t, url)
	if in.AppliedCount != 3 || in.Duplicates != 1 || in.DuplicatesByMessage[ids[1]] != 1 || in.Conflicts != 1 || in.Requests != 5 {
		t.Fatalf("applied %d, duplicates %d %v, conflicts %d, requests %d", in.AppliedCount, in.Duplicates, in.DuplicatesByMessage, in.Conflicts, in.Requests)
	}
	if len(in.Periods["2025-01"]) != 2 || len(in.Periods["2025-02"]) != 1 {
		t.Fatalf("periods %v", in.Periods)
	}
	for i, r := range in.Reports() {
		if r.Seq != uint64(i+1) || r.ReportID != ids[i] || r.Period != periods[i] || r.RegistrationBody != "99999901" ||
			r.SuppressionThreshold != 5 || r.Reference != fmt.Sprintf("STAT-%08d", i+1) {
			t.Errorf("report %d = %+v", i, r)
		}
		want := []statsim.Cell{
			{Flow: "arrival", Sex: "F", AgeGroup: "18-34", Area: "UA1206", Count: 10 + i},
			{Flow: "arrival", Sex: "M", AgeGroup: "60+", Area: "not_stated", Suppressed: true},
			{Flow: "departure", Sex: "M", AgeGroup: "35-59", Area: "not_stated", Count: 7},
		}
		if !slices.Equal(r.Cells, want) {
			t.Errorf("report %d cells %+v, want %+v", i, r.Cells, want)
		}
	}
}

// reorder encodes v with its top-level keys reversed and indented.
func reorder(t *testing.T, v map[string]any) []byte {
	t.Helper()
	keys := []string{"cells", "suppressionThreshold", "period", "registrationBody", "reportId"}
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range keys {
		val, err := json.MarshalIndent(v[k], "  ", "    ")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  %q:  %s", k, val)
		if i < len(keys)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}")
	return []byte(b.String())
}

// TestRejectionRate: the refusal is decided by the key, by
// upstream.RejectByHash (the same for a fresh simulator with the same
// seed), and kept for every resend.
func TestRejectionRate(t *testing.T) {
	url := start(t, upstream.Config{RejectionRate: 0.5, Seed: 42})
	rejected := 0
	for i := range 40 {
		id := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "statistics-%d", i)).String()
		a := post(t, url, id, report(id, "2025-02", 5+i))
		if b := post(t, url, id, report(id, "2025-02", 5+i)); b.code != a.code || b.ref != a.ref || (b.status == 422) != (a.status == 422) {
			t.Fatalf("resend of %s: %+v, first %+v", id, b, a)
		}
		switch reject := upstream.RejectByHash(42, id, 0.5); {
		case reject && a.status == 422 && a.code == statsim.CodeRejected:
			rejected++
		case reject || a.status != 201:
			t.Fatalf("%s, rejected by the hash %t: answer %+v", id, reject, a)
		}
	}
	if rejected == 0 || rejected == 40 {
		t.Fatalf("%d of 40 rejected at rate 0.5", rejected)
	}
	in := inspect(t, url)
	if in.RejectedCount != rejected || in.AppliedCount != 40-rejected || in.Duplicates != 40 {
		t.Fatalf("rejected %d, applied %d, duplicates %d; want %d, %d, 40", in.RejectedCount, in.AppliedCount, in.Duplicates, rejected, 40-rejected)
	}
	for _, r := range in.Rejected {
		if r.RejectionCode != statsim.CodeRejected || r.Period != "2025-02" || r.ReportID == "" {
			t.Fatalf("rejected entry %+v", r)
		}
	}
}

// personal are the values the refused bodies below carry: no answer may
// echo them.
var personal = []string{"Приватенко", "19880412-07347", "3224401240", "UA12060190010000123", "вул. Потаємна"}

// TestDepersonalisationRefused: a field the contract does not name,
// anywhere and in any spelling, and a small count are refused with 422,
// counted by code, and nothing is applied.
func TestDepersonalisationRefused(t *testing.T) {
	url := start(t, upstream.Config{})
	cases := []struct {
		name   string
		change func(r map[string]any)
		code   string
	}{
		{"a person list", func(r map[string]any) {
			r["persons"] = []any{map[string]any{"surname": personal[0], "unzr": personal[1]}}
		}, statsim.CodePersonalData},
		{"a surname in a cell", func(r map[string]any) { cellOf(r, 0)["surname"] = personal[0] }, statsim.CodePersonalData},
		{"an identifier in a cell", func(r map[string]any) { cellOf(r, 2)["rnokpp"] = personal[2] }, statsim.CodePersonalData},
		{"an address in the body", func(r map[string]any) { r["registrationBody"].(map[string]any)["address"] = personal[4] }, statsim.CodePersonalData},
		{"an object for a value", func(r map[string]any) { r["period"] = map[string]any{"katottg": personal[3]} }, statsim.CodePersonalData},
		{"a list of objects for a value", func(r map[string]any) { cellOf(r, 0)["area"] = []any{map[string]any{"street": personal[4]}} }, statsim.CodePersonalData},
		{"a known name in another case", func(r map[string]any) { c := cellOf(r, 0); c["Count"] = c["count"]; delete(c, "count") }, statsim.CodePersonalData},
		{"a key that is the value", func(r map[string]any) { r[personal[0]] = 1 }, statsim.CodePersonalData},
		{"a total", func(r map[string]any) { r["total"] = 17 }, statsim.CodePersonalData},
		{"a count under the threshold", func(r map[string]any) { cellOf(r, 0)["count"] = 4 }, statsim.CodeSmallCell},
		{"a count of one", func(r map[string]any) { cellOf(r, 2)["count"] = 1 }, statsim.CodeSmallCell},
		{"a small count beside suppressed", func(r map[string]any) { cellOf(r, 1)["count"] = 2 }, statsim.CodeSmallCell},
		{"a count under a raised threshold", func(r map[string]any) { r["suppressionThreshold"] = 8 }, statsim.CodeSmallCell},
		{"a threshold under 5", func(r map[string]any) { r["suppressionThreshold"] = 4; cellOf(r, 0)["count"] = 4 }, statsim.CodeSmallCell},
		{"a threshold of 0", func(r map[string]any) { r["suppressionThreshold"] = 0 }, statsim.CodeSmallCell},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := uuid.NewString()
			r := report(id, "2025-02", 6)
			tc.change(r)
			a := post(t, url, id, r)
			if a.status != 422 || a.code != tc.code || a.detail == "" {
				t.Fatalf("answered %d %s, want 422 %s", a.status, a.raw, tc.code)
			}
			for _, p := range personal {
				if bytes.Contains(a.raw, []byte(p)) {
					t.Errorf("the answer echoes %q: %s", p, a.raw)
				}
			}
			// Not kept under the key: the report put right is applied.
			if a := post(t, url, id, report(id, "2025-02", 6)); a.status != 201 {
				t.Fatalf("the corrected report: %+v", a)
			}
		})
	}
	in := inspect(t, url)
	if in.Refused[statsim.CodePersonalData] != 9 || in.Refused[statsim.CodeSmallCell] != 6 || in.ProtocolErrors != 0 {
		t.Fatalf("refused %v, protocol errors %d; want 9 personal, 6 small", in.Refused, in.ProtocolErrors)
	}
	if in.AppliedCount != len(cases) {
		t.Fatalf("applied %d, want only the %d corrected reports", in.AppliedCount, len(cases))
	}
	for _, r := range in.Reports() {
		if len(r.Cells) != 3 || r.Cells[0].Count != 6 {
			t.Fatalf("applied %+v", r)
		}
	}
}

// TestFormRefused: a request whose form is wrong is 400 (415, 413),
// applies nothing, and is counted as a protocol error.
func TestFormRefused(t *testing.T) {
	url := start(t, upstream.Config{})
	id := uuid.NewString()
	good, err := json.Marshal(report(id, "2025-02", 6))
	if err != nil {
		t.Fatal(err)
	}
	changed := func(change func(r map[string]any)) []byte {
		r := report(id, "2025-02", 6)
		change(r)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name        string
		contentType string
		key         string
		body        []byte
		want        int
		code        string
	}{
		{"not JSON", "application/json", id, []byte(`{"reportId": `), 400, statsim.CodeInvalid},
		{"a list", "application/json", id, []byte(`[]`), 400, statsim.CodeInvalid},
		{"data after the object", "application/json", id, append(slices.Clone(good), []byte(` {}`)...), 400, statsim.CodeInvalid},
		{"a key twice", "application/json", id, bytes.Replace(good, []byte(`"period":"2025-02"`), []byte(`"period":"2025-02","period":"2025-03"`), 1), 400, statsim.CodeInvalid},
		{"count and suppressed", "application/json", id, changed(func(r map[string]any) { cellOf(r, 0)["suppressed"] = true }), 400, statsim.CodeInvalid},
		{"neither", "application/json", id, changed(func(r map[string]any) { delete(cellOf(r, 1), "suppressed") }), 400, statsim.CodeInvalid},
		{"suppressed false", "application/json", id, changed(func(r map[string]any) { cellOf(r, 1)["suppressed"] = false }), 400, statsim.CodeInvalid},
		{"a community for an area", "application/json", id, changed(func(r map[string]any) { cellOf(r, 0)["area"] = personal[3] }), 400, statsim.CodeInvalid},
		{"another age group", "application/json", id, changed(func(r map[string]any) { cellOf(r, 0)["ageGroup"] = "20-29" }), 400, statsim.CodeInvalid},
		{"a cell twice", "application/json", id, changed(func(r map[string]any) { r["cells"] = append(r["cells"].([]any), cellOf(r, 2)) }), 400, statsim.CodeInvalid},
		{"a count not a number", "application/json", id, changed(func(r map[string]any) { cellOf(r, 0)["count"] = "6" }), 400, statsim.CodeInvalid},
		{"a fractional count", "application/json", id, changed(func(r map[string]any) { cellOf(r, 0)["count"] = 6.5 }), 400, statsim.CodeInvalid},
		{"no cells", "application/json", id, changed(func(r map[string]any) { delete(r, "cells") }), 400, statsim.CodeInvalid},
		{"no threshold", "application/json", id, changed(func(r map[string]any) { delete(r, "suppressionThreshold") }), 400, statsim.CodeInvalid},
		{"a day for a period", "application/json", id, changed(func(r map[string]any) { r["period"] = "2025-02-14" }), 400, statsim.CodeInvalid},
		{"no registration body", "application/json", id, changed(func(r map[string]any) { delete(r, "registrationBody") }), 400, statsim.CodeInvalid},
		{"no key", "application/json", "", good, 400, statsim.CodeKeyMismatch},
		{"another key", "application/json", uuid.NewString(), good, 400, statsim.CodeKeyMismatch},
		{"not application/json", "text/plain", id, good, 415, statsim.CodeUnsupportedMedia},
		{"too large", "application/json", id, append(slices.Clone(good), bytes.Repeat([]byte(" "), 1<<20)...), 413, statsim.CodeTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := postRaw(t, url, tc.contentType, tc.key, tc.body)
			if a.status != tc.want || a.code != tc.code {
				t.Fatalf("answered %d %s, want %d %s", a.status, a.raw, tc.want, tc.code)
			}
			for _, p := range personal {
				if bytes.Contains(a.raw, []byte(p)) {
					t.Errorf("the answer echoes %q: %s", p, a.raw)
				}
			}
		})
	}
	in := inspect(t, url)
	if in.AppliedCount != 0 || in.ProtocolErrors != len(cases) || len(in.Refused) != 0 {
		t.Fatalf("applied %d, protocol errors %d, refused %v; want 0, %d, none", in.AppliedCount, in.ProtocolErrors, in.Refused, len(cases))
	}
	if a := postRaw(t, url, "application/json; charset=utf-8", id, good); a.status != 201 {
		t.Fatalf("the good report after the refusals: %+v", a)
	}
}

// TestEmptyReport: a month without movements is a report with no cells.
func TestEmptyReport(t *testing.T) {
	url := start(t, upstream.Config{})
	id := uuid.NewString()
	r := report(id, "2025-01", 5)
	r["cells"] = []any{}
	if a := post(t, url, id, r); a.status != 201 {
		t.Fatalf("answered %+v", a)
	}
	if in := inspect(t, url); len(in.Periods["2025-01"]) != 1 || in.Periods["2025-01"][0].Cells == nil || len(in.Periods["2025-01"][0].Cells) != 0 {
		t.Fatalf("periods %+v", in.Periods)
	}
}

// TestControlEndpoints: the engine's /config and /healthz, this
// simulator's /inspect and /reset (upstream.ControlMux); no SOAP endpoint.
func TestControlEndpoints(t *testing.T) {
	url := start(t, upstream.Config{})
	ctx := context.Background()
	id := uuid.NewString()
	post(t, url, id, report(id, "2025-02", 6))

	if err := upstream.SetConfig(ctx, url, upstream.Config{ErrorRate: 1, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	other := uuid.NewString()
	if a := post(t, url, other, report(other, "2025-03", 6)); a.status != 503 || a.code != statsim.CodeUnavailable {
		t.Fatalf("with error rate 1: %+v", a)
	}
	in := inspect(t, url)
	if in.Faults["error"] != 1 || in.Config.ErrorRate != 1 || in.AppliedCount != 1 || in.Service != "statistics" {
		t.Fatalf("faults %v, config %+v, applied %d, service %q", in.Faults, in.Config, in.AppliedCount, in.Service)
	}

	if err := upstream.Reset(ctx, url); err != nil {
		t.Fatal(err)
	}
	in = inspect(t, url)
	if in.AppliedCount != 0 || len(in.Periods) != 0 || in.Requests != 0 || len(in.Faults) != 0 || in.Config.ErrorRate != 1 {
		t.Fatalf("after reset: applied %d, periods %v, requests %d, faults %v, config %+v", in.AppliedCount, in.Periods, in.Requests, in.Faults, in.Config)
	}
	// After a reset the key is new again.
	if err := upstream.SetConfig(ctx, url, upstream.Config{}); err != nil {
		t.Fatal(err)
	}
	if a := post(t, url, id, report(id, "2025-02", 7)); a.status != 201 || a.ref != "STAT-00000001" {
		t.Fatalf("after reset: %+v", a)
	}

	var h struct{ Status, Service string }
	if err := upstream.FetchJSON(ctx, url, "/healthz", &h); err != nil || h.Status != "ok" || h.Service != "statistics" {
		t.Fatalf("healthz %+v, %v", h, err)
	}
	if code, _, err := upstream.PostRaw(ctx, url+"/soap", "", []byte("<x/>")); err != nil || code != http.StatusNotFound {
		t.Fatalf("POST /soap: %d, %v; want 404", code, err)
	}
}

// fuzzKey is the Idempotency-Key of the fuzzed reports.
const fuzzKey = "0195a3c1-7a2b-7c3d-8e4f-000000000201"

// allowedKeys are the contract's keys, wherever they are.
var allowedKeys = []string{"reportId", "registrationBody", "code", "name", "period", "suppressionThreshold", "cells",
	"flow", "sex", "ageGroup", "area", "count", "suppressed"}

// FuzzReport: the report parser reads whatever comes. It never panics and
// answers 201, 400 or 422 (for application/json under a fixed key). It
// applies a report only if every key in it is the contract's, its
// threshold is at least 5, every cell is counted at least the threshold
// or suppressed, never both; and no answer echoes the marker the seeds
// carry in personal fields.
func FuzzReport(f *testing.F) {
	seed := func(change func(r map[string]any)) {
		r := report(fuzzKey, "2025-02", 6)
		if change != nil {
			change(r)
		}
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(nil)
	seed(func(r map[string]any) { r["cells"] = []any{} })
	seed(func(r map[string]any) { cellOf(r, 0)["surname"] = "Приватенко" })
	seed(func(r map[string]any) { r["persons"] = []any{map[string]any{"unzr": "19880412-07347"}} })
	seed(func(r map[string]any) { cellOf(r, 0)["count"] = 2 })
	seed(func(r map[string]any) { cellOf(r, 1)["count"] = 2 })
	seed(func(r map[string]any) { r["suppressionThreshold"] = 3 })
	seed(func(r map[string]any) { cellOf(r, 0)["Count"] = 9; delete(cellOf(r, 0), "count") })
	seed(func(r map[string]any) { r["period"] = map[string]any{"street": "Приватенко"} })
	for _, s := range []string{``, `{}`, `[]`, `null`, `{"cells":[{"cells":[]}]}`, `{"reportId":"x","reportId":"y"}`,
		`{"cells":[[[[{"a":1}]]]]}`, `{"suppressionThreshold":1e400}`, `{"cells":[{"count":-1}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		srv := statsim.New(upstream.Config{}, nil)
		req := httptest.NewRequest(http.MethodPost, statsim.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fuzzKey)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if bytes.Contains(rec.Body.Bytes(), []byte("Приватенко")) || bytes.Contains(rec.Body.Bytes(), []byte("19880412")) {
			t.Fatalf("the answer echoes a personal value: %s", rec.Body.Bytes())
		}
		in := srv.Inspect()
		switch rec.Code {
		case http.StatusCreated:
		case http.StatusBadRequest, http.StatusUnprocessableEntity:
			if in.AppliedCount != 0 {
				t.Fatalf("answered %d but applied: %+v", rec.Code, in.Periods)
			}
			return
		default:
			t.Fatalf("answered %d %s", rec.Code, rec.Body.Bytes())
		}
		if in.AppliedCount != 1 {
			t.Fatalf("answered 201, applied %d", in.AppliedCount)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("applied a body that is not JSON: %v", err)
		}
		if k := foreignKey(v); k != "" {
			t.Fatalf("applied a report with the key %q: %s", k, body)
		}
		r := in.Reports()[0]
		if r.SuppressionThreshold < statsim.MinThreshold {
			t.Fatalf("applied a threshold of %d", r.SuppressionThreshold)
		}
		for i, c := range r.Cells {
			if c.Suppressed == (c.Count != 0) || (!c.Suppressed && c.Count < r.SuppressionThreshold) {
				t.Fatalf("applied cells[%d] = %+v under threshold %d", i, c, r.SuppressionThreshold)
			}
		}
	})
}

// foreignKey returns a key in v the contract does not name, if any.
func foreignKey(v any) string {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if !slices.Contains(allowedKeys, k) {
				return k
			}
			if f := foreignKey(e); f != "" {
				return f
			}
		}
	case []any:
		for _, e := range v {
			if f := foreignKey(e); f != "" {
				return f
			}
		}
	}
	return ""
}
