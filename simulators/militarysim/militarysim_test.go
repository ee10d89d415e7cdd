package militarysim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/reghub/reghub/simulators/militarysim"
	"github.com/reghub/reghub/simulators/upstream"
)

// notice is a synthetic notification of person n (УНЗР ...-0000n).
func notice(id string, n int, kind string) map[string]any {
	return map[string]any{
		"message_id": id, "action_reference": "RH-" + id, "kind": kind, "effective_date": "2025-03-14",
		"person": map[string]any{
			"unzr": fmt.Sprintf("19880412-%05d", n), "surname": "Вигаденко", "given_names": "Остап",
			"birth_date": "1988-04-12", "sex": "M", "military_status": "liable",
		},
		"address":           map[string]any{"katottg": "UA12060190010000123", "building": "17"},
		"registration_body": map[string]any{"code": "99999901", "name": "Синтетичний відділ"},
	}
}

func start(t *testing.T, cfg upstream.Config) string {
	t.Helper()
	srv := httptest.NewServer(militarysim.New(cfg, nil).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

type answer struct {
	status int
	code   string
	ref    string
}

func post(t *testing.T, url, key string, body any) answer {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url+militarysim.Path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Code      string `json:"code"`
		Reference string `json:"reference"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, b)
	}
	return answer{resp.StatusCode, a.Code, a.Reference}
}

func inspect(t *testing.T, url string) militarysim.Inspection {
	t.Helper()
	in, err := militarysim.Inspect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestAppliedInOrderOnce(t *testing.T) {
	url := start(t, upstream.Config{})
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	kinds := []string{"residence.register", "residence.change", "residence.deregister"}
	for i, id := range ids {
		n := notice(id, 1, kinds[i])
		if a := post(t, url, id, n); a.status != 201 || a.ref != fmt.Sprintf("MIL-%08d", i+1) {
			t.Fatalf("notice %d: %+v", i, a)
		}
	}
	// A resend of the second, with the keys of its body in another order
	// and other white space: the same body. The first of another person: a
	// conflict.
	if a := post(t, url, ids[1], json.RawMessage(reorder(t, notice(ids[1], 1, kinds[1])))); a.status != 200 || a.ref != "MIL-00000002" {
		t.Fatalf("resend: %+v, want 200 MIL-00000002", a)
	}
	if a := post(t, url, ids[0], notice(ids[0], 2, kinds[0])); a.status != 409 || a.code != militarysim.CodeConflict {
		t.Fatalf("other body under the key: %+v, want 409 %s", a, militarysim.CodeConflict)
	}
	in := inspect(t, url)
	if in.AppliedCount != 3 || in.Duplicates != 1 || in.DuplicatesByMessage[ids[1]] != 1 || in.Conflicts != 1 || in.Requests != 5 {
		t.Fatalf("applied %d, duplicates %d %v, conflicts %d, requests %d", in.AppliedCount, in.Duplicates, in.DuplicatesByMessage, in.Conflicts, in.Requests)
	}
	for i, e := range in.Applied {
		if e.Seq != uint64(i+1) || e.MessageID != ids[i] || e.Kind != kinds[i] || e.Person != "19880412-00001" {
			t.Errorf("applied[%d] = %+v", i, e)
		}
	}
}

// reorder encodes v with its top-level keys reversed and indented.
func reorder(t *testing.T, v map[string]any) []byte {
	t.Helper()
	keys := []string{"registration_body", "address", "person", "effective_date", "kind", "action_reference", "message_id"}
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
		id := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "military-%d", i)).String()
		a := post(t, url, id, notice(id, i, "residence.declare"))
		if b := post(t, url, id, notice(id, i, "residence.declare")); b.code != a.code || b.ref != a.ref || (b.status == 422) != (a.status == 422) {
			t.Fatalf("resend of %s: %+v, first %+v", id, b, a)
		}
		switch reject := upstream.RejectByHash(42, id, 0.5); {
		case reject && a.status == 422 && a.code == militarysim.CodeRejected:
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
	for _, e := range in.Rejected {
		if e.RejectionCode != militarysim.CodeRejected || e.RejectionDetail == "" || e.Person == "" || e.Seq != 0 || e.Reference != "" {
			t.Fatalf("rejected entry %+v", e)
		}
	}
}

// TestControlEndpoints: the engine's /config and /healthz, this
// simulator's /inspect and /reset (upstream.ControlMux); no SOAP endpoint.
func TestControlEndpoints(t *testing.T) {
	url := start(t, upstream.Config{})
	ctx := context.Background()
	id := uuid.NewString()
	post(t, url, id, notice(id, 1, "residence.declare"))

	if err := upstream.SetConfig(ctx, url, upstream.Config{ErrorRate: 1, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	other := uuid.NewString()
	if a := post(t, url, other, notice(other, 2, "residence.declare")); a.status != 503 || a.code != militarysim.CodeUnavailable {
		t.Fatalf("with error rate 1: %+v", a)
	}
	in := inspect(t, url)
	if in.Faults["error"] != 1 || in.Config.ErrorRate != 1 || in.AppliedCount != 1 || in.Service != "military" {
		t.Fatalf("faults %v, config %+v, applied %d, service %q", in.Faults, in.Config, in.AppliedCount, in.Service)
	}

	if err := upstream.Reset(ctx, url); err != nil {
		t.Fatal(err)
	}
	in = inspect(t, url)
	if in.AppliedCount != 0 || in.Requests != 0 || len(in.Faults) != 0 || in.Config.ErrorRate != 1 {
		t.Fatalf("after reset: applied %d, requests %d, faults %v, config %+v", in.AppliedCount, in.Requests, in.Faults, in.Config)
	}
	// After a reset the key is new again.
	if err := upstream.SetConfig(ctx, url, upstream.Config{}); err != nil {
		t.Fatal(err)
	}
	if a := post(t, url, id, notice(id, 3, "residence.declare")); a.status != 201 || a.ref != "MIL-00000001" {
		t.Fatalf("after reset: %+v", a)
	}

	var h struct{ Status, Service string }
	if err := upstream.FetchJSON(ctx, url, "/healthz", &h); err != nil || h.Status != "ok" || h.Service != "military" {
		t.Fatalf("healthz %+v, %v", h, err)
	}
	if code, _, err := upstream.PostRaw(ctx, url+"/soap", "", []byte("<x/>")); err != nil || code != http.StatusNotFound {
		t.Fatalf("POST /soap: %d, %v; want 404", code, err)
	}
}
