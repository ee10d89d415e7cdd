package localregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// LoadConfig drives a hub the way the local registry would, only faster.
type LoadConfig struct {
	BaseURL     string // the hub, e.g. http://127.0.0.1:8080
	Token       string // a registry client's bearer token
	Actions     int
	Concurrency int
	Seed        int64
	// Wait is how long to wait for every accepted action to leave pending.
	Wait time.Duration
	// Progress, if set, receives a progress line now and then.
	Progress   io.Writer
	HTTPClient *http.Client
	Today      time.Time
	// Rate paces the submissions at this many per second (an open load,
	// as a registry's users make it); 0 submits as fast as the workers can.
	Rate float64
}

// Report is what a load run measured.
type Report struct {
	Submitted, Accepted, Refused, Failed          int
	Completed, Rejected, Dead, Cancelled, Pending int
	SubmitDuration                                time.Duration
	// EndToEnd spans the first acceptance to the last action leaving pending.
	EndToEnd                 time.Duration
	AcceptRate, EndToEndRate float64 // actions/s
	AcceptP50, AcceptP99     time.Duration
	AckP50, AckP99           time.Duration
	// IDs are the accepted actions, in submission order per worker.
	IDs []string
}

// String renders the report as the summary the demo and load command print.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "submitted %d: accepted %d, refused %d, failed %d\n", r.Submitted, r.Accepted, r.Refused, r.Failed)
	fmt.Fprintf(&b, "outcome: completed %d, rejected %d, dead %d, cancelled %d, still pending %d\n",
		r.Completed, r.Rejected, r.Dead, r.Cancelled, r.Pending)
	fmt.Fprintf(&b, "accept: %.0f actions/s over %s; latency p50 %s, p99 %s\n",
		r.AcceptRate, r.SubmitDuration.Round(time.Millisecond), r.AcceptP50.Round(10*time.Microsecond), r.AcceptP99.Round(10*time.Microsecond))
	fmt.Fprintf(&b, "end to end: %.0f actions/s over %s; accept→ack p50 %s, p99 %s\n",
		r.EndToEndRate, r.EndToEnd.Round(time.Millisecond), r.AckP50.Round(100*time.Microsecond), r.AckP99.Round(100*time.Microsecond))
	return b.String()
}

type actionJSON struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

