package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/adapters/postgres"
	soapclient "github.com/reghub/reghub/adapters/soap"
)

// queryConfig is how `reghub serve` answers authorities' queries.
type queryConfig struct {
	Catalogue string
	Holidays  string
	// ResolveEvery is how often queries waiting for a source are retried.
	ResolveEvery time.Duration
}

func (c *queryConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Catalogue, "catalogue", "", "legal-basis catalogue (YAML); empty: the one built in (access/catalogue.yaml). A bad catalogue stops the start")
	fs.StringVar(&c.Holidays, "holidays", "", "public holidays, one YYYY-MM-DD per line, for the three-working-day due date of queries that wait; empty: weekends only")
	fs.DurationVar(&c.ResolveEvery, "query-retry", 30*time.Second, "how often a query waiting for a source that was down is tried again")
}

var queriesOverdue = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "reghub_queries_overdue",
	Help: "Queries still waiting for a source past their due date (three working days, 001 §5.5).",
})

// loadQueryRules reads the catalogue and holidays; either being wrong stops
// the start with a message naming the file and each problem.
func loadQueryRules(c queryConfig) (*access.Catalogue, access.Calendar, error) {
	var cat *access.Catalogue
	var err error
	if c.Catalogue == "" {
		cat, err = access.Default()
	} else {
		cat, err = access.LoadFile(c.Catalogue)
	}
	if err != nil {
		return nil, access.Calendar{}, fmt.Errorf("legal-basis catalogue %s: %w", orBuiltIn(c.Catalogue), err)
	}
	cal := access.Calendar{}
	if c.Holidays != "" {
		f, err := os.Open(c.Holidays)
		if err != nil {
			return nil, cal, fmt.Errorf("holidays: %w", err)
		}
		defer f.Close()
		if cal.Holidays, err = access.ParseHolidays(f); err != nil {
			return nil, cal, fmt.Errorf("holidays %s: %w", c.Holidays, err)
		}
	}
	return cat, cal, nil
}

func orBuiltIn(path string) string {
	if path == "" {
		return "(built in)"
	}
	return path
}

// newQueryService routes granted queries to the read model and, through
// the finders, to the national systems.
func newQueryService(cat *access.Catalogue, cal access.Calendar, store *postgres.Store, rec access.Recorder, soapCfg soapclient.Config, log *slog.Logger) *access.Service {
	sources := soapclient.NewFinders(soapCfg, nil)
	sources[access.SourceLocal] = store
	return &access.Service{Catalogue: cat, Sources: sources, Recorder: rec, Pending: store, Calendar: cal, Log: log}
}

// runQueryResolver retries waiting queries and keeps the overdue gauge,
// until ctx ends.
func runQueryResolver(ctx context.Context, svc *access.Service, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := svc.Resolve(ctx, 100, every)
		if err != nil && ctx.Err() == nil {
			log.Error("retry waiting queries", "err", err)
		} else if n > 0 {
			log.Info("waiting queries answered", "count", n)
		}
		if over, err := svc.Overdue(ctx, 1000); err == nil {
			queriesOverdue.Set(float64(len(over)))
			if len(over) > 0 {
				log.Warn("queries overdue: not answered within three working days", "count", len(over), "oldest_due", over[0].DueAt)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
