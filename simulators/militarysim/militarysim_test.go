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
	"sync"
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
	// and other white space: the same body.
	if a := post(t, url, ids[1], json.RawMessage(reorder(t, notice(ids[1], 1, kinds[1])))); a.status != 200 || a.ref != "MIL-00000002" {
		t.Fatalf("resend: %+v, want 200 MIL-00000002", a)
	}
	in := inspect(t, url)
	if in.AppliedCount != 3 || in.Duplicates != 1 || in.DuplicatesByMessage[ids[1]] != 1 || in.Requests != 4 {
		t.Fatalf("applied %d, duplicates %d %v, requests %d", in.AppliedCount, in.Duplicates, in.DuplicatesByMessage, in.Requests)
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

func TestConflict(t *testing.T) {
	url := start(t, upstream.Config{})
	id := uuid.NewString()
	post(t, url, id, notice(id, 1, "residence.declare"))
	other := notice(id, 2, "residence.declare")
	if a := post(t, url, id, other); a.status != 409 || a.code != militarysim.CodeConflict {
		t.Fatalf("other body under the key: %+v, want 409 %s", a, militarysim.CodeConflict)
	}
	if in := inspect(t, url); in.AppliedCount != 1 || in.Conflicts != 1 || in.Duplicates != 0 {
		t.Fatalf("applied %d, conflicts %d, duplicates %d", in.AppliedCount, in.Conflicts, in.Duplicates)
	}
}

// TestConcurrentResends: one key sent at once from many clients is applied
// once, and every client hears the same reference.
func TestConcurrentResends(t *testing.T) {
	url := start(t, upstream.Config{})
	id := uuid.NewString()
	n := notice(id, 1, "residence.register")
	var wg sync.WaitGroup
	answers := make([]answer, 16)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = post(t, url, id, n)
		}()
	}
	wg.Wait()
	created := 0
	for _, a := range answers {
		if a.ref != "MIL-00000001" {
			t.Fatalf("answer %+v", a)
		}
		if a.status == 201 {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d answers 201, want 1", created)
	}
	if in := inspect(t, url); in.AppliedCount != 1 || in.Duplicates != 15 {
		t.Fatalf("applied %d, duplicates %d", in.AppliedCount, in.Duplicates)
	}
}

// TestRejectionRate: the refusal is decided by the key, the same for every
// resend and for a fresh simulator with the same seed.
func TestRejectionRate(t *testing.T) {
	cfg := upstream.Config{RejectionRate: 0.5, Seed: 42}
	first, second := start(t, cfg), start(t, cfg)
	rejected := 0
	for i := range 40 {
		id := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "military-%d", i)).String()
		a := post(t, first, id, notice(id, i, "residence.declare"))
		if b := post(t, first, id, notice(id, i, "residence.declare")); b.code != a.code || b.ref != a.ref || (b.status == 422) != (a.status == 422) {
			t.Fatalf("resend of %s: %+v, first %+v", id, b, a)
		}
		if c := post(t, second, id, notice(id, i, "residence.declare")); c.status != a.status {
			t.Fatalf("%s: %d here, %d on the other simulator", id, a.status, c.status)
		}
		switch {
		case a.status == 422 && a.code == militarysim.CodeRejected:
			rejected++
		case a.status != 201:
			t.Fatalf("answer %+v", a)
		}
	}
	if rejected == 0 || rejected == 40 {
		t.Fatalf("%d of 40 rejected at rate 0.5", rejected)
	}
	if in := inspect(t, first); in.RejectedCount != rejected || in.AppliedCount != 40-rejected {
		t.Fatalf("rejected %d, applied %d; want %d and %d", in.RejectedCount, in.AppliedCount, rejected, 40-rejected)
	}
}

func TestControlEndpoints(t *testing.T) {
	url := start(t, upstream.Config{})
	ctx := context.Background()
	id := uuid.NewString()
	post(t, url, id, notice(id, 1, "residence.declare"))

	if err := upstream.SetConfig(ctx, url, upstream.Config{ErrorRate: 1, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	cfg, err := upstream.GetConfig(ctx, url)
	if err != nil || cfg.ErrorRate != 1 || cfg.Seed != 7 {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	other := uuid.NewString()
	if a := post(t, url, other, notice(other, 2, "residence.declare")); a.status != 503 || a.code != militarysim.CodeUnavailable {
		t.Fatalf("with error rate 1: %+v", a)
	}
	in := inspect(t, url)
	if in.Faults["error"] != 1 || in.Config.ErrorRate != 1 || in.AppliedCount != 1 {
		t.Fatalf("faults %v, config %+v, applied %d", in.Faults, in.Config, in.AppliedCount)
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

	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Status, Service string
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Status != "ok" || h.Service != "military" {
		t.Fatalf("healthz %+v, %v", h, err)
	}
	// The centre has no SOAP endpoint.
	resp, err = http.Post(url+"/soap", "text/xml", strings.NewReader("<x/>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST /soap: %d, want 404", resp.StatusCode)
	}
}

func TestInvalidConfigRefused(t *testing.T) {
	url := start(t, upstream.Config{})
	if err := upstream.SetConfig(context.Background(), url, upstream.Config{ErrorRate: 2}); err == nil {
		t.Fatal("error rate 2 accepted")
	}
}
