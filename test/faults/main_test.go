// Package faults runs a load of synthetic actions through the real reghub
// binary while things break: the hub is SIGKILLed and restarted, PostgreSQL
// is restarted abruptly, an upstream goes away for a while, and the upstreams
// answer slowly, late, twice, malformed or with SOAP faults. After every
// scenario the invariants are checked from the database and the simulators'
// inspection endpoints (see checkInvariants).
//
// Random moments and fault draws come from a seed logged by every test;
// replay one with -faults.seed=N. -faults.soak (or REGHUB_SOAK=1) runs
// longer variants.
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/test/hubtest"
)

var (
	seedFlag = flag.Uint64("faults.seed", 0, "seed of the random moments and fault draws (0: from the clock)")
	soakFlag = flag.Bool("faults.soak", false, "run the longer soak variants (also REGHUB_SOAK=1)")
)

func TestMain(m *testing.M) { hubtest.Main(m) }

// soak reports whether the longer variants run.
func soak() bool { return *soakFlag || os.Getenv("REGHUB_SOAK") == "1" }

// pick returns short, or long when soaking.
func pick[T any](short, long T) T {
	if soak() {
		return long
	}
	return short
}

// testRand returns the test's random source and logs its seed, so that a
// failure can be replayed with -faults.seed.
func testRand(t *testing.T) (*rand.Rand, uint64) {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	t.Logf("seed %d (replay: go test ./test/faults -run '^%s$' -faults.seed=%d)", seed, strings.ReplaceAll(t.Name(), "/", "$/^"), seed)
	return rand.New(rand.NewPCG(seed, h.Sum64())), seed
}

// --- load ---

// accepted is an action the hub accepted (2xx), with what was submitted.
type accepted struct {
	hubtest.Submitted
	sub action.Submission
}

// load submits synthetic actions the way a registry must: every action
// under its own Idempotency-Key, resent with the same key on a connection
// error or a 5xx until the hub answers 2xx. Each worker owns the persons
// whose key hashes to it and submits their actions one at a time in the
// generator's order, so each person's submission order is well defined while
// different persons go in parallel.
type load struct {
	t      *testing.T
	e      *hubtest.Env
	client *http.Client
	stop   chan struct{} // no new action
	abort  chan struct{} // give up the action being resent too: the test is over
	done   sync.WaitGroup

	mu   sync.Mutex
	subs []accepted // accepted (2xx), in per-person submission order
	// accepted records when each action was first accepted.
	acceptedAt map[string]time.Time

	retries atomic.Int64 // resends after a connection error or 5xx
	failed  atomic.Int64 // actions never accepted

	// The hubs sent to, in turn (one unless several replicas serve), and
	// how many actions each accepted.
	turn   atomic.Uint64
	live   []string
	byBase map[string]int
}

type loadOpts struct {
	seed    int64
	workers int
	// max is how many actions to submit (0: until finish is called).
	max int
	// pace is each worker's pause between two actions.
	pace time.Duration
	// bases are the hubs' base URLs, each action sent to the next in turn
	// (and resent to the one after); empty: the env's hub.
	bases []string
}

// patience bounds how long one action is resent before the test fails.
const patience = 90 * time.Second

func startLoad(t *testing.T, e *hubtest.Env, o loadOpts) *load {
	l := &load{
		t: t, e: e, stop: make(chan struct{}), abort: make(chan struct{}), acceptedAt: map[string]time.Time{},
		client: &http.Client{Timeout: 10 * time.Second}, live: slices.Clone(o.bases), byBase: map[string]int{},
	}
	if len(l.live) == 0 {
		l.live = []string{"http://" + e.Addr}
	}
	t.Cleanup(func() { // a test that ends early must not leave the load behind
		close(l.abort)
		l.halt()
		l.done.Wait()
	})
	queues := make([]chan []byte, o.workers)
	for i := range queues {
		queues[i] = make(chan []byte, 8)
	}
	l.done.Add(1)
	go func() { // dispatcher: the generator's order, split by person
		defer l.done.Done()
		defer func() {
			for _, q := range queues {
				close(q)
			}
		}()
		gen := localregistry.NewGenerator(o.seed, time.Now())
		for n := 0; o.max == 0 || n < o.max; n++ {
			body := gen.NextJSON()
			var sub action.Submission
			if err := json.Unmarshal(body, &sub); err != nil {
				t.Errorf("generated body: %v", err)
				return
			}
			h := fnv.New32a()
			h.Write([]byte(hubtest.PersonKey(sub.Person)))
			select {
			case queues[int(h.Sum32())%o.workers] <- body:
			case <-l.stop:
				return
			}
		}
	}()
	for _, q := range queues {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for body := range q {
				select {
				case <-l.stop:
					return // not sent: never existed
				default:
				}
				if !l.submit(body) {
					for range q { // drop the rest, so the dispatcher ends
					}
					return
				}
				if o.pace > 0 {
					select {
					case <-time.After(o.pace):
					case <-l.stop:
					}
				}
			}
		}()
	}
	return l
}

