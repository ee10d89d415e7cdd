package main

// The drain scenario (-drain DURATION): the ДМС simulator is down for
// DURATION while actions arrive at a steady rate, then it comes back and the
// harness measures how fast reghub works off the ДМС backlog, and whether
// reghub's memory stays flat while the backlog grows and drains.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/simulators/localregistry"
)

// rssSampler reads a process's VmRSS every second, per phase.
type rssSampler struct {
	pid   int
	mu    sync.Mutex
	phase string
	min   map[string]int64
	max   map[string]int64
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func startRSS(pid int, phase string) *rssSampler {
	s := &rssSampler{pid: pid, phase: phase, min: map[string]int64{}, max: map[string]int64{},
		quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		s.sample()
		for {
			select {
			case <-t.C:
				s.sample()
			case <-s.quit:
				s.sample()
				return
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	v := procStatusKB(s.pid, "VmRSS:") * 1024
	if v <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.min[s.phase]; !ok || v < m {
		s.min[s.phase] = v
	}
	if v > s.max[s.phase] {
		s.max[s.phase] = v
	}
}

func (s *rssSampler) setPhase(p string) {
	s.sample() // the last sample of the phase that ends
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
	s.sample()
}

func (s *rssSampler) stop() { s.once.Do(func() { close(s.quit) }); <-s.done }

// rng is min and max over the phases given.
func (s *rssSampler) rng(phases ...string) (lo, hi int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range phases {
		if m, ok := s.min[p]; ok && (lo == 0 || m < lo) {
			lo = m
		}
		hi = max(hi, s.max[p])
	}
	return lo, hi
}

// submitStats is what the paced submitter measured.
type submitStats struct {
	Submitted, Accepted, Refused, Failed int
	Duration                             time.Duration
	MaxLag                               time.Duration // how late the pacer got behind its schedule
	AcceptP50, AcceptP99                 time.Duration
}

// submitPaced posts rate actions per second for d, with the load driver's
// generator and request (POST /v1/actions with a fresh Idempotency-Key,
// retried with the same key on a transport error or a 5xx). RunLoad itself
// has no rate and waits for every action to resolve, which an outage
// forbids, so the pacing is done here.
func submitPaced(ctx context.Context, base, token string, rate int, d time.Duration, workers int, seed int64) submitStats {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	gen := localregistry.NewGenerator(seed, time.Now())
	jobs := make(chan []byte, workers)
	var (
		mu   sync.Mutex
		st   submitStats
		lats []time.Duration
		sent atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range jobs {
				t0 := time.Now()
				status, err := postAction(ctx, hc, base, token, body)
				lat := time.Since(t0)
				mu.Lock()
				st.Submitted++
				switch {
				case err != nil:
					st.Failed++
				case status == http.StatusAccepted || status == http.StatusOK:
					st.Accepted++
					lats = append(lats, lat)
				default:
					st.Refused++
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	stopProgress := progressLine(os.Stderr, func() string {
		n := sent.Load()
		return fmt.Sprintf("outage: submitted %d (%.0f/s), %s of %s", n, float64(n)/time.Since(start).Seconds(),
			time.Since(start).Round(time.Second), d)
	})
	interval := time.Second / time.Duration(rate)
pace:
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d {
			break
		}
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
				break pace
			case <-time.After(wait):
			}
		} else if lag := -wait; lag > st.MaxLag {
			st.MaxLag = lag // only the pacer writes MaxLag until the workers are done
		}
		select {
		case jobs <- gen.NextJSON():
			sent.Add(1)
		case <-ctx.Done():
			break pace
		}
	}
	close(jobs)
	wg.Wait()
	stopProgress()
	st.Duration = time.Since(start)
	st.AcceptP50, st.AcceptP99 = pct(lats, 0.5), pct(lats, 0.99)
	return st
}

func postAction(ctx context.Context, hc *http.Client, base, token string, body []byte) (int, error) {
	key := uuid.NewString()
	var lastErr error
	for attempt := range 5 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/actions", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := hc.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("hub answered %d", resp.StatusCode)
			continue
		}
		return resp.StatusCode, nil
	}
	return 0, lastErr
}

// progressLine prints line() every second until stop is called.
func progressLine(w io.Writer, line func() string) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
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
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

// dmsCounts are the ДМС outbox rows by state.
type dmsCounts struct{ Acked, Open, Dead, Rejected int }

func (h *hub) dmsCounts(ctx context.Context) (dmsCounts, error) {
	var c dmsCounts
	err := h.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE state = 'acknowledged'),
		count(*) FILTER (WHERE state IN ('pending', 'awaiting_ack')),
		count(*) FILTER (WHERE state = 'dead'),
		count(*) FILTER (WHERE state = 'rejected')
		FROM outbox_messages WHERE destination = 'dms'`).Scan(&c.Acked, &c.Open, &c.Dead, &c.Rejected)
	return c, err
}

// drainResult is what the drain scenario measured.
type drainResult struct {
	Peak       float64
	PeakSource string
	Submit     submitStats
	Outage     time.Duration
	Backlog    dmsCounts // at the end of the outage
	FirstAck   time.Duration
	Drain      time.Duration // first acknowledgement to an empty backlog
	Drained    int           // acknowledged after the outage
	Rate       float64       // Drained / Drain
	Drain99    time.Duration // first acknowledgement to 99% of the backlog
	Rate99     float64
	After      dmsCounts
	RSS        map[string][2]int64
	TimedOut   bool
}

func (w *world) runDrain(ctx context.Context) error {
	o := w.o
	if o.DrainRate <= 0 {
		return fmt.Errorf("%w: -drain-rate %d", errUsage, o.DrainRate)
	}
	var dr drainResult
	dr.Peak, dr.PeakSource = o.Peak, "-peak"
	if o.Peak <= 0 {
		fmt.Fprintf(os.Stderr, "\n== reghub, normal run for the peak (%d actions)\n", o.Actions)
		r, err := w.runReghub(ctx)
		if err != nil {
			return fmt.Errorf("reghub: %w", err)
		}
		dr.Peak = r.Rate
		dr.PeakSource = fmt.Sprintf("normal reghub run just before: %d actions, %d clients", o.Actions, o.Concurrency)
	}
	if dr.Peak <= 0 {
		return fmt.Errorf("no peak to compare with")
	}

	fmt.Fprintf(os.Stderr, "\n== reghub, ДМС outage of %s at %d actions/s\n", o.Drain, o.DrainRate)
	h, err := w.startReghub(ctx, "bench_drain", "--max-attempts", "1000")
	if err != nil {
		return err
	}
	defer h.close()

	healthy := w.dmsEngine.Config()
	down := healthy
	down.Outage = true
	if err := w.dmsEngine.SetConfig(down); err != nil {
		return err
	}
	defer func() { _ = w.dmsEngine.SetConfig(healthy) }()

	rss := startRSS(h.p.cmd.Process.Pid, "outage")
	defer rss.stop()
	outageStart := time.Now()
	dr.Submit = submitPaced(ctx, h.base, h.token, o.DrainRate, o.Drain, 4*o.Concurrency, 7)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	dr.Backlog, err = h.dmsCounts(ctx)
	if err != nil {
		return err
	}
	var end time.Time
	if err := h.pool.QueryRow(ctx, "SELECT now()").Scan(&end); err != nil { // the database's clock, as acked_at
		return err
	}
	if err := w.dmsEngine.SetConfig(healthy); err != nil {
		return err
	}
	outageEnd := time.Now()
	dr.Outage = outageEnd.Sub(outageStart)
	rss.setPhase("drain")
	fmt.Fprintf(os.Stderr, "outage over after %s: ДМС backlog %d (acknowledged %d, dead %d)\n",
		dr.Outage.Round(time.Millisecond), dr.Backlog.Open, dr.Backlog.Acked, dr.Backlog.Dead)

	// Poll until the backlog is empty. The circuit's next probe may come up
	// to its current cool-down (at most 5m) late, and a message whose own
	// retry backoff (at most 5m) ran up during the outage waits that out.
	limit := 15*time.Minute + o.Drain
	var c dmsCounts
	stopProgress := progressLine(os.Stderr, func() string {
		return fmt.Sprintf("drain: %d acknowledged, %d open after %s", c.Acked-dr.Backlog.Acked, c.Open, time.Since(outageEnd).Round(time.Second))
	})
	for {
		n, err := h.dmsCounts(ctx)
		if err != nil {
			stopProgress()
			return err
		}
		c = n
		if n.Open == 0 {
			break
		}
		if time.Since(outageEnd) > limit {
			dr.TimedOut = true
			break
		}
		select {
		case <-ctx.Done():
			stopProgress()
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	stopProgress()
	rss.stop()
	dr.After = c
	dr.RSS = map[string][2]int64{}
	for _, p := range []string{"outage", "drain"} {
		lo, hi := rss.rng(p)
		dr.RSS[p] = [2]int64{lo, hi}
	}
	lo, hi := rss.rng("outage", "drain")
	dr.RSS["both"] = [2]int64{lo, hi}

	// The acknowledgement times are the stored ones (acked_at), on the
	// database's clock; the polls above only decide when the backlog is empty.
	var first, last, at99 *time.Time
	if err := h.pool.QueryRow(ctx, `
		WITH a AS (SELECT acked_at, row_number() OVER (ORDER BY acked_at) AS n, count(*) OVER () AS total
		           FROM outbox_messages WHERE destination = 'dms' AND state = 'acknowledged' AND acked_at >= $1)
		SELECT min(acked_at), max(acked_at), min(acked_at) FILTER (WHERE n >= ceil(0.99 * total)), count(*) FROM a`, end).
		Scan(&first, &last, &at99, &dr.Drained); err != nil {
		return err
	}
	if first != nil {
		dr.FirstAck = first.Sub(end)
		dr.Drain = last.Sub(*first)
		dr.Drain99 = at99.Sub(*first)
		if dr.Drain > 0 {
			dr.Rate = float64(dr.Drained) / dr.Drain.Seconds()
		}
		if dr.Drain99 > 0 {
			dr.Rate99 = float64(int(0.99*float64(dr.Drained)+0.999)) / dr.Drain99.Seconds()
		}
	}
	report := renderDrain(o, dr)
	fmt.Println()
	fmt.Print(report)
	if o.Out != "" {
		f, err := openDoc(o)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(f, "\n## Drain after an outage — %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
		fmt.Fprintf(f, "- command: `%s`\n", command())
		fmt.Fprintf(f, "- machine: %s\n", machine())
		if _, err := io.WriteString(f, report); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "appended to", o.Out)
	}
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func renderDrain(o options, dr drainResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- scenario: ДМС simulator down (HTTP 503) for %s while actions arrive at %d/s (%d clients); ЄДДР healthy; simulators answer after %s; reghub serve --max-attempts 1000, other flags default (circuit threshold 20, cool-down 5s doubling up to 5m)\n",
		dr.Outage.Round(time.Millisecond), o.DrainRate, 4*o.Concurrency, o.Latency)
	fmt.Fprintf(&b, "- peak: %.0f actions/s (%s)\n\n", dr.Peak, dr.PeakSource)
	s := dr.Submit
	rows := [][2]string{
		{"submitted during the outage", fmt.Sprintf("%d (accepted %d, refused %d, failed %d) in %s: %.0f/s; pacer at most %s behind",
			s.Submitted, s.Accepted, s.Refused, s.Failed, s.Duration.Round(time.Millisecond), float64(s.Accepted)/s.Duration.Seconds(), s.MaxLag.Round(time.Millisecond))},
		{"accept latency during the outage", fmt.Sprintf("p50 %s ms, p99 %s ms", ms(s.AcceptP50), ms(s.AcceptP99))},
		{"ДМС backlog at the end of the outage", fmt.Sprintf("%d (dead %d)", dr.Backlog.Open, dr.Backlog.Dead)},
		{"outage end → first acknowledgement", dr.FirstAck.Round(time.Millisecond).String()},
		{"drain time (first → last acknowledgement)", dr.Drain.Round(time.Millisecond).String()},
		{"drain rate", fmt.Sprintf("%.0f ДМС deliveries/s (%d acknowledged)", dr.Rate, dr.Drained)},
		{"drain / peak", fmt.Sprintf("%.2f", dr.Rate/dr.Peak)},
		{"first 99% of the backlog", fmt.Sprintf("%s: %.0f/s, %.2f of peak", dr.Drain99.Round(time.Millisecond), dr.Rate99, dr.Rate99/dr.Peak)},
		{"RSS during the outage (min / max MiB)", fmt.Sprintf("%s / %s (max/min %.2f)", mib(dr.RSS["outage"][0]), mib(dr.RSS["outage"][1]), ratio(dr.RSS["outage"]))},
		{"RSS during the drain (min / max MiB)", fmt.Sprintf("%s / %s (max/min %.2f)", mib(dr.RSS["drain"][0]), mib(dr.RSS["drain"][1]), ratio(dr.RSS["drain"]))},
		{"RSS over both (min / max MiB)", fmt.Sprintf("%s / %s (max/min %.2f)", mib(dr.RSS["both"][0]), mib(dr.RSS["both"][1]), ratio(dr.RSS["both"]))},
		{"after the drain", fmt.Sprintf("ДМС open %d, dead %d, rejected %d", dr.After.Open, dr.After.Dead, dr.After.Rejected)},
	}
	if dr.TimedOut {
		rows = append(rows, [2]string{"timed out", "the backlog was not empty 15m after the outage ended; figures cover what drained"})
	}
	fmt.Fprintln(&b, "| measure | value |")
	fmt.Fprintln(&b, "|---|---|")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Drain rate counts ДМС deliveries acknowledged after the outage over the span of their stored acked_at (first to last); peak counts actions acknowledged by both destinations. RSS is reghub's VmRSS sampled every second.")
	return b.String()
}

func ratio(r [2]int64) float64 {
	if r[0] == 0 {
		return 0
	}
	return float64(r[1]) / float64(r[0])
}
