package main

// The query scenario (-queries N): authorities' queries per second against
// the local read model, with every query's audit record committed before it
// is answered (synchronous_commit on, like every run here). The read model
// is filled with the registrations of -query-persons synthetic persons
// (built by applying the synthetic registry's actions, as completions
// would), then N queries by РНОКПП are sent by -concurrency clients: most
// granted, one in ten refused (a field the basis does not grant), so both
// paths and their audit records are measured.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/simulators/localregistry"
)

const queryOrg = "SYN-SOC-0001" // granted social.services in the shipped catalogue

func (w *world) runQueries(ctx context.Context) error {
	h, err := w.startReghub(ctx, "bench_queries")
	if err != nil {
		return err
	}
	defer h.close()
	token, err := auth.Register(ctx, postgres.New(h.pool), queryOrg, "Synthetic social protection department", auth.RoleAuthority)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "filling the read model with %d persons\n", w.o.QueryPersons)
	rnokpps, err := fillReadModel(ctx, h.pool, w.o.QueryPersons)
	if err != nil {
		return fmt.Errorf("fill read model: %w", err)
	}

	meter := startMeter(h.p.cmd.Process.Pid, w.cluster.DataDir())
	var (
		next      atomic.Int64
		mu        sync.Mutex
		lat       []time.Duration
		byStatus  = map[int]int{}
		failures  atomic.Int64
		wg        sync.WaitGroup
		hc        = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: w.o.Concurrency}}
		firstFail atomic.Value
	)
	start := time.Now()
	for c := range w.o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for next.Add(1) <= int64(w.o.Queries) {
				fields := `["surname", "given_names", "address", "registration_date"]`
				if rng.IntN(10) == 0 {
					fields = `["surname", "contacts"]` // not granted: refused
				}
				body := fmt.Sprintf(queryBody, uuid.NewString()[:8], rnokpps[rng.IntN(len(rnokpps))], fields)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/v1/queries", bytes.NewReader([]byte(body)))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := hc.Do(req)
				d := time.Since(t0)
				if err != nil {
					failures.Add(1)
					firstFail.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusForbidden {
					failures.Add(1)
					firstFail.CompareAndSwap(nil, fmt.Sprintf("HTTP %d: %s", resp.StatusCode, b))
				}
				mu.Lock()
				lat = append(lat, d)
				byStatus[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	proc, pg, rss := meter.stop()
	if f := failures.Load(); f > 0 {
		return fmt.Errorf("%d queries failed; first: %v", f, firstFail.Load())
	}
	var audited int64
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE kind = 'query'`).Scan(&audited); err != nil {
		return fmt.Errorf("count audit records: %w", err)
	}
	slices.Sort(lat)
	rate := float64(len(lat)) / elapsed.Seconds()
	table := fmt.Sprintf(`| queries | concurrency | persons searched (with a РНОКПП) | queries/s | p50 ms | p99 ms | answered 200 / refused 403 | audit records | CPU s (hub) | CPU s (PostgreSQL) | peak RSS MiB |
|---|---|---|---|---|---|---|---|---|---|---|
| %d | %d | %d | %.0f | %s | %s | %d / %d | %d | %.2f | %.2f | %d |
`, len(lat), w.o.Concurrency, len(rnokpps), rate, ms(pct(lat, 0.50)), ms(pct(lat, 0.99)),
		byStatus[http.StatusOK], byStatus[http.StatusForbidden], audited, proc, pg, rss>>20)
	fmt.Println()
	fmt.Print(table)
	if int(audited) != len(lat) {
		return fmt.Errorf("%d queries answered but %d audit records", len(lat), audited)
	}
	if w.o.Out != "" {
		if err := appendDoc(w.o, "### Queries against the local read model\n\n"+table); err != nil {
			return err
		}
	}
	return nil
}

// queryBody is a social protection department's query by РНОКПП; %s are a
// case number, the РНОКПП and the fields wanted.
const queryBody = `{
  "official": {"id": "SYN-OFF-0042", "name": "Синтетичний працівник"},
  "case": "SYN-SOC/%s",
  "basis": {"code": "social.services",
            "law": "Положення про Реєстр Криворізької міської територіальної громади",
            "article": "підпункт 6.4.2.3 пункту 6.4"},
  "purpose": {"id": "social-services", "text": "призначення житлової субсидії"},
  "search": {"rnokpp": "%s"},
  "fields": %s
}`

// fillReadModel builds n persons' registrations by applying synthetic
// actions, writes them with COPY, and returns the РНОКПП of those who have
// one.
func fillReadModel(ctx context.Context, pool *pgxpool.Pool, n int) ([]string, error) {
	gen := localregistry.NewGenerator(42, time.Now())
	regs := map[string]*action.Registration{}
	var order []string
	for len(regs) < n {
		s := gen.Next()
		k := s.PersonKey()
		r, ok := regs[k]
		if !ok {
			r = &action.Registration{}
			regs[k] = r
			order = append(order, k)
		}
		r.Apply(s)
	}
	rows := make([][]any, 0, len(order))
	var rnokpps []string
	for _, k := range order {
		r := regs[k]
		rec, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		a := r.Address
		if a == nil {
			a = &action.Address{}
		}
		p := r.Person
		rows = append(rows, []any{k, nullIfEmpty(p.UNZR), nullIfEmpty(p.RNOKPP), p.Surname, p.GivenNames, p.BirthDate,
			nullIfEmpty(a.KATOTTG), a.Street, a.Building, nullIfEmpty(a.Apartment), r.Registered, string(rec), uuid.Must(uuid.NewV7()), time.Now()})
		if p.RNOKPP != "" {
			rnokpps = append(rnokpps, p.RNOKPP)
		}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"registrations"},
		[]string{"person_key", "unzr", "rnokpp", "surname", "given_names", "birth_date", "katottg", "street", "building", "apartment",
			"registered", "record", "action_id", "updated_at"},
		pgx.CopyFromRows(rows)); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, "ANALYZE registrations"); err != nil {
		return nil, err
	}
	if len(rnokpps) == 0 {
		return nil, fmt.Errorf("no synthetic person has a РНОКПП")
	}
	return rnokpps, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
