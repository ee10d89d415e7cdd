package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/adapters/webhook"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// The registry hears back twice over: a signed webhook per status change,
// retried while its receiver fails, and the pull feed, resumable from any
// cursor.
func TestRegistryHearsBackByWebhookAndFeed(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{EDDR: upstream.Config{RejectionRate: 0.5, Seed: 9}})

	type received struct {
		eventID string
		body    map[string]any
	}
	var (
		mu       sync.Mutex
		got      []received
		attempts = map[string]int{}
		secret   string
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header.Get("Reghub-Signature"), body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := r.Header.Get("Reghub-Event-Id")
		attempts[id]++
		if attempts[id] == 1 {
			// Fail every notification once: the hub must retry it.
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		got = append(got, received{eventID: id, body: m})
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	var err error
	secret, err = auth.ConfigureWebhook(context.Background(), postgres.New(e.Pool), "registry-test", receiver.URL+"/hooks/reghub")
	if err != nil {
		t.Fatal(err)
	}

	subs := e.SubmitMany(12, 31)
	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)

	// Webhooks: one per action's final status, delivered after a retry.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(subs) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	byAction := map[string]string{}
	for _, r := range got {
		if attempts[r.eventID] != 2 {
			t.Errorf("notification %s delivered after %d attempts, want 2 (one failure, one retry)", r.eventID, attempts[r.eventID])
		}
		byAction[r.body["action_id"].(string)] = r.body["status"].(string)
	}
	mu.Unlock()
	for id, a := range all {
		if byAction[id] != a.Status {
			t.Errorf("action %s is %s but its webhook said %q", id, a.Status, byAction[id])
		}
	}

	// The feed: every final status, in order per action, resumable.
	var page struct {
		Items []struct {
			Cursor   string `json:"cursor"`
			ActionID string `json:"action_id"`
			Status   string `json:"status"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	code, _, raw := e.Call(http.MethodGet, "/v1/events?limit=1000", e.Token, nil, nil, &page)
	if code != http.StatusOK {
		t.Fatalf("feed: %d %s", code, raw)
	}
	final := map[string]string{}
	for _, it := range page.Items {
		final[it.ActionID] = it.Status
	}
	for id, a := range all {
		if final[id] != a.Status {
			t.Errorf("feed's last status of %s is %q, action is %s", id, final[id], a.Status)
		}
	}
	// Resuming from the end waits and returns nothing new.
	start := time.Now()
	code, _, raw = e.Call(http.MethodGet, "/v1/events?wait=300ms&after="+page.NextCursor, e.Token, nil, nil, &page)
	if code != http.StatusOK || len(page.Items) != 0 || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("long poll at the end: %d, %d items after %s: %s", code, len(page.Items), time.Since(start), raw)
	}
}