// RunLoad submits cfg.Actions synthetic actions, waits until none is pending
// (or cfg.Wait passes) and reports throughput and latencies. A network error
// is retried with the same Idempotency-Key, as a real registry must.
func RunLoad(ctx context.Context, cfg LoadConfig) (Report, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 5 * time.Minute
	}
	if cfg.Today.IsZero() {
		cfg.Today = time.Now()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency}}
	}
	c := &hubClient{base: strings.TrimRight(cfg.BaseURL, "/"), token: cfg.Token, hc: hc}

	gen := NewGenerator(cfg.Seed, cfg.Today)
	bodies := make(chan []byte)
	go func() {
		defer close(bodies)
		t0 := time.Now()
		for i := 0; i < cfg.Actions; i++ {
			if cfg.Rate > 0 {
				// The i-th submission is due at i/Rate: a late one does
				// not delay the schedule of the next.
				if d := time.Until(t0.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
			}
			select {
			case bodies <- gen.NextJSON():
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu        sync.Mutex
		rep       Report
		latencies []time.Duration
		done      atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	stopProgress := progress(cfg.Progress, func() string {
		n := done.Load()
		return fmt.Sprintf("submitted %d/%d (%.0f/s)", n, cfg.Actions, float64(n)/time.Since(start).Seconds())
	})
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				t0 := time.Now()
				id, status, err := c.submit(ctx, uuid.NewString(), body)
				lat := time.Since(t0)
				done.Add(1)
				mu.Lock()
				rep.Submitted++
				switch {
				case err != nil:
					rep.Failed++
				case status == http.StatusAccepted || status == http.StatusOK:
					rep.Accepted++
					rep.IDs = append(rep.IDs, id)
					latencies = append(latencies, lat)
				default:
					rep.Refused++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stopProgress()
	rep.SubmitDuration = time.Since(start)
	if rep.SubmitDuration > 0 {
		rep.AcceptRate = float64(rep.Accepted) / rep.SubmitDuration.Seconds()
	}
	rep.AcceptP50, rep.AcceptP99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}

	// Wait until none of this run's actions is pending.
	deadline := time.Now().Add(cfg.Wait)
	ours := make(map[string]bool, len(rep.IDs))
	for _, id := range rep.IDs {
		ours[id] = true
	}
	stopProgress = progress(cfg.Progress, func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("waiting for acknowledgements: %d of %d actions resolved", len(ours)-rep.Pending, len(ours))
	})
	defer stopProgress()
	for {
		// Only the pending ones are listed while waiting: the list shrinks
		// as the hub works, and the waiting adds little load of its own.
		pending, err := c.countPending(ctx, ours)
		if err != nil {
			return rep, err
		}
		mu.Lock()
		rep.Pending = pending
		mu.Unlock()
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	final, err := c.listAll(ctx, ours)
	if err != nil {
		return rep, err
	}
	stopProgress()

	var acks []time.Duration
	var first, last time.Time
	for _, a := range final {
		switch a.Status {
		case "completed":
			rep.Completed++
		case "rejected":
			rep.Rejected++
		case "dead":
			rep.Dead++
		case "cancelled":
			rep.Cancelled++
		}
		if first.IsZero() || a.CreatedAt.Before(first) {
			first = a.CreatedAt
		}
		if a.CompletedAt != nil {
			acks = append(acks, a.CompletedAt.Sub(a.CreatedAt))
			if a.CompletedAt.After(last) {
				last = *a.CompletedAt
			}
		}
	}
	if !last.IsZero() {
		rep.EndToEnd = last.Sub(first)
		if rep.EndToEnd > 0 {
			rep.EndToEndRate = float64(len(acks)) / rep.EndToEnd.Seconds()
		}
	}
	rep.AckP50, rep.AckP99 = percentile(acks, 0.50), percentile(acks, 0.99)
	return rep, nil
}

// progress prints line() every second until the returned stop is called.
func progress(w io.Writer, line func() string) (stop func()) {
	if w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprintf(w, "\r%s   ", line())
			case <-quit:
				fmt.Fprintf(w, "\r%s   \n", line())
				return
			}
		}
	}()
	return func() {
		once.Do(func() { close(quit); wg.Wait() })
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

type hubClient struct {
	base, token string
	hc          *http.Client
}

func (c *hubClient) do(ctx context.Context, method, path string, body []byte, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return c.hc.Do(req)
}

// submit posts one action, retrying transport errors and 5xx with the same
// key: the hub answers a repeated key with the original action.
func (c *hubClient) submit(ctx context.Context, key string, body []byte) (string, int, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", 0, ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		resp, err := c.do(ctx, http.MethodPost, "/v1/actions", body, map[string]string{"Idempotency-Key": key})
		if err != nil {
			lastErr = err
			continue
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("hub answered %d: %s", resp.StatusCode, raw)
			continue
		}
		var a actionJSON
		if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(raw, &a); err != nil {
				return "", resp.StatusCode, fmt.Errorf("decode accepted action: %w", err)
			}
		}
		return a.ID, resp.StatusCode, nil
	}
	return "", 0, fmt.Errorf("submit failed after retries: %w", lastErr)
}

// countPending counts this run's actions still pending.
func (c *hubClient) countPending(ctx context.Context, ours map[string]bool) (int, error) {
	n, cursor := 0, ""
	for {
		path := "/v1/actions?status=pending&limit=500"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page, err := c.page(ctx, path)
		if err != nil {
			return 0, err
		}
		for _, a := range page.Items {
			if ours[a.ID] {
				n++
			}
		}
		if page.NextCursor == "" {
			return n, nil
		}
		cursor = page.NextCursor
	}
}

type actionPage struct {
	Items      []actionJSON `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

func (c *hubClient) page(ctx context.Context, path string) (actionPage, error) {
	var page actionPage
	resp, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return page, fmt.Errorf("list actions: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return page, fmt.Errorf("list actions: hub answered %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return page, fmt.Errorf("decode action list: %w", err)
	}
	return page, nil
}

// listAll pages through the client's actions and keeps those in ours.
func (c *hubClient) listAll(ctx context.Context, ours map[string]bool) (map[string]actionJSON, error) {
	out := make(map[string]actionJSON, len(ours))
	cursor := ""
	for {
		path := "/v1/actions?limit=500"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page, err := c.page(ctx, path)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			if ours[a.ID] {
				out[a.ID] = a
			}
		}
		if page.NextCursor == "" || len(out) == len(ours) {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// ErrNoToken is returned when a load is started without credentials.
var ErrNoToken = errors.New("a registry bearer token is required")