// submit sends one action until the hub accepts it.
func (l *load) submit(body []byte) bool {
	var sub action.Submission
	_ = json.Unmarshal(body, &sub)
	key := uuid.NewString()
	deadline := time.Now().Add(patience)
	var last string
	for {
		base := l.next()
		req, err := http.NewRequest(http.MethodPost, base+"/v1/actions", bytes.NewReader(body))
		if err != nil {
			l.t.Errorf("request: %v", err)
			return false
		}
		req.Header.Set("Authorization", "Bearer "+l.e.Token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := l.client.Do(req)
		var raw []byte
		if err == nil {
			raw, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		switch {
		case err == nil && (resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK):
			var a hubtest.ActionView
			if err := json.Unmarshal(raw, &a); err != nil || a.ID == "" || a.Reference == "" {
				l.t.Errorf("accepted action %q: %v", raw, err)
				l.failed.Add(1)
				return false
			}
			l.mu.Lock()
			l.subs = append(l.subs, accepted{
				Submitted: hubtest.Submitted{ID: a.ID, Reference: a.Reference, Person: hubtest.PersonKey(sub.Person)},
				sub:       sub,
			})
			l.acceptedAt[a.ID] = time.Now()
			l.byBase[base]++
			l.mu.Unlock()
			return true
		case err != nil:
			last = err.Error()
		case resp.StatusCode >= 500:
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, raw)
		default:
			l.t.Errorf("submission refused: HTTP %d: %s", resp.StatusCode, raw)
			l.failed.Add(1)
			return false
		}
		l.retries.Add(1)
		if time.Now().After(deadline) {
			l.t.Errorf("action not accepted after resending it for %s; last answer: %s", patience, last)
			l.failed.Add(1)
			return false
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-l.abort:
			return false
		}
	}
}

// next returns the hub to send to now.
func (l *load) next() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.live[int(l.turn.Add(1))%len(l.live)]
}

// drop takes a hub out of the rotation.
func (l *load) drop(base string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live = slices.DeleteFunc(l.live, func(b string) bool { return b == base })
}

// perHub returns how many actions each hub accepted.
func (l *load) perHub() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.byBase)
}

// count returns the number of actions accepted so far.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}

// finish stops the load (an action being resent is still seen through to
// its 2xx) and returns the accepted actions.
func (l *load) finish() []accepted {
	l.halt()
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Logf("load: %d actions accepted, %d resends after a connection error or 5xx, %d never accepted",
		len(l.subs), l.retries.Load(), l.failed.Load())
	return slices.Clone(l.subs)
}

func (l *load) halt() {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
}

// wait blocks until the load has submitted all it was asked to.
func (l *load) wait() []accepted {
	l.done.Wait()
	return l.finish()
}

// --- database ---

// query runs fn, retrying while PostgreSQL is unreachable (it may be
// restarting), for up to 30s.
func query(t *testing.T, pool *pgxpool.Pool, fn func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := fn(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("query: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// liveMessagesSQL counts messages the relay still has to move: pending or
// awaiting an acknowledgement, and not queued behind a dead message of the
// same person and destination (those wait for an operator).
const liveMessagesSQL = `
	SELECT count(*) FROM outbox_messages m
	WHERE m.state IN ('pending', 'awaiting_ack')
	  AND NOT EXISTS (SELECT 1 FROM outbox_messages e
	                  WHERE e.destination = m.destination AND e.person_key = m.person_key
	                    AND e.seq < m.seq AND e.state = 'dead')`

// waitSettled waits until the relay has nothing left to move, failing fast
// if the hub process ends.
func waitSettled(t *testing.T, e *hubtest.Env, within time.Duration) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for {
		checkHubAlive(t, e)
		var live int
		query(t, e.Pool, func(ctx context.Context) error { return e.Pool.QueryRow(ctx, liveMessagesSQL).Scan(&live) })
		if live == 0 {
			t.Logf("settled %s after the load", time.Since(start).Round(10*time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			var sample []string
			query(t, e.Pool, func(ctx context.Context) error {
				rows, err := e.Pool.Query(ctx, `
					SELECT id::text, destination, state, attempts, due_at - now(), error_class, left(last_error, 200)
					FROM outbox_messages WHERE state IN ('pending', 'awaiting_ack') ORDER BY seq LIMIT 10`)
				if err != nil {
					return err
				}
				sample = sample[:0]
				for rows.Next() {
					var id, dest, state, class, last string
					var attempts int
					var due time.Duration
					if err := rows.Scan(&id, &dest, &state, &attempts, &due, &class, &last); err != nil {
						return err
					}
					sample = append(sample, fmt.Sprintf("%s %s %s attempts=%d due_in=%s class=%q err=%q", id, dest, state, attempts, due, class, last))
				}
				return rows.Err()
			})
			t.Fatalf("%d messages still to deliver after %s (hub stuck?); first unresolved:\n%s", live, within, strings.Join(sample, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkHubAlive fails the test if the current hub process has ended.
func checkHubAlive(t *testing.T, e *hubtest.Env) {
	t.Helper()
	if exited, err := e.Hub.Exited(); exited {
		t.Fatalf("the hub process ended by itself (%v): the relay crashed", err)
	}
}

// errNotYet is what a polling condition returns while it waits.
var errNotYet = errors.New("not yet")

// waitFor polls cond every 10ms until it returns nil, or fails after within.
func waitFor(t *testing.T, what string, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s (%v)", what, within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
